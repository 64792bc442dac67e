"""pytest plugin (entry point `pytest11`): the real app, for pytest-qt suites — ours and yours.

    from flinks_desktop.testing import connect

    def test_demo(qtbot, flinks_main_window):
        login_id = connect(qtbot, flinks_main_window)   # walks Connect in the window's own view
        assert flinks_main_window.sandbox.assert_called("Authorize", LoginId=login_id)

Fixtures (each on a temporary data directory, an in-memory keyring, and an offline sandbox of its
own in this process: nothing touches the real home or the real keyring):

- `flinks_main_window`: the main window, shown. Its sandbox's options come from
  `flinks_sandbox_config` (the sandbox plugin's; override it per test, module or conftest.py), and
  the sandbox is `window.sandbox`, request log and all. Closed and deleted after the test, its
  background work (a sync waiting for an answer...) ended first.
- `flinks_connected_window`: the same window, Greatday already connected through Connect
  (`window.selected_login().id` is its loginId).
- `flinks_app_session`: the app's session without a window; `flinks_qasync_loop`: the asyncio loop
  qasync shares with Qt, marked running so that pytest-qt's waits drive it (with qasync 0.28 a
  coroutine scheduled while no qasync loop runs silently never runs); `flinks_memory_keyring`.

What it changes, and when: nothing until a test uses one of its Qt fixtures. Before the first such
test sets up, it makes Qt and QtWebEngine able to run here, each only when not set already:
QT_QPA_PLATFORM=offscreen when there is no display, QTWEBENGINE_CHROMIUM_FLAGS=--disable-gpu with
offscreen, QTWEBENGINE_DISABLE_SANDBOX=1 as root (Chromium refuses root otherwise). Tests using
those fixtures get pytest-qt's `qt_log_ignore` extended with the messages QtWebEngine prints
offscreen (`OFFSCREEN_LOG_IGNORE`), so a suite with `qt_log_level_fail = WARNING` passes; once
QtWebEngine runs, so does every later test, since those messages can come at any time.
`--flinks-offscreen` does all of that at start-up, for every test, display or not.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flinks_desktop.ui.app import AppSession
    from flinks_desktop.ui.main_window import MainWindow

#: What Qt and QtWebEngine need on a machine with no display and no GPU, running as root (CI).
#: Our own tests/conftest.py sets these before anything imports Qt.
OFFSCREEN_ENVIRONMENT = {
    "QT_QPA_PLATFORM": "offscreen",
    "QTWEBENGINE_DISABLE_SANDBOX": "1",
    "QTWEBENGINE_CHROMIUM_FLAGS": "--disable-gpu",
}

#: What Qt and QtWebEngine print offscreen, as root, with no GPU and no D-Bus: nothing about the
#: code under test (regular expressions, as pytest-qt's qt_log_ignore takes them).
OFFSCREEN_LOG_IGNORE = (
    "QRhiGles2: Failed to create (temporary )?context",  # no OpenGL offscreen
    "Failed to create RHI for backend: OpenGL",  # idem, falls back to software
    "Failed to connect to the bus",  # no D-Bus daemon
    "GPUInfo not initialized",  # --disable-gpu
    "Sandboxing disabled by user",  # QTWEBENGINE_DISABLE_SANDBOX=1 (root)
    "This plugin does not support propagateSizeHints",  # the offscreen platform, any main window
    # On an X display with no Vulkan driver (Xvfb, many desktops): Chromium's GPU probe.
    "Failed to load vulkan",
    "No Vulkan library available",
    "Failed to create platform Vulkan instance",
    "Unable to detect GPU vendor",
)

#: Every Qt fixture of this plugin depends on this one: a test that has it in its closure uses Qt.
_QT_FIXTURE = "flinks_qasync_loop"
#: Set once what Qt needs has been done in this session.
_PREPARED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flinks", "Flinks Desktop")
    group.addoption(
        "--flinks-offscreen",
        action="store_true",
        default=False,
        help="Run Qt offscreen (no GPU; Chromium's sandbox off as root) and ignore the Qt "
        "messages that go with it, for every test, display or not.",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("flinks_offscreen"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        _prepare_qt(config)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that use a Qt fixture of ours ignore QtWebEngine's offscreen messages (pytest-qt
    reads the mark when the test starts, before any fixture runs)."""
    if not config.pluginmanager.hasplugin("pytest-qt"):
        return
    for item in items:
        if _QT_FIXTURE not in getattr(item, "fixturenames", ()):
            continue
        mark = item.get_closest_marker("qt_log_ignore")
        patterns = [*(mark.args if mark else ()), *OFFSCREEN_LOG_IGNORE]
        extend = mark.kwargs.get("extend", True) if mark else True
        item.add_marker(pytest.mark.qt_log_ignore(*patterns, extend=extend), append=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first test using a Qt fixture of ours sets up (and pytest-qt makes its
    QApplication): what Qt needs to run here."""
    if _QT_FIXTURE in getattr(item, "fixturenames", ()):
        _prepare_qt(item.config)


def _prepare_qt(config: pytest.Config) -> None:
    if config.stash.get(_PREPARED, False):
        return
    config.stash[_PREPARED] = True
    if "QT_QPA_PLATFORM" not in os.environ and not _has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
        if "--disable-gpu" not in flags.split():
            os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} --disable-gpu".strip()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    from PySide6.QtCore import QCoreApplication

    if QCoreApplication.instance() is None:
        # QtWebEngine must be loaded before the QApplication exists, or Qt warns that it was
        # "initialized from a plugin" (and shares no OpenGL context).
        import PySide6.QtWebEngineWidgets  # noqa: F401
    if config.pluginmanager.hasplugin("pytest-qt"):
        ignored = config.getini("qt_log_ignore")
        for pattern in OFFSCREEN_LOG_IGNORE:
            if pattern not in ignored:
                config.addinivalue_line("qt_log_ignore", pattern)


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@pytest.fixture
def flinks_qasync_loop(qapp) -> Iterator[asyncio.AbstractEventLoop]:
    """The asyncio loop qasync shares with Qt, marked running: pytest-qt's waits drive it. What is
    still running after the test is cancelled, and allowed to finish, before the loop goes."""
    import qasync

    qapp.setOrganizationName("Flinks Desktop Tests")  # QSettings needs one; pytest-qt's qapp sets none
    qapp.setApplicationName("Flinks Desktop Tests")
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:  # a task that ignores its cancellation is left behind, not waited for forever
        _drive_until(lambda: all(task.done() for task in pending), None)
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def flinks_memory_keyring():
    """An in-memory keyring backend for the test (`.entries`), the previous one restored afterwards."""
    from flinks_desktop.testing import memory_keyring

    with memory_keyring() as backend:
        yield backend


@pytest.fixture
def flinks_app_session(
    tmp_path, flinks_qasync_loop, flinks_memory_keyring, flinks_sandbox_config
) -> Iterator[AppSession]:
    """The app's session on a temporary data directory: the offline sandbox with the options of
    `flinks_sandbox_config` (no bank pause unless it says one), fast polling. A sandbox that wants
    secrets (`auth_key`, `api_key`) gets them from the app, which keeps them in its keyring as a
    person would enter them in Settings."""
    from flinks_desktop.core.secret_store import SecretStore
    from flinks_desktop.core.settings import Settings
    from flinks_desktop.ui.app import AppSession

    data_dir = tmp_path / "flinks-desktop"
    data_dir.mkdir(mode=0o700)
    settings = Settings(data_dir)
    secrets = SecretStore()
    options: dict[str, Any] = {"bank_delay": 0.0, **flinks_sandbox_config}
    if options.get("auth_key"):
        secrets.set(settings.active, "auth-secret", options["auth_key"])
    if options.get("api_key"):
        secrets.set(settings.active, "api-key", options["api_key"])
    session = AppSession(data_dir, settings, secrets, sandbox_config=options, poll_interval=0.01)
    yield session
    done = asyncio.ensure_future(session.close())
    _drive_until(done.done, "the app session did not close in time")
    done.result()


@pytest.fixture
def flinks_main_window(qtbot, flinks_app_session) -> Iterator[MainWindow]:
    """The main window, shown, with the app's style sheet (`window.sandbox`: its offline sandbox).
    After the test it is closed, its background work is let finish, then it is deleted."""
    from PySide6.QtWidgets import QApplication

    from flinks_desktop.testing import close_window
    from flinks_desktop.ui.app import style_sheet
    from flinks_desktop.ui.main_window import MainWindow

    QApplication.instance().setStyleSheet(style_sheet())
    window = MainWindow(flinks_app_session)
    window.show()
    qtbot.waitExposed(window)
    yield window
    close_window(qtbot, window)


@pytest.fixture
def flinks_connected_window(qtbot, flinks_main_window) -> MainWindow:
    """`flinks_main_window` with Greatday connected through Connect, its accounts on screen."""
    from flinks_desktop.testing import connect

    connect(qtbot, flinks_main_window)
    return flinks_main_window


def _drive_until(condition, failure: str | None, timeout: float = 10.0) -> None:
    """Process Qt events (which drive the qasync loop) until `condition()` is true; TimeoutError
    with `failure` after `timeout` seconds (nothing when `failure` is None)."""
    import time

    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    if failure is not None and not condition():
        raise TimeoutError(failure)
