"""Every fault ends in the truth: a loopback Flinks (`fault_server`) misbehaves in each way a network
and a server can, and the command line (and, for a few of them, the window) ends with one clear
sentence, within its deadline, the previous snapshot exactly as it was, and a sound cache.

Deadlines are small here (`--timeout`; in the window, the environment's "Wait for Flinks" setting); the
client's own defaults are minutes.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from fault_server import (
    LOGIN_ID,
    PENDING,
    Dropped,
    Fault,
    FaultServer,
    Huge,
    Slow,
    Trickle,
    flinks_error,
    reply_with_headers,
)
from keyring.backends import fail
from scripted_server import Reply

from flinks_desktop import cli
from flinks_desktop.cli import main
from flinks_desktop.core import paths
from flinks_desktop.core.environments import custom_api
from flinks_desktop.core.flinks import FlinksClient, PollProgress, TransportError
from flinks_desktop.core.settings import Settings
from flinks_desktop.core.sync import SyncProgress

TIMEOUT = 1.5
#: What the process may take on top of the deadline it was given (start-up, the good calls).
SLACK = 4.0
HTML_502 = Reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")


@dataclass(frozen=True)
class Row:
    #: The endpoint (or endpoints) that misbehave.
    endpoint: str | tuple[str, ...]
    fault: Fault
    said: str
    command: str = "sync"
    #: How long the command may run in all (it is given --timeout TIMEOUT where it takes one).
    within: float = TIMEOUT + SLACK


ROWS = {
    "slow": Row(
        "Authorize", Slow(30, Reply(200, b"{}")), "Flinks did not answer in time (the call took longer than 1.5 s)."
    ),
    "trickled body": Row("GetAccountsDetail", Trickle(every=0.3), "Flinks did not answer in time"),
    "dropped mid-body": Row("Authorize", Dropped(), "The connection to Flinks failed. Check the network"),
    "5xx": Row(
        "Authorize", Reply(503, b'{"HttpStatusCode": 503}'), "Flinks had a problem on its side. Try again later."
    ),
    "HTML 502": Row("Authorize", HTML_502, "Flinks had a problem on its side. Try again later."),
    "invalid JSON": Row(
        "GetAccountsDetail",
        Reply(200, b"{not json at all"),
        "Flinks sent an answer this app cannot read. Report this problem to support.",
    ),
    "truncated JSON": Row(
        "GetAccountsDetail",
        Reply(200, b'{"HttpStatusCode": 200, "Accounts": [{"Id": "27a'),
        "Flinks sent an answer this app cannot read.",
    ),
    "endless 202": Row(
        ("GetAccountsDetail", "GetAccountsDetailAsync"),
        PENDING,
        "Flinks is taking too long to prepare the data: it was still preparing it after ",
    ),
    "429 with Retry-After": Row(
        "Authorize",
        reply_with_headers(429, b'{"HttpStatusCode": 429, "FlinksCode": "TOO_MANY_REQUESTS"}', {"Retry-After": "1"}),
        "Flinks received too many requests. Wait a minute, then try again. (TOO_MANY_REQUESTS)",
        within=3 + SLACK,
    ),
    "SESSION_EXPIRED": Row(
        "GetAccountsDetail",
        flinks_error(401, "SESSION_EXPIRED"),
        "The Flinks session is no longer valid. Start the connection again. (SESSION_EXPIRED)",
    ),
    "oversized body": Row("GetAccountsDetail", Huge(), "Flinks sent an answer larger than 256 MB"),
    "CARD_IN_USE": Row(
        "DeleteCard",
        flinks_error(409, "CARD_IN_USE"),
        "Flinks did not delete the card, so nothing was removed: Flinks is still processing this login.",
        command="delete-card",
    ),
    "dropped delete": Row(
        "DeleteCard",
        Dropped(),
        "Flinks may or may not have deleted the card: the request was sent, but no clear answer came back",
        command="delete-card",
    ),
    "deleted elsewhere": Row(
        "DeleteCard", flinks_error(401, "INVALID_LOGIN"), "this login no longer exists at Flinks", command="delete-card"
    ),
}


@pytest.fixture(scope="module")
def flinks():
    with FaultServer(transactions=400) as server:
        yield server


@pytest.fixture
def home(tmp_path, monkeypatch, flinks) -> Path:
    monkeypatch.setenv(paths.HOME_VARIABLE, str(tmp_path / "home"))
    monkeypatch.setenv(cli.POLL_INTERVAL_VARIABLE, "0.05")
    monkeypatch.delenv(cli.DEBUG_VARIABLE, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    flinks.clear()
    yield tmp_path / "home"
    flinks.clear()
    keyring.set_keyring(previous)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(cache: Path) -> dict[str, list[tuple]]:
    """Every row the cache holds of the connection's data, its login without its status; and the
    cache's own checks."""
    with closing(sqlite3.connect(cache)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        db.execute("INSERT INTO transactions_fts (transactions_fts, rank) VALUES ('integrity-check', 1)")
        rows = {
            table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall()
            for table in ("accounts", "transactions", "statements")
        }
        rows["logins"] = db.execute(
            "SELECT id, institution, environment, username, type, is_scheduled_refresh, last_refresh, synced_at, "
            "added_at, tag FROM logins"
        ).fetchall()
    return rows


@pytest.mark.parametrize("name", list(ROWS))
def test_each_fault_ends_in_one_sentence_in_time_with_the_snapshot_untouched(name, flinks, home, capsys) -> None:
    row = ROWS[name]
    api = ["--api-url", flinks.api_url]
    code, out, err = run(capsys, *api, "sync", LOGIN_ID)
    assert code == 0, err
    cache = Settings(home).cache_path(custom_api(flinks.api_url))
    before = snapshot(cache)

    install(flinks, row)
    options = ["--timeout", str(TIMEOUT)] if row.command == "sync" else ["--yes"]
    started = time.monotonic()
    code, out, err = run(capsys, *api, row.command, LOGIN_ID, *options)
    took = time.monotonic() - started
    flinks.clear()

    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert lines[0].startswith("flinks-desktop: ") and row.said in lines[0], err
    assert "Traceback" not in err and out == ""
    assert took < row.within, f"{name}: {took:.1f} s"
    assert snapshot(cache) == before
    listing = run(capsys, *api, "list")[1]
    if row.command == "sync":  # the login says what went wrong
        assert f"{LOGIN_ID}  " in listing and "error" in listing
    else:
        assert LOGIN_ID in listing
    if name == "deleted elsewhere":  # Flinks no longer knows it: what is left here can be removed
        assert lines[1:] == [
            f"Flinks no longer knows this card. Remove it from this computer with: "
            f"flinks-desktop delete-card {LOGIN_ID} --local-only"
        ]
        assert run(capsys, *api, "delete-card", LOGIN_ID, "--local-only", "--yes")[0] == 0
    else:
        assert len(lines) == 1, err
    code, out, err = run(capsys, *api, "sync", LOGIN_ID)  # and the next good sync works (adds it again)
    assert code == 0, err


def install(flinks: FaultServer, row: Row) -> None:
    for endpoint in (row.endpoint,) if isinstance(row.endpoint, str) else row.endpoint:
        flinks.fault(endpoint, row.fault)


# -- deadlines, in the client ----------------------------------------------------------------------------


def test_a_body_trickled_a_byte_at_a_time_ends_at_the_deadline(flinks) -> None:
    """httpx's time-outs are per read: a byte every 0.3 s never trips a 120 s read time-out."""
    flinks.fault("GetAccountsDetail", Trickle(every=0.3))

    async def fetch() -> None:
        async with FlinksClient(flinks.api_url, deadline=1.0, retries=3) as client:
            await client.get_accounts_detail("006fd2f3-055b-4ef6-a9fc-c1261cd76ec6")

    started = time.monotonic()
    try:
        with pytest.raises(TransportError) as caught:
            asyncio.run(fetch())
    finally:
        flinks.clear()
    assert 1.0 <= time.monotonic() - started < 2.5  # once: a deadline is not tried again
    assert caught.value.sent and caught.value.detail == "deadline"
    assert str(caught.value) == "Flinks did not answer in time (the call took longer than 1 s). Try again later."


def test_the_wait_for_a_202_is_bounded_and_says_its_limit(flinks) -> None:
    flinks.fault("GetAccountsDetail", PENDING)
    flinks.fault("GetAccountsDetailAsync", PENDING)
    polls: list[PollProgress] = []

    async def fetch() -> None:
        async with FlinksClient(flinks.api_url, poll_interval=0.05, poll_timeout=0.5) as client:
            await client.get_accounts_detail("006fd2f3-055b-4ef6-a9fc-c1261cd76ec6", progress=polls.append)

    try:
        with pytest.raises(Exception) as caught:
            asyncio.run(fetch())
    finally:
        flinks.clear()
    assert type(caught.value).__name__ == "PollTimeout"
    assert "this app waits 0.5 s at most" in str(caught.value)
    assert polls and all(poll.limit == 0.5 for poll in polls)


def test_the_progress_line_says_how_long_it_waited_and_for_how_long_it_will(monkeypatch) -> None:
    from flinks_desktop.terminal import Progress

    class Terminal:
        def __init__(self) -> None:
            self.text = ""

        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> None:
            self.text += text

        def flush(self) -> None:
            pass

    terminal = Terminal()
    Progress(terminal)(
        SyncProgress(LOGIN_ID, "waiting", endpoint="GetAccountsDetail", attempt=3, elapsed=12.4, limit=1800.0)
    )
    assert terminal.text == "\r\x1b[KWaiting for Flinks… 12 s (at most 30 min)"


def test_the_command_line_takes_a_timeout_for_sync_and_add(capsys, home) -> None:
    for bad in ("0", "-1", "soon", "100000"):
        code, _, err = run(capsys, "sync", LOGIN_ID, "--timeout", bad)
        assert code == 2 and "is not a number of seconds" in err
    code, _, err = run(capsys, "add", LOGIN_ID, "--timeout", "x")
    assert code == 2


# -- the window: every row again, as a person meets it ----------------------------------------------------

#: The rows a refresh meets (the deadline rows run below with the environment's own wait, the
#: deletion rows through the delete dialog).
WINDOW_REFRESH_ROWS = [
    name for name, row in ROWS.items() if row.command == "sync" and name not in ("slow", "trickled body", "endless 202")
]


@pytest.fixture
def window_on(make_window):
    """`window_on(api_url)`: the main window working in an environment given by its API URL."""

    def build(api_url: str):
        def faults_environment(settings: Settings) -> None:
            settings.add_from_url("Faults", api_url)
            settings.set_active("Faults")
            settings.save()

        return make_window(faults_environment)

    return build


@pytest.mark.parametrize("name", WINDOW_REFRESH_ROWS)
def test_a_refresh_in_the_window_ends_in_the_same_sentence(name, qtbot, window_on, flinks) -> None:
    flinks.clear()
    window = window_on(flinks.api_url)
    window.on_login_captured(LOGIN_ID, "FlinksCapital")
    qtbot.waitUntil(
        lambda: window._sync_task is None and window.connections.current_login_id() == LOGIN_ID, timeout=20_000
    )
    cache = window.workspace.cache_path
    before = snapshot(cache)
    row = ROWS[name]
    install(flinks, row)
    try:
        window.refresh_selected(live=False)
        qtbot.waitUntil(lambda: window._sync_task is None, timeout=20_000)
    finally:
        flinks.clear()
    shown = window.statusBar().currentMessage()
    assert shown.startswith(row.said.split(" (")[0]), shown
    assert snapshot(cache) == before
    [login] = window.connections.model.logins
    assert login.status == "error" and login.error_message == shown


def test_the_window_says_how_long_it_waits_at_most(window_on, flinks) -> None:
    window = window_on(flinks.api_url)
    window.on_progress(
        SyncProgress(LOGIN_ID, "waiting", endpoint="GetAccountsDetail", attempt=2, elapsed=12.2, limit=1800.0)
    )
    assert window.statusBar().currentMessage() == "Flinks is preparing the data… waited 12 s, gives up after 30 min"
    window.on_progress(SyncProgress(LOGIN_ID, "statements"))
    assert window.statusBar().currentMessage() == "Fetching statements…"


# -- deadlines in the window: its own limit, the environment's "Wait for Flinks" setting ---------------------

#: The environment's wait, in seconds: the 202 wait, and the longest any one call may take.
WAIT = 2


@dataclass(frozen=True)
class WindowRow:
    faults: dict[str, Fault]
    said: str


WINDOW_DEADLINE_ROWS = {
    "slow": WindowRow(
        {"Authorize": Slow(30, Reply(200, b"{}"))},
        f"Flinks did not answer in time (the call took longer than {WAIT} s). Try again later.",
    ),
    "endless 202": WindowRow(
        {"GetAccountsDetail": PENDING, "GetAccountsDetailAsync": PENDING},
        "Flinks is taking too long to prepare the data: it was still preparing it after ",
    ),
    "trickled body": WindowRow(
        {"GetAccountsDetail": Trickle(every=0.3)},
        f"Flinks did not answer in time (the call took longer than {WAIT} s). Try again later.",
    ),
}


class LoopWatch:
    """The longest pause between two turns of the window's event loop (a 20 ms timer), while on."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.longest = 0.0
        self._last: float | None = None
        self._timer = QTimer(interval=20)
        self._timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        now = time.monotonic()
        if self._last is not None:
            self.longest = max(self.longest, now - self._last)
        self._last = now

    def __enter__(self) -> LoopWatch:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.stop()


@pytest.fixture
def window_waiting(make_window):
    """`window_waiting(api_url, wait)`: the main window in an environment given by its API URL whose
    "Wait for Flinks" setting is `wait` seconds, with the fault server's login added and selected."""

    def build(api_url: str, wait: int, qtbot):
        def faults_environment(settings: Settings) -> None:
            settings.add_from_url("Faults", api_url)
            settings.update_private("Faults", wait_limit=wait)
            settings.set_active("Faults")
            settings.save()

        window = make_window(faults_environment)
        window.on_login_captured(LOGIN_ID, "FlinksCapital")
        qtbot.waitUntil(
            lambda: window._sync_task is None and window.connections.current_login_id() == LOGIN_ID, timeout=20_000
        )
        return window

    return build


@pytest.mark.parametrize("name", list(WINDOW_DEADLINE_ROWS))
def test_a_deadline_in_the_window_ends_at_the_environments_wait(name, qtbot, window_waiting, flinks) -> None:
    flinks.clear()
    window = window_waiting(flinks.api_url, WAIT, qtbot)
    assert window.workspace.client.poll_timeout == WAIT
    cache = window.workspace.cache_path
    before = snapshot(cache)
    row = WINDOW_DEADLINE_ROWS[name]
    for endpoint, fault in row.faults.items():
        flinks.fault(endpoint, fault)
    statuses: list[str] = []
    window.statusBar().messageChanged.connect(statuses.append)
    try:
        with LoopWatch() as loop:
            started = time.monotonic()
            window.refresh_selected(live=False)
            assert window.cancel_sync_button.isVisible() and window.cancel_sync_button.isEnabled()
            qtbot.waitUntil(lambda: window._sync_task is None, timeout=(WAIT + SLACK + 5) * 1000)
            took = time.monotonic() - started
    finally:
        flinks.clear()

    shown = window.statusBar().currentMessage()
    assert shown.startswith(row.said), shown
    if name == "endless 202":
        assert shown.endswith(f"and this app waits {WAIT} s at most. Try again later."), shown
        assert any(
            status.startswith("Flinks is preparing the data… waited ") and status.endswith(f", gives up after {WAIT} s")
            for status in statuses
        ), statuses
    assert WAIT <= took < WAIT + SLACK, f"{name}: {took:.1f} s"
    assert loop.longest < 0.5, f"the window did not answer for {loop.longest:.2f} s"  # it stayed responsive
    assert snapshot(cache) == before  # nothing lost
    [login] = window.connections.model.logins
    assert login.status == "error" and login.error_message == shown

    window.refresh_selected(live=False)  # the server behaves again: the next refresh works
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=20_000)
    [login] = window.connections.model.logins
    assert login.status == "ok", window.statusBar().currentMessage()
    assert snapshot(cache) != before


def test_the_wait_counts_the_seconds_between_two_polls(qtbot, window_waiting, flinks) -> None:
    """A real Flinks answers a poll every 10 s: the status counts on in between, from the window's
    own ticker, rather than standing still until the next answer."""
    flinks.clear()
    window = window_waiting(flinks.api_url, 3, qtbot)
    flinks.fault("GetAccountsDetail", PENDING)  # the first 202 at once, then a poll that takes 2.5 s
    flinks.fault("GetAccountsDetailAsync", Slow(2.5, PENDING))
    statuses: list[str] = []
    window.statusBar().messageChanged.connect(statuses.append)
    try:
        window.refresh_selected(live=False)
        qtbot.waitUntil(lambda: window._sync_task is None, timeout=20_000)
    finally:
        flinks.clear()
    waits = [status for status in statuses if status.startswith("Flinks is preparing the data… waited ")]
    # The client reported at 0 s and (the slow poll's answer) at 2.5 s; 1 s and 2 s are the ticker's.
    for seconds in (0, 1, 2):
        assert f"Flinks is preparing the data… waited {seconds} s, gives up after 3 s" in waits, waits
    [login] = window.connections.model.logins
    assert login.status == "error" and "this app waits 3 s at most" in login.error_message


#: What the delete dialog says for each deletion row: its title, and how its sentence begins.
WINDOW_DELETE_ROWS = {
    "dropped delete": ("Flinks may or may not have deleted the card", "Flinks may or may not have deleted the card"),
    "CARD_IN_USE": (
        "Nothing was deleted",
        "Flinks did not delete the card, so nothing was removed: Flinks is still processing this login.",
    ),
    "deleted elsewhere": (
        "Flinks no longer knows this card",
        "Flinks did not delete the card, so nothing was "
        "removed: The username or password is wrong, or this login no longer exists at Flinks.",
    ),
}


@pytest.mark.parametrize("name", list(WINDOW_DELETE_ROWS))
def test_a_deletion_fault_is_said_in_the_dialog_and_removes_nothing(name, qtbot, window_on, flinks) -> None:
    from flinks_desktop.ui.delete_card_dialog import DeleteCardDialog

    flinks.clear()
    window = window_on(flinks.api_url)
    window.on_login_captured(LOGIN_ID, "FlinksCapital")
    qtbot.waitUntil(
        lambda: window._sync_task is None and window.connections.current_login_id() == LOGIN_ID, timeout=20_000
    )
    before = snapshot(window.workspace.cache_path)
    install(flinks, ROWS[name])
    title, sentence = WINDOW_DELETE_ROWS[name]
    dialogs: list[DeleteCardDialog] = []
    real_open = DeleteCardDialog.open

    def opened(dialog) -> None:
        dialogs.append(dialog)
        real_open(dialog)

    DeleteCardDialog.open = opened
    try:
        window.delete_selected()
        qtbot.waitUntil(lambda: bool(dialogs))
        dialog = dialogs[0]
        dialog.confirm_input.setText(LOGIN_ID[-4:])
        dialog.confirm_button.click()
        qtbot.waitUntil(lambda: dialog.current_page() is dialog.outcome_page, timeout=10_000)
        assert dialog.title.text() == title
        assert dialog.outcome.text().startswith(sentence), dialog.outcome.text()
        if name == "dropped delete":
            assert "run" not in dialog.retry_button.text() and dialog.retry_button.isVisible()
        if name == "deleted elsewhere":  # what finishes the job is offered: removing it here
            assert dialog.retry_button.text() == "Remove from this computer" and dialog.retry_button.isVisible()
            assert snapshot(window.workspace.cache_path) == before  # nothing removed until asked
            dialog.retry_button.click()
            qtbot.waitUntil(lambda: not window.connections.model.logins, timeout=10_000)
            return
        dialog.close_button.click()
    finally:
        DeleteCardDialog.open = real_open
        flinks.clear()
    assert snapshot(window.workspace.cache_path) == before


def test_a_sync_that_saved_all_but_the_statements_exits_3_and_says_why(flinks, home, capsys) -> None:
    """The accounts and transactions are saved; the statements' failure is said, and the exit
    status (3, not 0) lets a script tell it from a whole success."""
    api = ["--api-url", flinks.api_url]
    assert run(capsys, *api, "sync", LOGIN_ID)[0] == 0
    flinks.fault("GetStatements", HTML_502)
    code, out, err = run(capsys, *api, "sync", LOGIN_ID)
    assert code == cli.PARTLY_SAVED == 3, (out, err)
    assert "The statements could not be downloaded: Flinks had a problem on its side." in out and err == ""
    code, out, err = run(capsys, *api, "sync", "--all")
    assert code == 3 and f"{LOGIN_ID}  ok" in out, (out, err)
    flinks.clear()
    assert run(capsys, *api, "sync", LOGIN_ID)[0] == 0
