"""The main window driven as a person would: welcome panel, Connect, then the accounts on screen."""

from __future__ import annotations

import asyncio

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWebEngineWidgets import QWebEngineView

from flinks_desktop.core.flinks import FlinksClient
from flinks_desktop.core.settings import offline_sandbox
from flinks_desktop.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, qasync_loop, flinks_sandbox):
    environment = offline_sandbox(flinks_sandbox.base_url)
    client = FlinksClient(environment.api_url, poll_interval=0.01)
    window = MainWindow(environment, client)
    window.show()
    yield window
    # Explicit teardown: WebEngine objects left to the garbage collector crash a later test.
    window.close()
    window.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(window))
    done = asyncio.ensure_future(client.aclose())
    qtbot.waitUntil(done.done)


def js(qtbot, frame, code: str):
    with qtbot.waitCallback(timeout=5000) as callback:
        frame.runJavaScript(code, 0, callback)
    return callback.args[0] if callback.args else None


def connect_frame(window: MainWindow, base_url: str):
    page = window.findChild(QWebEngineView, "connectWebView").page()
    frames = [f for f in page.mainFrame().children() if f.url().toString().startswith(base_url)]
    assert len(frames) == 1
    return frames[0]


def wait_for_step(qtbot, window: MainWindow, step: str, action=None) -> None:
    with qtbot.waitSignal(window.connect_view.connectEvent, timeout=10_000,
                          check_params_cb=lambda event: event.get("step") == step):
        if action:
            action()


def test_first_start_shows_the_welcome_panel_on_the_offline_sandbox(window):
    assert window.pages.currentWidget().objectName() == "welcomePanel"
    assert window.connect_button.isVisible() and window.connect_button.text() == "Connect an account"
    banner = window.findChild(type(window.banner), "environmentBanner")
    assert banner.text().startswith("Offline sandbox")


def test_connect_an_account_ends_with_its_accounts_on_screen(qtbot, window, flinks_sandbox):
    wait_for_step(qtbot, window, "APP_MOUNTED", lambda: qtbot.mouseClick(window.connect_button, Qt.MouseButton.LeftButton))
    frame = connect_frame(window, flinks_sandbox.base_url)
    wait_for_step(qtbot, window, "COMPONENT_LOAD_CREDENTIAL",
                  lambda: js(qtbot, frame, "document.getElementById('institution-FlinksCapital').click()"))
    wait_for_step(qtbot, window, "COMPONENT_LOAD_MFA", lambda: js(
        qtbot, frame, "document.getElementById('username').value = 'Greatday';"
                      "document.getElementById('password').value = 'Everyday';"
                      "document.getElementById('submit').click()"))
    wait_for_step(qtbot, window, "COMPONENT_LOAD_CONSENT", lambda: js(
        qtbot, frame, "document.getElementById('mfa-answer').value = 'Montreal';"
                      "document.getElementById('mfa-submit').click()"))
    js(qtbot, frame, "document.getElementById('consent-accept').click()")

    table = window.findChild(type(window.accounts_table), "accountsTable")
    qtbot.waitUntil(lambda: table.model().rowCount() == 4, timeout=10_000)
    assert window.pages.currentWidget().objectName() == "connectionPage"
    timeline = [window.timeline.item(i).text() for i in range(window.timeline.count())]
    assert any(line.endswith("Load MFA") for line in timeline)
    assert any(line.endswith("Redirect") for line in timeline)

    model = table.model()
    rows = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(4)]
    titles = [row[0] for row in rows]
    assert "Everyday Chequing" in titles and "US Dollar Chequing" in titles
    usd = rows[titles.index("US Dollar Chequing")]
    assert usd[3] == "USD" and usd[4].startswith("US$")
    assert all(row[2].startswith("•••") for row in rows)  # account numbers masked
    assert model.index(0, 4).data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    assert "4 accounts" in window.connection_details.text()
