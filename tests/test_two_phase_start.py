"""Start-up paints first, then loads the rest: what the first paint may not wait for is not loaded
before it, and the window works the same once it is (even when used before it is).

The order (flinks_desktop.ui.app.run): Qt, the settings, the cache's connections, the window
painted; then asyncio and qasync, and on a thread the offline sandbox, the HTTP client, the sync
engine and the keyring (`AppSession.start`).
"""

from __future__ import annotations

import asyncio
import subprocess
import textwrap

import pytest
from app_process import run_app
from PySide6.QtWidgets import QApplication

from flinks_desktop.core.secret_store import SecretStore
from flinks_desktop.core.settings import Settings
from flinks_desktop.ui.app import AppSession, style_sheet
from flinks_desktop.ui.main_window import MainWindow

#: What the first paint never needs. Each is tens of milliseconds to load, or a thread to start.
LOADED_AFTER_THE_FIRST_PAINT = (
    "asyncio",
    "qasync",
    "httpx",
    "keyring",
    "tenacity",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtPdf",
    "PySide6.QtNetwork",
    "flinks_desktop.sandbox",
    "uvicorn",
    "starlette",
    "fpdf",
    "flinks_desktop.core.sync",
    "flinks_desktop.core.flinks.client",
    "flinks_desktop.core.workspace",
    "flinks_desktop.core.flinks.models",  # the response types: the cache's rows need only `values`
    "flinks_desktop.core.flinks.values",  # ...and only to read an account (the settings need `options`)
    "flinks_desktop.core.export",
    "flinks_desktop.core.connect_events",
)

PROBE = textwrap.dedent("""
    import sys
    from flinks_desktop.ui import first_paint

    painted = first_paint.FirstPaint.wait

    def wait(self, *args, **kwargs):
        done = painted(self, *args, **kwargs)
        names = {names!r}
        print("loaded at the first paint:", ",".join(sorted(n for n in names if n in sys.modules)), flush=True)
        return done

    first_paint.FirstPaint.wait = wait
    from flinks_desktop.launch import main
    raise SystemExit(main(["--smoke"]))
""")


#: The offline sandbox's Flinks Capital questions and their answers.
ANSWERS = {
    "What city were you born in?": "Montreal",
    "What is the best country on earth?": "Canada",
    "What shape do people like most?": "Triangle",
}


async def answer(prompt):
    return {challenge.prompt: [ANSWERS[challenge.prompt]] for challenge in prompt.challenges}


def finish(qtbot, coroutine):
    """Run `coroutine` on the test's qasync loop (already marked running) and return its result."""
    task = asyncio.ensure_future(coroutine)
    qtbot.waitUntil(task.done, timeout=20_000)
    return task.result()


def window_on_cache(qtbot, data_dir) -> tuple[AppSession, MainWindow]:
    """A window shown as at start-up: on `data_dir`'s cache, its workspace not open yet."""
    data_dir.mkdir(mode=0o700, exist_ok=True)
    session = AppSession(
        data_dir, Settings(data_dir), SecretStore(), sandbox_config={"bank_delay": 0.0}, open_now=False
    )
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    return session, window


def run_smoke(data_dir) -> subprocess.CompletedProcess:
    return run_app(data_dir, code=PROBE.format(names=LOADED_AFTER_THE_FIRST_PAINT))


def test_nothing_heavy_is_loaded_before_the_first_paint(tmp_path) -> None:
    result = run_smoke(tmp_path / "data")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("loaded at the first paint:"))
    assert line.split(":", 1)[1].strip() == "", line
    # ...and the rest was loaded and started behind it: the smoke run ends once the workspace is open.
    assert "first paint after" in result.stderr


def test_what_the_window_needs_without_qt_is_loaded_before_pyside6(tmp_path) -> None:
    """PySide6's import hook reads the source of every module imported after it (~7 ms for the
    cache's modules): the start-up path imports them first."""
    probe = "import sys\nfrom flinks_desktop.launch import main\ncode = main(['--smoke'])\nprint(','.join(sys.modules))"
    result = run_app(tmp_path / "data", code=probe)
    assert result.returncode == 0, result.stderr
    order = result.stdout.strip().splitlines()[-1].split(",")  # sys.modules: in the order of import
    for name in (
        "flinks_desktop.core.store",
        "flinks_desktop.core.settings",
        "sqlite3",
        "flinks_desktop.ui.formatting",
    ):
        assert order.index(name) < order.index("PySide6.QtCore"), name


def test_the_window_shows_the_cache_before_the_workspace_opens_then_works(
    qtbot, tmp_path, qasync_loop, memory_keyring
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    # A connection synced by an earlier run (the session that made it is closed).
    earlier = AppSession(
        data_dir, Settings(data_dir), SecretStore(), sandbox_config={"bank_delay": 0.0}, poll_interval=0.01
    )
    result = finish(qtbot, earlier.workspace.sync.login("FlinksCapital", "Greatday", "Everyday", mfa=answer))
    assert result.ok, result.message
    finish(qtbot, earlier.close())

    session = AppSession(
        data_dir,
        Settings(data_dir),
        SecretStore(),
        sandbox_config={"bank_delay": 0.0},
        poll_interval=0.01,
        open_now=False,
    )
    QApplication.instance().setStyleSheet(style_sheet())
    window = MainWindow(session)
    window.show()
    qtbot.waitExposed(window)
    try:
        # Read from the cache alone: the connection, its accounts; nothing started yet.
        assert not session.ready and session.sandbox is None
        assert [login.id for login in window.connections.model.logins] == [result.login_id]
        window.connections.select(result.login_id)
        assert window.accounts_view.model.rowCount() > 0

        # A refresh asked for before the workspace is open waits for it, then runs as usual.
        session.start()
        window.refresh_selected(live=False)
        assert session.ready and session.sandbox is not None
        qtbot.waitUntil(lambda: window._sync_task is None, timeout=20_000)
        assert window.statusBar().currentMessage().startswith("Saved 4 accounts"), window.statusBar().currentMessage()
        window.session_ready()
        assert window.transactions_view.table.model().rowCount() > 0
    finally:
        window.close()
        finish(qtbot, session.close())
        window.deleteLater()


def test_a_sandbox_that_cannot_start_is_said_not_swallowed(qtbot, tmp_path, qasync_loop, memory_keyring) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    # A state file that is not the sandbox's: the sandbox refuses to start on it.
    settings = Settings(data_dir)
    settings.sandbox_state_file().parent.mkdir(parents=True, exist_ok=True)
    settings.sandbox_state_file().write_text("not json", encoding="utf-8")
    session = AppSession(data_dir, settings, SecretStore(), open_now=False)
    started = session.start()
    qtbot.waitUntil(started.done, timeout=20_000)
    assert started.exception() is not None
    failed = asyncio.ensure_future(session.opened())
    qtbot.waitUntil(failed.done, timeout=5_000)
    assert failed.exception() is not None
    finish(qtbot, session.close())


def test_a_smoke_run_whose_sandbox_cannot_start_says_so_and_fails(tmp_path) -> None:
    data_dir = tmp_path / "data"
    state = Settings(data_dir).sandbox_state_file()
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("not json", encoding="utf-8")
    result = run_app(data_dir, "--smoke")
    assert result.returncode == 1, result.stderr
    assert "first paint after" in result.stderr  # the window came first, with what the cache holds
    assert "Offline sandbox could not be started" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_tab_built_later_is_the_tab_s_own_page(qtbot, make_window) -> None:
    """The Transactions, Statements and Activity views are built after the first paint (or when
    their tab is first shown) and then are their tabs' pages, as if built at once."""
    window = make_window()
    window.session_ready()  # as at start-up, once the workspace is open
    for view in (window.transactions_view, window.statements_view, window.activity_view):
        window.tabs.setCurrentWidget(view)
        assert window.tabs.currentWidget() is view
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Accounts",
        "Transactions",
        "Statements",
        "Activity",
    ]


def test_showing_a_tab_builds_its_view_in_place(qtbot, tmp_path, qasync_loop, memory_keyring) -> None:
    session, window = window_on_cache(qtbot, tmp_path / "data")
    assert window.tabs.widget(1).objectName() == "transactionsTab"  # a placeholder until shown
    window.tabs.setCurrentIndex(1)
    assert window.tabs.currentIndex() == 1 and window.tabs.currentWidget() is window.transactions_view
    assert window.tabs.widget(2).objectName() == "statementsTab"  # the others wait
    window.close()
    finish(qtbot, session.close())


def test_the_parts_not_on_screen_are_built_when_first_used(qtbot, tmp_path, qasync_loop, memory_keyring) -> None:
    """The welcome page (on a cache with connections), Connect's page and a connection's page are
    not built before the first paint; each is built, whole, the first time it is used, and all of
    them once the workspace is open. Each builder makes exactly the attributes it declares."""
    from PySide6.QtWidgets import QLabel, QPushButton, QWidget

    from flinks_desktop.ui import main_window

    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    earlier = AppSession(data_dir, Settings(data_dir), SecretStore(), sandbox_config={"bank_delay": 0.0})
    result = finish(qtbot, earlier.workspace.sync.login("FlinksCapital", "Greatday", "Everyday", mfa=answer))
    finish(qtbot, earlier.close())

    session, window = window_on_cache(qtbot, data_dir)
    qtbot.waitExposed(window)
    try:
        for name in ("welcomePanel", "connectPage", "connectionPage", "retryConnectButton", "refreshButton"):
            assert window.findChild(QWidget, name) is None, name  # not built for the first paint
        assert window.pages.currentWidget() is window.workspace_page
        assert not window.refresh_action.isEnabled()  # nothing selected: the actions say so already

        window.connections.select(result.login_id)  # a connection shown: its page is built, current
        assert window.detail_stack.currentWidget() is window.findChild(QWidget, "connectionPage")
        assert window.findChild(QPushButton, "refreshButton").isEnabled() and window.refresh_action.isEnabled()
        assert "Greatday" in window.connection_title.text()
        assert window.findChild(QWidget, "welcomePanel") is None

        for builder in dict.fromkeys(main_window._BUILDERS.values()):  # each declares what it makes
            declared = {name for name, made_by in main_window._BUILDERS.items() if made_by is builder}
            if declared <= set(window.__dict__):
                continue  # built above
            before = set(window.__dict__)
            builder(window)
            assert set(window.__dict__) - before == declared, builder.__name__

        assert window.findChild(QLabel, "welcomeText").text().startswith("Connect a bank account")
        assert window.pages.currentWidget() is window.workspace_page  # building a page shows nothing
        with pytest.raises(AttributeError, match="no_such_part"):
            window.no_such_part  # noqa: B018 — an attribute nobody builds is still an error
    finally:
        window.close()
        finish(qtbot, session.close())


def test_a_first_start_builds_only_the_welcome_page(qtbot, tmp_path, qasync_loop, memory_keyring) -> None:
    from PySide6.QtWidgets import QWidget

    session, window = window_on_cache(qtbot, tmp_path / "data")
    qtbot.waitExposed(window)
    try:
        assert window.pages.currentWidget() is window.welcome
        for name in ("workspacePage", "connectionsPanel", "connectPage", "connectionPage"):
            assert window.findChild(QWidget, name) is None, name
        assert window.selected_login() is None and not window.refresh_all_action.isEnabled()
        window.session_ready()  # once the workspace is open: every part, nothing else shown
        assert window.findChild(QWidget, "connectionsPanel") is not None
        assert window.pages.currentWidget() is window.welcome
    finally:
        window.close()
        finish(qtbot, session.close())
