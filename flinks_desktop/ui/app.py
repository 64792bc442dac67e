"""Start the desktop app: Qt, the asyncio loop shared with it (qasync), the offline sandbox when the
environment is the sandbox, the workspace, the window."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from flinks_desktop.core import paths
from flinks_desktop.core.settings import REDIRECT_URL, Environment, SecretStore, Settings, SettingsError
from flinks_desktop.core.workspace import Workspace, open_workspace

STYLES = resources.files("flinks_desktop.ui") / "styles"
#: The fake bank's pause in the offline sandbox: the demo reads like a real bank, briefly.
SANDBOX_BANK_DELAY = 0.8

log = logging.getLogger("flinks_desktop.app")


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
    """

    redirect_url = REDIRECT_URL

    def __init__(self, data_dir: Path, settings: Settings, secrets: SecretStore, *,
                 sandbox_config: dict | None = None, poll_interval: float | None = None):
        self.data_dir = data_dir
        self.settings = settings
        self.secrets = secrets
        self._sandbox_config = dict(sandbox_config or {})
        self._poll_interval = poll_interval
        self.sandbox = None
        self.workspace: Workspace = self._open(settings.active)

    @property
    def keyring_message(self) -> str | None:
        status = self.secrets.status
        return None if status.available else status.message

    def _open(self, environment: Environment) -> Workspace:
        if environment.kind == "sandbox":
            environment = environment.running_at(self._start_sandbox())
        else:
            self._stop_sandbox()
        return open_workspace(self.settings, self.secrets, environment, poll_interval=self._poll_interval)

    def _start_sandbox(self) -> str:
        from flinks_desktop.sandbox import SandboxConfig, SandboxServer

        if self.sandbox is None:
            options = {"bank_delay": SANDBOX_BANK_DELAY, "state_file": str(self.settings.sandbox_state_file()),
                       **self._sandbox_config}
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
        self.workspace = self._open(environment)

    def apply_settings(self) -> None:
        """The environment in use was edited (secrets, Connect parameters, days, statements): its
        next call uses the new settings; nothing is closed. Refused while a sync runs."""
        self._refuse_while_busy()
        self.workspace.apply(self.settings.active, self.secrets)

    def _refuse_while_busy(self) -> None:
        if self.workspace.sync.busy:
            raise SettingsError("A sync or a deletion is running in this environment: wait for it to "
                                "finish, or cancel it, then change the environment in use.")

    async def close(self) -> None:
        await self.workspace.aclose()
        self._stop_sandbox()


def run(argv: list[str] | None = None, *, data_dir: str | None = None, smoke: bool = False) -> int:
    """The desktop app until its window closes. `smoke`: up to the first painted window, then exit 0
    (a start-up check for packaging and benchmarks; offscreen when there is no display)."""
    started = time.perf_counter()
    if smoke and not _has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    prepare_qt_environment()
    missing = missing_platform_libraries()
    if missing:
        print("flinks-desktop: Qt cannot open a window on this X11 desktop: the system libraries "
              f"{', '.join(missing)} are missing. Install them (Debian/Ubuntu: sudo apt-get install "
              f"{' '.join(missing)}; Fedora: sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms "
              "libxkbcommon-x11), then start Flinks Desktop again.", file=sys.stderr)
        return 1
    configure_logging()
    import qasync
    from PySide6.QtWidgets import QApplication, QMessageBox

    from flinks_desktop.ui.main_window import MainWindow
    from flinks_desktop.ui.first_paint import FirstPaint
    from flinks_desktop.ui.single_instance import SingleInstance, server_name

    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setOrganizationName("Flinks Desktop")
    app.setApplicationName("Flinks Desktop")
    from flinks_desktop.ui.icons import app_icon

    app.setDesktopFileName("flinks-desktop")  # the Wayland app id: the .desktop file's name
    app.setWindowIcon(app_icon())
    app.setStyleSheet(style_sheet())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    try:
        directory = paths.data_dir(data_dir)
    except paths.DataDirError as error:
        QMessageBox.critical(None, "Flinks Desktop cannot start", str(error))
        return 1
    instance = SingleInstance(server_name(directory))
    if not instance.claim():
        print("Flinks Desktop is already running with this data directory: its window was brought forward.",
              file=sys.stderr)
        return 0
    try:
        settings = load_settings(directory, ask_start_over)
        if settings is None:
            return 1
        session = AppSession(directory, settings, SecretStore())
    except SettingsError as error:
        QMessageBox.critical(None, "Flinks Desktop cannot start", str(error))
        return 1
    window = MainWindow(session)
    window.run(finish_pending_wipes(session, window))
    instance.activated.connect(lambda: bring_forward(window))
    painted = FirstPaint(window)
    window.show()

    def after_first_paint() -> None:
        # What exists now lives as long as the app: keep the collector from walking it again and
        # again (a full collection otherwise takes ~50 ms on the GUI thread in the middle of a sync).
        # Done after the first paint, so the window appears first.
        gc.collect()
        gc.freeze()
        if smoke:
            print(f"flinks-desktop: first paint after {painted.at - started:.3f} s", file=sys.stderr, flush=True)
            window.close()

    painted.done.connect(after_first_paint)

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
    return 0


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
        None, "Flinks Desktop settings",
        f"{problem}\n\nStart with the default settings? The damaged file is kept beside them as a .bak "
        "copy; your cached connections are not touched.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes
