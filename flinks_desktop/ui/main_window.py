"""The main window: connections on the left; the selected one's accounts, transactions, statements
and activity on the right; Connect, refresh, export and delete as actions.

It presents the core and holds no business logic: every Flinks call and cache write goes through
the workspace's `Sync`, on the asyncio loop qasync shares with Qt; the window reads the cache with
its own `Store`. Nothing here waits on the network or on a big write.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core.login_ids import login_id_in, login_ids_among
from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.store import CacheError, LoginRow, Store
from flinks_desktop.ui.connections import ConnectionsPanel, WorkspaceSplitter
from flinks_desktop.ui.formatting import (
    STATE_LABELS,
    ago,
    duration,
    institution_name,
    local_time,
    login_state,
    plain_tooltip,
    step_label,
)

# What the first paint does not need loads when it is first used (see `flinks_desktop.ui.app`):
# asyncio and the sync engine, the HTTP client, QtWebEngine (Connect), QtPdf (Statements), the
# dialogs. Names used only in annotations come from here.
if TYPE_CHECKING:
    import asyncio

    from flinks_desktop.core.sync import SyncProgress, SyncResult
    from flinks_desktop.core.workspace import Workspace
    from flinks_desktop.sandbox.server import SandboxServer
    from flinks_desktop.ui.accounts_view import AccountsView
    from flinks_desktop.ui.activity_view import ActivityView
    from flinks_desktop.ui.statements_view import StatementsView
    from flinks_desktop.ui.transactions_view import TransactionsView

log = logging.getLogger("flinks_desktop.ui")

BANNER_TEXT = {
    "sandbox": "Offline sandbox · Flinks Capital on this computer · no network, no real bank data",
    "toolbox": "Flinks toolbox · the public Flinks test environment · test data only",
    "private": "PRODUCTION · {name} · real customers' bank data",
}
#: Connect's steps that the status line's opening sentence (`CONNECT_OPENED`) still describes.
_OPENING_STEPS = frozenset(
    {
        "APP_MOUNTED",
        "APP_ONLINE",
        "COMPONENT_LOAD_CONSENT",
        "COMPONENT_ACCEPT_CONSENT",
        "COMPONENT_LOAD_INSTITUTION_SELECTOR",
    }
)
CONNECT_OPENED = "Flinks Connect is open: the customer reads the consent, then picks their bank"
#: Connect and its timeline side by side, in this proportion.
CONNECT_PAGE_SIZES = [860, 340]
#: The timeline's narrowest: a step and its time on two lines at most ("04:15:10   Institution
#: selected"); Connect's page, which reflows, gives way first.
TIMELINE_AT_LEAST = 210
#: The connections panel's width at first; as the window narrows it gives way, down to its minimum,
#: while the connection's page has less than this room: the Transactions filters on one line (735
#: px with DejaVu Sans at 10 pt) and the page's margins. Narrower still, they take two lines.
CONNECTIONS_WIDTH = 320
WORKSPACE_PAGE_ROOM = 780
STAGES = {
    "authorize": "Authorizing with Flinks…",
    "mfa": "Waiting for the answer to the bank's question…",
    "accounts": "Fetching accounts and transactions…",
    "statements": "Fetching statements…",
    "saving": "Saving to the local cache…",
    "done": "Done",
}


#: Each attribute of `MainWindow` made by a part built when first needed, and that part's builder.
_BUILDERS: dict[str, Callable[[MainWindow], None]] = {}


def _builds(*names: str) -> Callable[[Callable[[MainWindow], None]], Callable[[MainWindow], None]]:
    """Declare a `MainWindow` method the builder of the attributes `names` (see `__getattr__`)."""

    def register(builder: Callable[[MainWindow], None]) -> Callable[[MainWindow], None]:
        for name in names:
            _BUILDERS[name] = builder
        return builder

    return register


class MainWindow(QMainWindow):
    """`session` gives the workspace of the active environment and can switch environments
    (see `flinks_desktop.ui.app.AppSession`). `closed` is emitted once the window has closed.

    The other signals say what the window did, for tests and automation (README: "In your own
    tests"); each comes once the window shows the change, so a slot may act on the window at once.
    """

    closed = Signal()
    #: A sync began: the loginId it works on, or "" for several connections (Refresh all, Open loginIds).
    syncStarted = Signal(str)
    #: That sync ended: the same loginId (or ""), and how: a `SyncResult.outcome` ("ok", "needs_mfa",
    #: "error", "unknown"), "done" for several connections (each one's outcome is in the summary
    #: dialog), "cancelled", or "failed" (refused or broken before any outcome; the status bar says why).
    syncFinished = Signal(str, str)
    #: The MFA dialog is on screen, asking: the `MfaDialog` (one object for every question of the
    #: window, so it is the same after a wrong answer; its fields are new each time).
    mfaRequested = Signal(QDialog)
    #: A connection appeared in the list (linked, looked up, or added by another window or command).
    connectionAdded = Signal(str)
    #: A connection left the list (deleted here, or by another window or command).
    connectionRemoved = Signal(str)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.store: Store | None = None
        self._tasks: set[asyncio.Task] = set()
        self._sync_task: asyncio.Task | None = None
        #: The loginId of the sync that runs now ("" for several), as syncStarted gave it.
        self._sync_login: str | None = None
        #: What to run once the sync that runs now ends: loginIds Connect handed over meanwhile.
        self._queued_links: list[tuple[str, str, str | None]] = []
        self._sync_started = 0.0
        #: While Flinks answers 202: since when the sync waits (monotonic) and its limit (seconds).
        self._waiting: tuple[float, float | None] | None = None
        #: The cache's data_version when this window last read it (see `check_cache`).
        self._cache_version: int | None = None
        self._closing = False
        self._connect_events: list[tuple[datetime, dict]] = []
        self.setObjectName("mainWindow")
        # Sized and placed once built, when its minimum size is known: _restore_window_state.

        # The frame first, then each page straight into it: with a style sheet, every reparenting
        # of a built subtree restyles all of it again (a third of the window's build time).
        central = QWidget()
        self.setCentralWidget(central)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.banner = QLabel(objectName="environmentBanner")
        self.pages = QStackedWidget(objectName="pages")
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        # The pages and panels not on screen at the first paint are built when first used
        # (`__getattr__`): the welcome page or the workspace, Connect's page, a connection's page.
        self._connect_view = None
        #: The tabs' views once built, and what they show: (store, loginId), or (None, None).
        self._tab_views: dict[str, QWidget] = {}
        self._shown: tuple[Store | None, str | None] = (None, None)
        self._build_status_bar()
        self._build_actions()
        self._ticker = QTimer(self, interval=500)
        self._ticker.timeout.connect(self._tick)
        # Another window or a command on the same data directory may change the cache: look
        # (a cheap PRAGMA) every second and whenever this window comes to the front.
        self._cache_watch = QTimer(self, interval=1000, objectName="cacheWatch")
        self._cache_watch.timeout.connect(self.check_cache)
        self._cache_watch.start()

        self.open_environment()
        self._restore_window_state()

    # == building ==================================================================================
    # Each page is added to `pages` first and filled afterwards, for the reason given in __init__.
    def __getattr__(self, name: str):
        """A part of the window not built yet (`_builds`) is built the first time one of its
        attributes is asked for: what the first paint does not show costs it nothing (each part is
        ~2-6 ms of widgets and style sheet). Python calls this only for an attribute not made yet."""
        builder = _BUILDERS.get(name)
        if builder is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        builder(self)
        return self.__dict__[name]

    def _built(self, name: str) -> bool:
        """Whether the part that makes attribute `name` has been built (without building it)."""
        return name in self.__dict__

    def _showing(self, page: str) -> bool:
        """Whether page `page` ("welcome", "connect_page", "workspace_page") is the one on screen."""
        return self._built(page) and self.pages.currentWidget() is self.__dict__[page]

    @_builds("welcome", "welcome_title", "welcome_text", "connect_button", "welcome_login_id")
    def _build_welcome(self) -> None:
        page = QWidget(objectName="welcomePanel")
        self.pages.addWidget(page)
        self.welcome_title = QLabel("Welcome to Flinks Desktop", objectName="welcomeTitle")
        self.welcome_text = QLabel(self._welcome_text(), objectName="welcomeText")
        self.welcome_text.setWordWrap(True)
        self.welcome_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.connect_button = QPushButton("Connect an account", objectName="connectButton")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.start_connect)

        card = QFrame(objectName="welcomeCard")
        inner = QVBoxLayout(card)
        inner.setSpacing(16)
        inner.setContentsMargins(48, 40, 48, 40)
        inner.addWidget(self.welcome_title, 0, Qt.AlignmentFlag.AlignHCenter)
        inner.addWidget(self.welcome_text)
        inner.addSpacing(8)
        inner.addWidget(self.connect_button, 0, Qt.AlignmentFlag.AlignHCenter)
        inner.addSpacing(8)
        # Support staff start from a ticket: a loginId made on the customer's own device.
        self.welcome_login_id = QLineEdit(objectName="welcomeLoginId", accessibleName="Customer's loginId")
        self.welcome_login_id.setPlaceholderText("Or paste a customer's loginId from a ticket")
        self.welcome_login_id.setClearButtonEnabled(True)
        self.welcome_login_id.returnPressed.connect(lambda: self.look_up_login(self.welcome_login_id.text()))
        look_up = QPushButton("Open", objectName="welcomeLookUpButton")
        look_up.setToolTip("Look the loginId up at Flinks and add it with its accounts (Enter)")
        look_up.clicked.connect(lambda: self.look_up_login(self.welcome_login_id.text()))
        many = QPushButton("Open many…", objectName="welcomeOpenLoginIdsButton")
        many.setToolTip("Paste many loginIds, or open a CSV or text file of them (Ctrl+O)")
        many.clicked.connect(self.open_login_ids)
        support = QHBoxLayout()
        support.setSpacing(8)
        support.addWidget(self.welcome_login_id, 1)
        support.addWidget(look_up)
        support.addWidget(many)
        inner.addLayout(support)
        # A fixed width, and stretches rather than an alignment flag around it: only then does Qt
        # give the wrapped text the height it needs for its width.
        card.setFixedWidth(580)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card)
        row.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
        self.welcome = page

    def _welcome_text(self) -> str:
        return (
            "Connect a bank account through Flinks Connect, then browse its accounts, balances, "
            "transactions and statements. This is the offline Flinks Capital sandbox: the test "
            "credentials are shown under the sign-in button."
            if self.session.environment.kind == "sandbox"
            else "Connect a bank account through Flinks Connect, then browse its accounts, balances, "
            "transactions and statements."
        )

    @_builds(
        "connect_page",
        "connect_splitter",
        "_connect_placeholder",
        "timeline",
        "connect_message",
        "retry_connect_button",
    )
    def _build_connect_page(self) -> None:
        # The Connect view (QtWebEngine: a browser engine and its profile, half a second to build)
        # is made the first time it is needed (`connect_view`), after this page.
        splitter = QSplitter(objectName="connectPage")
        self.pages.addWidget(splitter)
        self._connect_placeholder = QWidget(objectName="connectViewPlaceholder")
        splitter.addWidget(self._connect_placeholder)
        side = QWidget(objectName="timelinePanel")
        splitter.addWidget(side)

        self.timeline = QListWidget(objectName="connectTimeline", accessibleName="Connect timeline")
        self.timeline.setWordWrap(True)
        self.timeline.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Each step measured again at the panel's width when it changes: wrapped whole, never a
        # step cut to "Consent …" by a height measured at another width.
        self.timeline.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.connect_message = QLabel(objectName="connectMessage")
        self.connect_message.setWordWrap(True)
        self.connect_message.hide()
        retry = QPushButton("Try again", objectName="retryConnectButton")
        retry.clicked.connect(self.start_connect)
        retry.hide()  # only once Connect has failed
        self.retry_connect_button = retry
        cancel = QPushButton("Cancel", objectName="cancelConnectButton")
        cancel.clicked.connect(self.cancel_connect)
        buttons = QHBoxLayout()
        buttons.addWidget(retry)
        buttons.addWidget(cancel)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(12, 12, 12, 12)
        side.setMinimumWidth(TIMELINE_AT_LEAST)
        side_layout.addWidget(QLabel("Connect timeline", objectName="sectionTitle"))
        side_layout.addWidget(self.timeline, 1)
        side_layout.addWidget(self.connect_message)
        side_layout.addLayout(buttons)

        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes(CONNECT_PAGE_SIZES)
        self.connect_splitter = splitter
        self.connect_page = splitter

    @property
    def connect_view(self):
        """The Connect view (`ConnectView`), built on first use."""
        if self._connect_view is None:
            from flinks_desktop.ui.connect_view import ConnectView  # QtWebEngine: loaded when first needed

            view = ConnectView(self)
            view.loginCaptured.connect(self.on_login_captured)
            view.connectEvent.connect(self.on_connect_event)
            view.failed.connect(self.on_connect_failed)
            view.closed.connect(self.cancel_connect)
            self.connect_splitter.replaceWidget(0, view)
            # The page was laid out around an empty placeholder: give Connect its share again.
            self.connect_splitter.setSizes(CONNECT_PAGE_SIZES)
            self._connect_placeholder.deleteLater()
            self._connect_view = view
        return self._connect_view

    @_builds("workspace_page", "workspace_splitter", "connections", "detail_stack", "no_selection")
    def _build_workspace_page(self) -> None:
        """The connections on the left, the selected one's page on the right (built when the cache
        has connections: a first start paints only the welcome page)."""
        splitter = WorkspaceSplitter(
            objectName="workspacePage", panel_width=CONNECTIONS_WIDTH, page_room=WORKSPACE_PAGE_ROOM
        )
        self.pages.addWidget(splitter)
        self.workspace_splitter = splitter
        self.connections = ConnectionsPanel()
        splitter.addWidget(self.connections)
        self.detail_stack = QStackedWidget()
        splitter.addWidget(self.detail_stack)
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(0, False)  # dragged to nothing, the connections could not be found
        splitter.setSizes([CONNECTIONS_WIDTH, 920])
        self.no_selection = QLabel(
            "Select a connection on the left, or connect a new account.",
            objectName="emptyState",
            alignment=Qt.AlignmentFlag.AlignCenter,
        )
        self.detail_stack.addWidget(self.no_selection)
        self.connections.selected.connect(self.show_login)
        self.connections.copied.connect(self.show_status)
        self.connections.lookUpRequested.connect(self.look_up_login)
        self.workspace_page = splitter
        settings = QSettings()
        saved = settings.value("window/splitter")
        if isinstance(saved, QByteArray) and splitter.restoreState(saved):
            splitter.panel_width = splitter.sizes()[0]  # (kept by a version that did not keep the next)
        chosen = settings.value("window/connectionsWidth")
        if isinstance(chosen, int | str) and str(chosen).isdigit():  # (an INI file gives a str)
            splitter.panel_width = int(chosen)

    @_builds(
        "connection_page",
        "connection_title",
        "connection_details",
        "refresh_button",
        "live_refresh_button",
        "export_button",
        "delete_card_button",
        "tabs",
        "_tab_holders",
    )
    def _build_connection_page(self) -> None:
        """The selected connection's page: its title, actions and tabs (built when one is first shown)."""
        detail = QWidget(objectName="connectionPage")
        self.detail_stack.addWidget(detail)
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(20, 16, 20, 12)
        detail_layout.setSpacing(12)

        from flinks_desktop.ui.elided_label import ElidedLabel  # with the page: not before the first paint

        # Plain text (a username is bank text). A long bank name or username wraps to a second
        # line, then ends in "…" (whole in its tool tip), rather than make the window's minimum
        # wider than a small screen or push the tabs down.
        self.connection_title = ElidedLabel(objectName="connectionTitle", lines=2)
        self.connection_title.setMinimumWidth(120)
        self.connection_details = QLabel(objectName="connectionDetails")
        self.connection_details.setTextFormat(Qt.TextFormat.PlainText)
        self.connection_details.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh", objectName="refreshButton")
        self.refresh_button.setToolTip("Fetch what Flinks holds for this connection (F5)")
        self.refresh_button.clicked.connect(lambda: self.refresh_selected(live=False))
        self.live_refresh_button = QPushButton("Live refresh", objectName="liveRefreshButton")
        self.live_refresh_button.setToolTip("Ask the bank again; it may ask a security question (Shift+F5)")
        self.live_refresh_button.clicked.connect(lambda: self.refresh_selected(live=True))
        self.export_button = QPushButton("Export…", objectName="exportButton")
        self.export_button.clicked.connect(self.export_transactions)
        self.delete_card_button = QPushButton("Delete card…", objectName="deleteCardButton")
        self.delete_card_button.clicked.connect(self.delete_selected)

        self.connection_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        title_row = QHBoxLayout()
        title_row.setSpacing(8)
        title_row.addWidget(self.connection_title, 1)
        for button in (self.refresh_button, self.live_refresh_button, self.export_button, self.delete_card_button):
            title_row.addWidget(button)
        header = QVBoxLayout()
        header.setSpacing(4)
        header.addLayout(title_row)
        header.addWidget(self.connection_details)

        # Accounts is the tab a connection opens on; the others are built when first shown or used
        # (QtPdf, the activity's audit vocabulary...: not needed for the first paint).
        detail_layout.addLayout(header)
        self.tabs = QTabWidget(objectName="connectionTabs")
        self.tabs.setDocumentMode(True)
        detail_layout.addWidget(self.tabs, 1)
        # Each tab is a placeholder until its view is needed: Accounts when a connection is first
        # shown (often not before the first paint: nothing is selected on a first start, or when
        # the last session ended with no selection), the others just after the first paint.
        self._tab_holders: dict[str, QWidget] = {}
        for name, label in (
            ("accounts", "Accounts"),
            ("transactions", "Transactions"),
            ("statements", "Statements"),
            ("activity", "Activity"),
        ):
            holder = QWidget(objectName=f"{name}Tab")
            holder_layout = QVBoxLayout(holder)
            holder_layout.setContentsMargins(0, 0, 0, 0)
            self._tab_holders[name] = holder
            self.tabs.addTab(holder, label)
        self.tabs.currentChanged.connect(self._build_current_tab)
        self.connection_page = detail
        self._update_actions()  # the buttons' state, as the actions have it

    @property
    def accounts_view(self) -> AccountsView:
        return self._tab_view("accounts")

    @property
    def transactions_view(self) -> TransactionsView:
        return self._tab_view("transactions")

    @property
    def statements_view(self) -> StatementsView:
        return self._tab_view("statements")

    @property
    def activity_view(self) -> ActivityView:
        return self._tab_view("activity")

    def _tab_view(self, name: str) -> QWidget:
        """The view of tab `name`, built (showing the selected connection) on first use."""
        view = self._tab_views.get(name)
        if view is None:
            if name == "accounts":
                from flinks_desktop.ui.accounts_view import AccountsView as View
            elif name == "transactions":
                from flinks_desktop.ui.transactions_view import TransactionsView as View
            elif name == "statements":
                from flinks_desktop.ui.statements_view import StatementsView as View
            else:
                from flinks_desktop.ui.activity_view import ActivityView as View
            view = View()
            # The view takes its placeholder's place in the tabs, so that the tab's page is the view
            # itself (`tabs.setCurrentWidget(window.transactions_view)` works, as before).
            holder = self._tab_holders.pop(name)
            index, current = self.tabs.indexOf(holder), self.tabs.currentIndex()
            label = self.tabs.tabText(index)
            self.tabs.blockSignals(True)
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, view, label)
            self.tabs.setCurrentIndex(current)
            self.tabs.blockSignals(False)
            holder.deleteLater()
            self._tab_views[name] = view
            view.set_login(*self._shown)
        return view

    @Slot(int)
    def _build_current_tab(self, index: int) -> None:
        for name, holder in list(self._tab_holders.items()):
            if self.tabs.widget(index) is holder:
                self._tab_view(name)

    def _build_status_bar(self) -> None:
        self.busy = QProgressBar(objectName="busyIndicator")
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(140)
        self.busy.hide()
        self.cancel_sync_button = QPushButton("Cancel", objectName="cancelSyncButton")
        self.cancel_sync_button.clicked.connect(self.cancel_sync)
        self.cancel_sync_button.hide()
        self.statusBar().addPermanentWidget(self.busy)
        self.statusBar().addPermanentWidget(self.cancel_sync_button)

    def _build_actions(self) -> None:
        def action(text: str, shortcut, slot, name: str) -> QAction:
            item = QAction(text, self, objectName=name)
            item.setShortcut(QKeySequence(shortcut))
            item.triggered.connect(slot)
            return item

        self.connect_action = action("&Connect an account…", "Ctrl+N", self.start_connect, "connectAction")
        self.refresh_action = action("&Refresh", "F5", lambda: self.refresh_selected(live=False), "refreshAction")
        self.live_refresh_action = action(
            "&Live refresh", "Shift+F5", lambda: self.refresh_selected(live=True), "liveRefreshAction"
        )
        self.refresh_all_action = action("Refresh &all", "Ctrl+Shift+R", self.refresh_all, "refreshAllAction")
        self.export_action = action("&Export transactions…", "Ctrl+E", self.export_transactions, "exportAction")
        self.delete_action = action("&Delete card…", "Ctrl+Shift+Delete", self.delete_selected, "deleteCardAction")
        self.settings_action = action(
            "&Settings…", QKeySequence.StandardKey.Preferences, self.open_settings, "settingsAction"
        )
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.find_action = action("&Find connection", QKeySequence.StandardKey.Find, self.focus_search, "findAction")
        self.open_login_ids_action = action(
            "&Open loginIds…", QKeySequence.StandardKey.Open, self.open_login_ids, "openLoginIdsAction"
        )
        self.all_activity_action = action("All &activity…", "Ctrl+Shift+A", self.show_all_activity, "allActivityAction")
        quit_action = action("&Quit", QKeySequence.StandardKey.Quit, self.close, "quitAction")
        about_action = QAction("&About Flinks Desktop", self, objectName="aboutAction")
        about_action.triggered.connect(self.show_about)

        file_menu = self.menuBar().addMenu("&File")
        for item in (self.connect_action, None, self.export_action, None, self.settings_action, None, quit_action):
            file_menu.addAction(item) if item else file_menu.addSeparator()
        connection_menu = self.menuBar().addMenu("&Connection")
        for item in (
            self.find_action,
            self.open_login_ids_action,
            self.all_activity_action,
            None,
            self.refresh_action,
            self.live_refresh_action,
            self.refresh_all_action,
            None,
            self.delete_action,
        ):
            connection_menu.addAction(item) if item else connection_menu.addSeparator()
        self.menuBar().addMenu("&Help").addAction(about_action)

    # == environment ===============================================================================
    @property
    def workspace(self) -> Workspace:
        return self.session.workspace

    @property
    def sandbox(self) -> SandboxServer | None:
        """The offline sandbox this window's session runs (a `SandboxServer`: its `requests` log,
        its `state`), or None when the environment in use is not the offline sandbox."""
        return self.session.sandbox

    @property
    def syncing(self) -> str | None:
        """The loginId the running sync works on ("" for several connections), or None when no
        sync runs: what syncStarted said, until syncFinished."""
        return self._sync_login

    def open_environment(self) -> None:
        """Show the active environment: its banner, its cache, its connections. Needs only the
        settings and the cache: at start-up the window paints this before the workspace opens."""
        environment = self.session.environment
        self.setWindowTitle(f"Flinks Desktop — {environment.name}")
        self.banner.setText(BANNER_TEXT[environment.kind].format(name=environment.name))
        self.banner.setProperty("kind", environment.kind)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        if self._built("welcome_text"):
            self.welcome_text.setText(self._welcome_text())
        if self.store is not None:
            self.store.close()
        self.store = None
        self._open_store(say_why=True)
        self.reload_connections()
        if self.session.ready:
            self.session_ready()

    def session_ready(self) -> None:
        """The workspace is open (at start-up, just after the first paint): build the parts and
        tabs the first paint did without, and say what is missing."""
        for name in _BUILDERS:
            getattr(self, name)  # each part once: its first attribute builds it
        for name in list(self._tab_holders):
            self._tab_view(name)
        if self.session.keyring_message:
            self.show_status(self.session.keyring_message)

    def _open_store(self, *, say_why: bool) -> None:
        """Read the environment's cache, once it exists: a first start paints the welcome page
        without making one (the sync's writer does, with its first connection)."""
        if self.store is not None or self._closing or not self.session.cache_path.exists():
            return  # (closing: the window let its store go; a sync ending now must not reopen it)
        try:
            self.store = Store.open(self.session.cache_path)
        except CacheError as error:
            if say_why:
                self.show_error("The local cache cannot be opened", str(error))

    def reload_connections(self, select: str | None = None, *, leave_connect: bool = False) -> None:
        """Read the environment's connections into the list, and show the list (or the welcome
        page when there are none) unless Connect's page is on screen and `leave_connect` is False."""
        self._open_store(say_why=False)
        try:
            logins = self.store.logins() if self.store is not None else []
        except CacheError as error:  # damage a read came across (opens no longer read every page)
            self.show_status(str(error))
            logins = []
        listed = logins or self._built("workspace_page")  # no list yet, nothing to list: none built
        before = {login.id for login in self.connections.model.logins} if listed else set()
        if listed:
            self.connections.set_logins(logins, keep=select)
        if leave_connect or not self._showing("connect_page"):
            self.pages.setCurrentWidget(self.workspace_page if logins else self.welcome)
        if listed and not self.connections.current_login_id():
            self.show_login("")
        self._update_actions()
        after = {login.id for login in logins}
        for login in logins:
            if login.id not in before:
                self.connectionAdded.emit(login.id)
        for login_id in sorted(before - after):
            self.connectionRemoved.emit(login_id)

    # == selection =================================================================================
    @Slot(str)
    def show_login(self, login_id: str) -> None:
        login = self._login(login_id)
        self.detail_stack.setCurrentWidget(self.connection_page if login else self.no_selection)
        if login:
            self.connection_title.setText(f"{institution_name(login.institution)} · {login.username or 'unknown user'}")
            self.connection_details.setText(self._details(login))
        self._shown = (self.store, login.id) if login else (None, None)
        for view in self._tab_views.values():
            view.set_login(*self._shown)
        if login:
            self._build_current_tab(self.tabs.currentIndex())  # the tab on screen, showing this login
        self._update_actions()

    def _details(self, login: LoginRow) -> str:
        state = login_state(login.status, login.synced_at)
        label = STATE_LABELS.get(state, state)
        if state in ("error", "needs_mfa") and login.status_at is not None:
            # When it last went wrong (each failed refresh sets it again), for the ticket.
            label += f" at {local_time(login.status_at)}"
        parts = [label, f"loginId {login.id}", f"synced here {ago(login.synced_at)}"]
        if login.last_refresh:
            parts.append(f"bank data from {local_time(login.last_refresh)}")
        if login.tag:
            parts.append(f"tag {login.tag}")
        text = " · ".join(parts)
        if login.status in ("error", "needs_mfa", "deleted") and login.error_message:
            code = f" ({login.error_code})" if login.error_code else ""
            text += f"\n{login.error_message}{code}"
        return text

    def _login(self, login_id: str) -> LoginRow | None:
        if not login_id or self.store is None:
            return None
        try:
            return self.store.login(login_id)
        except CacheError as error:
            self.show_status(str(error))
            return None

    def selected_login(self) -> LoginRow | None:
        if not self._built("connections"):
            return None  # no list (yet): nothing selected
        return self._login(self.connections.current_login_id())

    @Slot()
    def focus_search(self) -> None:
        if self._showing("workspace_page"):
            self.connections.search.setFocus()
            self.connections.search.selectAll()
        elif self._showing("welcome"):
            self.welcome_login_id.setFocus()
            self.welcome_login_id.selectAll()

    def _update_actions(self) -> None:
        login = self.selected_login()
        busy = self._sync_task is not None
        has_login = login is not None
        widgets: list[QWidget | QAction] = [self.refresh_action, self.live_refresh_action, self.delete_action]
        if self._built("connection_page"):
            widgets += [self.refresh_button, self.live_refresh_button, self.delete_card_button]
            self.export_button.setEnabled(has_login)
        for widget in widgets:
            widget.setEnabled(has_login and not busy)
        self.export_action.setEnabled(has_login)
        listed = self._built("connections") and self.connections.model.rowCount() > 0
        self.refresh_all_action.setEnabled(not busy and listed)
        self.connect_action.setEnabled(not busy)
        self.open_login_ids_action.setEnabled(not busy)

    # == Connect ===================================================================================
    @Slot()
    def start_connect(self) -> None:
        self._record_connect_session(None)  # a previous session that ended without a login
        self.timeline.clear()
        self.connect_message.hide()
        self.retry_connect_button.hide()
        self.pages.setCurrentWidget(self.connect_page)
        self.run(self._open_connect())

    async def _open_connect(self) -> None:
        token = None
        if self.workspace.client.has_auth_secret:
            try:
                token = (await self.workspace.client.generate_authorize_token()).value
            except Exception as error:  # noqa: BLE001 — a FlinksError; shown, never raised in a slot
                self.on_connect_failed(f"Flinks Connect cannot start: {error}")
                return
        self.connect_view.start(
            self.workspace.environment.connect_url(authorize_token=token), self.session.redirect_url
        )
        self.connect_view.setFocus()  # the keyboard goes to Connect, not to the timeline beside it
        self.show_status(CONNECT_OPENED)

    @Slot()
    def cancel_connect(self) -> None:
        if self._connect_view is not None:
            self._connect_view.stop()
        self._record_connect_session(None)
        self.reload_connections(leave_connect=True)  # the list, or the welcome page
        self.show_status("Connect closed")

    @Slot(dict)
    def on_connect_event(self, event: dict) -> None:
        step = event.get("step")
        label = step_label(step) if step else f"Error: {event.get('flinksCode')}"
        # A code wraps at its underscores (a zero-width space after each) in a narrow timeline,
        # rather than run off its side; the tool tip has it as written.
        breakable = label.replace("_", "_\u200b")
        self.timeline.addItem(f"{datetime.now():%H:%M:%S}   {breakable}")
        self.timeline.item(self.timeline.count() - 1).setToolTip(plain_tooltip(label))
        self.timeline.scrollToBottom()
        self._connect_events.append((datetime.now(UTC), event))
        # The status line says where the customer is, once the opening sentence no longer does;
        # an error in words, and kept while Connect shows its form again for it.
        previous = self._connect_events[-2][1] if len(self._connect_events) > 1 else {}
        if not step:
            from flinks_desktop.core.audit import describe  # the codes' sentences: once Connect runs

            code = str(event.get("flinksCode"))
            self.show_status(f"Flinks Connect: {describe(code)} ({code})")
        elif step.endswith("_RETRY") and not previous.get("step"):
            pass
        elif step not in _OPENING_STEPS and step != "REDIRECT":  # REDIRECT: the sync says what follows
            self.show_status(f"Flinks Connect: {label}")

    def _record_connect_session(self, login_id: str | None) -> None:
        """Audit the Connect session's events, under the login its REDIRECT named (if any): they
        are held until then so that a connection's Activity shows how it was connected."""
        for at, event in self._connect_events:
            self.workspace.sync.audit.record_connect_event(event, login_id, at=at)
        self._connect_events.clear()

    @Slot(str)
    def on_connect_failed(self, message: str) -> None:
        self.connect_message.setText(message)
        self.connect_message.show()
        self.retry_connect_button.show()
        self.show_status(message)

    @Slot(str, str)
    def on_login_captured(self, login_id: str, institution: str) -> None:
        tag = self._connect_tag()
        self.connect_view.stop()
        self._record_connect_session(login_id)
        self.pages.setCurrentWidget(self.workspace_page)
        if self._sync_task is not None:
            # Never dropped: listed now (cached, not synced yet), linked when the running sync ends.
            self._queued_links.append((login_id, institution, tag))
            self.run(self._remember(login_id, institution, tag))
            self.show_status(f"Connected {mask_id(login_id)}: it will be linked when the sync that runs now ends.")
            return
        self._link(login_id, institution, tag)

    def _link(self, login_id: str, institution: str, tag: str | None) -> None:
        self.start_sync(
            f"Linking {mask_id(login_id)}",
            self.workspace.sync.link(login_id, institution, tag=tag, mfa=self.ask_mfa, progress=self.on_progress),
            select=login_id,
        )

    async def _remember(self, login_id: str, institution: str, tag: str | None) -> None:
        try:
            await self.workspace.sync.remember(login_id, institution, tag=tag)
        except CacheError as error:
            self.show_status(str(error))
            return
        if self._sync_task is None or self.connections.current_login_id():
            self.reload_connections()
        else:
            self.reload_connections(select=login_id)

    def _connect_tag(self) -> str | None:
        """Connect's `tag` (the integrator's reference), as the session's REDIRECT carried it."""
        from flinks_desktop.core.connect_events import redirect_tag

        for _at, event in reversed(self._connect_events):
            if event.get("step") == "REDIRECT":
                return redirect_tag(event)
        return None

    # == syncs =====================================================================================
    def ask_mfa(self, prompt):
        """The bank's question(s) in the MFA dialog; the answers, or None when it was cancelled."""
        from flinks_desktop.ui.mfa_dialog import MfaDialog

        # One dialog for every question, handed over by mfaRequested each time it shows.
        return MfaDialog.ask_reusing(self, prompt, shown=self.mfaRequested.emit)

    def refresh_selected(self, live: bool) -> None:
        login = self.selected_login()
        if login is None:
            return
        what = "Live refresh" if live else "Refresh"
        self.start_sync(
            f"{what} of {login.username or mask_id(login.id)}",
            self.workspace.sync.refresh(login.id, live=live, mfa=self.ask_mfa, progress=self.on_progress),
            select=login.id,
        )

    @Slot()
    def refresh_all(self) -> None:
        """Every connection, with the same per-connection summary as Open loginIds."""
        login_ids = [
            login.id
            for login in self.connections.model.logins
            if login.environment in (None, self.workspace.environment.slug)
        ]
        from flinks_desktop.ui.open_login_ids_dialog import SyncSummaryDialog

        dialog = SyncSummaryDialog(self, "Refresh all", login_ids, refresh=True)
        dialog.openLogin.connect(self.connections.select)
        if self.start_sync(
            "Refresh of all connections",
            self.workspace.sync.refresh_all(progress=self.on_progress, done=dialog.add_result),
            on_end=dialog.finish,
        ):
            dialog.show()
        else:
            dialog.close()

    # == support desk: open loginIds made elsewhere ================================================
    def look_up_login(self, text: str) -> bool:
        """Open the loginId in `text` (as pasted): select it when it is here, else look it up at
        Flinks (cached /Authorize, the bank's question if Flinks asks one) and add it. False, with
        a sentence, when `text` is not a loginId."""
        login_id = login_id_in(text)
        if login_id is None:
            several = len(set(login_ids_among(text)))
            self.show_status(
                f"That holds {several} loginIds: paste the one to open, or open them all with Connection > "
                "Open loginIds… (Ctrl+O)."
                if several > 1
                else "That is not a loginId: a loginId looks like b0debb48-f9f1-46c6-80a4-08d7dd88d478."
            )
            return False
        here = next((login.id for login in self.connections.model.logins if login.id.lower() == login_id), None)
        if here is not None:
            self.connections.select(here)
            return True
        return self.start_sync(
            f"Looking up {mask_id(login_id)} at Flinks",
            self.workspace.sync.add(login_id, mfa=self.ask_mfa, progress=self.on_progress),
            select=login_id,
        )

    @Slot()
    def open_login_ids(self) -> None:
        self.run(self._open_login_ids())

    async def _open_login_ids(self, text: str = "") -> None:
        from flinks_desktop.ui.open_login_ids_dialog import OpenLoginIdsDialog, SyncSummaryDialog

        login_ids = await OpenLoginIdsDialog.ask(self, text)
        if not login_ids:
            return
        known = [login.id for login in self.connections.model.logins]
        dialog = SyncSummaryDialog(self, "Open loginIds", login_ids, known=known)
        dialog.openLogin.connect(self.connections.select)
        noun = "loginId" if len(login_ids) == 1 else "loginIds"
        if self.start_sync(
            f"Opening {len(login_ids)} {noun}",
            self.workspace.sync.add_many(login_ids, progress=self.on_progress, done=dialog.add_result),
            on_end=dialog.finish,
        ):
            dialog.show()
        else:
            dialog.close()

    def start_sync(
        self,
        title: str,
        work: Awaitable,
        select: str | None = None,
        on_end: Callable[[list[SyncResult] | None, bool], None] | None = None,
    ) -> bool:
        """Run one sync (or a bulk one) with the progress indicator and Cancel; False, with a
        sentence, when one runs already. `on_end(results, cancelled)` hears how it ended."""
        if self._sync_task is not None:
            self.show_status("A sync is already running: wait for it or cancel it.")
            work.close()
            return False
        self._sync_started = time.monotonic()
        self._waiting = None
        self._sync_title = title
        self._sync_login = select or ""
        self._sync_task = self.run(self._run_sync(work, select, on_end))
        self.busy.show()
        self.cancel_sync_button.show()
        self._ticker.start()
        self.show_status(f"{title}…")
        self._update_actions()
        self.syncStarted.emit(self._sync_login)
        return True

    async def _run_sync(
        self, work: Awaitable, select: str | None, on_end: Callable[[list[SyncResult] | None, bool], None] | None
    ) -> None:
        import asyncio

        from flinks_desktop.core.sync import SyncCancelled, SyncRefused

        results: list[SyncResult] | None = None
        cancelled = False
        try:
            outcome = await work
            results = outcome if isinstance(outcome, list) else [outcome]
        except asyncio.CancelledError as stopped:
            cancelled = True
            # The sync says what became of its data: a snapshot already being saved is kept.
            told = stopped.message if isinstance(stopped, SyncCancelled) else "Sync cancelled: nothing was changed."
            self.show_status(told)
            return
        except (SyncRefused, CacheError, ValueError) as error:
            self.show_status(str(error))
            return
        finally:
            self._sync_task = None
            self._ticker.stop()
            self.busy.hide()
            self.cancel_sync_button.hide()
            if (
                results
                and len(results) == 1
                and results[0].outcome in ("unknown", "error")
                and results[0].login_id
                and self.store is not None
                and not self._login(results[0].login_id)
            ):
                select = None  # nothing was added: keep what was selected, and say why under the search
                self.connections.show_look_up_failure(results[0].login_id, results[0].message)
            # Selecting the login again shows it (the list's selection signal): no second reload.
            self.reload_connections(select=select or self.connections.current_login_id())
            if on_end is not None:
                on_end(results, cancelled)
            if self._queued_links and not self._closing:
                QTimer.singleShot(0, self._link_next)
            if results is not None:
                self.show_status(summary(results))
            login_id, self._sync_login = self._sync_login or "", None
            self.syncFinished.emit(login_id, sync_outcome(results, cancelled, several=not login_id))

    def _link_next(self) -> None:
        if self._sync_task is None and self._queued_links:
            self._link(*self._queued_links.pop(0))

    @Slot()
    def cancel_sync(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()

    def on_progress(self, progress: SyncProgress) -> None:
        if progress.stage == "waiting":
            # Polls come every 10 s from a real Flinks: the ticker counts the seconds in between.
            self._waiting = (time.monotonic() - (progress.elapsed or 0.0), progress.limit)
            self._show_waiting()
        else:
            self._waiting = None
            self.show_status(STAGES.get(progress.stage, progress.stage))

    def _show_waiting(self) -> None:
        """How long the sync has waited for Flinks to prepare the data, and how long it will."""
        since, limit = self._waiting
        waited = time.monotonic() - since
        if limit is None:
            self.show_status(f"Flinks is preparing the data… waited {duration(waited)}")
        else:
            self.show_status(
                f"Flinks is preparing the data… waited {duration(min(waited, limit))}, gives up after {duration(limit)}"
            )

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._sync_started
        self.busy.setToolTip(f"{self._sync_title}: {elapsed:.0f} s")
        if self._waiting is not None:
            self._show_waiting()

    # == export and delete =========================================================================
    @Slot()
    def export_transactions(self) -> None:
        login = self.selected_login()
        if login is None or self.store is None:
            return
        chosen_filter = self.transactions_view.filters()
        if self.transactions_view.shows_none():  # an export of nothing: a file with only a header
            why = self.transactions_view.empty_title.text()  # no match, none synced, unreadable...
            self.show_status(f"Nothing to export: {why[:1].lower()}{why[1:]} (the Transactions tab says more).")
            return
        default = (
            f"{institution_name(login.institution)} - {login.username or mask_id(login.id)}"
            f" - transactions{_period_words(chosen_filter.since, chosen_filter.until)}.csv"
        )
        path, chosen = self.choose_export_path(default)
        if not path:
            return
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        from PySide6.QtWidgets import QProgressDialog

        from flinks_desktop.core import export  # the writers: not before the first paint

        # Written on a worker thread with its own Store, a page of rows at a time, into a temporary
        # file moved into place when whole (`export.TransactionsExport`): the window keeps running,
        # and a failure or a cancel leaves whatever was at `path` as it was.
        name = Path(path).name
        job = export.TransactionsExport(
            self.store.path,
            login.id,
            Path(path),
            **chosen_filter.as_kwargs(),
            as_json=path.lower().endswith(".json") or "JSON" in chosen,
            spreadsheet_safe=True,  # a person opens a CSV in a spreadsheet: no cell may run as a formula
        )
        # Shown only if the export is still running after half a second; Cancel stops it.
        progress = QProgressDialog(
            f"Exporting transactions to {name}…", "Cancel", 0, 0, self, objectName="exportProgress"
        )
        progress.setWindowTitle("Export transactions")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(500)
        progress.setAutoReset(False)
        progress.setAutoClose(False)
        progress.canceled.connect(job.cancel)
        ticker = QTimer(progress, interval=100)

        def show_progress() -> None:
            if job.total:
                progress.setMaximum(job.total)
                progress.setValue(min(job.written, job.total))
                progress.setLabelText(f"Exporting {job.written:,} of {job.total:,} transactions to {name}…")

        ticker.timeout.connect(show_progress)
        ticker.start()

        async def write() -> None:
            # A thread of its own (qasync's default executor would make it a QThread, left running).
            worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flinks-export")
            try:
                count = await asyncio.get_running_loop().run_in_executor(worker, job.run)
            except asyncio.CancelledError:  # the window closes: the thread stops at its next row
                job.cancel()
                raise
            except export.ExportCancelled:
                self.show_status(f"Export cancelled: {name} was not written.")
                return
            except (export.ExportError, CacheError) as error:
                self.show_status(f"The export to {name} failed.")
                self.show_error("The export could not be written", str(error))
                return
            finally:
                worker.shutdown(wait=False)
                if shiboken6.isValid(progress):  # gone with the window when it closed meanwhile
                    ticker.stop()
                    progress.close()
                    progress.deleteLater()
            self.show_status(f"Exported {count:,} transactions to {name}")

        self.show_status(f"Exporting transactions to {name}…")
        self.run(write())

    def choose_export_path(self, default: str) -> tuple[str, str]:
        """The file to export to (tests replace this)."""
        from flinks_desktop.ui.dialogs import ask_save_path

        return ask_save_path(self, "Export transactions", default, "CSV (*.csv);;JSON (*.json)")

    @Slot()
    def delete_selected(self) -> None:
        login = self.selected_login()
        if login is None:
            return
        self.run(self._delete(login))

    async def _delete(self, login: LoginRow) -> None:
        import getpass

        from flinks_desktop.ui.delete_card_dialog import DeleteCardDialog

        by = getpass.getuser()
        result = await DeleteCardDialog.ask_and_run(
            self,
            institution=institution_name(login.institution),
            username=login.username or "",
            login_id=login.id,
            delete=lambda local_only: self.workspace.sync.delete_card(login.id, local_only=local_only, by=by),
        )
        if result is None:
            return
        self.reload_connections()
        self.show_status(
            f"{result.message} The activity log keeps a line saying when and by whom (Connection > All activity)."
            if result.purged
            else result.message
        )

    @Slot()
    def show_all_activity(self) -> None:
        """Every connection's activity, deleted ones included (their deletion line says when and by
        whom), in a window of its own."""
        if self.store is None:
            return
        dialog = QDialog(self, objectName="allActivityDialog")
        dialog.setWindowTitle(f"All activity — {self.workspace.environment.name}")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        from flinks_desktop.ui.activity_view import ActivityView

        view = ActivityView(dialog)
        view.set_login(self.store, None)
        close = QPushButton("Close", objectName="closeAllActivityButton")
        close.setAutoDefault(False)  # Enter in the table opens nothing; Escape and this button close
        close.clicked.connect(dialog.accept)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(16, 0, 16, 14)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(dialog)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(view)
        layout.addLayout(buttons)
        dialog.resize(1100, 640)
        dialog.open()

    # == settings and about ========================================================================
    @Slot()
    def open_settings(self) -> None:
        self.run(self._settings())

    async def _settings(self) -> None:
        from flinks_desktop.core.environments import SettingsError
        from flinks_desktop.ui.settings_dialog import SettingsDialog

        changed = await SettingsDialog.ask(
            self, self.session.settings, self.session.secrets, self.session.data_dir, busy=self.busy_reason
        )
        if not changed:
            return
        try:
            if self.session.settings.active.slug != self.workspace.environment.slug:
                await self.session.switch(self.session.settings.active)
                self.open_environment()
            else:  # the environment in use was edited: its next call uses the new settings
                self.session.apply_settings()
                self.open_environment()
        except SettingsError as error:
            self.show_error("The settings could not be applied", str(error))

    def busy_reason(self) -> str | None:
        """Why the environment in use cannot change now (a sync or a deletion runs), or None."""
        if self._sync_task is not None or (self.session.ready and self.workspace.sync.busy):
            return (
                "A sync or a deletion is running in this environment: wait for it to finish, or "
                "cancel it, then change the environment in use."
            )
        return None

    @Slot()
    def show_about(self) -> None:
        from flinks_desktop.ui.about_dialog import AboutDialog  # built when asked for, not at start-up

        dialog = AboutDialog(
            self,
            data_dir=self.session.data_dir,
            cache_path=self.workspace.cache_path,
            environment=self.workspace.environment.name,
        )
        dialog.open()  # window-modal; never exec(): the asyncio loop keeps running

    # == other windows and commands on the same data directory ======================================
    @Slot()
    def check_cache(self) -> None:
        """Show what another window or command changed in the cache (added, refreshed or deleted
        connections), so the window never shows purged data. A cheap PRAGMA when nothing changed."""
        if self._sync_task is not None or self._closing:
            return  # our own sync reloads when it ends
        self._open_store(say_why=False)  # another process may have made the first connection
        if self.store is None:
            return
        try:
            version = self.store.data_version()
        except CacheError:
            return
        if version == self._cache_version:
            return
        self._cache_version = version
        try:
            logins = self.store.logins()
        except CacheError as error:
            self.show_status(str(error))
            return
        if sorted(logins, key=lambda row: row.id) == sorted(self.connections.model.logins, key=lambda row: row.id):
            return
        current = self.connections.current_login_id()
        before = next((row for row in self.connections.model.logins if row.id == current), None)
        after = next((row for row in logins if row.id == current), None)
        self.reload_connections()
        if current and after is None:
            self.show_status(
                f"The connection {mask_id(current)} was removed by another Flinks Desktop window or command."
            )
        elif before != after:
            self.show_status("Connections changed by another Flinks Desktop window or command are shown.")

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.check_cache()

    # == plumbing ==================================================================================
    def run(self, coroutine) -> asyncio.Task:
        """Run a coroutine on the shared loop; keep a reference so it is not collected mid-way."""
        import asyncio

        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._on_task_done)
        return task

    def _on_task_done(self, task: asyncio.Task) -> None:
        """A background task that failed unexpectedly (a bug): said in the window, never only logged."""
        if task.cancelled() or task.exception() is None:
            return
        log.error("a background task failed", exc_info=task.exception())
        if self._closing or not shiboken6.isValid(self):
            return
        sentence = (
            f"Something unexpected went wrong ({type(task.exception()).__name__}); nothing more was done. "
            "The details are in the log: please report them."
        )
        self.show_status(sentence)
        self.show_error("Something went wrong", sentence)

    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message)

    def show_error(self, title: str, message: str) -> None:
        from PySide6.QtWidgets import QMessageBox  # its enums cost a millisecond before the first paint

        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.open()

    def _restore_window_state(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        # Fitted to the screens there are now: a 1280x720 laptop has no room for the preferred
        # size, and a geometry saved on a monitor since unplugged must come back onto this one.
        from flinks_desktop.ui.geometry import fit_restored, place_first

        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            fit_restored(self)
        else:
            place_first(self)
        last = settings.value(f"selection/{self.session.environment.slug}")
        if isinstance(last, str) and last and self._built("connections"):
            # Kept as a digest: the settings file is not the cache, and a loginId is the customer's.
            chosen = next(
                (login.id for login in self.connections.model.logins if _selection_key(login.id) == last), None
            )
            if chosen is not None:
                self.connections.select(chosen)

    def _save_window_state(self) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        if self._built("workspace_splitter"):  # else what was kept stays for when it is
            settings.setValue("window/splitter", self.workspace_splitter.saveState())
            # The panel's width as chosen: the splitter's state has it as it is now, maybe narrowed.
            settings.setValue("window/connectionsWidth", self.workspace_splitter.panel_width)
        current = self.connections.current_login_id() if self._built("connections") else ""
        settings.setValue(f"selection/{self.session.environment.slug}", _selection_key(current) if current else "")
        settings.sync()
        try:  # what the window remembers is this user's business only
            os.chmod(settings.fileName(), 0o600)
        except OSError:
            pass  # not a file (the Windows registry), or not ours to change

    def closeEvent(self, event) -> None:
        self._closing = True
        self._cache_watch.stop()
        self._save_window_state()
        if self._connect_view is not None:
            self._connect_view.stop()
        self._record_connect_session(None)
        for task in list(self._tasks):
            task.cancel()
        if self.store is not None:
            self.store.close()
            self.store = None
        super().closeEvent(event)
        self.closed.emit()


def sync_outcome(results: list[SyncResult] | None, cancelled: bool, *, several: bool) -> str:
    """What syncFinished says of a sync that ended with `results` (None: none came)."""
    if cancelled:
        return "cancelled"
    if results is None:
        return "failed"
    return "done" if several else results[0].outcome


def summary(results: list[SyncResult]) -> str:
    """One status line for one or several sync results."""
    if len(results) == 1:
        return results[0].message
    ok = sum(1 for r in results if r.ok)
    failed = [r for r in results if r.outcome in ("error", "needs_mfa")]
    text = f"{ok} of {len(results)} connections refreshed"
    if failed:
        text += f"; {len(failed)} need attention"
    return text + "."


def _selection_key(login_id: str) -> str:
    """What the settings keep of the selected loginId: enough to find it again, not to read it."""
    import hashlib  # here: OpenSSL loads when a selection is first kept or looked for

    return hashlib.sha256(login_id.encode()).hexdigest()[:16]


def _period_words(since: date | None, until: date | None) -> str:
    """The dates of an export for its file name: " 2025-09-01 to 2025-11-30", " since ...", ""."""
    if since and until:
        return f" {since.isoformat()} to {until.isoformat()}"
    if since:
        return f" since {since.isoformat()}"
    if until:
        return f" until {until.isoformat()}"
    return ""
