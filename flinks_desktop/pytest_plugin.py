"""pytest plugin (entry point `pytest11`): the real app, for pytest-qt suites — ours and yours.

    def test_demo(qtbot, flinks_main_window):
        window = flinks_main_window
        qtbot.mouseClick(window.findChild(QPushButton, "connectButton"), Qt.MouseButton.LeftButton)
        ...

`flinks_main_window` is the main window on a temporary data directory, bound to its own offline
sandbox (in this process, on a free loopback port), with an in-memory keyring: nothing touches the
real home or the real keyring. `flinks_qasync_loop` is the asyncio loop qasync shares with Qt,
marked running so that pytest-qt's waits (`qtbot.waitUntil`, `qtbot.waitSignal`) drive it; with
qasync 0.28 a coroutine scheduled while no qasync loop runs silently never runs.

Qt must run offscreen without a display, and QtWebEngine's Chromium sandbox must be off as root:
this plugin sets QT_QPA_PLATFORM=offscreen, QTWEBENGINE_DISABLE_SANDBOX=1 and --disable-gpu when
they are not set, before any test module imports Qt.
"""

from __future__ import annotations

import asyncio
import os

import pytest

OFFSCREEN_ENVIRONMENT = {
    "QT_QPA_PLATFORM": "offscreen",
    "QTWEBENGINE_DISABLE_SANDBOX": "1",
    "QTWEBENGINE_CHROMIUM_FLAGS": "--disable-gpu",
}


def pytest_configure(config) -> None:
    for name, value in OFFSCREEN_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


@pytest.fixture
def flinks_qasync_loop(qapp):
    import qasync

    qapp.setOrganizationName("Flinks Desktop Tests")  # QSettings needs one; pytest-qt's qapp sets none
    qapp.setApplicationName("Flinks Desktop Tests")
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    for task in [task for task in asyncio.all_tasks(loop) if not task.done()]:
        task.cancel()
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def flinks_memory_keyring():
    """An in-memory keyring backend for the test (`.entries`), the previous one restored afterwards."""
    from flinks_desktop.testing import memory_keyring

    with memory_keyring() as backend:
        yield backend


@pytest.fixture
def flinks_app_session(tmp_path, flinks_qasync_loop, flinks_memory_keyring):
    """The app's session on a temporary data directory: offline sandbox, fast polling, no bank pause."""
    from flinks_desktop.core.settings import SecretStore, Settings
    from flinks_desktop.ui.app import AppSession

    data_dir = tmp_path / "flinks-desktop"
    data_dir.mkdir(mode=0o700)
    session = AppSession(data_dir, Settings(data_dir), SecretStore(),
                         sandbox_config={"bank_delay": 0.0}, poll_interval=0.01)
    yield session
    done = asyncio.ensure_future(session.close())
    _drive_until(flinks_qasync_loop, done)


@pytest.fixture
def flinks_main_window(qtbot, flinks_app_session):
    """The main window, shown, with the app's style sheet; closed and deleted explicitly after."""
    import shiboken6
    from PySide6.QtWidgets import QApplication

    from flinks_desktop.ui.app import style_sheet
    from flinks_desktop.ui.main_window import MainWindow

    QApplication.instance().setStyleSheet(style_sheet())
    window = MainWindow(flinks_app_session)
    window.show()
    qtbot.waitExposed(window)
    yield window
    # WebEngine objects left to the garbage collector crash a later test: close and delete now.
    window.close()
    window.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(window))


def _drive_until(loop, future, timeout: float = 10.0) -> None:
    """Process Qt events (which drive the qasync loop) until `future` is done."""
    import time

    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout
    while not future.done() and time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    if not future.done():
        raise TimeoutError("the app session did not close in time")
