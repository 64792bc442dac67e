"""Walk the demo offscreen and save a screenshot of each screen into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py [OUTPUT_DIR]

The real app on a temporary data directory and its own offline sandbox: Connect with Greatday,
then every tab and dialog. Nothing touches the real home or keyring (an in-memory one is used).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

for name, value in {"QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_DISABLE_SANDBOX": "1",
                    "QTWEBENGINE_CHROMIUM_FLAGS": "--disable-gpu"}.items():
    os.environ.setdefault(name, value)

import httpx  # noqa: E402
import keyring  # noqa: E402
import qasync  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QPushButton  # noqa: E402
from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: E402

from flinks_desktop.core import paths  # noqa: E402
from flinks_desktop.testing import MemoryKeyring  # noqa: E402
from flinks_desktop.core.settings import SecretStore, Settings  # noqa: E402
from flinks_desktop.ui.app import AppSession, style_sheet  # noqa: E402
from flinks_desktop.ui.main_window import MainWindow  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = {"What city were you born in?": "Montreal", "What is the best country on earth?": "Canada",
           "What shape do people like most?": "Triangle"}


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.05)


async def js(frame, code: str):
    future = asyncio.get_running_loop().create_future()
    frame.runJavaScript(code, 0, lambda result: future.done() or future.set_result(result))
    return await future


async def walk(window: MainWindow, out: Path) -> None:
    def shot(name: str, widget=None) -> None:
        (widget or window).grab().save(str(out / f"{name}.png"))
        print(f"  {name}.png")

    await asyncio.sleep(0.3)
    shot("01-welcome")

    def last_step_is(label: str) -> bool:
        return window.timeline.count() > 0 and window.timeline.item(window.timeline.count() - 1).text().endswith(label)

    window.connect_button.click()
    # Connect opens on its consent screen (consent first, as in Flinks Connect).
    await until(lambda: last_step_is("Load consent"))
    frame = window.findChild(QWebEngineView, "connectWebView").page().mainFrame().children()[0]
    await asyncio.sleep(1.0)  # Connect's fade-in
    await js(frame, "document.getElementById('consent-accept').click()")
    await until(lambda: last_step_is("Load institution selector"))
    await asyncio.sleep(0.6)
    shot("02-connect-institutions")
    await js(frame, "document.getElementById('institution-FlinksCapital').click()")
    await asyncio.sleep(0.6)
    await js(frame, "document.getElementById('username').value = 'Greatday';"
                    "document.getElementById('password').value = 'Everyday';")
    shot("03-connect-credentials")
    await js(frame, "document.getElementById('submit').click()")
    await until(lambda: last_step_is("Load MFA"))
    await asyncio.sleep(0.6)
    shot("04-connect-security-question")
    await js(frame, "document.getElementById('mfa-answer').value = 'Montreal';"
                    "document.getElementById('mfa-submit').click()")
    await until(lambda: window.accounts_view.model.rowCount() == 4 and window._sync_task is None)
    await asyncio.sleep(0.4)
    shot("05-accounts")

    window.tabs.setCurrentWidget(window.transactions_view)
    await asyncio.sleep(0.4)
    shot("06-transactions")
    search = window.transactions_view.findChild(QLineEdit, "transactionSearch")
    search.setText("hydro")
    await asyncio.sleep(0.8)
    shot("07-transactions-search")
    search.clear()

    window.tabs.setCurrentWidget(window.statements_view)
    rows = window.store.statements(window.connections.current_login_id())
    window.statements_view.select_statement(rows[0].unique_id)
    await asyncio.sleep(1.0)
    shot("08-statements")

    window.tabs.setCurrentWidget(window.activity_view)
    window.activity_view.reload()
    await asyncio.sleep(0.4)
    shot("09-activity")

    window.tabs.setCurrentWidget(window.accounts_view)
    window.live_refresh_button.click()
    await until(lambda: (d := window.findChild(QDialog, "mfaDialog")) is not None and d.isVisible())
    dialog = window.findChild(QDialog, "mfaDialog")
    await asyncio.sleep(0.3)
    shot("10-mfa-dialog", dialog)
    prompt = dialog.findChild(type(window.connection_title), "mfaPrompt0").text()
    dialog.findChild(QLineEdit, "mfaAnswer0").setText(ANSWERS[prompt])
    dialog.findChild(QPushButton, "mfaSubmit").click()
    await until(lambda: window._sync_task is None)

    window.delete_card_button.click()
    await until(lambda: (d := window.findChild(QDialog, "deleteCardDialog")) is not None and d.isVisible())
    dialog = window.findChild(QDialog, "deleteCardDialog")
    await asyncio.sleep(0.3)
    shot("11-delete-card-dialog", dialog)
    dialog.reject()

    window.settings_action.trigger()
    await until(lambda: (d := window.findChild(QDialog, "settingsDialog")) is not None and d.isVisible())
    dialog = window.findChild(QDialog, "settingsDialog")
    await asyncio.sleep(0.3)
    shot("12-settings-dialog", dialog)
    dialog.reject()

    # The support desk: loginIds made on customers' own devices (the sandbox's API, not this app).
    sandbox = window.session.sandbox
    ticket = await made_elsewhere(sandbox.banking_url, "greatday_nomfa")
    window.connections.search.setText(ticket)
    await asyncio.sleep(0.4)
    shot("13-look-up-login")
    window.connections.look_up_button.click()
    await until(lambda: window._sync_task is None and window.connections.current_login_id() == ticket)
    await asyncio.sleep(0.4)
    shot("14-looked-up-login")

    others = [await made_elsewhere(sandbox.banking_url, name) for name in ("greatday_cachedmfa", "test_pending")]
    window.open_login_ids_action.trigger()
    await until(lambda: (d := window.findChild(QDialog, "openLoginIdsDialog")) is not None and d.isVisible())
    dialog = window.findChild(QDialog, "openLoginIdsDialog")
    dialog.input.setPlainText(f"loginId,ticket\n{others[0]},4521\n0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d,4522\n"
                              f"b0debb48-f9f1,4523\n{ticket},4524\n")
    await asyncio.sleep(0.3)
    shot("15-open-login-ids", dialog)
    dialog.open_button.click()
    await until(lambda: (d := window.findChild(QDialog, "syncSummaryDialog")) is not None and d.isVisible())
    summary = window.findChild(QDialog, "syncSummaryDialog")
    await until(lambda: window._sync_task is None, timeout=60)
    await asyncio.sleep(0.3)
    shot("16-open-login-ids-summary", summary)
    summary.close()


async def made_elsewhere(banking_url: str, username: str) -> str:
    """A login made at Flinks by a customer's own device: its loginId."""
    async with httpx.AsyncClient() as http:
        url = f"{banking_url}/Authorize"
        answer = (await http.post(url, json={"Institution": "FlinksCapital", "Username": username,
                                             "Password": "Everyday", "MostRecentCached": False})).json()
        while "SecurityChallenges" in answer:
            prompt = answer["SecurityChallenges"][0]["Prompt"]
            answer = (await http.post(url, json={"RequestId": answer["RequestId"],
                                                 "SecurityResponses": {prompt: [ANSWERS[prompt]]}})).json()
        return answer["Login"]["Id"]


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    keyring.set_keyring(MemoryKeyring())
    app = QApplication([argv[0]])
    app.setOrganizationName("Flinks Desktop Screenshots")
    app.setStyleSheet(style_sheet())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as temporary:
        # A home of its own, so the data directory is the usual one and shows as "~/..." on screen.
        os.environ["HOME"] = temporary
        os.environ.pop("XDG_DATA_HOME", None)
        data_dir = paths.data_dir()
        session = AppSession(data_dir, Settings(data_dir), SecretStore(), sandbox_config={"bank_delay": 0.3})
        window = MainWindow(session)
        window.resize(1280, 800)
        window.show()
        print(f"Screenshots into {out}")
        with loop:
            loop.run_until_complete(walk(window, out))
            window.close()
            loop.run_until_complete(session.close())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
