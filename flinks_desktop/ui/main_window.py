"""The main window: connections on the left; the selected one's accounts, transactions, statements
and activity on the right; Connect, refresh, export and delete as actions.

It presents the core and holds no business logic: every Flinks call and cache write goes through
the workspace's `Sync`, on the asyncio loop qasync shares with Qt; the window reads the cache with
its own `Store`. Nothing here waits on the network or on a big write.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
from collections.abc import Awaitable
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop import __version__
from flinks_desktop.core import export
from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.store import CacheError, LoginRow, Store
from flinks_desktop.core.sync import SyncProgress, SyncRefused, SyncResult
from flinks_desktop.core.workspace import Workspace
from flinks_desktop.ui.accounts_view import AccountsView
from flinks_desktop.ui.activity_view import ActivityView
from flinks_desktop.ui.connect_view import ConnectView
from flinks_desktop.ui.connections import ConnectionsPanel
from flinks_desktop.ui.delete_card_dialog import DeleteCardDialog
from flinks_desktop.ui.formatting import STATUS_LABELS, ago, institution_name, local_time, step_label
from flinks_desktop.ui.mfa_dialog import MfaDialog
from flinks_desktop.ui.statements_view import StatementsView
from flinks_desktop.ui.transactions_view import TransactionsView

log = logging.getLogger("flinks_desktop.ui")

BANNER_TEXT = {
    "sandbox": "Offline sandbox · Flinks Capital on this computer · no network, no real bank data",
    "toolbox": "Flinks toolbox · the public Flinks test environment · test data only",
    "private": "PRODUCTION · {name} · real customers' bank data",
}
STAGES = {
    "authorize": "Authorizing with Flinks…",
    "mfa": "Waiting for the answer to the bank's question…",
    "accounts": "Fetching accounts and transactions…",
    "statements": "Fetching statements…",
    "saving": "Saving to the local cache…",
    "done": "Done",
}


class MainWindow(QMainWindow):
    """`session` gives the workspace of the active environment and can switch environments
    (see `flinks_desktop.ui.app.AppSession`). `closed` is emitted once the window has closed."""

    closed = Signal()

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.store: Store | None = None
        self._tasks: set[asyncio.Task] = set()
        self._sync_task: asyncio.Task | None = None
        self._sync_started = 0.0
        self._connect_events: list[tuple[datetime, dict]] = []
        self.setObjectName("mainWindow")
        self.resize(1240, 800)

        self.banner = QLabel(objectName="environmentBanner")
        self.pages = QStackedWidget(objectName="pages")
        self.welcome = self._build_welcome()
        self.connect_page = self._build_connect_page()
        self.workspace_page = self._build_workspace_page()
        for page in (self.welcome, self.connect_page, self.workspace_page):
            self.pages.addWidget(page)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self._build_status_bar()
        self._build_actions()
        self._ticker = QTimer(self, interval=500)
        self._ticker.timeout.connect(self._tick)

        self.open_environment()
        self._restore_window_state()

    # == building ==================================================================================
    def _build_welcome(self) -> QWidget:
        page = QWidget(objectName="welcomePanel")
        self.welcome_title = QLabel("Welcome to Flinks Desktop", objectName="welcomeTitle")
        self.welcome_text = QLabel(objectName="welcomeText")
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
        return page

    def _build_connect_page(self) -> QWidget:
        self.connect_view = ConnectView(self)
        self.connect_view.loginCaptured.connect(self.on_login_captured)
        self.connect_view.connectEvent.connect(self.on_connect_event)
        self.connect_view.failed.connect(self.on_connect_failed)
        self.connect_view.closed.connect(self.cancel_connect)

        self.timeline = QListWidget(objectName="connectTimeline")
        self.timeline.setWordWrap(True)
        self.timeline.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
        side = QWidget(objectName="timelinePanel")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(12, 12, 12, 12)
        side_layout.addWidget(QLabel("Connect timeline", objectName="sectionTitle"))
        side_layout.addWidget(self.timeline, 1)
        side_layout.addWidget(self.connect_message)
        side_layout.addLayout(buttons)

        splitter = QSplitter(objectName="connectPage")
        splitter.addWidget(self.connect_view)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([860, 340])
        return splitter

    def _build_workspace_page(self) -> QWidget:
        self.connections = ConnectionsPanel()
        self.connections.selected.connect(self.show_login)

        self.connection_title = QLabel(objectName="connectionTitle")
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

        self.accounts_view = AccountsView()
        self.transactions_view = TransactionsView()
        self.statements_view = StatementsView()
        self.activity_view = ActivityView()
        self.tabs = QTabWidget(objectName="connectionTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.accounts_view, "Accounts")
        self.tabs.addTab(self.transactions_view, "Transactions")
        self.tabs.addTab(self.statements_view, "Statements")
        self.tabs.addTab(self.activity_view, "Activity")

        detail = QWidget(objectName="connectionPage")
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(20, 16, 20, 12)
        detail_layout.setSpacing(12)
        detail_layout.addLayout(header)
        detail_layout.addWidget(self.tabs, 1)

        self.no_selection = QLabel("Select a connection on the left, or connect a new account.",
                                   objectName="emptyState", alignment=Qt.AlignmentFlag.AlignCenter)
        self.detail_stack = QStackedWidget()
        self.detail_stack.addWidget(self.no_selection)
        self.detail_stack.addWidget(detail)

        splitter = QSplitter(objectName="workspacePage")
        splitter.addWidget(self.connections)
        splitter.addWidget(self.detail_stack)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([320, 920])
        self.workspace_splitter = splitter
        return splitter

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
        self.live_refresh_action = action("&Live refresh", "Shift+F5", lambda: self.refresh_selected(live=True),
                                          "liveRefreshAction")
        self.refresh_all_action = action("Refresh &all", "Ctrl+Shift+R", self.refresh_all, "refreshAllAction")
        self.export_action = action("&Export transactions…", "Ctrl+E", self.export_transactions, "exportAction")
        self.delete_action = action("&Delete card…", "Ctrl+Shift+Delete", self.delete_selected, "deleteCardAction")
        self.settings_action = action("&Settings…", QKeySequence.StandardKey.Preferences, self.open_settings,
                                      "settingsAction")
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.find_action = action("&Find connection", QKeySequence.StandardKey.Find, self.focus_search,
                                  "findAction")
        self.all_activity_action = action("All &activity…", "Ctrl+Shift+A", self.show_all_activity,
                                          "allActivityAction")
        quit_action = action("&Quit", QKeySequence.StandardKey.Quit, self.close, "quitAction")
        about_action = QAction("&About Flinks Desktop", self, objectName="aboutAction")
        about_action.triggered.connect(self.show_about)

        file_menu = self.menuBar().addMenu("&File")
        for item in (self.connect_action, None, self.export_action, None, self.settings_action, None, quit_action):
            file_menu.addAction(item) if item else file_menu.addSeparator()
        connection_menu = self.menuBar().addMenu("&Connection")
        for item in (self.find_action, self.all_activity_action, None, self.refresh_action,
                     self.live_refresh_action, self.refresh_all_action, None, self.delete_action):
            connection_menu.addAction(item) if item else connection_menu.addSeparator()
        self.menuBar().addMenu("&Help").addAction(about_action)

    # == environment ===============================================================================
    @property
    def workspace(self) -> Workspace:
        return self.session.workspace

    def open_environment(self) -> None:
        """Show the active environment: its banner, its cache, its connections."""
        environment = self.workspace.environment
        self.setWindowTitle(f"Flinks Desktop — {environment.name}")
        self.banner.setText(BANNER_TEXT[environment.kind].format(name=environment.name))
        self.banner.setProperty("kind", environment.kind)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        self.welcome_text.setText(
            "Connect a bank account through Flinks Connect, then browse its accounts, balances, "
            "transactions and statements. This is the offline Flinks Capital sandbox: the test "
            "credentials are shown under the sign-in button."
            if environment.kind == "sandbox" else
            "Connect a bank account through Flinks Connect, then browse its accounts, balances, "
            "transactions and statements."
        )
        if self.store is not None:
            self.store.close()
        self.store = None
        try:
            self.store = self.workspace.open_reader()
        except CacheError as error:
            self.show_error("The local cache cannot be opened", str(error))
        self.reload_connections()
        if self.session.keyring_message:
            self.show_status(self.session.keyring_message)

    def reload_connections(self, select: str | None = None) -> None:
        logins = self.store.logins() if self.store is not None else []
        self.connections.set_logins(logins, keep=select)
        if self.pages.currentWidget() is not self.connect_page:
            self.pages.setCurrentWidget(self.workspace_page if logins else self.welcome)
        if not self.connections.current_login_id():
            self.show_login("")
        self._update_actions()

    # == selection =================================================================================
    @Slot(str)
    def show_login(self, login_id: str) -> None:
        login = self._login(login_id)
        self.detail_stack.setCurrentIndex(1 if login else 0)
        if login:
            self.connection_title.setText(f"{institution_name(login.institution)} · {login.username or 'unknown user'}")
            self.connection_details.setText(self._details(login))
        store = self.store if login else None
        for view in (self.accounts_view, self.transactions_view, self.statements_view):
            view.set_login(store, login.id if login else None)
        self.activity_view.set_login(store, login.id if login else None)
        self._update_actions()

    def _details(self, login: LoginRow) -> str:
        parts = [STATUS_LABELS.get(login.status, login.status), f"loginId {login.id}",
                 f"synced here {ago(login.synced_at)}"]
        if login.last_refresh:
            parts.append(f"bank data from {local_time(login.last_refresh)}")
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
        return self._login(self.connections.current_login_id())

    @Slot()
    def focus_search(self) -> None:
        if self.pages.currentWidget() is self.workspace_page:
            self.connections.search.setFocus()
            self.connections.search.selectAll()

    def _update_actions(self) -> None:
        login = self.selected_login()
        busy = self._sync_task is not None
        has_login = login is not None
        for widget in (self.refresh_button, self.refresh_action, self.live_refresh_button,
                       self.live_refresh_action, self.delete_card_button, self.delete_action):
            widget.setEnabled(has_login and not busy)
        self.export_button.setEnabled(has_login)
        self.export_action.setEnabled(has_login)
        self.refresh_all_action.setEnabled(not busy and self.connections.model.rowCount() > 0)
        self.connect_action.setEnabled(not busy)

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
        self.connect_view.start(self.workspace.environment.connect_url(authorize_token=token),
                                self.session.redirect_url)
        self.show_status("Flinks Connect is open: choose an institution to begin")

    @Slot()
    def cancel_connect(self) -> None:
        self.connect_view.stop()
        self._record_connect_session(None)
        self.pages.setCurrentWidget(self.welcome)  # reload_connections shows the list if there is one
        self.reload_connections()
        self.show_status("Connect closed")

    @Slot(dict)
    def on_connect_event(self, event: dict) -> None:
        step = event.get("step")
        label = step_label(step) if step else f"Error: {event.get('flinksCode')}"
        self.timeline.addItem(f"{datetime.now():%H:%M:%S}   {label}")
        self.timeline.scrollToBottom()
        self._connect_events.append((datetime.now(timezone.utc), event))

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
        self.connect_view.stop()
        self._record_connect_session(login_id)
        self.pages.setCurrentWidget(self.workspace_page)
        self.start_sync(f"Linking {mask_id(login_id)}", self.workspace.sync.link(
            login_id, institution, progress=self.on_progress), select=login_id)

    # == syncs =====================================================================================
    def refresh_selected(self, live: bool) -> None:
        login = self.selected_login()
        if login is None:
            return
        mfa = (lambda prompt: MfaDialog.ask(self, prompt)) if live else None
        what = "Live refresh" if live else "Refresh"
        self.start_sync(f"{what} of {login.username or mask_id(login.id)}", self.workspace.sync.refresh(
            login.id, live=live, mfa=mfa, progress=self.on_progress), select=login.id)

    @Slot()
    def refresh_all(self) -> None:
        self.start_sync("Refresh of all connections", self.workspace.sync.refresh_all(progress=self.on_progress))

    def start_sync(self, title: str, work: Awaitable, select: str | None = None) -> None:
        if self._sync_task is not None:
            self.show_status("A sync is already running: wait for it or cancel it.")
            work.close()
            return
        self._sync_started = asyncio.get_event_loop().time()
        self._sync_title = title
        self._sync_task = self.run(self._run_sync(work, select))
        self.busy.show()
        self.cancel_sync_button.show()
        self._ticker.start()
        self.show_status(f"{title}…")
        self._update_actions()

    async def _run_sync(self, work: Awaitable, select: str | None) -> None:
        try:
            outcome = await work
        except asyncio.CancelledError:
            self.show_status("Sync cancelled: nothing was changed.")
            return
        except (SyncRefused, CacheError, ValueError) as error:
            self.show_status(str(error))
            return
        finally:
            self._sync_task = None
            self._ticker.stop()
            self.busy.hide()
            self.cancel_sync_button.hide()
            # Selecting the login again shows it (the list's selection signal): no second reload.
            self.reload_connections(select=select or self.connections.current_login_id())
        results = outcome if isinstance(outcome, list) else [outcome]
        self.show_status(summary(results))

    @Slot()
    def cancel_sync(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()

    def on_progress(self, progress: SyncProgress) -> None:
        if progress.stage == "waiting":
            self.show_status(f"Flinks is preparing the data… {progress.elapsed:.0f} s (poll {progress.attempt})")
        else:
            self.show_status(STAGES.get(progress.stage, progress.stage))

    def _tick(self) -> None:
        elapsed = asyncio.get_event_loop().time() - self._sync_started
        self.busy.setToolTip(f"{self._sync_title}: {elapsed:.0f} s")

    # == export and delete =========================================================================
    @Slot()
    def export_transactions(self) -> None:
        login = self.selected_login()
        if login is None or self.store is None:
            return
        default = f"{institution_name(login.institution)} - {login.username or mask_id(login.id)} - transactions.csv"
        path, chosen = self.choose_export_path(default)
        if not path:
            return
        filters = self.transactions_view.filters()
        try:
            rows = self.store.transactions(login.id, account_id=filters.account_id, search=filters.search,
                                           since=filters.since, until=filters.until)
            as_json = path.lower().endswith(".json") or "JSON" in chosen
            with open(path, "w", encoding="utf-8", newline="") as stream:
                if as_json:
                    export.write_json(rows, stream)
                else:  # a person opens a CSV in a spreadsheet: no cell may run as a formula
                    export.write_csv(rows, stream, spreadsheet_safe=True)
        except (OSError, CacheError) as error:
            self.show_error("The export could not be written", str(error))
            return
        self.show_status(f"Exported {len(rows):,} transactions to {Path(path).name}")

    def choose_export_path(self, default: str) -> tuple[str, str]:
        """The file to export to (tests replace this)."""
        return QFileDialog.getSaveFileName(self, "Export transactions", default,
                                           "CSV (*.csv);;JSON (*.json)")

    @Slot()
    def delete_selected(self) -> None:
        login = self.selected_login()
        if login is None:
            return
        self.run(self._delete(login))

    async def _delete(self, login: LoginRow) -> None:
        by = getpass.getuser()
        result = await DeleteCardDialog.ask_and_run(
            self, institution=institution_name(login.institution), username=login.username or "",
            login_id=login.id,
            delete=lambda local_only: self.workspace.sync.delete_card(login.id, local_only=local_only, by=by))
        if result is None:
            return
        self.reload_connections()
        self.show_status(f"{result.message} The activity log keeps a line saying when and by whom "
                         "(Connection > All activity)." if result.purged else result.message)

    @Slot()
    def show_all_activity(self) -> None:
        """Every connection's activity, deleted ones included (their deletion line says when and by
        whom), in a window of its own."""
        if self.store is None:
            return
        dialog = QDialog(self, objectName="allActivityDialog")
        dialog.setWindowTitle(f"All activity — {self.workspace.environment.name}")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view = ActivityView(dialog)
        view.set_login(self.store, None)
        layout = QVBoxLayout(dialog)
        layout.addWidget(view)
        dialog.resize(1100, 640)
        dialog.open()

    # == settings and about ========================================================================
    @Slot()
    def open_settings(self) -> None:
        self.run(self._settings())

    async def _settings(self) -> None:
        from flinks_desktop.ui.settings_dialog import SettingsDialog

        changed = await SettingsDialog.ask(self, self.session.settings, self.session.secrets, self.session.data_dir)
        if changed and self.session.settings.active.slug != self.workspace.environment.slug:
            await self.session.switch(self.session.settings.active)
            self.open_environment()

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(self, "About Flinks Desktop",
                          f"Flinks Desktop {__version__}\n\nManage Flinks bank connections, and demo Flinks "
                          "Capital with the built-in offline sandbox.")

    # == plumbing ==================================================================================
    def run(self, coroutine) -> asyncio.Task:
        """Run a coroutine on the shared loop; keep a reference so it is not collected mid-way."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_crash)
        return task

    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message)

    def show_error(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.open()

    def _restore_window_state(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.workspace_splitter.restoreState(splitter)
        last = settings.value(f"selection/{self.workspace.environment.slug}")
        if isinstance(last, str) and last:
            self.connections.select(last)

    def closeEvent(self, event) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/splitter", self.workspace_splitter.saveState())
        settings.setValue(f"selection/{self.workspace.environment.slug}", self.connections.current_login_id())
        self.connect_view.stop()
        self._record_connect_session(None)
        for task in list(self._tasks):
            task.cancel()
        if self.store is not None:
            self.store.close()
            self.store = None
        super().closeEvent(event)
        self.closed.emit()


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


def _log_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a background task failed", exc_info=task.exception())
