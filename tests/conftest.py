"""Test set-up shared by every test: Qt runs offscreen, QtWebEngine without its sandbox.

CI runs as root with no display: QtWebEngine refuses to start as root unless its Chromium sandbox
is off, and there is no GPU. The project's pytest plugin (flinks_desktop.pytest_plugin) sets these
only for the tests that use its Qt fixtures (or with --flinks-offscreen); this suite has Qt tests
that do not, so they are set here, for every test, before anything imports Qt.
"""

import os

import pytest

from flinks_desktop.pytest_plugin import OFFSCREEN_ENVIRONMENT

for _name, _value in OFFSCREEN_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session", autouse=True)
def _qt_settings_of_the_run_s_own(tmp_path_factory):
    """QSettings (the window's geometry, the folder last saved to...) in a folder of this test run,
    never the real user's configuration."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path_factory.mktemp("qt-settings"))
    for kind in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(kind, QSettings.Scope.UserScope, folder)


@pytest.fixture
def qasync_loop(flinks_qasync_loop):
    """Our tests' short name for the plugin's `flinks_qasync_loop`."""
    return flinks_qasync_loop


@pytest.fixture
def use_keyring():
    """`use_keyring(backend)` installs `backend` for the test; the previous one comes back after."""
    from contextlib import ExitStack

    from flinks_desktop.testing import installed_keyring

    with ExitStack() as stack:
        yield lambda backend: stack.enter_context(installed_keyring(backend))


@pytest.fixture
def memory_keyring(flinks_memory_keyring):
    """An empty in-memory keyring for the test (`.entries` holds what was stored)."""
    return flinks_memory_keyring


@pytest.fixture
def make_window(qtbot, tmp_path, qasync_loop, memory_keyring):
    """`make_window(prepare=None, **sandbox_config)`: the real main window on a data directory of
    its own (`prepare(settings)` may add and choose an environment first; the offline sandbox, with
    `sandbox_config`, otherwise), shown; every window made is closed, deleted and its session closed
    after the test (QtWebEngine objects left to the garbage collector crash a later test)."""
    import asyncio

    import shiboken6
    from PySide6.QtWidgets import QApplication

    from flinks_desktop.core.secret_store import SecretStore
    from flinks_desktop.core.settings import Settings
    from flinks_desktop.ui.app import AppSession, style_sheet
    from flinks_desktop.ui.main_window import MainWindow

    made = []

    def build(prepare=None, **sandbox_config):
        data_dir = tmp_path / f"data-{len(made)}"
        data_dir.mkdir(mode=0o700)
        settings = Settings(data_dir)
        if prepare is not None:
            prepare(settings)
        session = AppSession(
            data_dir, settings, SecretStore(), sandbox_config={"bank_delay": 0.0, **sandbox_config}, poll_interval=0.01
        )
        QApplication.instance().setStyleSheet(style_sheet())
        window = MainWindow(session)
        window.show()
        qtbot.waitExposed(window)
        made.append((window, session))
        return window

    yield build
    for window, session in made:
        window.close()
        window.deleteLater()
        qtbot.waitUntil(lambda: not shiboken6.isValid(window))
        done = asyncio.ensure_future(session.close())
        qtbot.waitUntil(done.done, timeout=10_000)
