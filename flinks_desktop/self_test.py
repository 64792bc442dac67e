"""The self-test: does this installation (a checkout, a wheel, a desktop bundle) have every part the
app needs, working? It checks the parts a missing library or data file breaks, on a temporary data
directory, with no network:

    sandbox    the offline sandbox starts on loopback and serves its Connect page
               (uvicorn, Starlette, the sandbox's package data)
    connect    that Connect page (`demo=true`) in a real QWebEngineView, through the app's ConnectView:
               Connect's APP_MOUNTED event arrives over the web channel bridge (QtWebEngine and its
               helper process, resources and locales; qwebchannel.js; the UI's package data)
    sync       a login made at the sandbox (`greatday_nomfa`, no MFA) is linked by `Sync` into a
               cache of its own: its 4 accounts and its statements are there (httpx, SQLite, the core)
    statement  a cached statement's PDF is loaded by QtPdf and page 1 rendered to a non-blank image

    from flinks_desktop import self_test
    status = self_test.run()              # or run(Path("dir")): that directory keeps what it made

It prints one line per part, "ok  <part>" or "FAILED  <part>: <sentence>", then a summary line,
and returns 0 only if every part passed. Each part has its own time limit, and a watchdog ends the
process (exit 1) if the whole run has not ended within RUN_LIMIT seconds, so it never hangs a build.
Qt runs offscreen when there is no display; as root, QtWebEngine's Chromium sandbox is off (as for
the app).

To see it fail (this module's own tests do): FLINKS_DESKTOP_SELF_TEST_BREAK=connect,statement (any
parts, comma-separated) gives each named part a wrong input: the sandbox a busy port, Connect a port
nothing listens on, the sync a wrong password, the statement a truncated PDF. Each then fails
through its real error path.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

#: The parts, in the order they run.
PARTS = ("sandbox", "connect", "sync", "statement")
#: The part each one needs: it is not run when that one failed.
NEEDS = {"connect": "sandbox", "sync": "sandbox", "statement": "sync"}
#: Seconds each part may take. Their sum, with Qt's start-up, stays within RUN_LIMIT.
TIMEOUTS = {"sandbox": 10.0, "connect": 20.0, "sync": 15.0, "statement": 10.0}
#: The whole run, start to exit: past it the watchdog ends the process (exit 1).
RUN_LIMIT = 70.0
#: Names the parts to break on purpose (a wrong input each), to see the self-test fail.
BREAK_VARIABLE = "FLINKS_DESKTOP_SELF_TEST_BREAK"

#: The sandbox's Flinks Capital user that logs in without MFA, and what it holds.
INSTITUTION = "FlinksCapital"
USERNAME = "greatday_nomfa"
PASSWORD = "Everyday"
ACCOUNTS = 4


class PartFailed(Exception):
    """A part did not pass; the message is the sentence printed after "FAILED  <part>: "."""


@dataclass
class _Context:
    """What the parts hand on to each other."""

    data_dir: Path
    broken: frozenset[str]
    sandbox: object | None = None
    statement_pdf: bytes | None = None


def run(data_dir: Path | None = None) -> int:
    """Run every part, print a line for each and a summary; 0 if all passed, else 1.

    `data_dir`: where the cache and the sandbox's state go (created if missing, left in place
    afterwards); by default a temporary directory, removed at the end.
    """
    _prepare_environment()
    watchdog = _Watchdog(RUN_LIMIT)
    watchdog.start()
    try:
        if data_dir is not None:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            return _run_in(Path(data_dir))
        with tempfile.TemporaryDirectory(prefix="flinks-desktop-self-test-") as temporary:
            return _run_in(Path(temporary))
    finally:
        watchdog.cancel()


def _prepare_environment() -> None:
    """Offscreen without a display; QtWebEngine's own settings as the app makes them."""
    from flinks_desktop.ui.app import prepare_qt_environment

    if not _has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        # No GPU to use offscreen: Chromium's GPU process would only fail and fall back.
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")
    prepare_qt_environment()


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _run_in(data_dir: Path) -> int:
    # QtWebEngineWidgets is imported before the QApplication exists, as QtWebEngine requires.
    import qasync
    from PySide6.QtWidgets import QApplication

    import flinks_desktop.ui.connect_view  # noqa: F401

    started = time.monotonic()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "flinks-desktop"])
    # The Connect view is the only window, and closes before the last part: the loop goes on.
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    context = _Context(data_dir, _broken_parts())
    steps = [(name, _CHECKS[name]) for name in PARTS]
    try:
        with loop:
            passed = loop.run_until_complete(_run_parts(steps, context))
    finally:
        if context.sandbox is not None:
            context.sandbox.stop()
        asyncio.set_event_loop(None)
    seconds = time.monotonic() - started
    if passed == len(steps):
        _say(f"Self-test passed: {passed} of {len(steps)} parts ok in {seconds:.1f} s.")
        return 0
    _say(f"Self-test FAILED: {passed} of {len(steps)} parts ok in {seconds:.1f} s.")
    return 1


Check = Callable[[_Context], Awaitable[None]]


async def _run_parts(steps: list[tuple[str, Check]], context: _Context) -> int:
    """Each part in turn, within its time limit; one line each. Returns how many passed."""
    failed: set[str] = set()
    for name, check in steps:
        needed = NEEDS.get(name)
        if needed in failed:
            failed.add(name)
            _say(f"FAILED  {name}: not run, as it needs the {needed} part.")
            continue
        try:
            await asyncio.wait_for(check(context), TIMEOUTS[name])
        except TimeoutError:
            failed.add(name)
            _say(f"FAILED  {name}: it did not finish within {TIMEOUTS[name]:g} s.")
        except PartFailed as failure:
            failed.add(name)
            _say(f"FAILED  {name}: {failure}")
        except Exception as error:  # noqa: BLE001 — a bug, or a library missing here: said, not raised
            failed.add(name)
            _say(f"FAILED  {name}: {type(error).__name__}: {error}")
        else:
            _say(f"ok  {name}")
    return len(steps) - len(failed)


# -- the parts -----------------------------------------------------------------------------------


async def _check_sandbox(context: _Context) -> None:
    """The sandbox on a free loopback port, its state in the data directory; its Connect page served."""
    import httpx

    from flinks_desktop.sandbox import SandboxConfig, SandboxServer

    config = SandboxConfig(state_file=str(context.data_dir / "sandbox-state.json"))
    with _busy_port_if("sandbox" in context.broken) as port:
        try:
            context.sandbox = SandboxServer(config, port=port).start(timeout=TIMEOUTS["sandbox"] / 2)
        except (OSError, RuntimeError) as error:
            raise PartFailed(f"the offline sandbox could not start on 127.0.0.1:{port}: {error}.") from None
    url = f"{context.sandbox.connect_url}?demo=true"
    async with httpx.AsyncClient(timeout=TIMEOUTS["sandbox"] / 2) as http:
        answer = await http.get(url)
    if answer.status_code != 200 or "<html" not in answer.text.lower():
        raise PartFailed(
            f"the sandbox's Connect page answered {answer.status_code} instead of its page "
            "(are the sandbox's connect/ files in this installation?)."
        )


async def _check_connect(context: _Context) -> None:
    """Connect in the app's ConnectView, shown (offscreen or not); wait for APP_MOUNTED over the bridge."""
    import shiboken6

    from flinks_desktop.core.environments import REDIRECT_URL
    from flinks_desktop.ui.connect_view import ConnectView

    base = context.sandbox.connect_url
    if "connect" in context.broken:
        base = f"http://127.0.0.1:{_closed_port()}/v2/"
    url = f"{base}?{urlencode({'demo': 'true', 'redirectUrl': REDIRECT_URL})}"
    loop = asyncio.get_running_loop()
    mounted: asyncio.Future[None] = loop.create_future()

    def on_event(event: dict) -> None:
        if event.get("step") == "APP_MOUNTED" and not mounted.done():
            mounted.set_result(None)

    def on_failed(sentence: str) -> None:
        if not mounted.done():
            mounted.set_exception(PartFailed(sentence))

    view = ConnectView(load_timeout_ms=int(TIMEOUTS["connect"] * 1000 * 0.75))
    view.resize(480, 720)
    view.connectEvent.connect(on_event)
    view.failed.connect(on_failed)
    try:
        view.show()
        view.start(url, REDIRECT_URL)
        await mounted
    finally:
        # WebEngine objects are torn down explicitly and now: left to the garbage collector, they
        # crash at exit.
        view.stop()
        view.close()
        view.deleteLater()
        while shiboken6.isValid(view):
            await asyncio.sleep(0.02)


async def _check_sync(context: _Context) -> None:
    """A login made at the sandbox, linked into a cache by the app's Sync; its accounts read back."""
    from flinks_desktop.core.flinks import FlinksClient, FlinksError, MfaRequired
    from flinks_desktop.core.store import Store
    from flinks_desktop.core.sync import Sync

    password = "not-the-password" if "sync" in context.broken else PASSWORD
    cache = context.data_dir / "cache.db"
    limits = {"deadline": TIMEOUTS["sync"] / 2, "poll_timeout": TIMEOUTS["sync"] / 2}
    async with FlinksClient(context.sandbox.api_url, poll_interval=0.05, **limits) as client:
        try:
            login = await client.authorize_credentials(INSTITUTION, USERNAME, password)
        except FlinksError as error:
            raise PartFailed(f"the login at the sandbox failed: {error}") from None
        if isinstance(login, MfaRequired) or login.login is None:
            raise PartFailed(f"the sandbox's {USERNAME} login did not answer with a loginId.")
        sync = Sync(client, cache, environment="self-test", statements="Months3")
        try:
            result = await sync.link(login.login.id, INSTITUTION)
        finally:
            await sync.close()
    if not result.ok:
        raise PartFailed(f"the sync of the new login failed: {result.message}")
    if result.statements_error is not None:
        raise PartFailed(f"the sync saved no statements: {result.statements_error}")
    with Store.open(cache) as store:
        accounts = store.accounts(login.login.id)
        statements = store.statements(login.login.id)
        pdf = store.statement_pdf(login.login.id, statements[0].unique_id) if statements else None
    if len(accounts) != ACCOUNTS:
        raise PartFailed(f"the cache holds {len(accounts)} accounts of the new login, not {ACCOUNTS}.")
    if not pdf:
        raise PartFailed("the cache holds no statement of the new login.")
    context.statement_pdf = pdf


async def _check_statement(context: _Context) -> None:
    """The cached statement's bytes in a QPdfDocument (from memory, as the Statements tab reads them),
    page 1 rendered: an image with both ink and paper."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtPdf import QPdfDocument

    pdf = context.statement_pdf
    if "statement" in context.broken:
        pdf = pdf[: len(pdf) // 3]
    buffer = QBuffer()
    buffer.setData(QByteArray(pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    try:
        document.load(buffer)
        while document.status() == QPdfDocument.Status.Loading:  # from memory it is done at once
            await asyncio.sleep(0.02)
        if document.status() != QPdfDocument.Status.Ready:
            raise PartFailed(f"QtPdf could not open the cached statement ({document.error().name}).")
        if document.pageCount() < 1:
            raise PartFailed("QtPdf opened the cached statement but found no page in it.")
        image = document.render(0, _page_size(document))
        if image.isNull():
            raise PartFailed("QtPdf did not render page 1 of the cached statement.")
        ink = _ink_share(image)
        if not 0.001 <= ink <= 0.9:
            raise PartFailed(
                f"page 1 of the cached statement rendered {'blank' if ink < 0.001 else 'dark'} ({ink:.2%} ink)."
            )
    finally:
        document.close()
        buffer.close()


_CHECKS: dict[str, Check] = {
    "sandbox": _check_sandbox,
    "connect": _check_connect,
    "sync": _check_sync,
    "statement": _check_statement,
}


# -- helpers -------------------------------------------------------------------------------------


def _page_size(document):
    """Page 1 at 96 dpi, as the viewer shows it at 100 %."""
    from PySide6.QtCore import QSize

    points = document.pagePointSize(0)
    return QSize(max(1, round(points.width() * 96 / 72)), max(1, round(points.height() * 96 / 72)))


def _ink_share(image) -> float:
    """The share of dark pixels, the page painted on white first (a transparent page is paper)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter

    canvas = QImage(image.size(), QImage.Format.Format_RGB32)
    canvas.fill(Qt.GlobalColor.white)
    painter = QPainter(canvas)
    painter.drawImage(0, 0, image)
    painter.end()
    grey = canvas.convertToFormat(QImage.Format.Format_Grayscale8)
    # Every row, without its padding: one byte per pixel.
    width, stride = grey.width(), grey.bytesPerLine()
    data = bytes(grey.constBits())
    pixels = b"".join(data[row * stride : row * stride + width] for row in range(grey.height()))
    dark = len(pixels) - len(pixels.translate(None, bytes(range(160))))
    return dark / max(1, len(pixels))


def _broken_parts() -> frozenset[str]:
    named = {name.strip() for name in os.environ.get(BREAK_VARIABLE, "").split(",") if name.strip()}
    unknown = named - set(PARTS)
    if unknown:
        _say(f"{BREAK_VARIABLE}: no part named {', '.join(sorted(unknown))} (the parts: {', '.join(PARTS)}).")
    return frozenset(named & set(PARTS))


class _busy_port_if:
    """A loopback port for the sandbox: 0 (any free one), or, to break the part, one held busy."""

    def __init__(self, busy: bool) -> None:
        self._socket: socket.socket | None = None
        if busy:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._socket.bind(("127.0.0.1", 0))
            self._socket.listen(1)

    def __enter__(self) -> int:
        return self._socket.getsockname()[1] if self._socket is not None else 0

    def __exit__(self, *exc_info: object) -> None:
        if self._socket is not None:
            self._socket.close()


def _closed_port() -> int:
    """A loopback port nothing listens on (one the system just handed out and took back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Watchdog:
    """Ends the process if the run outlives `seconds`: something hung where no timeout reaches (a
    blocking call inside Qt or Chromium). The self-test never hangs a build or a CI job."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        _say(f"FAILED  self-test: it did not end within {self._seconds:.0f} s, so it was stopped.")
        os._exit(1)


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    raise SystemExit(run())
