"""Start the desktop app: Qt, the asyncio loop shared with it (qasync), the offline sandbox when the
environment is the sandbox, the workspace, the window."""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flinks_desktop.core import paths
from flinks_desktop.core.environments import REDIRECT_URL, Environment, SettingsError
from flinks_desktop.core.secret_store import SecretStore
from flinks_desktop.core.settings import Settings

if TYPE_CHECKING:
    from concurrent.futures import Future

    from flinks_desktop.core.workspace import Workspace

#: Beside this module in a checkout, a wheel and the bundle alike (importlib.resources would cost
#: the first paint ~8 ms to import, for the same directory).
STYLES = Path(__file__).with_name("styles")
#: The fake bank's pause in the offline sandbox: the demo reads like a real bank, briefly.
SANDBOX_BANK_DELAY = 0.8

log = logging.getLogger("flinks_desktop.app")


def style_sheet() -> str:
    """The app's style sheet: every styles/*.qss, in name order (one file per part of the UI)."""
    files = sorted((f for f in STYLES.iterdir() if f.name.endswith(".qss")), key=lambda f: f.name)
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


class StartupPhases:
    """How long each step of start-up took, for `--smoke` to report (and `benchmarks/startup.py` to
    set beside a bare window's): from the entry point's module to the first paint, in order."""

    def __init__(self, run_started: float) -> None:
        from flinks_desktop.launch import LOADED

        self._steps: list[tuple[str, float]] = [("the app's entry point", min(LOADED, run_started))]
        self.mark("the app module", at=run_started)

    def mark(self, step: str, *, at: float | None = None) -> None:
        """`step` ended now (or `at`, a `time.perf_counter()` value)."""
        self._steps.append((step, time.perf_counter() if at is None else at))

    def durations(self) -> list[tuple[str, float]]:
        return [(step, end - start) for (_, start), (step, end) in zip(self._steps, self._steps[1:], strict=False)]

    def __str__(self) -> str:
        return "; ".join(f"{step} {seconds * 1000:.1f} ms" for step, seconds in self.durations())


def prepare_qt_environment() -> None:
    """Settings QtWebEngine needs before Qt starts.

    Chromium refuses to run as root with its sandbox on (containers, CI): turn it off only then.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


#: What Qt's xcb platform (X11) loads besides Qt itself, and the Debian/Ubuntu package of each: a
#: stock system without them makes Qt abort ("could not load the Qt platform plugin").
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def missing_platform_libraries(environ=os.environ, loadable=None) -> list[str]:
    """The system packages Qt's X11 platform needs and this computer lacks ([] when Qt will not use
    X11: offscreen, Wayland, another OS). Looked for before Qt starts, so that a missing one is a
    sentence instead of Qt's abort."""
    if not sys.platform.startswith("linux") or environ.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return []
    if not environ.get("DISPLAY") or (environ.get("WAYLAND_DISPLAY") and "QT_QPA_PLATFORM" not in environ):
        return []
    loadable = loadable or _loadable
    return [package for library, package in XCB_LIBRARIES.items() if not loadable(library)]


def _loadable(library: str) -> bool:
    import ctypes

    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs whole URLs at INFO, and URLs carry loginIds and RequestIds: keep it quiet.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # pypdf warns about every oddity of a bank's PDF; a statement it cannot read keeps no period.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


class AppSession:
    """What the window works with: settings, secrets, and the workspace of the active environment.

    The offline sandbox runs in this process (its own thread) while it is the environment in use;
    its logins persist in the data directory, so loginIds survive a restart.

    `open_now=False` is how the app starts: the window shows the cache first, and `start()` then
    loads and starts the rest on a thread (the sandbox, the HTTP client, the sync engine, the
    keyring), so none of it delays the first paint. Anything that asks for `workspace` before
    that is done waits for it.
    """

    redirect_url = REDIRECT_URL

    def __init__(
        self,
        data_dir: Path,
        settings: Settings,
        secrets: SecretStore,
        *,
        sandbox_config: dict | None = None,
        poll_interval: float | None = None,
        open_now: bool = True,
    ):
        self.data_dir = data_dir
        self.settings = settings
        self.secrets = secrets
        self._sandbox_config = dict(sandbox_config or {})
        self._poll_interval = poll_interval
        self.sandbox = None
        self._environment = settings.active
        self._workspace: Workspace | None = None
        self._starting: Future | None = None
        if open_now:
            self._workspace = self._open(self._environment)

    @property
    def environment(self) -> Environment:
        """The environment in use (known before its workspace is open)."""
        return self._workspace.environment if self._workspace is not None else self._environment

    @property
    def cache_path(self) -> Path:
        """The cache of the environment in use (the window reads it before the workspace is open)."""
        return self.settings.cache_path(self.environment)

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            if self._starting is not None:
                self._starting.result()  # what start() loads on its thread, or its failure
            self._workspace = self._open(self._environment)
        return self._workspace

    @property
    def ready(self) -> bool:
        return self._workspace is not None

    def start(self) -> Future:
        """Load and start, on a thread, what the workspace needs; the Future is done when it is."""
        if self._starting is None:
            from concurrent.futures import Future  # after the first paint

            self._starting = Future()
            threading.Thread(target=self._load, name="flinks-desktop start", daemon=True).start()
        return self._starting

    def _load(self) -> None:
        try:
            import flinks_desktop.core.workspace  # noqa: F401 — the HTTP client and the sync engine

            self.secrets.status  # noqa: B018 — keyring and its backends, probed once
            if self._environment.kind == "sandbox":
                self._start_sandbox()
        except BaseException as error:  # told to whoever waits for the workspace
            self._starting.set_exception(error)
        else:
            self._starting.set_result(None)

    async def opened(self) -> Workspace:
        """The workspace, once `start()` has loaded what it needs (without blocking the loop)."""
        import asyncio

        if self._workspace is None:
            await asyncio.wrap_future(self.start())
        return self.workspace

    @property
    def keyring_message(self) -> str | None:
        status = self.secrets.status
        return None if status.available else status.message

    def _open(self, environment: Environment) -> Workspace:
        from flinks_desktop.core.workspace import open_workspace

        if environment.kind == "sandbox":
            environment = environment.running_at(self._start_sandbox())
        else:
            self._stop_sandbox()
        return open_workspace(self.settings, self.secrets, environment, poll_interval=self._poll_interval)

    def _start_sandbox(self) -> str:
        from flinks_desktop.sandbox import SandboxConfig, SandboxServer

        if self.sandbox is None:
            options = {
                "bank_delay": SANDBOX_BANK_DELAY,
                "state_file": str(self.settings.sandbox_state_file()),
                **self._sandbox_config,
            }
            self.sandbox = SandboxServer(SandboxConfig(**options)).start()
        return self.sandbox.base_url

    def _stop_sandbox(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None

    async def switch(self, environment: Environment) -> None:
        """Use another environment. Refused (SettingsError) while a sync or a deletion runs: closing
        the client under it would end it half-way."""
        self._refuse_while_busy()
        await self.workspace.aclose()
        self._workspace = None
        self._environment = environment
        self._workspace = self._open(environment)

    def apply_settings(self) -> None:
        """The environment in use was edited (secrets, Connect parameters, days, statements): its
        next call uses the new settings; nothing is closed. Refused while a sync runs."""
        self._refuse_while_busy()
        self.workspace.apply(self.settings.active, self.secrets)

    def _refuse_while_busy(self) -> None:
        if self._workspace is not None and self._workspace.sync.busy:
            raise SettingsError(
                "A sync or a deletion is running in this environment: wait for it to "
                "finish, or cancel it, then change the environment in use."
            )

    async def close(self) -> None:
        if self._starting is not None and not self._starting.done():
            import asyncio

            try:  # the sandbox it starts is stopped below
                await asyncio.wrap_future(self._starting)
            except Exception:  # noqa: BLE001 — it failed to start: nothing of it to close
                pass
        if self._workspace is not None:
            await self._workspace.aclose()
        self._stop_sandbox()


def run(argv: list[str] | None = None, *, data_dir: str | None = None, smoke: bool = False) -> int:
    """The desktop app until its window closes. `smoke`: up to the first painted window and the
    workspace ready behind it, then exit 0 (a start-up check for packaging and benchmarks;
    offscreen when there is no display).

    The order is the point: Qt, the settings and the cache's connections, the window painted;
    only then asyncio and qasync, and on a thread the sandbox, the HTTP client, the sync engine
    and the keyring (`AppSession.start`). The window is usable for reading at once; an action
    that needs Flinks waits for the rest, a fraction of a second.
    """
    started = time.perf_counter()
    phases = StartupPhases(started)
    if smoke and not _has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    prepare_qt_environment()
    missing = missing_platform_libraries()
    if missing:
        print(
            "flinks-desktop: Qt cannot open a window on this X11 desktop: the system libraries "
            f"{', '.join(missing)} are missing. Install them (Debian/Ubuntu: sudo apt-get install "
            f"{' '.join(missing)}; Fedora: sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms "
            "libxkbcommon-x11), then start Flinks Desktop again.",
            file=sys.stderr,
        )
        return 1
    # Once PySide6 is imported, it hooks every import that follows and reads the new module's
    # source (looking for `from __feature__ import ...`): what the window needs without Qt is
    # loaded before it, and pays nothing (~7 ms). (Kept apart from the Qt imports below by the
    # call between them: sorting the imports of one block would put PySide6 first.)
    from flinks_desktop.core import login_ids, redact, store  # noqa: F401
    from flinks_desktop.ui import formatting  # noqa: F401

    configure_logging()
    phases.mark("the cache's modules")
    from PySide6.QtWidgets import QApplication

    phases.mark("PySide6")
    from flinks_desktop.ui.first_paint import FirstPaint
    from flinks_desktop.ui.icons import window_icon
    from flinks_desktop.ui.main_window import MainWindow
    from flinks_desktop.ui.single_instance import SingleInstance

    phases.mark("the window's modules")

    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setOrganizationName("Flinks Desktop")
    app.setApplicationName("Flinks Desktop")
    app.setDesktopFileName("flinks-desktop")  # the Wayland app id: the .desktop file's name
    app.setWindowIcon(window_icon())
    app.setStyleSheet(style_sheet())

    try:
        directory = paths.data_dir(data_dir)
    except paths.DataDirError as error:
        cannot_start(str(error))
        return 1
    instance = SingleInstance(directory)
    if not instance.claim():
        print(
            "Flinks Desktop is already running with this data directory: "
            + (
                "its window was brought forward."
                if instance.answered
                else "it does not answer; close it (or end its process), then start Flinks Desktop again."
            ),
            file=sys.stderr,
        )
        return 0
    try:
        settings = load_settings(directory, ask_start_over)
        if settings is None:
            return 1
        session = AppSession(directory, settings, SecretStore(), open_now=False)
    except SettingsError as error:
        cannot_start(str(error))
        return 1
    phases.mark("Qt application, settings")
    window = MainWindow(session)
    phases.mark("the window built")
    instance.activated.connect(lambda: bring_forward(window))
    painted = FirstPaint(window)
    window.show()
    painted.wait()
    if smoke:
        phases.mark("shown and painted")  # the paint has finished (the benchmark's bare window: the same)
        print(f"flinks-desktop: first paint after {painted.at - started:.3f} s", file=sys.stderr, flush=True)
        print(f"flinks-desktop: start-up phases: {phases}", file=sys.stderr, flush=True)
    gc.enable()  # off since the entry point (launch.main): nothing to collect before the first paint
    instance.listen()  # the doorbell for later launches (QtNetwork): once painted

    import asyncio

    import qasync

    session.start()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window.run(_when_ready(session, window, smoke))

    # Closing the window closes the session (the sync's writer thread, the client, the sandbox)
    # while the loop still runs, then the app quits: one run of the loop, start to end.
    app.setQuitOnLastWindowClosed(False)
    finished = loop.create_future()

    async def shut_down() -> None:
        try:
            await session.close()
        finally:
            if not finished.done():
                finished.set_result(None)

    window.closed.connect(lambda: asyncio.ensure_future(shut_down()))
    app.aboutToQuit.connect(lambda: finished.done() or finished.set_result(None))  # the OS ends the session
    with loop:
        loop.run_until_complete(finished)
    instance.release()
    return 1 if smoke and not session.ready else 0  # a smoke run that could not open its environment


async def _when_ready(session: AppSession, window, smoke: bool) -> None:
    """Once the workspace is open: tell the window, finish a wipe left pending, and (smoke) end, or
    make the common words of a cache from before them."""
    try:
        await session.opened()
    except Exception as error:  # noqa: BLE001 — e.g. the sandbox's port or state file: said, not raised
        log.warning("the workspace could not be opened: %s", error)
        sentence = (
            f"{session.environment.name} could not be started ({error}). The cached connections "
            "can still be read; restart Flinks Desktop, or choose another environment in Settings."
        )
        window.show_status(sentence)
        window.show_error("Flinks Desktop could not start its environment", sentence)
        if smoke:
            print(f"flinks-desktop: {sentence}", file=sys.stderr, flush=True)
            window.close()
        return
    window.session_ready()
    await finish_pending_wipes(session, window)
    # What exists now lives as long as the app: keep the collector from walking it again and again
    # (a full collection otherwise takes ~50 ms on the GUI thread in the middle of a sync).
    gc.collect()
    gc.freeze()
    if smoke:
        window.close()
        return
    await index_missing_common_words(session)


def cannot_start(sentence: str) -> None:
    from PySide6.QtWidgets import QMessageBox  # only then: its enums cost a millisecond

    QMessageBox.critical(None, "Flinks Desktop cannot start", sentence)


async def finish_pending_wipes(session: AppSession, window) -> None:
    """At start-up, finish the wipe of a deletion that another window or command kept from being
    done (the cache's writer does it, off the GUI thread), and say so in the status bar."""
    from flinks_desktop.core.store import CacheError

    try:
        done = await session.workspace.sync.finish_pending_wipes()
    except CacheError as error:  # still held: the next open of the cache tries again
        log.warning("a pending wipe could not be finished at start-up: %s", error)
        return
    if done:
        window.show_status(done)


async def index_missing_common_words(session: AppSession) -> None:
    """Once started, the common words of a cache from before them (seconds for a login of a million
    transactions, on the cache's writer thread): searches for them are then added up at once."""
    from flinks_desktop.core.store import CacheError

    try:
        await session.workspace.sync.index_missing_common_words()
    except CacheError as error:  # busy or unreadable: the next sync of each login makes them
        log.warning("the common words could not be made at start-up: %s", error)
    except RuntimeError:  # the window was closed first, and the session with it: nothing to do
        pass


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def bring_forward(window) -> None:
    """Another launch asked for the window: show it, in front, restored if minimised."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()


def load_settings(directory: Path, start_over: Callable[[str], bool]) -> Settings | None:
    """The saved settings. A damaged file is never overwritten silently: `start_over(sentence)` asks
    the person; yes sets the file aside (kept as .bak) and starts from the defaults, no quits."""
    from flinks_desktop.core.settings import SettingsFileError

    try:
        return Settings.load(directory)
    except SettingsFileError as error:
        if not start_over(str(error)):
            return None
        settings, kept = Settings.start_over(directory)
        log.warning("settings started over; the damaged file was kept as %s", kept)
        return settings


def ask_start_over(problem: str) -> bool:
    from PySide6.QtWidgets import QMessageBox

    answer = QMessageBox.warning(
        None,
        "Flinks Desktop settings",
        f"{problem}\n\nStart with the default settings? The damaged file is kept beside them as a .bak "
        "copy; your cached connections are not touched.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes
