"""The test engineer's kit (flinks_desktop.testing, the two pytest plugins), used as a downstream
team uses it: from this suite on the real app, sandbox and QtWebEngine, and from suites of their
own run by pytester in a fresh pytest process (the README's example among them, as written)."""

from __future__ import annotations

import re
from pathlib import Path
from unittest.mock import ANY

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from flinks_desktop.pytest_plugin import OFFSCREEN_LOG_IGNORE
from flinks_desktop.testing import (
    ConnectClosed,
    ConnectPage,
    answer_mfa,
    connect,
    mfa_dialog,
    sandbox_answers,
    wait_synced,
)

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE_MARKER = "<!-- The block below runs as written: tests/test_testing_kit.py extracts it. -->"
#: What QtWebEngine and the sandbox need: the child pytest starts from an environment without them,
#: as a downstream suite's would (our conftest.py sets them for this process).
QT_VARIABLES = ("QT_QPA_PLATFORM", "QTWEBENGINE_DISABLE_SANDBOX", "QTWEBENGINE_CHROMIUM_FLAGS")


def readme_example() -> str:
    """The README's example test, the Python block right after its marker."""
    text = README.read_text(encoding="utf-8")
    assert EXAMPLE_MARKER in text, "the README lost the marker of its example test"
    block = re.search(r"```python\n(.*?)```", text[text.index(EXAMPLE_MARKER) :], re.DOTALL)
    return block.group(1)


def authorize(sandbox, **body) -> httpx.Response:
    return httpx.post(f"{sandbox.banking_url}/Authorize", json=body, timeout=10)


# == the request log ===============================================================================


def test_recorded_requests_say_their_endpoint_argument_and_json(flinks_sandbox):
    login = authorize(
        flinks_sandbox,
        Institution="FlinksCapital",
        Username="greatday_nomfa",
        Password="Everyday",
        MostRecentCached=False,
    ).json()
    login_id, request_id = login["Login"]["Id"], login["RequestId"]
    httpx.get(f"{flinks_sandbox.banking_url}/GetAccountsDetailAsync/{request_id}", timeout=10)
    httpx.delete(f"{flinks_sandbox.banking_url}/DeleteCard/{login_id}", timeout=10)
    httpx.get(flinks_sandbox.connect_url, timeout=10)

    first, poll, delete, page = flinks_sandbox.requests
    assert (first.endpoint, first.argument, first.status) == ("Authorize", None, 200)
    assert first.json == {
        "Institution": "FlinksCapital",
        "Username": "greatday_nomfa",
        "Password": "Everyday",
        "MostRecentCached": False,
    }
    assert (poll.endpoint, poll.argument, poll.json) == ("GetAccountsDetailAsync", request_id, None)
    assert (delete.endpoint, delete.argument, delete.method) == ("DeleteCard", login_id, "DELETE")
    assert (page.endpoint, page.argument) == ("", None)
    assert str(first).startswith(f"POST {first.path} -> 200 {{")


def test_assert_called_returns_the_call_or_says_what_came_instead(flinks_sandbox):
    authorize(flinks_sandbox, Institution="FlinksCapital", Username="Greatday", Password="nope", MostRecentCached=False)
    authorize(
        flinks_sandbox,
        Institution="FlinksCapital",
        Username="greatday_nomfa",
        Password="Everyday",
        MostRecentCached=False,
    )

    found = flinks_sandbox.assert_called("Authorize", Username="greatday_nomfa", MostRecentCached=ANY)
    assert found.status == 200 and found is flinks_sandbox.requests[-1]
    assert [r.status for r in flinks_sandbox.calls("Authorize")] == [401, 200]
    assert flinks_sandbox.calls("Authorize", Password="nope")[0].json["Username"] == "Greatday"
    flinks_sandbox.assert_not_called("DeleteCard")

    with pytest.raises(AssertionError) as missing:
        flinks_sandbox.assert_called("Authorize", LoginId="0badf00d")
    path = flinks_sandbox.requests[0].path
    wrong = '{"Institution":"FlinksCapital","Username":"Greatday","Password":"nope","MostRecentCached":false}'
    right = '{"Institution":"FlinksCapital","Username":"greatday_nomfa","Password":"Everyday","MostRecentCached":false}'
    assert str(missing.value).splitlines() == [
        "the sandbox received no Authorize request with LoginId='0badf00d'; 2 Authorize requests in all:",
        f"  POST {path} -> 401 {wrong}",
        f"  POST {path} -> 200 {right}",
    ]
    with pytest.raises(
        AssertionError,
        match=r"^the sandbox received no GetStatements request; "
        r"0 GetStatements requests in all:\n  endpoints called: Authorize$",
    ):
        flinks_sandbox.assert_called("GetStatements")
    with pytest.raises(
        AssertionError,
        match="^the sandbox received at least one Authorize request with Password='nope'; 2 Authorize requests in all:",
    ):
        flinks_sandbox.assert_not_called("Authorize", Password="nope")


def test_the_session_sandbox_resets_to_a_fresh_one(flinks_sandbox_session):
    sandbox = flinks_sandbox_session
    sandbox.reset()
    body = {
        "Institution": "FlinksCapital",
        "Username": "greatday_nomfa",
        "Password": "Everyday",
        "MostRecentCached": False,
    }
    first = authorize(sandbox, **body).json()["Login"]["Id"]
    assert httpx.delete(f"{sandbox.banking_url}/DeleteCard/{first}", timeout=10).status_code == 200
    assert authorize(sandbox, **body).json()["Login"]["Id"] != first  # a deleted card's loginId is not reused
    sandbox.state.advance_clock(3600)

    sandbox.reset()
    assert sandbox.requests == [] and sandbox.state.clock_offset == 0
    assert authorize(sandbox, LoginId=first, MostRecentCached=True).json()["FlinksCode"] == "INVALID_LOGIN"
    assert authorize(sandbox, **body).json()["Login"]["Id"] == first  # as a sandbox just started gives it


def test_the_sandbox_answers_cover_every_question_in_both_languages():
    answers = sandbox_answers()
    assert answers["What city were you born in?"] == "Montreal"
    assert answers["Which of these colours is your favourite?"] == "Blue"
    assert answers["Laquelle de ces couleurs préférez-vous?"] == "Bleu"
    assert len(answers) == 8


# == the app, through the kit ========================================================================


class TestAConfiguredSandbox:
    """`flinks_sandbox_config`, overridden for these tests only: two questions in turn, and secrets
    the sandbox asks for (the app gets them as Settings would give them)."""

    @pytest.fixture
    def flinks_sandbox_config(self):
        return {"mfa_rounds": 2, "auth_key": "s3cret-auth", "api_key": "s3cret-api"}

    def test_the_window_s_sandbox_takes_it(self, qtbot, flinks_main_window):
        window = flinks_main_window
        assert window.sandbox is window.session.sandbox
        assert (window.sandbox.config.mfa_rounds, window.sandbox.config.auth_key) == (2, "s3cret-auth")
        with qtbot.waitSignal(window.connectionAdded, timeout=30_000) as added:
            login_id = connect(qtbot, window)
        assert added.args == [login_id]
        answers = [r for r in window.sandbox.calls("Authorize", SecurityResponses=ANY) if r.status == 200]
        assert len(window.sandbox.calls("Authorize", SecurityResponses=ANY)) == 2 and len(answers) == 1
        assert window.sandbox.assert_called("GenerateAuthorizeToken").status == 200
        details = window.sandbox.calls("GetAccountsDetail")
        assert details and all(r.headers["x-api-key"] == "s3cret-api" for r in details)

    def test_flinks_sandbox_takes_it_too(self, flinks_sandbox):
        assert flinks_sandbox.config.mfa_rounds == 2
        refused = authorize(
            flinks_sandbox,
            Institution="FlinksCapital",
            Username="greatday_nomfa",
            Password="Everyday",
            MostRecentCached=False,
        )
        assert refused.status_code == 401  # no authorize token: the auth key is wanted


def test_connect_step_by_step_then_the_page_is_gone_safely(qtbot, flinks_main_window):
    window = flinks_main_window
    page = ConnectPage(qtbot, window)
    assert page.screen() is None  # Connect not opened yet: nothing to ask, no default page made
    assert page.open() == "consent"
    assert page.accept_consent() == "institutions"
    assert page.pick_institution("FlinksCapital") == "credentials"
    assert page.sign_in("Greatday", "wrong") == "credentials"
    assert "password" in page.alert().lower() or "invalid" in page.alert().lower()
    with qtbot.waitSignal(window.syncFinished, timeout=20_000) as finished:
        assert page.sign_in("Greatday", "Everyday") == "mfa"
        page.answer()
    login_id, outcome = finished.args
    assert outcome == "ok"
    assert page.steps.count("COMPONENT_LOAD_CREDENTIAL_RETRY") == 1 and page.steps[-1] == "REDIRECT"

    # The window closed Connect once it had the loginId: the page object says so, never crashes.
    qtbot.waitUntil(lambda: page.screen() is None, timeout=5_000)
    with pytest.raises(ConnectClosed):
        page.js("document.title")
    assert wait_synced(qtbot, window, login_id) == "ok"


def test_connect_reports_where_it_stopped(qtbot, flinks_main_window):
    window = flinks_main_window
    with pytest.raises(AssertionError, match=r"^Connect did not accept 'Greatday' / 'nope': "):
        connect(qtbot, window, password="nope")
    window.findChild(QPushButton, "cancelConnectButton").click()
    assert connect(qtbot, window, accept_consent=False) is None
    assert ConnectPage(qtbot, window).screen() == "denied"
    window.findChild(QPushButton, "cancelConnectButton").click()
    with pytest.raises(AssertionError, match="no answer given for Connect's question"):
        connect(qtbot, window, answers={"Some other question?": "x"})


def test_the_mfa_dialog_and_the_sync_signals(qtbot, flinks_connected_window):
    window = flinks_connected_window
    login_id = window.selected_login().id
    started, finished, asked = [], [], []
    window.syncStarted.connect(started.append)
    window.syncFinished.connect(lambda *args: finished.append(args))
    window.mfaRequested.connect(asked.append)

    window.live_refresh_button.click()
    qtbot.waitUntil(lambda: mfa_dialog(window) is not None, timeout=10_000)
    assert started == [login_id] and asked == [mfa_dialog(window)] and window.syncing == login_id
    with pytest.raises(AssertionError, match=r"did not end in time: .* The MFA dialog is asking \(answer_mfa\)"):
        wait_synced(qtbot, window, login_id, timeout=0.5)
    prompt = asked[0].findChild(QLabel, "mfaPrompt0").text()
    with pytest.raises(AssertionError, match="no answer given for the bank's question"):
        answer_mfa(qtbot, window, {"Some other question?": "x"})
    answer_mfa(qtbot, window, {prompt: "Atlantis"})
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=10_000)
    assert asked[1] is asked[0] and asked[0].findChild(QLabel, "mfaError").isVisible()

    qtbot.mouseClick(asked[0].findChild(QPushButton, "mfaCancel"), Qt.MouseButton.LeftButton)
    assert wait_synced(qtbot, window, login_id) == "needs_mfa"
    assert finished == [(login_id, "needs_mfa")] and window.syncing is None

    window.refresh_all_action.trigger()
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=20_000)
    assert started[-1] == "" and finished[-1] == ("", "done")


# == downstream suites, in a pytest process of their own ==============================================


@pytest.fixture
def downstream(pytester, monkeypatch):
    """A project of its own with nothing set for Qt, as a team that installed flinks-desktop has,
    run where its CI runs: with no display (the plugin then chooses offscreen), even when this suite
    itself runs on one."""
    for name in (*QT_VARIABLES, "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    return pytester


def test_the_plugins_change_nothing_until_a_flinks_qt_fixture_is_used(downstream):
    downstream.makeini("[pytest]\nqt_api = pyside6\n")
    downstream.makepyfile(
        test_plain=f"""
        import os
        import sys

        import httpx

        QT_VARIABLES = {QT_VARIABLES!r}

        def untouched(config):
            assert [name for name in QT_VARIABLES if name in os.environ] == []
            assert config.getini("qt_log_ignore") == []
            assert not [name for name in sys.modules if name.startswith("PySide6.QtWebEngine")]

        def test_a_plain_test(request):
            untouched(request.config)
            assert request.node.get_closest_marker("qt_log_ignore") is None

        def test_the_sandbox_fixtures(request, flinks_sandbox):
            untouched(request.config)
            httpx.post(flinks_sandbox.banking_url + "/Authorize", json={{"LoginId": "x"}})
            flinks_sandbox.assert_called("Authorize", LoginId="nope")
    """
    )
    result = downstream.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            (
                "*AssertionError: the sandbox received no Authorize request with LoginId='nope'; "
                "1 Authorize request in all:"
            ),
            '*  POST /v3/*/BankingServices/Authorize -> * {"LoginId":"x"}',
        ]
    )

    # Asked for, it sets all of it up front, for every test.
    downstream.makepyfile(
        test_plain="""
        import os

        def test_offscreen(request):
            assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
            assert "--disable-gpu" in os.environ["QTWEBENGINE_CHROMIUM_FLAGS"]
            assert "GPUInfo not initialized" in request.config.getini("qt_log_ignore")
    """
    )
    downstream.runpytest_subprocess("-p", "no:cacheprovider", "--flinks-offscreen").assert_outcomes(passed=1)


def test_a_downstream_suite_with_warnings_failing_passes_the_readme_example_and_more(downstream):
    """qt_log_level_fail = WARNING and no qt_log_ignore of its own; no Qt variable set; a test that
    overrides flinks_sandbox_config; a test that ends while the bank's question waits (its teardown
    must log no error)."""
    downstream.makeini("[pytest]\nqt_api = pyside6\nqt_log_level_fail = WARNING\n")
    downstream.makepyfile(test_readme=readme_example())
    downstream.makepyfile(
        test_configured=f"""
        import os
        from unittest.mock import ANY

        import pytest

        from flinks_desktop.testing import ConnectPage, connect

        @pytest.fixture
        def flinks_sandbox_config():
            return {{"mfa_rounds": 2, "pending_polls": 0}}

        def test_the_window_s_sandbox_takes_the_config(qtbot, flinks_main_window, request):
            window = flinks_main_window
            assert window.sandbox.config.mfa_rounds == 2
            login_id = connect(qtbot, window)
            assert len(window.sandbox.calls("Authorize", SecurityResponses=ANY)) == 2  # one question a round
            window.sandbox.assert_called("Authorize", LoginId=login_id)  # the app's own, once linked
            assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
            assert set({OFFSCREEN_LOG_IGNORE!r}) <= set(request.node.get_closest_marker("qt_log_ignore").args)

        def test_ending_while_the_bank_waits_for_an_answer(qtbot, flinks_connected_window):
            window = flinks_connected_window
            with qtbot.waitSignal(window.mfaRequested, timeout=20_000):
                window.live_refresh_button.click()

        class TestABankThatNeverHasTheData:
            @pytest.fixture
            def flinks_sandbox_config(self):
                return {{"pending_polls": 1_000_000}}

            def test_ending_while_the_sync_waits_for_flinks(self, qtbot, flinks_main_window):
                window = flinks_main_window
                page = ConnectPage(qtbot, window)
                page.open()
                page.accept_consent()
                page.pick_institution()
                with qtbot.waitSignal(window.syncStarted, timeout=20_000):
                    page.sign_in("greatday_nomfa", "Everyday")
                qtbot.waitUntil(lambda: "preparing" in window.statusBar().currentMessage(), timeout=10_000)
    """
    )
    result = downstream.runpytest_subprocess(
        "-p", "no:cacheprovider", "--log-file=run.log", "--log-file-level=ERROR", timeout=300
    )
    result.assert_outcomes(passed=4)
    errors = (downstream.path / "run.log").read_text()
    assert errors == "", errors


def test_the_readme_example_passes_ten_times_in_a_row(downstream):
    """Issue 12's bar for the kit: link Greatday through Connect, a live refresh answered wrongly
    then rightly, the card deleted; ten runs in one session, none flaky."""
    downstream.makeini("[pytest]\nqt_api = pyside6\nqt_log_level_fail = WARNING\n")
    downstream.makepyfile(test_readme=readme_example())
    result = downstream.runpytest_subprocess("-p", "no:cacheprovider", "--keep-duplicates", *["test_readme.py"] * 10)
    result.assert_outcomes(passed=10)
