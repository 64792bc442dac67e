"""The Connect view: Flinks Connect embedded in a host page of ours, and the bridge to Python.

One session, from start() to loginCaptured:

1. start() makes a fresh page and loads connect_host.html into it with setHtml() under HOST_URL.
   Qt's qwebchannel.js and connect_bridge.js are injected into that page as one script, in an
   isolated JavaScript world and not into sub-frames. So the Connect iframe (Flinks' code) never
   sees the channel, and neither does anything in the page's own world: only the bridge script.
2. Handshake: once the channel is up the script calls ready(), and Python answers with the
   Connect URL and origin as JSON (never pasted into HTML). Only then does the script listen for
   messages and create the iframe, so no Connect event can come before the bridge is ready.
3. The script forwards each `message` from the Connect origin to post() as JSON {origin, data}.
   Python checks the origin again, parses the event (core.connect_events), emits connectEvent,
   closed on COMPONENT_CLOSE_SESSION, and loginCaptured on a REDIRECT with a valid loginId.
4. Second capture path: _ConnectPage.acceptNavigationRequest sees every navigation of every frame.
   One to the redirect URL (Connect's innerRedirect, or a top-level redirect) gives the loginId
   too, and is blocked. loginCaptured fires once per session, whichever path comes first. Besides
   that, the main frame may show the host page only, and sub-frames the Connect origin only.
5. A failure ends the session (stop()) and emits `failed` with a sentence: Connect's host cannot
   be reached, Connect has not loaded within load_timeout_ms (this also covers a host page that
   never comes up), or the page's renderer died. Connect's own error events (flinksCode) are not
   failures: Connect shows them and lets the user retry, and they reach connectEvent as any step.

After stop(), or once the widget is gone, a late message or navigation is dropped: the page is cut
off from the view at once and deleted later.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from importlib import resources

from PySide6.QtCore import QFile, QIODevice, QObject, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineScript
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QVBoxLayout, QWidget

from flinks_desktop.core.connect_events import (
    login_id_from_event,
    login_id_from_url,
    parse_connect_event,
    web_origin,
)
from flinks_desktop.core.redact import mask_id, redact

LOG = logging.getLogger("flinks_desktop.connect")

#: The host page's origin (setHtml's base URL). Why this one:
#: - setHtml() gives the page a real origin with no server and no custom URL scheme: a custom
#:   scheme must be registered before the QApplication exists, which every test suite that embeds
#:   this view would have to remember.
#: - http, not https: Chromium treats an http Connect (the offline sandbox on 127.0.0.1) inside an
#:   https page as mixed content (it warns for a loopback address and blocks any other host); an
#:   http page embeds the sandbox and the real https Connect alike.
#: - ".localhost" is reserved (RFC 6761) and never looked up on the network, so the name cannot be
#:   a real site; and it is an origin of its own, apart from any Connect origin, as a customer's web
#:   page would be. The page requests nothing from it.
HOST_URL = QUrl("http://flinks-desktop.localhost/")

#: The bridge script's JavaScript world, isolated from the page's main world (see above).
_BRIDGE_WORLD = QWebEngineScript.ScriptWorldId.ApplicationWorld

#: Connect's console.log / info / debug is chatter; its warnings and errors are worth a look.
_CONSOLE_LEVELS = {
    QWebEnginePage.JavaScriptConsoleMessageLevel.InfoMessageLevel: logging.DEBUG,
    QWebEnginePage.JavaScriptConsoleMessageLevel.WarningMessageLevel: logging.WARNING,
    QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel: logging.ERROR,
}


class ConnectView(QWidget):
    """Flinks Connect in a widget: start() a session, get its events and the loginId as signals.

    `profile` is the QWebEngineProfile the pages use, and must outlive this widget; by default,
    Qt's default profile, which keeps nothing on disk. Connect must have loaded within
    `load_timeout_ms` of start(). Widgets: "connectView", and inside it the QWebEngineView
    "connectWebView" (its page's first child frame is Connect, for automation).
    """

    #: (loginId, institution) of a successful connection; once per session.
    loginCaptured = Signal(str, str)
    #: Every Connect event accepted, as a dict (steps and flinksCode errors alike).
    connectEvent = Signal(dict)
    #: A sentence saying why Connect cannot be used; the session is over (start() again to retry).
    failed = Signal(str)
    #: The user closed Connect (COMPONENT_CLOSE_SESSION).
    closed = Signal()

    def __init__(
        self, parent: QWidget | None = None, *, profile: QWebEngineProfile | None = None, load_timeout_ms: int = 20000
    ):
        super().__init__(parent)
        self.setObjectName("connectView")
        self._profile = profile if profile is not None else QWebEngineProfile.defaultProfile()
        self._web = QWebEngineView(self)
        self._web.setObjectName("connectWebView")
        self._web.setAccessibleName("Flinks Connect")
        self.setFocusProxy(self._web)  # focus given to the view goes to the page
        # No Back / Reload / View source menu: the view shows Connect and nothing else.
        self._web.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._web)
        self._load_timer = QTimer(self)
        self._load_timer.setSingleShot(True)
        self._load_timer.setInterval(load_timeout_ms)
        self._load_timer.timeout.connect(self._on_load_timeout)
        # The session (see start()).
        self._page: _ConnectPage | None = None
        self._connect_origin = ""
        self._redirect_url = ""
        self._host_requested = False
        self._captured = False

    def start(self, connect_url: str, redirect_url: str) -> None:
        """Show Connect from `connect_url` (its query parameters included); `redirect_url` is the
        redirectUrl given to Connect. A session already running is stopped first.

        An address that is not http(s) fails at once: `failed` is emitted before this returns.
        """
        self.stop()
        origin = web_origin(connect_url)
        if origin is None:
            self._fail(
                f"The Flinks Connect address “{connect_url}” is not a web address. Check the environment's settings."
            )
            return
        self._connect_origin = origin
        self._redirect_url = redirect_url
        self._host_requested = True
        self._captured = False
        config = json.dumps({"connectUrl": connect_url, "connectOrigin": origin})
        page = _ConnectPage(self._profile, self, self._allow_navigation, config)
        page.bridge.posted.connect(self._on_message)
        page.bridge.frameLoaded.connect(self._on_connect_loaded)
        page.bridge.frameUnreachable.connect(self._on_connect_unreachable)
        page.renderProcessTerminated.connect(self._on_render_process_terminated)
        self._page = page
        self._web.setPage(page)
        self._load_timer.start()
        page.setHtml(_asset("connect_host.html"), HOST_URL)

    def stop(self) -> None:
        """End the session. Whatever the page still sends is dropped; the page is deleted later."""
        self._load_timer.stop()
        page, self._page = self._page, None
        if page is not None:
            page.detach()
            # The view lets go of the page before it goes: a QWebEngineView whose page was deleted
            # under it crashes the next time it is hidden.
            self._web.setPage(None)
            page.deleteLater()

    # -- what the page reports ----------------------------------------------------------------
    def _on_message(self, message: str) -> None:
        try:
            envelope = json.loads(message)
        except (ValueError, RecursionError):
            envelope = None
        if not isinstance(envelope, dict) or envelope.get("origin") != self._connect_origin:
            LOG.debug("Dropped a message that does not come from %s", self._connect_origin)
            return
        event = parse_connect_event(envelope.get("data"))
        if event is None:
            LOG.debug("Dropped a malformed Connect message: %.200s", redact(message))
            return
        self.connectEvent.emit(event)
        if event.get("step") == "COMPONENT_CLOSE_SESSION":
            self.closed.emit()
        elif event.get("step") == "REDIRECT":
            captured = login_id_from_event(event)
            if captured is None:
                LOG.info("REDIRECT without a valid loginId: %s", redact(json.dumps(event)))
            else:
                self._capture(*captured, source="the REDIRECT event")

    def _allow_navigation(self, url: QUrl, is_main_frame: bool) -> bool:
        address = url.toString(QUrl.ComponentFormattingOption.FullyEncoded)
        captured = login_id_from_url(address, self._redirect_url)
        if captured is not None:
            # The redirect URL is where Connect hands the loginId over, not a page to show.
            LOG.debug("Kept %s from going to the redirect URL", "the page" if is_main_frame else "a frame")
            self._capture(*captured, source="the redirect navigation")
            return False
        if is_main_frame and self._host_requested and url.scheme() == "data":
            # setHtml() loads the host page as a data: URL: the one main-frame navigation allowed.
            self._host_requested = False
            return True
        if not is_main_frame and web_origin(address) == self._connect_origin:
            return True
        LOG.warning("Refused to take %s to %.200s", "the page" if is_main_frame else "a frame", redact(address))
        return False

    def _capture(self, login_id: str, institution: str, *, source: str) -> None:
        if self._captured:
            return  # with innerRedirect, the frame goes to the redirect URL after the REDIRECT event
        self._captured = True
        LOG.info("loginId %s (%s) captured from %s", mask_id(login_id), institution or "no institution", source)
        self.loginCaptured.emit(login_id, institution)

    def _on_connect_loaded(self) -> None:
        LOG.debug("Flinks Connect loaded from %s", self._connect_origin)
        self._load_timer.stop()

    def _on_connect_unreachable(self) -> None:
        self._fail(
            f"Flinks Connect could not be loaded from {self._where()}. "
            "Check the network or the environment's settings, then try again."
        )

    def _on_load_timeout(self) -> None:
        self._fail(
            f"Flinks Connect took too long to load from {self._where()}. "
            "Check the network or the environment's settings, then try again."
        )

    def _on_render_process_terminated(
        self, status: QWebEnginePage.RenderProcessTerminationStatus, exit_code: int
    ) -> None:
        if status != QWebEnginePage.RenderProcessTerminationStatus.NormalTerminationStatus:
            self._fail("Flinks Connect stopped unexpectedly. Try again; if it keeps happening, restart Flinks Desktop.")

    def _fail(self, sentence: str) -> None:
        LOG.warning("%s", sentence)
        self.stop()
        self.failed.emit(sentence)

    def _where(self) -> str:
        """Connect's host (and port) as a person would read it: "127.0.0.1:8765"."""
        return self._connect_origin.split("://", 1)[1]


class _ConnectPage(QWebEnginePage):
    """The page of one session: the bridge, the navigation check, no windows, the console logged.

    detach() cuts it off from the view for good: every navigation refused, no signal comes out.
    """

    def __init__(
        self, profile: QWebEngineProfile, parent: QObject, allow_navigation: Callable[[QUrl, bool], bool], config: str
    ):
        super().__init__(profile, parent)
        self._allow_navigation: Callable[[QUrl, bool], bool] | None = allow_navigation
        self.bridge = _Bridge(config, self)
        channel = QWebChannel(self)
        channel.registerObject("connectBridge", self.bridge)
        self.setWebChannel(channel, _BRIDGE_WORLD)
        self.scripts().insert(_bridge_script())

    def detach(self) -> None:
        self._allow_navigation = None
        self.blockSignals(True)
        self.bridge.blockSignals(True)

    def acceptNavigationRequest(
        self, url: QUrl, navigation_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        return self._allow_navigation is not None and self._allow_navigation(url, is_main_frame)

    def createWindow(self, window_type: QWebEnginePage.WebWindowType) -> None:
        # A pop-up would be a browser of its own, outside the navigation check: none is opened.
        LOG.warning("Refused to open a new window (%s)", window_type.name)
        return None

    def javaScriptConsoleMessage(
        self, level: QWebEnginePage.JavaScriptConsoleMessageLevel, message: str, line: int, source: str
    ) -> None:
        LOG.log(
            _CONSOLE_LEVELS.get(level, logging.WARNING), "JavaScript: %s (%s:%d)", redact(message), redact(source), line
        )


class _Bridge(QObject):
    """The only Python object JavaScript can reach, from the bridge script's world. ready() answers
    the handshake; the other calls become signals for the view, so that detaching the page
    silences them (blockSignals)."""

    posted = Signal(str)
    frameLoaded = Signal()
    frameUnreachable = Signal()

    def __init__(self, config: str, parent: QObject):
        super().__init__(parent)
        self._config = config

    @Slot(result=str)
    def ready(self) -> str:
        """The handshake: the channel is up; the page learns what to embed."""
        return self._config

    @Slot(str)
    def post(self, message: str) -> None:
        self.posted.emit(message)

    @Slot()
    def loaded(self) -> None:
        self.frameLoaded.emit()

    @Slot()
    def unreachable(self) -> None:
        self.frameUnreachable.emit()


def _bridge_script() -> QWebEngineScript:
    script = QWebEngineScript()
    script.setName("flinks-connect-bridge")
    script.setSourceCode(_bridge_source())
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentReady)
    script.setWorldId(_BRIDGE_WORLD)
    script.setRunsOnSubFrames(False)
    return script


@functools.cache
def _bridge_source() -> str:
    """Qt's qwebchannel.js followed by connect_bridge.js.

    An http(s) page may not load qrc:///qtwebchannel/qwebchannel.js itself, so it is read here from
    Qt's resources and injected along with the bridge, which then finds QWebChannel defined.
    """
    channel_js = QFile(":/qtwebchannel/qwebchannel.js")
    if not channel_js.open(QIODevice.OpenModeFlag.ReadOnly):
        raise RuntimeError("qwebchannel.js is missing from Qt's resources (is QtWebChannel installed?)")
    try:
        source = bytes(channel_js.readAll()).decode("utf-8")
    finally:
        channel_js.close()
    return f"{source}\n{_asset('connect_bridge.js')}"


def _asset(name: str) -> str:
    return (resources.files(__package__) / name).read_text(encoding="utf-8")
