"""The main window: environment banner, welcome panel, Connect, and the connected accounts.

It presents the core and holds no business logic: Flinks calls go through `FlinksClient` on the
asyncio loop that qasync shares with Qt, so the window never waits on the network.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core.flinks import Account, Authorized, FlinksClient, FlinksError, PollProgress
from flinks_desktop.core.redact import mask_account_number, mask_id
from flinks_desktop.core.settings import REDIRECT_URL, Environment
from flinks_desktop.ui.connect_view import ConnectView

log = logging.getLogger("flinks_desktop.ui")

BANNER_TEXT = {
    "sandbox": "Offline sandbox · Flinks Capital on this computer · no network, no real bank data",
    "toolbox": "Flinks toolbox · the public Flinks test environment",
    "private": "PRODUCTION · {name} · real customers' bank data",
}


class AccountsModel(QAbstractTableModel):
    HEADERS = ("Account", "Type", "Number", "Currency", "Current", "Available", "Holder")
    MONEY_COLUMNS = (4, 5)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.accounts: list[Account] = []

    def set_accounts(self, accounts: list[Account]) -> None:
        self.beginResetModel()
        self.accounts = list(accounts)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.accounts)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(section)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(index.column())
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        account = self.accounts[index.row()]
        balance = account.balance
        values = (
            account.title or "",
            ACCOUNT_TYPES.get(account.type or "", account.type or ""),
            mask_account_number(account.account_number) if account.account_number else "",
            account.currency or "",
            money(balance.current if balance else None, account.currency),
            money(balance.available if balance else None, account.currency),
            account.holder.name if account.holder and account.holder.name else "",
        )
        return values[index.column()]

    def _alignment(self, column: int):
        horizontal = Qt.AlignmentFlag.AlignRight if column in self.MONEY_COLUMNS else Qt.AlignmentFlag.AlignLeft
        return horizontal | Qt.AlignmentFlag.AlignVCenter


ACCOUNT_TYPES = {"CreditCard": "Credit card", "LineOfCredit": "Line of credit"}
INSTITUTIONS = {"FlinksCapital": "Flinks Capital"}


def institution_name(institution: str) -> str:
    return INSTITUTIONS.get(institution, institution)


def step_label(step: str) -> str:
    """A Connect step as a person reads it: COMPONENT_LOAD_MFA -> "Load MFA"."""
    words = step.removeprefix("COMPONENT_").split("_")
    acronyms = {"MFA", "ID"}
    text = " ".join(w if w in acronyms else w.lower() for w in words)
    return text[:1].upper() + text[1:]


def money(amount, currency: str | None) -> str:
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    symbol = "US$" if currency == "USD" else "$"
    return f"{sign}{symbol}{abs(amount):,.2f}"


class MainWindow(QMainWindow):
    def __init__(self, environment: Environment, client: FlinksClient, parent=None):
        super().__init__(parent)
        self.environment = environment
        self.client = client
        self._tasks: set[asyncio.Task] = set()
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"Flinks Desktop — {environment.name}")
        self.resize(1180, 760)

        self.banner = QLabel(BANNER_TEXT[environment.kind].format(name=environment.name))
        self.banner.setObjectName("environmentBanner")
        self.banner.setProperty("kind", environment.kind)

        self.pages = QStackedWidget()
        self.welcome = self._build_welcome()
        self.connect_page = self._build_connect_page()
        self.connection_page = self._build_connection_page()
        for page in (self.welcome, self.connect_page, self.connection_page):
            self.pages.addWidget(page)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.busy = QProgressBar()
        self.busy.setObjectName("busyIndicator")
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(160)
        self.busy.hide()
        self.statusBar().addPermanentWidget(self.busy)
        self._build_menus()
        self.show_status("Ready")

    # -- pages ----------------------------------------------------------------------------------
    def _build_welcome(self) -> QWidget:
        page = QWidget(objectName="welcomePanel")
        title = QLabel("Welcome to Flinks Desktop", objectName="welcomeTitle")
        text = QLabel(
            "Connect a bank account through Flinks Connect, then browse its accounts, balances and "
            "transactions. This is the offline Flinks Capital sandbox: use the test credentials shown "
            "under the sign-in button."
            if self.environment.kind == "sandbox" else
            "Connect a bank account through Flinks Connect, then browse its accounts, balances and "
            "transactions.",
            objectName="welcomeText",
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.connect_button = QPushButton("Connect an account", objectName="connectButton")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.start_connect)

        card = QFrame(objectName="welcomeCard")
        inner = QVBoxLayout(card)
        inner.setSpacing(16)
        inner.setContentsMargins(48, 40, 48, 40)
        inner.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        inner.addWidget(text)
        inner.addSpacing(8)
        inner.addWidget(self.connect_button, 0, Qt.AlignmentFlag.AlignHCenter)
        # A fixed width: a word-wrapped label in a centred, shrinking card gets clipped by Qt.
        card.setFixedWidth(580)

        # Stretches rather than an alignment flag: only then does the layout give the wrapped text
        # the height it needs for its width.
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
        cancel = QPushButton("Cancel", objectName="cancelConnectButton")
        cancel.clicked.connect(self.cancel_connect)
        side = QWidget(objectName="timelinePanel")
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(QLabel("Connect timeline", objectName="sectionTitle"))
        side_layout.addWidget(self.timeline, 1)
        side_layout.addWidget(cancel)

        splitter = QSplitter()
        splitter.addWidget(self.connect_view)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([800, 340])
        return splitter

    def _build_connection_page(self) -> QWidget:
        page = QWidget(objectName="connectionPage")
        self.connection_title = QLabel(objectName="connectionTitle")
        self.connection_details = QLabel(objectName="connectionDetails")
        self.accounts_model = AccountsModel(self)
        self.accounts_table = QTableView(objectName="accountsTable")
        self.accounts_table.setModel(self.accounts_model)
        self.accounts_table.setAlternatingRowColors(True)
        self.accounts_table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.accounts_table.verticalHeader().hide()
        header = self.accounts_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        another = QPushButton("Connect another account", objectName="connectAnotherButton")
        another.clicked.connect(self.start_connect)

        top = QHBoxLayout()
        titles = QVBoxLayout()
        titles.addWidget(self.connection_title)
        titles.addWidget(self.connection_details)
        top.addLayout(titles, 1)
        top.addWidget(another, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(14)
        layout.addLayout(top)
        layout.addWidget(self.accounts_table, 1)
        return page

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        connect = QAction("&Connect an account…", self, shortcut=QKeySequence("Ctrl+N"))
        connect.triggered.connect(self.start_connect)
        quit_ = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_.triggered.connect(self.close)
        file_menu.addAction(connect)
        file_menu.addSeparator()
        file_menu.addAction(quit_)

    # -- connect flow -------------------------------------------------------------------------
    @Slot()
    def start_connect(self) -> None:
        self.timeline.clear()
        self.pages.setCurrentWidget(self.connect_page)
        self.connect_view.start(self.environment.connect_url(), REDIRECT_URL)
        self.show_status("Flinks Connect is open: choose Flinks Capital to begin")

    @Slot()
    def cancel_connect(self) -> None:
        self.connect_view.stop()
        self.pages.setCurrentWidget(self.welcome if not self.accounts_model.accounts else self.connection_page)
        self.show_status("Connect closed")

    @Slot(dict)
    def on_connect_event(self, event: dict) -> None:
        step = event.get("step")
        label = step_label(step) if step else f"Error: {event.get('flinksCode')}"
        self.timeline.addItem(f"{datetime.now():%H:%M:%S}   {label}")
        self.timeline.scrollToBottom()

    @Slot(str)
    def on_connect_failed(self, message: str) -> None:
        self.show_status(message)
        self.timeline.addItem(message)

    @Slot(str, str)
    def on_login_captured(self, login_id: str, institution: str) -> None:
        self.connect_view.stop()
        self.pages.setCurrentWidget(self.connection_page)
        self.connection_title.setText(institution_name(institution))
        self.connection_details.setText(f"Login {mask_id(login_id)} · fetching accounts…")
        self.accounts_model.set_accounts([])
        self.run(self.fetch_accounts(login_id, institution))

    def run(self, coroutine) -> None:
        """Run a coroutine on the shared loop; keep a reference so it is not collected mid-way."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def fetch_accounts(self, login_id: str, institution: str) -> None:
        self.set_busy(True, "Authorizing with Flinks…")
        try:
            authorized = await self.client.authorize_cached(login_id)
            if not isinstance(authorized, Authorized):
                raise RuntimeError("Flinks asked security questions for cached data")
            self.show_status("Fetching accounts…")
            result = await self.client.get_accounts_detail(authorized.request_id, progress=self.on_poll)
        except FlinksError as error:
            self.connection_details.setText(f"Login {mask_id(login_id)} · {error.user_message}")
            self.show_status(error.user_message)
            return
        finally:
            self.set_busy(False)
        self.accounts_model.set_accounts(list(result.accounts))
        username = result.login.username if result.login else ""
        self.connection_title.setText(f"{institution_name(institution)} · {username}")
        count = sum(len(a.transactions) for a in result.accounts)
        self.connection_details.setText(
            f"Login {mask_id(login_id)} · {len(result.accounts)} accounts · {count} transactions")
        self.show_status("Accounts up to date")

    def on_poll(self, progress: PollProgress) -> None:
        self.show_status(f"Flinks is preparing the data… {progress.elapsed:.0f} s")

    # -- status ---------------------------------------------------------------------------------
    def set_busy(self, busy: bool, message: str | None = None) -> None:
        self.busy.setVisible(busy)
        if message:
            self.show_status(message)

    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message)

    def closeEvent(self, event) -> None:
        self.connect_view.stop()
        for task in list(self._tasks):
            task.cancel()
        super().closeEvent(event)
