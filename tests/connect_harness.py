"""Drive the sandbox's Flinks Connect page inside a real QtWebEngine, the way an integrator embeds it.

A host page at another origin (http://localhost:PORT, while the sandbox answers on 127.0.0.1:PORT)
embeds the Connect iframe, records every `message` event as {origin, data} in `window.__flinksEvents`
and also logs it to the console under a marker, so the test hears about each event as it arrives
(no polling of the page). The cross-origin iframe's DOM is driven by the kit's
`flinks_desktop.testing.ConnectPage`, which runs its scripts inside that frame.

JavaScript console errors from any frame are collected: a test asserts there are none.
"""

from __future__ import annotations

import html
import json
from urllib.parse import urlencode, urlsplit

from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt, QUrl
from PySide6.QtWebEngineCore import QWebEnginePage
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QApplication

from flinks_desktop.testing import ConnectPage

EVENT_MARKER = "__flinks_connect_event__ "

HOST_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Host</title>
<style>
  html, body {{ margin: 0; height: 100%; }}
  iframe {{ display: block; width: 100%; height: 100%; border: 0; }}
</style>
</head>
<body>
<iframe id="connect" title="Flinks Connect" src="{src}"{attrs}></iframe>
<script>
  window.__flinksEvents = [];
  window.addEventListener("message", function (event) {{
    var record = {{ origin: event.origin, data: event.data }};
    window.__flinksEvents.push(record);
    console.info({marker} + JSON.stringify(record));
  }});
</script>
</body>
</html>
"""


class ConnectHostPage(QWebEnginePage):
    """The host page: hears Connect events, collects console errors, records navigations."""

    def __init__(self, parent=None, *, block=lambda url: False):
        super().__init__(parent)
        self.events: list[dict] = []
        self.console_errors: list[str] = []
        self.console_messages: list[tuple[str, str]] = []  # (level name, message), for diagnostics
        self.navigations: list[tuple[str, bool]] = []
        self._block = block

    def javaScriptConsoleMessage(self, level, message, line, source):  # noqa: N802 (Qt API)
        if message.startswith(EVENT_MARKER) and urlsplit(source).hostname == "localhost":
            self.events.append(json.loads(message[len(EVENT_MARKER) :]))
            return
        self.console_messages.append((level.name, f"{source}:{line}: {message}"))
        if level == QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel:
            self.console_errors.append(f"{source}:{line}: {message}")

    def acceptNavigationRequest(self, url, nav_type, is_main_frame):  # noqa: N802 (Qt API)
        self.navigations.append((url.toString(), is_main_frame))
        return not self._block(url)


def step_of(data) -> str:
    """The event's step, or its flinksCode for an error event (objects or JSON strings)."""
    if isinstance(data, str):
        data = json.loads(data)
    return data.get("step") or data.get("flinksCode")


class ConnectHarness:
    """One QWebEngineView with the host page embedding Connect; torn down explicitly by close()."""

    def __init__(self, qtbot, sandbox, *, size=(480, 760), iframe_attrs="", block=lambda url: False):
        self.qtbot = qtbot
        self.sandbox = sandbox
        self.view = QWebEngineView()
        self.page = ConnectHostPage(self.view, block=block)
        self.view.setPage(self.page)
        self.view.resize(*size)
        self.iframe_attrs = iframe_attrs
        #: The host page's origin: same port, other host name, so another origin than the sandbox.
        self.host_origin = f"http://localhost:{sandbox.port}"
        #: Connect's DOM, driven by the kit (it looks the iframe up for every script).
        self.connect = ConnectPage(qtbot, self.view, events=lambda: [event["data"] for event in self.page.events])

    # -- lifecycle ----------------------------------------------------------------------------
    def open(self, *, accept_consent: bool = True, **params) -> ConnectHarness:
        """Load Connect with `params` (its URL parameters) and wait for its first screen.

        Connect shows consent first (unless consentEnable=false); with `accept_consent` it is
        accepted here, so the harness returns on the institution selector either way. Without it,
        it returns on whichever screen comes first.
        """
        src = self.sandbox.connect_url + ("?" + urlencode(params) if params else "")
        attrs = f" {self.iframe_attrs}" if self.iframe_attrs else ""
        markup = HOST_PAGE.format(src=html.escape(src, quote=True), attrs=attrs, marker=json.dumps(EVENT_MARKER))
        self.view.show()
        self.page.setHtml(markup, QUrl(self.host_origin + "/"))
        first = ("COMPONENT_LOAD_CONSENT", "COMPONENT_LOAD_INSTITUTION_SELECTOR")
        self.qtbot.waitUntil(lambda: any(step in first for step in self.steps), timeout=10_000)
        if accept_consent and "COMPONENT_LOAD_CONSENT" in self.steps:
            self.accept_consent()
        return self

    def accept_consent(self) -> None:
        self.click("#consent-accept")
        self.wait_for("COMPONENT_LOAD_INSTITUTION_SELECTOR")

    def close(self) -> None:
        self.view.close()
        self.page.deleteLater()
        self.view.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()

    # -- events -------------------------------------------------------------------------------
    @property
    def steps(self) -> list[str]:
        return [step_of(event["data"]) for event in self.page.events]

    def data(self, index: int) -> dict:
        data = self.page.events[index]["data"]
        return json.loads(data) if isinstance(data, str) else data

    def wait_for(self, step: str, count: int = 1, timeout: int = 10_000) -> dict:
        """Wait until `step` (a step or a flinksCode) was posted `count` times; return the last."""
        self.qtbot.waitUntil(lambda: self.steps.count(step) >= count, timeout=timeout)
        index = [i for i, s in enumerate(self.steps) if s == step][count - 1]
        return self.data(index)

    def recorded_events(self) -> list[dict]:
        """What the host page's listener recorded, read back from the page itself."""
        return json.loads(self.page_js("JSON.stringify(window.__flinksEvents)"))

    # -- JavaScript ---------------------------------------------------------------------------
    def page_js(self, code: str, timeout: int = 5_000):
        """Run `code` in the host page (ours, not Connect) and return its value."""
        with self.qtbot.waitCallback(timeout=timeout) as callback:
            self.page.runJavaScript(code, 0, callback)
        return callback.args[0]

    def frame_url(self) -> str:
        frames = self.page.mainFrame().children()
        return frames[0].url().toString() if frames else ""

    def js(self, code: str, timeout: int = 5_000):
        """Run `code` (an expression) inside the Connect iframe and return its value."""
        return self.connect.js(code, timeout=timeout / 1000)

    # -- driving the Connect DOM: the kit's ConnectPage, through Connect's documented ids -----------
    def screen(self) -> str:
        return self.connect.screen()

    def click(self, selector: str) -> None:
        self.connect.click(selector)

    def fill(self, element_id: str, value: str) -> None:
        self.connect.fill(element_id, value)

    def text(self, element_id: str) -> str:
        return self.connect.text(element_id)

    def visible_text(self) -> str:
        return self.connect.visible_text()

    def is_visible(self, element_id: str) -> bool:
        return self.connect.is_visible(element_id)

    def real_click(self, selector: str) -> None:
        """A real mouse click (not a script's) at the centre of an element of the Connect frame.

        Chromium discards clicks on a cross-origin frame that has just appeared or moved (an anti
        clickjacking rule), so click, ask the frame whether the press arrived, and click again if not.
        """
        box = self.js(f"document.querySelector({json.dumps(selector)}).getBoundingClientRect()")
        frame_box = json.loads(
            self.page_js("JSON.stringify(document.getElementById('connect').getBoundingClientRect())")
        )
        centre = QPoint(
            int(frame_box["x"] + box["x"] + box["width"] / 2), int(frame_box["y"] + box["y"] + box["height"] / 2)
        )
        self.js(
            "(function () { window.__pressed = false; document.addEventListener('pointerdown',"
            " function () { window.__pressed = true; }, {capture: true, once: true}); return true; })()"
        )
        target = self.view.focusProxy()

        def pressed() -> bool:
            self.qtbot.mouseMove(target, centre)
            self.qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=centre)
            return self.js("window.__pressed === true") is True

        self.qtbot.waitUntil(pressed)

    def select_institution(self, institution: str = "FlinksCapital") -> None:
        self.click(f'[data-testid="institution"][data-institution="{institution}"]')

    def sign_in(self, username: str, password: str) -> None:
        self.fill("username", username)
        self.fill("password", password)
        self.click("#submit")

    def answer(self, value: str) -> None:
        self.fill("mfa-answer", value)
        self.click("#mfa-submit")

    def choose_account(self, index: int = 0) -> str:
        return self.connect.select_accounts(index)[0]

    def choose_accounts(self, *indexes: int) -> list[str]:
        """Tick the check boxes at `indexes` (accountSelectorMultiple), then Continue: their ids."""
        return self.connect.select_accounts(*indexes)
