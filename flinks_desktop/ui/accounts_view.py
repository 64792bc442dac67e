"""The Accounts tab: one row per account of the selected connection, balances in its currency.

When the cache cannot be read (a damaged page the open did not read: the full check runs only after
a session that did not close the cache, see `core.store`), the tab shows the store's sentence
instead of the table, as the Transactions tab does.
"""

from __future__ import annotations

import logging
import sqlite3

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QLabel, QStackedLayout, QTableView, QWidget

from flinks_desktop.core.money import money
from flinks_desktop.core.redact import mask_account_number
from flinks_desktop.core.store import AccountRow, CacheError, Store
from flinks_desktop.ui.formatting import account_type, plain_tooltip

log = logging.getLogger("flinks_desktop.ui")

NO_ACCOUNTS = "No accounts yet: this connection has not been synced."
#: The narrowest the title column gets before the table scrolls sideways: the balances come first,
#: and a title cut shorter than it needs ends in "…" (whole in its tool tip).
TITLE_AT_LEAST = 200
NEGATIVE = QColor("#b42318")
MUTED = QColor("#8a94a6")


class AccountsModel(QAbstractTableModel):
    HEADERS = ("Account", "Type", "Number", "Currency", "Current", "Available", "Holder")
    MONEY_COLUMNS = (4, 5)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.accounts: list[AccountRow] = []

    def set_accounts(self, accounts: list[AccountRow]) -> None:
        self.beginResetModel()
        self.accounts = list(accounts)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.accounts)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(section)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        account = self.accounts[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if account.missing_since is not None:
                return MUTED
            amount = (
                (account.balance.current, account.balance.available)[column - 4]
                if column in self.MONEY_COLUMNS
                else None
            )
            return NEGATIVE if amount is not None and amount < 0 else None
        if role == Qt.ItemDataRole.ToolTipRole:
            # The title and holder whole (a narrow column ends them in "…"), as plain text.
            whole = {0: account.title, 6: account.holder.name if account.holder else None}.get(column)
            gone = (
                f"Flinks stopped returning this account on {account.missing_since:%Y-%m-%d}"
                if account.missing_since is not None
                else None
            )
            parts = [part for part in (whole, gone) if part]
            return plain_tooltip("\n".join(parts)) if parts else None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        values = (
            account.title or "Untitled account",
            account_type(account.type),
            mask_account_number(account.account_number) if account.account_number else "",
            account.currency or "",
            money(account.balance.current, account.currency),
            money(account.balance.available, account.currency),
            (account.holder.name if account.holder else None) or "",
        )
        return values[column]

    def _alignment(self, column: int):
        horizontal = Qt.AlignmentFlag.AlignRight if column in self.MONEY_COLUMNS else Qt.AlignmentFlag.AlignLeft
        return horizontal | Qt.AlignmentFlag.AlignVCenter


class AccountsView(QWidget):
    """The accounts table, or a sentence when there is nothing to show yet."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("accountsView")
        self.model = AccountsModel(self)
        self.table = QTableView(objectName="accountsTable", accessibleName="Accounts")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setTabKeyNavigation(False)  # arrows move in the table; Tab leaves it
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(34)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        # The account's title takes the room the others leave. A long one gives way (down to
        # TITLE_AT_LEAST, ending in "…") so the balances stay in view; only a window narrower than
        # that scrolls sideways, rather than squeeze the title to nothing.
        self.table.viewport().installEventFilter(self)
        self.empty = QLabel(NO_ACCOUNTS, objectName="emptyState", alignment=Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setTextFormat(Qt.TextFormat.PlainText)  # the store's sentence names a path
        self._layout = QStackedLayout(self)
        self._layout.addWidget(self.table)
        self._layout.addWidget(self.empty)

    def set_login(self, store: Store | None, login_id: str | None) -> None:
        try:
            accounts = store.accounts(login_id) if store is not None and login_id else []
            self.empty.setText(NO_ACCOUNTS)
        except (CacheError, sqlite3.Error) as error:
            log.warning("accounts could not be read: %s", error)
            accounts = []
            self.empty.setText(
                str(error)
                if isinstance(error, CacheError)
                else "The accounts could not be read from the cache. Restart Flinks Desktop; "
                "if this keeps happening, move the cache elsewhere and refresh your connections."
            )
        self.model.set_accounts(accounts)
        self._layout.setCurrentWidget(self.table if accounts else self.empty)
        self._fit_title_column()

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._fit_title_column()
        return False

    def _fit_title_column(self) -> None:
        header = self.table.horizontalHeader()
        needed = max(self.table.sizeHintForColumn(0), header.sectionSizeHint(0))
        others = sum(header.sectionSize(column) for column in range(1, self.model.columnCount()))
        room = self.table.viewport().width() - others
        if room >= needed:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        else:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(0, max(room, min(needed, TITLE_AT_LEAST)))
