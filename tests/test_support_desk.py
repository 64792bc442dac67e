"""The support desk in the real window: loginIds made on a customer's device (the sandbox's own API,
never this app's Connect) opened by pasting them, many at once, with Flinks' questions answered;
Connect handing over a loginId while another sync runs; the environment edited while a sync runs;
and another process changing the same data directory."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QLineEdit, QPushButton, QTableView, QTableWidget

from flinks_desktop.core.sync import SyncResult
from flinks_desktop.testing import login_made_elsewhere, sandbox_answers
from flinks_desktop.ui.main_window import MainWindow
from flinks_desktop.ui.mfa_dialog import MfaDialog
from flinks_desktop.ui.open_login_ids_dialog import OpenLoginIdsDialog, SyncSummaryDialog

UNKNOWN = "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ANSWERS = sandbox_answers()


@pytest.fixture
def open_window(make_window):
    """`open_window(**sandbox_config)`: the main window on its own data directory and sandbox."""
    return lambda **sandbox_config: make_window(**sandbox_config)


def accounts_shown(window: MainWindow) -> int:
    return window.findChild(QTableView, "accountsTable").model().rowCount()


def listed(window: MainWindow) -> list[str]:
    return [login.id for login in window.connections.model.logins]


def test_a_login_id_made_elsewhere_opens_with_its_accounts(qtbot, open_window) -> None:
    window = open_window()
    login_id = login_made_elsewhere(window.session.sandbox)
    assert listed(window) == []

    assert window.look_up_login(f'  "{login_id.upper()}"\n')
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)
    assert listed(window) == [login_id]
    assert window.connections.current_login_id() == login_id
    assert window.pages.currentWidget() is window.workspace_page

    # Opened again: selected at once, nothing asked of Flinks.
    calls = len(window.session.sandbox.requests)
    window.connections.list.clearSelection()
    assert window.look_up_login(login_id)
    assert window.connections.current_login_id() == login_id
    assert len(window.session.sandbox.requests) == calls


def test_paste_and_enter_in_the_search_box_opens_a_login_made_elsewhere(qtbot, open_window) -> None:
    """The acceptance: a loginId pasted into the search box, then Enter."""
    window = open_window()
    first, second = (login_made_elsewhere(window.session.sandbox, name) for name in ("greatday_nomfa", "Greatday"))
    # A first ticket, from the welcome page (no connection yet, so no list to search).
    welcome_field = window.findChild(QLineEdit, "welcomeLoginId")
    assert welcome_field.isVisible()
    qtbot.keyClicks(welcome_field, first)
    qtbot.keyClick(welcome_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)

    search = window.findChild(QLineEdit, "connectionSearch")
    assert search.isVisible()
    search.setFocus()
    QApplication.clipboard().setText(f"{second}\n")
    qtbot.keyClick(search, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    look_up = window.findChild(QPushButton, "lookUpLoginButton")
    assert look_up.isVisible()
    qtbot.keyClick(search, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: window.connections.current_login_id() == second and accounts_shown(window) == 4, timeout=15_000
    )
    assert sorted(listed(window)) == sorted([first, second])
    assert not look_up.isVisible()


def test_a_line_of_the_ticket_pasted_whole_opens_its_login_id(qtbot, open_window) -> None:
    """Agents copy the ticket's line, not only the loginId: the one loginId in it is opened."""
    window = open_window()
    first, second = (login_made_elsewhere(window.session.sandbox, name) for name in ("greatday_nomfa", "Greatday"))
    welcome_field = window.findChild(QLineEdit, "welcomeLoginId")
    qtbot.keyClicks(welcome_field, f"Ticket 4521: {first} cannot connect since Monday")
    qtbot.keyClick(welcome_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)
    assert listed(window) == [first]

    search = window.findChild(QLineEdit, "connectionSearch")
    search.setText(f"Ticket 4522 — {second} — RBC")  # not here yet: Look up at Flinks, Enter
    assert window.findChild(QPushButton, "lookUpLoginButton").isVisible()
    qtbot.keyClick(search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.connections.current_login_id() == second, timeout=15_000)

    search.setText(f"again: {first.upper()} (ticket 4530)")  # here already: selected at once, shown
    assert window.connections.current_login_id() == first and search.text() == ""
    # Two loginIds in one line: which is meant is not guessed.
    search.setText(f"moved from {first} to {second}")
    assert not window.findChild(QPushButton, "lookUpLoginButton").isVisible()
    assert not window.look_up_login(search.text())
    assert window.statusBar().currentMessage() == (
        "That holds 2 loginIds: paste the one to open, or open them all with Connection > Open loginIds… (Ctrl+O)."
    )


def test_a_login_id_flinks_does_not_know_says_so_and_adds_nothing(qtbot, open_window) -> None:
    window = open_window()
    assert window.look_up_login(UNKNOWN)
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=10_000)
    message = window.statusBar().currentMessage()
    assert "Flinks does not know the loginId" in message and "nothing was added" in message
    assert listed(window) == []

    # With a connection listed, from the search box: the sentence shows under it too.
    known = login_made_elsewhere(window.session.sandbox)
    window.look_up_login(known)
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)
    window.connections.search.setText(UNKNOWN)
    qtbot.keyClick(window.connections.search, Qt.Key.Key_Return)
    empty = window.findChild(QLabel, "connectionsEmpty")
    qtbot.waitUntil(lambda: "Flinks does not know" in empty.text(), timeout=10_000)
    assert listed(window) == [known]


def test_what_is_not_a_login_id_is_refused_before_asking_flinks(qtbot, open_window) -> None:
    window = open_window()
    assert not window.look_up_login("152b925b-22ef")
    assert "not a loginId" in window.statusBar().currentMessage()
    assert window.session.sandbox.requests == []


def test_flinks_asking_a_question_on_a_cached_lookup_shows_the_mfa_dialog(qtbot, open_window) -> None:
    window = open_window(cached_mfa=True)
    login_id = login_made_elsewhere(window.session.sandbox, "Greatday")
    window.look_up_login(login_id)

    dialog = None

    def dialog_shown() -> bool:
        nonlocal dialog
        dialog = window.findChild(MfaDialog, "mfaDialog")
        return dialog is not None and dialog.isVisible()

    qtbot.waitUntil(dialog_shown, timeout=10_000)
    prompt = dialog.findChild(QLabel, "mfaPrompt0").text()
    dialog.findChild(QLineEdit, "mfaAnswer0").setText(ANSWERS[prompt])
    qtbot.mouseClick(dialog.findChild(QPushButton, "mfaSubmit"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)
    assert window.selected_login().status == "ok"


def test_open_login_ids_imports_many_and_ends_with_a_summary_per_login(qtbot, open_window) -> None:
    window = open_window()
    good = [login_made_elsewhere(window.session.sandbox, name) for name in ("greatday_nomfa", "Greatday")]
    text = f'loginId,ticket\n{good[0]},4521\n{UNKNOWN},4522\nb0debb48-f9f1,4523\n"{good[1]}",4524\n'

    window.open_login_ids_action.trigger()
    qtbot.waitUntil(lambda: window.findChild(OpenLoginIdsDialog) is not None, timeout=5_000)
    ask = window.findChild(OpenLoginIdsDialog)
    ask.input.setPlainText(text)
    assert ask.open_button.text() == "Open 3 loginIds"
    assert "line 4" in ask.findChild(QLabel, "loginIdsParsed").text()
    qtbot.mouseClick(ask.open_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: window.findChild(SyncSummaryDialog) is not None, timeout=5_000)
    summary = window.findChild(SyncSummaryDialog)
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=20_000)
    table = summary.findChild(QTableWidget, "syncSummaryTable")
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows == {good[0]: "added", UNKNOWN: "unknown to Flinks", good[1]: "added"}
    assert summary.findChild(QLabel, "syncSummaryText").text() == "2 added · 1 unknown to Flinks"
    # Every row in view once all are in: the dialog grew for the details that wrapped.
    qtbot.waitUntil(lambda: table.verticalScrollBar().maximum() == 0, timeout=2_000)
    assert sorted(listed(window)) == sorted(good)

    summary.copy_to_clipboard()
    assert UNKNOWN in QApplication.clipboard().text()
    summary.close()

    # Opened again, a loginId this computer has is "refreshed", not "added".
    window.open_login_ids_action.trigger()
    qtbot.waitUntil(lambda: window.findChild(OpenLoginIdsDialog) is not None, timeout=5_000)
    ask = window.findChild(OpenLoginIdsDialog)
    ask.input.setPlainText(f"{good[0].upper()}\nticket 4525\nb0debb48-f9f1\n")
    assert "2 lines are not a loginId (lines 2, 3)" in ask.findChild(QLabel, "loginIdsParsed").text()
    qtbot.mouseClick(ask.open_button, Qt.MouseButton.LeftButton)

    def others() -> list[SyncSummaryDialog]:
        return [dialog for dialog in window.findChildren(SyncSummaryDialog) if dialog is not summary]

    qtbot.waitUntil(lambda: len(others()) == 1, timeout=5_000)
    [again] = others()
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=20_000)
    assert again.findChild(QTableWidget, "syncSummaryTable").item(0, 1).text() == "refreshed"
    assert again.findChild(QLabel, "syncSummaryText").text() == "1 refreshed"


def test_the_summary_shows_each_result_whole_however_wide_the_dialog(qtbot, open_window) -> None:
    window = open_window()  # the app's style sheet, whose padding the rows must make room for
    ids = [UNKNOWN, "23e6e273-eaf1-ad50-d123-4577f6a692ac"]
    summary = SyncSummaryDialog(window, "Open loginIds", ids, refresh=False)
    summary.show()
    qtbot.waitExposed(summary)
    long = (
        f"Flinks does not know the loginId {UNKNOWN} in this environment, so nothing was added. Check "
        "it, or choose the environment it was made in, then open it again."
    )
    summary.add_result(SyncResult(UNKNOWN, "unknown", long))
    summary.add_result(SyncResult(ids[1], "ok", "Saved 4 accounts."))
    table = summary.findChild(QTableWidget, "syncSummaryTable")

    def needed(row: int) -> float:
        """The height the row's details take, laid out as a document at the text's width."""
        document = QTextDocument()
        document.setDocumentMargin(0)
        document.setDefaultFont(table.font())
        document.setPlainText(table.item(row, 2).text())
        document.setTextWidth(table.columnWidth(2) - 24)  # the style sheet's padding, the item's margins
        return document.size().height()

    heights = []
    for width in (1100, 780):  # narrower: the sentence takes more lines, and its row grows with it
        summary.resize(width, summary.height())
        qtbot.waitUntil(lambda: table.viewport().width() < width - 40, timeout=2_000)  # laid out anew
        qtbot.waitUntil(lambda: all(table.rowHeight(row) >= needed(row) for row in range(2)), timeout=2_000)
        assert needed(0) > needed(1) and table.rowHeight(0) > table.rowHeight(1)
        heights.append(table.rowHeight(0))
    assert heights[1] > heights[0]
    summary.resize(500, summary.height())
    assert summary.width() == 780  # no narrower: a loginId in the details would not fit its column
    summary.close()


def test_refresh_all_ends_with_the_same_summary(qtbot, open_window) -> None:
    window = open_window()
    login_id = login_made_elsewhere(window.session.sandbox)
    window.look_up_login(login_id)
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)

    window.refresh_all_action.trigger()
    summary = window.findChild(SyncSummaryDialog)
    assert summary is not None
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=15_000)
    table = summary.findChild(QTableWidget, "syncSummaryTable")
    assert [(table.item(0, 0).text(), table.item(0, 1).text())] == [(login_id, "refreshed")]
    assert summary.findChild(QLabel, "syncSummaryText").text() == "1 refreshed"


def test_a_summary_row_opens_its_connection_by_double_click_or_enter(qtbot, open_window) -> None:
    window = open_window()
    first, second = (login_made_elsewhere(window.session.sandbox, name) for name in ("greatday_nomfa", "Greatday"))
    window.open_login_ids_action.trigger()
    qtbot.waitUntil(lambda: window.findChild(OpenLoginIdsDialog) is not None, timeout=5_000)
    ask = window.findChild(OpenLoginIdsDialog)
    ask.input.setPlainText(f"{first}\n{UNKNOWN}\n{second}\n")
    qtbot.mouseClick(ask.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(SyncSummaryDialog) is not None, timeout=5_000)
    summary = window.findChild(SyncSummaryDialog)
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=30_000)
    table = summary.findChild(QTableWidget, "syncSummaryTable")
    assert [table.item(row, 1).text() for row in range(3)] == ["added", "unknown to Flinks", "added"]

    table.cellDoubleClicked.emit(0, 2)  # what a double-click on the row's details sends
    assert window.connections.current_login_id() == first

    # The keyboard: the table takes focus, the arrows move between rows, Enter opens the row and
    # leaves the summary open (Enter in a dialog would press its default button, Close).
    summary.activateWindow()
    close = summary.findChild(QPushButton, "closeSyncSummaryButton")
    qtbot.waitUntil(lambda: QApplication.focusWidget() is close)  # Enter would close the summary
    qtbot.keyClick(close, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is table and table.currentRow() == 0
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentRow() == 2
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert window.connections.current_login_id() == second
    assert summary.isVisible()
    # A loginId Flinks does not know has no connection to open: nothing changes.
    qtbot.keyClick(table, Qt.Key.Key_Up)
    qtbot.keyClick(table, Qt.Key.Key_Enter)
    assert window.connections.current_login_id() == second
    assert summary.isVisible()
    # Tab leaves the table for the dialog's buttons rather than walking its cells.
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is summary.findChild(QPushButton, "copySyncSummaryButton")
    summary.close()


def test_a_login_connect_hands_over_during_a_sync_is_queued_not_dropped(qtbot, open_window) -> None:
    window = open_window(pending_polls=40)  # the first sync waits on Flinks for a while
    first = login_made_elsewhere(window.session.sandbox)
    second = login_made_elsewhere(window.session.sandbox, "Greatday")
    window.look_up_login(first)
    qtbot.waitUntil(lambda: "preparing" in window.statusBar().currentMessage(), timeout=10_000)

    window.on_login_captured(second, "FlinksCapital")  # what the Connect view emits on REDIRECT
    assert "will be linked when" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: second in listed(window), timeout=5_000)  # listed at once, never lost

    qtbot.waitUntil(lambda: window._sync_task is None and not window._queued_links, timeout=30_000)
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=30_000)
    store = window.store
    assert store.login(first).synced_at is not None
    assert store.login(second).synced_at is not None
    assert len(store.accounts(second)) == 4


def test_the_environment_in_use_cannot_change_during_a_sync(qtbot, open_window) -> None:
    from flinks_desktop.core.environments import SettingsError

    window = open_window(pending_polls=40)
    window.look_up_login(login_made_elsewhere(window.session.sandbox))
    qtbot.waitUntil(lambda: window._sync_task is not None and window.workspace.sync.busy, timeout=5_000)
    assert "sync or a deletion is running" in window.busy_reason()
    with pytest.raises(SettingsError, match="running"):
        window.session.apply_settings()
    toolbox = window.session.settings.environment("Flinks toolbox")
    with pytest.raises(SettingsError, match="running"):
        _raise_now(window.session.switch(toolbox))
    assert window.workspace.environment.kind == "sandbox"  # the client under the sync stays open
    window.cancel_sync()
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=5_000)
    assert window.busy_reason() is None


def _raise_now(coroutine) -> None:
    """Run a coroutine's first step: a refusal comes before its first await."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    finally:
        coroutine.close()


def test_a_new_secret_applies_to_the_next_call_without_a_restart(qtbot, open_window) -> None:
    window = open_window()
    session = window.session
    window.look_up_login(login_made_elsewhere(session.sandbox))
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)
    detail = [r for r in session.sandbox.requests if r.path.endswith("/GetAccountsDetail")][-1]
    assert "x-api-key" not in detail.headers

    # What the settings dialog does on Save: the keyring, then the window applies the settings.
    session.secrets.set(session.settings.active, "api-key", "k3y")
    session.apply_settings()
    window.refresh_selected(live=False)
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=15_000)
    detail = [r for r in session.sandbox.requests if r.path.endswith("/GetAccountsDetail")][-1]
    assert detail.headers.get("x-api-key") == "k3y"
    assert session.workspace.environment.sandbox_url == session.sandbox.base_url


def test_another_process_adding_and_deleting_shows_in_the_window(qtbot, open_window) -> None:
    """The CLI on the same data directory (its own process, its own sandbox on the shared sandbox
    state): what it adds and deletes shows in the open window without any click."""
    window = open_window()
    login_id = login_made_elsewhere(window.session.sandbox)
    environment = {**os.environ, "FLINKS_DESKTOP_POLL_INTERVAL": "0.01"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flinks_desktop", "--data-dir", str(window.session.data_dir), *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
        )

    added = cli("sync", login_id)
    assert added.returncode == 0, added.stderr
    qtbot.waitUntil(lambda: login_id in listed(window), timeout=10_000)
    window.connections.select(login_id)
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=10_000)

    deleted = cli("delete-card", login_id, "--local-only", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    qtbot.waitUntil(lambda: login_id not in listed(window), timeout=10_000)
    assert "removed by another" in window.statusBar().currentMessage()
    assert window.connections.current_login_id() == ""


def test_connects_tag_is_kept_shown_and_searchable(qtbot, open_window) -> None:
    window = open_window()
    login_id = login_made_elsewhere(window.session.sandbox)
    # What the Connect view hands over: the session's events (REDIRECT carries the tag), then the login.
    window.on_connect_event(
        {
            "step": "REDIRECT",
            "url": f"https://flinks-desktop.invalid/connected?"
            f"loginId={login_id}&institution=FlinksCapital&tag=ticket-4521",
        }
    )
    window.on_login_captured(login_id, "FlinksCapital")
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)
    assert window.selected_login().tag == "ticket-4521"
    assert "tag ticket-4521" in window.findChild(QLabel, "connectionDetails").text()
    window.connections.search.setText("ticket-4521")
    assert window.connections.filter.rowCount() == 1
    window.connections.search.setText("ticket-9999")
    assert window.connections.filter.rowCount() == 0


def test_an_unexpected_failure_of_background_work_is_said_in_the_window(qtbot, open_window) -> None:
    window = open_window()
    login_id = login_made_elsewhere(window.session.sandbox)
    window.look_up_login(login_id)
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)

    async def bug(*args, **kwargs):  # stands for a defect in the sync engine
        raise RuntimeError("a bug")

    window.workspace.sync.refresh = bug
    window.refresh_selected(live=False)
    qtbot.waitUntil(lambda: window.findChild(QDialog, "errorDialog") is not None, timeout=5_000)
    error = window.findChild(QDialog, "errorDialog")
    assert "Something unexpected went wrong (RuntimeError)" in error.text()
    assert "Something unexpected went wrong" in window.statusBar().currentMessage()
    assert window._sync_task is None and not window.busy.isVisible()
    assert window.refresh_button.isEnabled()
    error.close()


def test_the_last_selection_is_restored_without_keeping_the_login_id_in_the_settings(qtbot, open_window) -> None:
    from PySide6.QtCore import QSettings

    window = open_window()
    login_id = login_made_elsewhere(window.session.sandbox)
    window.look_up_login(login_id)
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)
    window._save_window_state()  # what closing the window keeps
    settings = QSettings()
    stored = [settings.value(key) for key in settings.allKeys() if key.startswith("selection/")]
    assert stored and all(login_id not in str(value) for value in stored)
    assert os.stat(settings.fileName()).st_mode & 0o777 == 0o600  # owner-only
    window.connections.list.clearSelection()
    window.connections.list.setCurrentIndex(window.connections.filter.index(-1, -1))
    assert window.connections.current_login_id() == ""
    window._restore_window_state()
    assert window.connections.current_login_id() == login_id


def test_a_card_flinks_no_longer_knows_can_still_be_removed_here(qtbot, open_window) -> None:
    from flinks_desktop.ui.delete_card_dialog import DeleteCardDialog

    window = open_window()
    sandbox = window.session.sandbox
    login_id = login_made_elsewhere(sandbox)
    window.look_up_login(login_id)
    qtbot.waitUntil(lambda: accounts_shown(window) == 4, timeout=15_000)
    assert httpx.delete(f"{sandbox.banking_url}/DeleteCard/{login_id}").status_code == 200  # deleted elsewhere

    window.delete_selected()
    qtbot.waitUntil(lambda: (d := window.findChild(DeleteCardDialog)) is not None and d.isVisible(), timeout=5_000)
    dialog = window.findChild(DeleteCardDialog)
    dialog.findChild(QLineEdit, "deleteConfirmInput").setText(login_id[-4:])  # as the dialog asks
    qtbot.mouseClick(dialog.findChild(QPushButton, "deleteConfirmButton"), Qt.MouseButton.LeftButton)
    title = dialog.findChild(QLabel, "deleteTitle")
    qtbot.waitUntil(lambda: title.text() == "Flinks no longer knows this card", timeout=10_000)
    assert "Remove the connection's data from this computer" in dialog.findChild(QLabel, "deleteOutcomeNext").text()
    assert listed(window) == [login_id]  # nothing removed yet
    retry = dialog.findChild(QPushButton, "deleteRetryButton")
    assert retry.text() == "Remove from this computer"
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: title.text() == "Removed from this computer", timeout=10_000)
    qtbot.mouseClick(dialog.findChild(QPushButton, "deleteCloseButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: listed(window) == [], timeout=5_000)


def test_a_cached_refresh_that_flinks_questions_asks_the_person(qtbot, open_window) -> None:
    """Real Flinks may answer a cached /Authorize with 203: Refresh (not only Live refresh) asks."""
    window = open_window()
    login_id = login_made_elsewhere(window.session.sandbox, "greatday_cachedmfa")  # its cached authorize asks

    def answer_the_dialog() -> None:
        dialog = None

        def shown() -> bool:
            nonlocal dialog
            dialog = next((d for d in window.findChildren(MfaDialog) if d.isVisible()), None)
            return dialog is not None

        qtbot.waitUntil(shown, timeout=10_000)
        prompt = dialog.findChild(QLabel, "mfaPrompt0").text()
        dialog.findChild(QLineEdit, "mfaAnswer0").setText(ANSWERS[prompt])
        qtbot.mouseClick(dialog.findChild(QPushButton, "mfaSubmit"), Qt.MouseButton.LeftButton)

    window.look_up_login(login_id)
    answer_the_dialog()
    qtbot.waitUntil(lambda: accounts_shown(window) == 4 and window._sync_task is None, timeout=15_000)
    synced = window.selected_login().synced_at

    window.refresh_selected(live=False)
    answer_the_dialog()
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=15_000)
    login = window.selected_login()
    assert login.status == "ok" and login.synced_at > synced
