"""The main window driven as a person would, on the real engine: the offline sandbox, a real cache,
real QtWebEngine offscreen. Built by the plugin's `flinks_main_window` fixture, as downstream
suites build it."""

from __future__ import annotations

import asyncio

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QLabel, QListView, QPushButton, QTableView

from flinks_desktop.testing import ConnectPage, answer_mfa, connect, delete_card, wait_synced
from flinks_desktop.ui.main_window import CONNECT_OPENED, MainWindow


def connect_greatday(qtbot, window: MainWindow) -> str:
    """The demo, step by step as a person goes: Connect an account, consent (first, as in Flinks
    Connect), Flinks Capital, Greatday / Everyday, the question; its loginId."""
    page = ConnectPage(qtbot, window)
    assert page.open() == "consent"
    assert window.statusBar().currentMessage() == CONNECT_OPENED  # what the customer does first
    page.accept_consent()
    assert page.pick_institution("FlinksCapital") == "credentials"
    assert page.sign_in("Greatday", "Everyday") == "mfa"
    assert page.prompts() == ["What city were you born in?"]
    # The status line follows the customer (in Connect's words, as the timeline and Activity say).
    status = window.statusBar().currentMessage
    qtbot.waitUntil(lambda: status() == "Flinks Connect: Security question shown", timeout=5_000)
    with qtbot.waitSignal(window.syncFinished, timeout=15_000) as synced:
        page.answer({"What city were you born in?": "Montreal"})
    login_id, outcome = synced.args
    assert outcome == "ok"
    table = window.findChild(QTableView, "accountsTable")
    qtbot.waitUntil(lambda: table.model().rowCount() == 4, timeout=15_000)
    assert page.steps[:4] == [
        "APP_MOUNTED",
        "COMPONENT_LOAD_CONSENT",
        "COMPONENT_ACCEPT_CONSENT",
        "COMPONENT_LOAD_INSTITUTION_SELECTOR",
    ]
    assert page.steps[-1] == "REDIRECT"
    return login_id


def test_first_start_shows_the_welcome_panel_on_the_offline_sandbox(flinks_main_window):
    window = flinks_main_window
    assert window.pages.currentWidget().objectName() == "welcomePanel"
    button = window.findChild(QPushButton, "connectButton")
    assert button.isVisible() and button.text() == "Connect an account"
    assert window.findChild(QLabel, "environmentBanner").text().startswith("Offline sandbox")


def test_connect_an_account_ends_with_its_accounts_transactions_and_statements(qtbot, flinks_main_window):
    window = flinks_main_window
    connect_greatday(qtbot, window)

    assert window.pages.currentWidget() is window.workspace_page
    connections = window.findChild(QListView, "connectionsList")
    assert connections.model().rowCount() == 1 and connections.currentIndex().isValid()
    timeline = [window.timeline.item(i).text() for i in range(window.timeline.count())]
    assert any(line.endswith("Security question shown") for line in timeline)
    assert timeline[-1].endswith("Connected (redirect)")

    model = window.findChild(QTableView, "accountsTable").model()
    rows = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(4)]
    titles = [row[0] for row in rows]
    assert "Everyday Chequing" in titles and "US Dollar Chequing" in titles
    usd = rows[titles.index("US Dollar Chequing")]
    assert usd[3] == "USD" and usd[4].startswith("US$")
    assert all(row[2].startswith("•••") for row in rows)  # account numbers masked
    assert model.index(0, 4).data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight

    # The Connect session is in the connection's own activity, steps and all.
    login_id = window.connections.current_login_id()
    qtbot.waitUntil(
        lambda: (
            {"INSTITUTION_SELECTED", "REDIRECT"}
            <= {row.name for row in window.store.activity(login_id) if row.kind == "connect"}
        )
    )

    transactions = window.findChild(QTableView, "transactionsTable")
    qtbot.waitUntil(lambda: transactions.model().rowCount() > 300)
    statements = window.statements_view
    assert (
        statements.findChild(QLabel, "statementsListEmpty") is None
        or not statements.findChild(QLabel, "statementsListEmpty").isVisible()
    )


def test_live_refresh_asks_the_bank_s_question_in_the_mfa_dialog(qtbot, flinks_main_window):
    window = flinks_main_window
    login_id = connect_greatday(qtbot, window)
    with qtbot.waitSignal(window.syncStarted) as started, qtbot.waitSignal(window.mfaRequested) as asked:
        qtbot.mouseClick(window.findChild(QPushButton, "liveRefreshButton"), Qt.MouseButton.LeftButton)
    assert started.args == [login_id] and window.syncing == login_id
    dialog = asked.args[0]
    assert dialog.isVisible() and dialog.objectName() == "mfaDialog"

    # A wrong answer: the bank says so, in the same dialog object, handed over again.
    prompt = dialog.findChild(QLabel, "mfaPrompt0").text()
    with qtbot.waitSignal(window.mfaRequested, timeout=10_000) as again:
        answer_mfa(qtbot, window, {prompt: "Atlantis"})
    assert again.args[0] is dialog and dialog.isVisible()
    assert "did not accept" in dialog.findChild(QLabel, "mfaError").text()

    with qtbot.waitSignal(window.syncFinished, timeout=15_000) as finished:
        assert answer_mfa(qtbot, window) == [prompt]
    assert finished.args == [login_id, "ok"]
    assert window.syncing is None
    assert wait_synced(qtbot, window, login_id) == "ok"
    assert (
        "refreshed" in window.statusBar().currentMessage().lower()
        or "saved" in window.statusBar().currentMessage().lower()
    )
    window.sandbox.assert_called("Authorize", LoginId=login_id, MostRecentCached=False)


def test_delete_card_removes_the_connection(qtbot, flinks_main_window):
    window = flinks_main_window
    login_id = connect(qtbot, window)
    login = window.selected_login()
    assert login.id == login_id
    with qtbot.waitSignal(window.connectionRemoved) as removed:
        delete_card(qtbot, window)
    assert removed.args == [login_id]
    assert window.sandbox.assert_called("DeleteCard").argument == login_id
    assert window.findChild(QListView, "connectionsList").model().rowCount() == 0
    assert window.pages.currentWidget().objectName() == "welcomePanel"
    assert window.store.login(login.id) is None
    cache = window.workspace.cache_path.read_bytes()
    assert login.id.encode() not in cache

    # The deletion stays on record: when, and by whom, under the masked loginId.
    window.findChild(QAction, "allActivityAction").trigger()
    activity = window.findChild(QDialog, "allActivityDialog")
    qtbot.waitUntil(lambda: activity is not None and activity.isVisible())
    table = activity.findChild(QTableView, "activityTable")
    cells = [
        table.model().index(r, c).data() or ""
        for r in range(table.model().rowCount())
        for c in range(table.model().columnCount())
    ]
    assert "Card deleted at Flinks and on this computer" in cells  # Flinks was asked first
    assert not any(login.id in cell for cell in cells)
    qtbot.mouseClick(activity.findChild(QPushButton, "closeAllActivityButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not shiboken6.isValid(activity) or not activity.isVisible())


def test_the_loop_is_the_qasync_loop(flinks_main_window):
    assert asyncio.get_event_loop().__class__.__module__.startswith("qasync")


def test_cancelling_the_bank_s_question_leaves_the_connection_as_it_was(qtbot, flinks_main_window):
    window = flinks_main_window
    connect_greatday(qtbot, window)
    qtbot.mouseClick(window.findChild(QPushButton, "liveRefreshButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (dialog := window.findChild(QDialog, "mfaDialog")) is not None and dialog.isVisible(), timeout=10_000
    )
    with qtbot.waitSignal(window.syncFinished, timeout=10_000) as finished:
        qtbot.mouseClick(
            window.findChild(QDialog, "mfaDialog").findChild(QPushButton, "mfaCancel"), Qt.MouseButton.LeftButton
        )
    assert finished.args[1] == "needs_mfa"
    assert window.selected_login().status == "needs_mfa"
    assert window.findChild(QTableView, "accountsTable").model().rowCount() == 4
    # When it stopped, for the ticket: the status's own time, local.
    at = window.selected_login().status_at.astimezone().strftime("%Y-%m-%d %H:%M")
    assert window.findChild(QLabel, "connectionDetails").text().startswith(f"Needs MFA at {at} · loginId ")


def test_a_failed_deletion_keeps_the_connection_and_says_why(qtbot, flinks_main_window, flinks_app_session):
    window = flinks_main_window
    connect_greatday(qtbot, window)
    login = window.selected_login()
    flinks_app_session.sandbox.stop()  # Flinks cannot be reached
    with pytest.raises(AssertionError, match="could not be reached"):
        delete_card(qtbot, window)
    assert (
        window.findChild(QDialog, "deleteCardDialog") is None
        or not window.findChild(QDialog, "deleteCardDialog").isVisible()
    )
    assert window.store.login(login.id) is not None
    assert window.findChild(QTableView, "accountsTable").model().rowCount() == 4


def test_a_connect_that_cannot_load_says_so_with_a_way_back(qtbot, flinks_main_window, flinks_app_session):
    window = flinks_main_window
    flinks_app_session.sandbox.stop()  # the environment's Connect is unreachable
    retry = window.findChild(QPushButton, "retryConnectButton")
    qtbot.mouseClick(window.findChild(QPushButton, "connectButton"), Qt.MouseButton.LeftButton)
    assert not retry.isVisible()
    message = window.findChild(QLabel, "connectMessage")
    qtbot.waitUntil(lambda: message.isVisible(), timeout=25_000)
    assert "could not be loaded" in message.text() and retry.isVisible()
    qtbot.mouseClick(window.findChild(QPushButton, "cancelConnectButton"), Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget().objectName() == "welcomePanel"


def test_a_wrong_password_in_connect_is_said_in_the_status_line(qtbot, flinks_main_window):
    window = flinks_main_window
    page = ConnectPage(qtbot, window)
    assert page.open() == "consent"
    page.accept_consent()
    assert page.pick_institution("FlinksCapital") == "credentials"
    status = window.statusBar().currentMessage
    qtbot.waitUntil(lambda: status() == "Flinks Connect: Sign-in form shown", timeout=5_000)
    assert page.sign_in("Greatday", "Nopeday") == "credentials"  # the bank said no: the form again
    # Connect's error in words, kept while Connect shows its form again for it (and the timeline has both).
    qtbot.waitUntil(lambda: status().endswith("(INVALID_LOGIN)"), timeout=5_000)
    assert status() == (
        "Flinks Connect: The username or password is wrong, or this login no longer exists at Flinks. (INVALID_LOGIN)"
    )
    last_step = lambda: window.timeline.item(window.timeline.count() - 1).text()  # noqa: E731
    qtbot.waitUntil(lambda: last_step().endswith("Sign-in refused, form shown again"), timeout=5_000)
    error_step = window.timeline.item(window.timeline.count() - 2)
    # The code may wrap at its underscores (zero-width spaces); its tool tip has it as written.
    assert error_step.text().replace("\u200b", "").endswith("Error: INVALID_LOGIN")
    assert "Error: INVALID_LOGIN" in error_step.toolTip()
    assert status().endswith("(INVALID_LOGIN)")
    assert page.sign_in("Greatday", "Everyday") == "mfa"  # right this time: the status follows again
    qtbot.waitUntil(lambda: status() == "Flinks Connect: Security question shown", timeout=5_000)
