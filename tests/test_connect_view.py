"""The Connect view against real QtWebEngine (offscreen) and real pages served on loopback.

The full flow runs the offline sandbox's Connect page. The bridge's edges (forged and malformed
messages, navigations, windows, failures) run against a stand-in for Connect's host: a tiny HTTP
server whose page only says APP_MOUNTED; each test then makes that frame (or the host page, or a
frame of another origin) do what it needs through QWebEngineFrame.runJavaScript.

Every warning of the "flinks_desktop.connect" log, JavaScript errors included, fails a test that
did not expect it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import shiboken6
from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage
from PySide6.QtWebEngineCore import QWebEngineFrame, QWebEnginePage
from PySide6.QtWebEngineWidgets import QWebEngineView

from flinks_desktop.core.connect_events import account_ids_from_event
from flinks_desktop.core.redact import is_guid
from flinks_desktop.testing import ConnectPage
from flinks_desktop.ui.connect_view import HOST_URL, ConnectView

REDIRECT_URL = "http://flinks-desktop.localhost/connected"
FORGED_LOGIN_ID = "0badf00d-0000-4000-8000-000000000bad"
MAIN_WORLD = 0
BRIDGE_WORLD = 1  # ApplicationWorld, where the view injects its bridge
FLOW_STEPS = [  # Flinks Connect's order: consent first
    "APP_MOUNTED",
    "COMPONENT_LOAD_CONSENT",
    "COMPONENT_ACCEPT_CONSENT",
    "COMPONENT_LOAD_INSTITUTION_SELECTOR",
    "INSTITUTION_SELECTED",
    "COMPONENT_LOAD_CREDENTIAL",
    "SUBMIT_CREDENTIAL",
    "COMPONENT_LOAD_MFA",
    "SUBMIT_MFA",
    "COMPONENT_LOAD_ACCOUNT_SELECTION",
    "ACCOUNT_SELECTED",
    "REDIRECT",
]


# -- a stand-in for Connect's host, and for a foreign one ------------------------------------
def forged_redirect() -> str:
    """A REDIRECT event as a JavaScript literal."""
    url = f"{REDIRECT_URL}?loginId={FORGED_LOGIN_ID}&institution=FlinksCapital"
    return json.dumps({"step": "REDIRECT", "institution": "FlinksCapital", "url": url})


PAGES = {
    "/connect": "<!doctype html><title>Stand-in</title><p>Stand-in for Connect</p>"
    '<script>parent.postMessage({step: "APP_MOUNTED"}, "*")</script>',
    "/forge": f"<!doctype html><script>parent.postMessage({forged_redirect()}, '*')</script>",
}


@dataclass
class Site:
    base_url: str
    paths: list[str]  # every request received (the view's probe of Connect's host included)


@contextmanager
def serve(pages: dict[str, str]) -> Iterator[Site]:
    """`pages` on a free loopback port."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.answer(with_body=True)

        def do_HEAD(self) -> None:
            self.answer(with_body=False)

        def answer(self, with_body: bool) -> None:
            paths.append(self.path)
            page = pages.get(urlsplit(self.path).path)
            body = (page or "not found").encode()
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}", paths)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def connect_site() -> Iterator[Site]:
    with serve(PAGES) as site:
        yield site


@pytest.fixture
def foreign_site() -> Iterator[Site]:
    with serve(PAGES) as site:
        yield site


# -- the view, its log, its frames -------------------------------------------------------------
@pytest.fixture(autouse=True)
def expected_warnings(caplog) -> Iterator[list[str]]:
    """The view's log at debug level. A test lists the warnings it expects (substrings); any other
    warning or error of the view, a JavaScript console error included, fails it."""
    caplog.set_level(logging.DEBUG, logger="flinks_desktop.connect")
    expected: list[str] = []
    yield expected
    records = caplog.get_records("setup") + caplog.get_records("call") + caplog.records
    unexpected = [
        r.getMessage()
        for r in records
        if r.name == "flinks_desktop.connect"
        and r.levelno >= logging.WARNING
        and not any(text in r.getMessage() for text in expected)
    ]
    assert not unexpected, f"unexpected warnings: {unexpected}"


@pytest.fixture
def make_view(qtbot) -> Iterator:
    views: list[ConnectView] = []

    def make(**options) -> ConnectView:
        view = ConnectView(**options)
        view.resize(480, 760)
        view.show()
        views.append(view)
        return view

    yield make
    # Explicit teardown: a WebEngine page or view left to the garbage collector crashes a later test.
    for view in views:
        if shiboken6.isValid(view):
            view.stop()
            view.close()
            view.deleteLater()
            qtbot.waitUntil(lambda: not shiboken6.isValid(view))


@pytest.fixture
def log_has(qtbot, caplog):
    def wait(text: str) -> None:
        qtbot.waitUntil(lambda: any(text in r.getMessage() for r in caplog.records), timeout=5000)

    return wait


def page_of(view: ConnectView) -> QWebEnginePage:
    return view.findChild(QWebEngineView, "connectWebView").page()


def js(qtbot, target: QWebEnginePage | QWebEngineFrame, code: str, world: int = MAIN_WORLD):
    """Run `code` in a page's main frame or in a frame, in a JavaScript world; its result."""
    with qtbot.waitCallback(timeout=5000) as callback:
        target.runJavaScript(code, world, callback)
    return callback.args[0] if callback.args else None


def frame_at(view: ConnectView, base_url: str) -> QWebEngineFrame:
    frames = [f for f in page_of(view).mainFrame().children() if f.url().toString().startswith(base_url)]
    assert len(frames) == 1, [f.url().toString() for f in page_of(view).mainFrame().children()]
    return frames[0]


def is_step(step: str):
    return lambda event: event.get("step") == step


def start(qtbot, view: ConnectView, connect_url: str, connect_base: str) -> QWebEngineFrame:
    """Start the view and wait for Connect's first event: its frame."""
    with qtbot.waitSignal(view.connectEvent, check_params_cb=is_step("APP_MOUNTED"), timeout=10_000):
        view.start(connect_url, REDIRECT_URL)
    return frame_at(view, connect_base)


def record(bound_signal) -> list:
    """Every emission of a signal from now on: its argument, or a tuple of them."""
    received = []
    bound_signal.connect(lambda *args: received.append(args[0] if len(args) == 1 else args))
    return received


def sandbox_connect_url(sandbox, **parameters: str) -> str:
    query = {
        "demo": "true",
        "innerRedirect": "true",
        "redirectUrl": REDIRECT_URL,
        "consentEnable": "true",
        "accountSelectorEnable": "true",
        **parameters,
    }
    return f"{sandbox.connect_url}?{urlencode(query)}"


def has_colour(image: QImage) -> bool:
    """Whether a screenshot shows a saturated colour (Connect's buttons and logos), not only the
    host page's greys: a frame can be loaded a moment before it is drawn."""
    return any(
        image.pixelColor(x, y).hsvSaturationF() > 0.5
        for x in range(0, image.width(), 8)
        for y in range(0, image.height(), 8)
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the whole flow, with the sandbox ----------------------------------------------------------
def test_a_full_connect_with_the_sandbox_captures_a_login_id_that_authorizes(
    qtbot, make_view, flinks_sandbox, log_has, tmp_path
):
    view = make_view()
    events = record(view.connectEvent)
    captured = record(view.loginCaptured)
    frame = start(qtbot, view, sandbox_connect_url(flinks_sandbox), flinks_sandbox.base_url)
    qtbot.waitUntil(lambda: has_colour(view.grab().toImage()), timeout=5000)  # drawn, not just loaded
    view.grab().save(str(tmp_path / "connect-view.png"))

    page = ConnectPage(qtbot, view)
    assert page.accept_consent() == "institutions"
    assert page.pick_institution("FlinksCapital") == "credentials"
    assert page.sign_in("Greatday", "Everyday") == "mfa"
    assert page.prompts() == ["What city were you born in?"]
    assert page.answer({"What city were you born in?": "Montreal"}) == "accounts"
    with qtbot.waitSignal(view.loginCaptured, timeout=10_000) as capture:
        [account_id] = page.select_accounts(0)
    login_id, institution = capture.args
    assert is_guid(login_id) and login_id == login_id.lower()
    assert institution == "FlinksCapital"
    assert [event["step"] for event in events] == FLOW_STEPS
    assert is_guid(account_id) and events[-1]["accountId"] == account_id
    assert events[-1]["url"] == (f"{REDIRECT_URL}?loginId={login_id}&institution=FlinksCapital&accountId={account_id}")

    # Then Connect (innerRedirect) takes its frame to the redirect URL: blocked, no second capture.
    log_has("Kept a frame from going to the redirect URL")
    assert captured == [(login_id, "FlinksCapital")]
    assert frame.url().toString().startswith(flinks_sandbox.connect_url)
    assert page.screen() == "success"

    authorized = httpx.post(
        f"{flinks_sandbox.banking_url}/Authorize", json={"LoginId": login_id, "MostRecentCached": True}, timeout=10
    )
    assert authorized.status_code == 200
    assert authorized.json()["Login"]["Id"].lower() == login_id


def test_stringified_events_arrive_as_dicts(qtbot, make_view, flinks_sandbox):
    view = make_view()
    start(qtbot, view, sandbox_connect_url(flinks_sandbox, stringify="true"), flinks_sandbox.base_url)
    page = ConnectPage(qtbot, view)
    page.accept_consent()
    with qtbot.waitSignal(view.connectEvent, check_params_cb=is_step("INSTITUTION_SELECTED")) as selected:
        page.pick_institution("FlinksCapital")
    assert selected.args == [{"step": "INSTITUTION_SELECTED", "institution": "FlinksCapital"}]


def test_a_redirect_with_several_account_ids_is_captured(qtbot, make_view, flinks_sandbox):
    """accountSelectorMultiple: accountId is a list in the events; the view still takes the login."""
    view = make_view()
    events = record(view.connectEvent)
    url = sandbox_connect_url(flinks_sandbox, consentEnable="false", accountSelectorMultiple="true")
    start(qtbot, view, url, flinks_sandbox.base_url)
    page = ConnectPage(qtbot, view)
    assert page.pick_institution("FlinksCapital") == "credentials"
    assert page.sign_in("greatday_nomfa", "Everyday") == "accounts"
    page.wait_for_step("COMPONENT_LOAD_ACCOUNT_SELECTION")
    with qtbot.waitSignal(view.loginCaptured, timeout=10_000) as capture:
        chosen = page.select_accounts(0, 1)
    login_id, institution = capture.args
    assert is_guid(login_id) and institution == "FlinksCapital"
    assert [e["step"] for e in events][-2:] == ["ACCOUNT_SELECTED", "REDIRECT"]
    assert events[-2]["accountId"] == events[-1]["accountId"] == chosen
    assert account_ids_from_event(events[-1]) == chosen


def test_closing_connect_emits_closed(qtbot, make_view, flinks_sandbox):
    view = make_view()
    events = record(view.connectEvent)
    connect_url = sandbox_connect_url(flinks_sandbox, closeEnable="true")
    start(qtbot, view, connect_url, flinks_sandbox.base_url)
    with qtbot.waitSignal(view.closed):
        ConnectPage(qtbot, view).close()
    assert events[-1] == {"step": "COMPONENT_CLOSE_SESSION"}


# -- the bridge's reach ------------------------------------------------------------------------
def test_neither_connect_nor_the_page_s_own_world_can_reach_the_bridge(qtbot, make_view, connect_site):
    view = make_view()
    frame = start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    page = page_of(view)
    assert js(qtbot, page, "typeof qt", BRIDGE_WORLD) == "object"  # so the checks below mean something
    assert js(qtbot, page, "typeof qt + typeof QWebChannel", MAIN_WORLD) == "undefinedundefined"
    for world in (MAIN_WORLD, BRIDGE_WORLD):
        assert js(qtbot, frame, "typeof qt + typeof QWebChannel", world) == "undefinedundefined"


def test_the_connect_url_reaches_the_page_as_data_not_markup(qtbot, make_view, connect_site):
    view = make_view()
    markup = "\"><script>alert(1)</script>'"
    frame = start(qtbot, view, f"{connect_site.base_url}/connect?{urlencode({'x': markup})}", connect_site.base_url)
    assert frame.url().query(QUrl.ComponentFormattingOption.FullyDecoded) == f"x={markup}"
    assert js(qtbot, page_of(view), "document.scripts.length") == 0


# -- forged, foreign and malformed messages ----------------------------------------------------
def test_a_redirect_from_anywhere_but_connect_is_ignored(
    qtbot, make_view, connect_site, foreign_site, log_has, expected_warnings
):
    expected_warnings.append(f"Refused to take a frame to {foreign_site.base_url}/forge")
    view = make_view()
    events = record(view.connectEvent)
    captured = record(view.loginCaptured)
    frame = start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    page = page_of(view)

    # The host page itself posts a REDIRECT (its origin is not Connect's).
    js(qtbot, page, f"window.postMessage({forged_redirect()}, '*')")
    log_has(f"ignored a message from {HOST_URL.toString().rstrip('/')}")

    # A frame of another origin is not even loaded: the navigation allow-list refuses it.
    js(
        qtbot,
        page,
        f"var f = document.createElement('iframe'); f.src = '{foreign_site.base_url}/forge';"
        "document.body.appendChild(f)",
    )
    log_has(f"Refused to take a frame to {foreign_site.base_url}/forge")
    assert foreign_site.paths == []

    # A sandboxed frame from Connect's own host has an opaque origin ("null"): loaded, then ignored.
    js(
        qtbot,
        page,
        f"var f = document.createElement('iframe'); f.sandbox = 'allow-scripts';"
        f"f.src = '{connect_site.base_url}/forge'; document.body.appendChild(f)",
    )
    log_has("ignored a message from null")

    with qtbot.waitSignal(view.connectEvent, check_params_cb=is_step("APP_ONLINE")):
        js(qtbot, frame, "parent.postMessage({step: 'APP_ONLINE'}, '*')")
    assert [event["step"] for event in events] == ["APP_MOUNTED", "APP_ONLINE"]
    assert captured == []


def test_python_checks_the_origin_again(qtbot, make_view, connect_site):
    """A message that got past the page's check (a script of the bridge's own world gone wrong)."""
    view = make_view()
    events = record(view.connectEvent)
    captured = record(view.loginCaptured)
    start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    # A second channel takes the transport over: the bridge's own calls (its post of APP_MOUNTED,
    # loaded()) must have had their answers first, or one lands in the wrong channel.
    qtbot.waitUntil(lambda: js(qtbot, page_of(view), "document.body.dataset.state") == "loaded")
    qtbot.wait(300)
    forged = json.dumps({"origin": "http://evil.example", "data": json.loads(forged_redirect())})
    genuine = json.dumps({"origin": connect_site.base_url, "data": {"step": "APP_ONLINE"}})
    with qtbot.waitSignal(view.connectEvent, check_params_cb=is_step("APP_ONLINE")):
        js(
            qtbot,
            page_of(view),
            "new QWebChannel(qt.webChannelTransport, function (channel) {"
            f"  channel.objects.connectBridge.post({json.dumps(forged)});"
            f"  channel.objects.connectBridge.post({json.dumps(genuine)});"
            "})",
            BRIDGE_WORLD,
        )
    assert [event["step"] for event in events] == ["APP_MOUNTED", "APP_ONLINE"]
    assert captured == []


def test_malformed_messages_are_dropped_and_connect_error_events_are_events(qtbot, make_view, connect_site):
    view = make_view()
    events = record(view.connectEvent)
    captured = record(view.loginCaptured)
    failures = record(view.failed)
    frame = start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    malformed = [
        "'not json'",
        "42",
        "null",
        "undefined",
        "[1, 2]",
        "{foo: 1}",
        "{step: 5}",
        "{step: ''}",
        "{step: 'REDIRECT', url: 7}",
        "'{\"step\": 5'",
        "{step: 'X', institution: {}}",
    ]
    truncated = {
        "step": "REDIRECT",
        "institution": "FlinksCapital",  # as published, loginId cut short
        "url": "https://flinks.io/?loginId=4c1bb6…-45aa-49b6-08d69afaf016&institution=FlinksCapital",
    }
    valid = [
        "JSON.stringify({step: 'COMPONENT_LOAD_MFA', mfaTypes: ['QuestionAndAnswer']})",  # stringify=true
        "{flinksCode: 'INVALID_LOGIN', requestId: null}",
        json.dumps(truncated),
        "{step: 'APP_ONLINE'}",
    ]
    with qtbot.waitSignal(view.connectEvent, check_params_cb=is_step("APP_ONLINE")):
        js(qtbot, frame, "".join(f"parent.postMessage({data}, '*');" for data in malformed + valid))
    assert events[1:] == [
        {"step": "COMPONENT_LOAD_MFA", "mfaTypes": ["QuestionAndAnswer"]},
        {"flinksCode": "INVALID_LOGIN", "requestId": None},
        truncated,
        {"step": "APP_ONLINE"},
    ]
    assert captured == []
    assert failures == []


# -- navigations and windows ------------------------------------------------------------------
@pytest.mark.parametrize("where", ["connect frame", "host page"])
def test_a_navigation_to_the_redirect_url_alone_captures_and_is_blocked(qtbot, make_view, connect_site, caplog, where):
    view = make_view()
    captured = record(view.loginCaptured)
    frame = start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    login_id = "5e115eac-1209-4f19-641c-08d6d484e2fe"
    target = f"{REDIRECT_URL}?loginId={login_id.upper()}&institution=FlinksCapital&tag=TestTag"
    with qtbot.waitSignal(view.loginCaptured) as capture:
        js(qtbot, frame if where == "connect frame" else page_of(view), f"location.href = '{target}'")
    assert capture.args == [login_id, "FlinksCapital"]

    # A second navigation there (innerRedirect after the REDIRECT event) captures nothing more.
    js(qtbot, frame, f"location.href = '{target}&again=1'")

    def blocked() -> int:
        return sum("from going to the redirect URL" in r.getMessage() for r in caplog.records)

    qtbot.waitUntil(lambda: blocked() == 2)
    assert captured == [(login_id, "FlinksCapital")]
    assert frame.url().toString() == f"{connect_site.base_url}/connect"
    assert page_of(view).url() == HOST_URL


def test_navigations_outside_the_host_page_and_connect_are_refused(
    qtbot, make_view, connect_site, foreign_site, log_has, expected_warnings
):
    expected_warnings.extend(
        [
            f"Refused to take a frame to {foreign_site.base_url}/connect",
            f"Refused to take the page to {foreign_site.base_url}/connect",
            f"Refused to take a frame to {REDIRECT_URL}?loginId=not-a-guid",
        ]
    )
    view = make_view()
    frame = start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    js(qtbot, frame, f"location.href = '{foreign_site.base_url}/connect'")
    log_has(f"Refused to take a frame to {foreign_site.base_url}/connect")
    js(qtbot, page_of(view), f"location.href = '{foreign_site.base_url}/connect'")
    log_has(f"Refused to take the page to {foreign_site.base_url}/connect")
    js(qtbot, frame, f"location.href = '{REDIRECT_URL}?loginId=not-a-guid'")
    log_has(f"Refused to take a frame to {REDIRECT_URL}?loginId=not-a-guid")
    assert foreign_site.paths == []
    assert page_of(view).url() == HOST_URL

    # Within Connect's origin a frame goes where it likes.
    with qtbot.waitSignal(view.connectEvent, check_params_cb=is_step("APP_MOUNTED")):
        js(qtbot, frame, "location.href = '/connect?step=2'")
    assert frame_at(view, connect_site.base_url).url().toString() == f"{connect_site.base_url}/connect?step=2"


def test_no_window_is_opened(qtbot, make_view, connect_site, foreign_site, log_has, expected_warnings):
    expected_warnings.append("Refused to open a new window")
    view = make_view()
    frame = start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    js(qtbot, frame, f"window.popup = window.open('{foreign_site.base_url}/connect')")
    log_has("Refused to open a new window")
    qtbot.waitUntil(lambda: js(qtbot, frame, "window.popup === null || window.popup.closed") is True)
    assert foreign_site.paths == []


def test_javascript_errors_reach_the_log(qtbot, make_view, connect_site, log_has, expected_warnings, caplog):
    expected_warnings.extend(["JavaScript: Connect broke", "JavaScript: Connect worries"])
    view = make_view()
    frame = start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    js(qtbot, frame, "console.warn('Connect worries'); console.error('Connect broke')")
    log_has("JavaScript: Connect broke")
    levels = {
        r.getMessage().split(" (")[0]: r.levelno for r in caplog.records if "JavaScript: Connect" in r.getMessage()
    }
    assert levels == {"JavaScript: Connect worries": logging.WARNING, "JavaScript: Connect broke": logging.ERROR}


# -- failures ---------------------------------------------------------------------------------
def test_a_connect_host_that_cannot_be_reached_fails_with_a_sentence(qtbot, make_view, expected_warnings):
    expected_warnings.append("could not be loaded")
    port = free_port()
    view = make_view()
    events = record(view.connectEvent)
    with qtbot.waitSignal(view.failed, timeout=10_000) as failure:
        view.start(f"http://127.0.0.1:{port}/v2/?demo=true", REDIRECT_URL)
    assert failure.args == [
        f"Flinks Connect could not be loaded from 127.0.0.1:{port}. "
        "Check the network or the environment's settings, then try again."
    ]
    assert events == []


def test_a_connect_that_never_loads_fails_after_the_timeout(qtbot, make_view, expected_warnings):
    expected_warnings.append("took too long to load")
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        view = make_view(load_timeout_ms=1000)
        with qtbot.waitSignal(view.failed, timeout=5000) as failure:
            view.start(f"http://127.0.0.1:{port}/v2/", REDIRECT_URL)
    assert failure.args == [
        f"Flinks Connect took too long to load from 127.0.0.1:{port}. "
        "Check the network or the environment's settings, then try again."
    ]


def test_an_address_that_is_not_http_fails_at_once(make_view, expected_warnings):
    expected_warnings.append("is not a web address")
    view = make_view()
    failures = record(view.failed)
    view.start("ftp://flinks.example/v2/", REDIRECT_URL)
    assert failures == [
        "The Flinks Connect address “ftp://flinks.example/v2/” is not a web address. Check the environment's settings."
    ]


def test_a_dead_renderer_fails_with_a_sentence(qtbot, make_view, connect_site, expected_warnings):
    expected_warnings.append("stopped unexpectedly")
    view = make_view()
    start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    with qtbot.waitSignal(view.failed, timeout=10_000) as failure:
        os.kill(page_of(view).renderProcessPid(), signal.SIGKILL)
    assert failure.args == [
        "Flinks Connect stopped unexpectedly. Try again; if it keeps happening, restart Flinks Desktop."
    ]


# -- after the end ----------------------------------------------------------------------------
def test_after_stop_late_messages_and_navigations_are_dropped(qtbot, make_view, connect_site):
    view = make_view()
    events = record(view.connectEvent)
    captured = record(view.loginCaptured)
    frame = start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    page = page_of(view)
    bridge = page.webChannel().registeredObjects()["connectBridge"]
    late_redirect = json.dumps({"origin": connect_site.base_url, "data": json.loads(forged_redirect())})
    js(
        qtbot,
        frame,
        f"setTimeout(function () {{ parent.postMessage({forged_redirect()}, '*');"
        f" location.href = '{REDIRECT_URL}?loginId={FORGED_LOGIN_ID}'; }}, 100)",
    )

    view.stop()
    bridge.post(late_redirect)  # as if it were already on its way when the view stopped
    link = QWebEnginePage.NavigationType.NavigationTypeLinkClicked
    assert page.acceptNavigationRequest(QUrl(f"{REDIRECT_URL}?loginId={FORGED_LOGIN_ID}"), link, False) is False
    qtbot.waitUntil(lambda: not shiboken6.isValid(page))
    assert events == [{"step": "APP_MOUNTED"}]
    assert captured == []

    # The same view starts a new session.
    start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    assert len(events) == 2


def test_deleting_the_view_mid_session_is_safe(qtbot, make_view, connect_site):
    view = make_view()
    frame = start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    page = page_of(view)
    js(
        qtbot,
        frame,
        f"parent.postMessage({forged_redirect()}, '*'); location.href = '{REDIRECT_URL}?loginId={FORGED_LOGIN_ID}'",
    )
    view.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(page))
    assert not shiboken6.isValid(view)


@pytest.mark.parametrize("path", ["REDIRECT event", "redirect navigation"])
def test_stopping_from_a_login_captured_slot_is_safe(qtbot, make_view, connect_site, path):
    """What the main window does: take the loginId, close Connect, right inside the signal."""
    view = make_view()
    frame = start(qtbot, view, f"{connect_site.base_url}/connect", connect_site.base_url)
    page = page_of(view)
    view.loginCaptured.connect(view.stop)
    code = (
        f"parent.postMessage({forged_redirect()}, '*')"
        if path == "REDIRECT event"
        else f"location.href = '{REDIRECT_URL}?loginId={FORGED_LOGIN_ID}'"
    )
    with qtbot.waitSignal(view.loginCaptured):
        js(qtbot, frame, code)
    qtbot.waitUntil(lambda: not shiboken6.isValid(page))
