"""The main window driven as a person would, on the real engine: the offline sandbox, a real cache,
real QtWebEngine offscreen. Built by the plugin's `flinks_main_window` fixture, as downstream
suites build it."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListView, QPushButton, QTableView
from PySide6.QtWebEngineWidgets import QWebEngineView

from flinks_desktop.ui.main_window import MainWindow


def js(qtbot, frame, code: str):
    with qtbot.waitCallback(timeout=5000) as callback:
        frame.runJavaScript(code, 0, callback)
    return callback.args[0] if callback.args else None


def connect_frame(window: MainWindow):
    page = window.findChild(QWebEngineView, "connectWebView").page()
    frames = page.mainFrame().children()
    assert len(frames) == 1
    return frames[0]


def wait_for_step(qtbot, window: MainWindow, step: str, action) -> None:
    with qtbot.waitSignal(window.connect_view.connectEvent, timeout=10_000,
                          check_params_cb=lambda event: event.get("step") == step):
        action()


def connect_greatday(qtbot, window: MainWindow) -> None:
    """The demo: Connect an account, consent (first, as in Flinks Connect), Flinks Capital,
    Greatday / Everyday, the question."""
    button = window.findChild(QPushButton, "connectButton")
    wait_for_step(qtbot, window, "APP_MOUNTED", lambda: qtbot.mouseClick(button, Qt.MouseButton.LeftButton))
    frame = connect_frame(window)
    wait_for_step(qtbot, window, "COMPONENT_LOAD_INSTITUTION_SELECTOR",
                  lambda: js(qtbot, frame, "document.getElementById('consent-accept').click()"))
    wait_for_step(qtbot, window, "COMPONENT_LOAD_CREDENTIAL",
                  lambda: js(qtbot, frame, "document.getElementById('institution-FlinksCapital').click()"))
    wait_for_step(qtbot, window, "COMPONENT_LOAD_MFA", lambda: js(
        qtbot, frame, "document.getElementById('username').value = 'Greatday';"
                      "document.getElementById('password').value = 'Everyday';"
                      "document.getElementById('submit').click()"))
    assert js(qtbot, frame, "document.getElementById('mfa-prompt').textContent") == "What city were you born in?"
    wait_for_step(qtbot, window, "REDIRECT", lambda: js(
        qtbot, frame, "document.getElementById('mfa-answer').value = 'Montreal';"
                      "document.getElementById('mfa-submit').click()"))
    table = window.findChild(QTableView, "accountsTable")
    qtbot.waitUntil(lambda: table.model().rowCount() == 4, timeout=15_000)


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
    assert any(line.endswith("Load MFA") for line in timeline)
    assert any(line.endswith("Redirect") for line in timeline)

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
    qtbot.waitUntil(lambda: {"INSTITUTION_SELECTED", "REDIRECT"} <= {
        row.name for row in window.store.activity(login_id) if row.kind == "connect"})

    transactions = window.findChild(QTableView, "transactionsTable")
    qtbot.waitUntil(lambda: transactions.model().rowCount() > 300)
    statements = window.statements_view
    assert statements.findChild(QLabel, "statementsListEmpty") is None or not statements.findChild(
        QLabel, "statementsListEmpty").isVisible()


def test_live_refresh_asks_the_bank_s_question_in_the_mfa_dialog(qtbot, flinks_main_window):
    window = flinks_main_window
    connect_greatday(qtbot, window)
    qtbot.mouseClick(window.findChild(QPushButton, "liveRefreshButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (dialog := window.findChild(QDialog, "mfaDialog")) is not None and dialog.isVisible(),
                    timeout=10_000)
    dialog = window.findChild(QDialog, "mfaDialog")
    prompt = dialog.findChild(QLabel, "mfaPrompt0").text()
    answers = {"What city were you born in?": "Montreal", "What is the best country on earth?": "Canada",
               "What shape do people like most?": "Triangle"}
    qtbot.keyClicks(dialog.findChild(QLineEdit, "mfaAnswer0"), answers[prompt])
    qtbot.mouseClick(dialog.findChild(QPushButton, "mfaSubmit"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=15_000)
    login = window.selected_login()
    assert login.status == "ok"
    assert "refreshed" in window.statusBar().currentMessage().lower() or "saved" in \
        window.statusBar().currentMessage().lower()


def test_delete_card_removes_the_connection(qtbot, flinks_main_window):
    window = flinks_main_window
    connect_greatday(qtbot, window)
    login = window.selected_login()
    qtbot.mouseClick(window.findChild(QPushButton, "deleteCardButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (d := window.findChild(QDialog, "deleteCardDialog")) is not None and d.isVisible())
    dialog = window.findChild(QDialog, "deleteCardDialog")
    confirm = dialog.findChild(QPushButton, "deleteConfirmButton")
    assert not confirm.isEnabled()
    qtbot.keyClicks(dialog.findChild(QLineEdit, "deleteConfirmInput"), login.id[-4:])
    qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)
    close = dialog.findChild(QPushButton, "deleteCloseButton")
    qtbot.waitUntil(lambda: close.isVisible(), timeout=10_000)
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(QListView, "connectionsList").model().rowCount() == 0)
    assert window.pages.currentWidget().objectName() == "welcomePanel"
    assert window.store.login(login.id) is None
    cache = window.workspace.cache_path.read_bytes()
    assert login.id.encode() not in cache

    # The deletion stays on record: when, and by whom, under the masked loginId.
    window.findChild(QAction, "allActivityAction").trigger()
    activity = window.findChild(QDialog, "allActivityDialog")
    qtbot.waitUntil(lambda: activity is not None and activity.isVisible())
    table = activity.findChild(QTableView, "activityTable")
    cells = [table.model().index(r, c).data() or "" for r in range(table.model().rowCount())
             for c in range(table.model().columnCount())]
    assert any("deleted" in cell.lower() for cell in cells)
    assert not any(login.id in cell for cell in cells)
    activity.close()


def test_the_loop_is_the_qasync_loop(flinks_main_window):
    assert asyncio.get_event_loop().__class__.__module__.startswith("qasync")


def test_cancelling_the_bank_s_question_leaves_the_connection_as_it_was(qtbot, flinks_main_window):
    window = flinks_main_window
    connect_greatday(qtbot, window)
    qtbot.mouseClick(window.findChild(QPushButton, "liveRefreshButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (dialog := window.findChild(QDialog, "mfaDialog")) is not None and dialog.isVisible(),
                    timeout=10_000)
    qtbot.mouseClick(window.findChild(QDialog, "mfaDialog").findChild(QPushButton, "mfaCancel"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=10_000)
    assert window.selected_login().status == "needs_mfa"
    assert window.findChild(QTableView, "accountsTable").model().rowCount() == 4
    assert "Needs MFA" in window.findChild(QLabel, "connectionDetails").text()


def test_a_failed_deletion_keeps_the_connection_and_says_why(qtbot, flinks_main_window, flinks_app_session):
    window = flinks_main_window
    connect_greatday(qtbot, window)
    login = window.selected_login()
    flinks_app_session.sandbox.stop()  # Flinks cannot be reached
    qtbot.mouseClick(window.findChild(QPushButton, "deleteCardButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (d := window.findChild(QDialog, "deleteCardDialog")) is not None and d.isVisible())
    dialog = window.findChild(QDialog, "deleteCardDialog")
    qtbot.keyClicks(dialog.findChild(QLineEdit, "deleteConfirmInput"), login.id[-4:])
    qtbot.mouseClick(dialog.findChild(QPushButton, "deleteConfirmButton"), Qt.MouseButton.LeftButton)
    outcome = dialog.findChild(QLabel, "deleteOutcome")
    qtbot.waitUntil(lambda: outcome.isVisible() and outcome.text() != "", timeout=15_000)
    assert "could not be reached" in outcome.text()
    dialog.findChild(QPushButton, "deleteCloseButton").click()
    qtbot.waitUntil(lambda: not dialog.isVisible())
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
