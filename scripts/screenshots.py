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
from pathlib import Path

for name, value in {
    "QT_QPA_PLATFORM": "offscreen",
    "QTWEBENGINE_DISABLE_SANDBOX": "1",
    "QTWEBENGINE_CHROMIUM_FLAGS": "--disable-gpu",
}.items():
    os.environ.setdefault(name, value)

import keyring  # noqa: E402
import qasync  # noqa: E402
from PySide6 import QtWebEngineWidgets  # noqa: E402, F401 — QtWebEngine loads before the QApplication exists
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit  # noqa: E402

from flinks_desktop.core import paths  # noqa: E402
from flinks_desktop.core.secret_store import SecretStore  # noqa: E402
from flinks_desktop.core.settings import Settings  # noqa: E402
from flinks_desktop.testing import (  # noqa: E402
    ConnectPage,
    MemoryKeyring,
    ScriptBot,
    answer_mfa,
    close_window,
    login_made_elsewhere,
    wait_synced,
    wait_until,
)
from flinks_desktop.ui.app import AppSession, style_sheet  # noqa: E402
from flinks_desktop.ui.main_window import MainWindow  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def walk(bot: ScriptBot, window: MainWindow, out: Path) -> None:
    def shot(name: str, widget=None) -> None:
        (widget or window).grab().save(str(out / f"{name}.png"))
        print(f"  {name}.png")

    def dialog_shown(name: str) -> QDialog:
        wait_until(
            bot,
            lambda: (d := window.findChild(QDialog, name)) is not None and d.isVisible(),
            failure=f"{name} did not open",
        )
        return window.findChild(QDialog, name)

    bot.wait(300)
    shot("01-welcome")

    # Connect opens on its consent screen (consent first, as in Flinks Connect).
    page = ConnectPage(bot, window)
    assert page.open() == "consent"
    bot.wait(1000)  # Connect's fade-in
    page.accept_consent()
    bot.wait(600)
    shot("02-connect-institutions")
    page.pick_institution("FlinksCapital")
    bot.wait(600)
    page.type_credentials("Greatday", "Everyday")
    shot("03-connect-credentials")
    assert page.submit_credentials() == "mfa"
    bot.wait(600)
    shot("04-connect-security-question")
    page.answer()
    wait_until(bot, lambda: window.accounts_view.model.rowCount() == 4 and window.syncing is None)
    bot.wait(400)
    shot("05-accounts")

    window.tabs.setCurrentWidget(window.transactions_view)
    bot.wait(400)
    shot("06-transactions")
    search = window.transactions_view.findChild(QLineEdit, "transactionSearch")
    search.setText("hydro")
    bot.wait(800)
    shot("07-transactions-search")
    search.clear()

    window.tabs.setCurrentWidget(window.statements_view)
    rows = window.store.statements(window.connections.current_login_id())
    window.statements_view.select_statement(rows[0].unique_id)
    bot.wait(1000)
    shot("08-statements")

    window.tabs.setCurrentWidget(window.activity_view)
    window.activity_view.reload()
    bot.wait(400)
    shot("09-activity")

    window.tabs.setCurrentWidget(window.accounts_view)
    login_id = window.connections.current_login_id()
    window.live_refresh_button.click()
    dialog = dialog_shown("mfaDialog")
    bot.wait(300)
    shot("10-mfa-dialog", dialog)
    answer_mfa(bot, window)
    wait_synced(bot, window, login_id)

    window.delete_card_button.click()
    dialog = dialog_shown("deleteCardDialog")
    bot.wait(300)
    shot("11-delete-card-dialog", dialog)
    dialog.reject()

    window.settings_action.trigger()
    dialog = dialog_shown("settingsDialog")
    bot.wait(300)
    shot("12-settings-dialog", dialog)
    dialog.reject()

    # The support desk: loginIds made on customers' own devices (the sandbox's API, not this app).
    ticket = login_made_elsewhere(window.sandbox, "greatday_nomfa")
    window.connections.search.setText(ticket)
    bot.wait(400)
    shot("13-look-up-login")
    window.connections.look_up_button.click()
    wait_until(bot, lambda: window.syncing is None and window.connections.current_login_id() == ticket)
    bot.wait(400)
    shot("14-looked-up-login")

    others = [login_made_elsewhere(window.sandbox, name) for name in ("greatday_cachedmfa", "test_pending")]
    window.open_login_ids_action.trigger()
    dialog = dialog_shown("openLoginIdsDialog")
    dialog.input.setPlainText(
        f"loginId,ticket\n{others[0]},4521\n0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d,4522\n"
        f"b0debb48-f9f1,4523\n{ticket},4524\n"
    )
    bot.wait(300)
    shot("15-open-login-ids", dialog)
    dialog.open_button.click()
    summary = dialog_shown("syncSummaryDialog")
    wait_until(bot, lambda: window.syncing is None, timeout=60)
    bot.wait(300)
    shot("16-open-login-ids-summary", summary)
    summary.close()


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    keyring.set_keyring(MemoryKeyring())
    app = QApplication([argv[0]])
    app.setOrganizationName("Flinks Desktop Screenshots")
    app.setStyleSheet(style_sheet())
    # The loop marked running and driven by Qt's own (as the tests' is): the walk waits the way a
    # test does, through the kit's ScriptBot.
    loop = qasync.QEventLoop(app, already_running=True)
    asyncio.set_event_loop(loop)
    bot = ScriptBot()
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
        try:
            walk(bot, window, out)
        finally:
            close_window(bot, window)
            closed = asyncio.ensure_future(session.close())
            wait_until(bot, closed.done, failure="the session did not close")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
