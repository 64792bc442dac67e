"""Start the desktop app: Qt, the asyncio loop shared with it (qasync), the offline sandbox, the window."""

from __future__ import annotations

import asyncio
import os
import sys
from importlib import resources

STYLES = resources.files("flinks_desktop.ui") / "styles"


def style_sheet() -> str:
    """The app's style sheet: every styles/*.qss, in name order (one file per part of the UI)."""
    files = sorted((f for f in STYLES.iterdir() if f.name.endswith(".qss")), key=lambda f: f.name)
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def prepare_qt_environment() -> None:
    """Settings QtWebEngine needs before Qt starts.

    Chromium refuses to run as root with its sandbox on (containers, CI): turn it off only then.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


def run(argv: list[str] | None = None) -> int:
    prepare_qt_environment()
    import qasync
    from PySide6.QtWidgets import QApplication

    from flinks_desktop.core.flinks import FlinksClient
    from flinks_desktop.core.settings import offline_sandbox
    from flinks_desktop.sandbox import SandboxConfig, SandboxServer
    from flinks_desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setOrganizationName("Flinks Desktop")
    app.setApplicationName("Flinks Desktop")
    app.setStyleSheet(style_sheet())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    # The bank's pause makes the demo read like a real bank; polling every second keeps it short.
    sandbox = SandboxServer(SandboxConfig(bank_delay=0.8)).start()
    environment = offline_sandbox(sandbox.base_url)
    client = FlinksClient(environment.api_url, poll_interval=1.0)
    window = MainWindow(environment, client)
    window.show()

    quitting = asyncio.Event()
    app.aboutToQuit.connect(quitting.set)
    with loop:
        loop.run_until_complete(quitting.wait())
        loop.run_until_complete(client.aclose())
    sandbox.stop()
    return 0
