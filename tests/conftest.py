"""Test set-up shared by every test: Qt runs offscreen, QtWebEngine without its sandbox.

CI runs as root with no display: QtWebEngine refuses to start as root unless its Chromium sandbox
is off, and there is no GPU. These must be set before Qt is imported anywhere.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")


import asyncio  # noqa: E402  (after the environment above, like every import of this file)

import pytest  # noqa: E402


@pytest.fixture
def qasync_loop(qapp):
    """The asyncio loop qasync shares with Qt, marked running so that pytest-qt's waits drive it.

    With qasync 0.28 a coroutine scheduled while no qasync loop runs silently never runs: tests
    that exercise async slots take this fixture and wait for the effect (qtbot.waitUntil).
    """
    import qasync

    qapp.setOrganizationName("Flinks Desktop Tests")  # QSettings needs one; pytest-qt's qapp sets none
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)
