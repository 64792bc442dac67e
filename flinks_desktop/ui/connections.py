"""The connections list: every login of the environment, searchable by loginId, username or bank.

Each row shows the institution, the username, the masked loginId, a status badge, and when it was
last synced here, with the error in words when the last sync failed.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.store import LoginRow
from flinks_desktop.ui.formatting import STATUS_LABELS, ago, institution_name

LOGIN_ROLE = Qt.ItemDataRole.UserRole + 1
BADGE_COLOURS = {  # status -> (text, background)
    "ok": ("#0f7a5c", "#e3f6ef"),
    "needs_mfa": ("#8a5300", "#fff3dc"),
    "error": ("#b42318", "#fde8e7"),
    "deleted": ("#5d6677", "#eceff4"),
}


class ConnectionsModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.logins: list[LoginRow] = []

    def set_logins(self, logins: list[LoginRow]) -> None:
        self.beginResetModel()
        self.logins = sorted(logins, key=lambda row: row.added_at, reverse=True)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.logins)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        login = self.logins[index.row()]
        if role == LOGIN_ROLE:
            return login
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{institution_name(login.institution)} {login.username or ''}"
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"loginId {login.id}"]
            if login.error_message:
                lines.append(login.error_message)
            return "\n".join(lines)
        return None

    def row_of(self, login_id: str) -> int:
        return next((i for i, login in enumerate(self.logins) if login.id == login_id), -1)


class ConnectionsFilter(QSortFilterProxyModel):
    """Matches the search text against the loginId, the username and the institution."""

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        text = self.filterRegularExpression().pattern().strip().lower()
        if not text:
            return True
        login: LoginRow = self.sourceModel().index(source_row, 0, source_parent).data(LOGIN_ROLE)
        haystack = " ".join([login.id, login.username or "", login.institution or "",
                             institution_name(login.institution)]).lower()
        return all(word in haystack for word in text.split())


class ConnectionDelegate(QStyledItemDelegate):
    """Two lines and a badge: "Flinks Capital  [OK]" / "Greatday · b0de…d478 · 5 min ago"."""

    PADDING = 12

    def sizeHint(self, option, index) -> QSize:
        metrics = QFontMetrics(option.font)
        return QSize(240, metrics.height() * 2 + self.PADDING * 2 + 6)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        login: LoginRow = index.data(LOGIN_ROLE)
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        rect = option.rect.adjusted(6, 3, -6, -3)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#e8efff") if selected else QColor("#ffffff"))
        painter.drawRoundedRect(rect, 8, 8)

        inner = rect.adjusted(self.PADDING, self.PADDING - 4, -self.PADDING, -self.PADDING + 4)
        bold = QFont(option.font)
        bold.setBold(True)
        badge_text = STATUS_LABELS.get(login.status, login.status)
        badge_font = QFont(option.font)
        badge_font.setPointSizeF(max(option.font.pointSizeF() - 1.5, 7))
        badge_font.setBold(True)
        badge_metrics = QFontMetrics(badge_font)
        badge_width = badge_metrics.horizontalAdvance(badge_text) + 14
        line_height = QFontMetrics(option.font).height()

        title_rect = QRect(inner.left(), inner.top(), inner.width() - badge_width - 8, line_height)
        painter.setFont(bold)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        title = QFontMetrics(bold).elidedText(institution_name(login.institution),
                                              Qt.TextElideMode.ElideRight, title_rect.width())
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)

        foreground, background = BADGE_COLOURS.get(login.status, BADGE_COLOURS["deleted"])
        badge = QRect(inner.right() - badge_width, inner.top() + 1, badge_width, line_height - 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(background))
        painter.drawRoundedRect(badge, badge.height() / 2, badge.height() / 2)
        painter.setFont(badge_font)
        painter.setPen(QColor(foreground))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, badge_text)

        details = [login.username or "unknown user", mask_id(login.id), f"synced {ago(login.synced_at)}"]
        if login.status in ("error", "needs_mfa") and login.error_code:
            details[-1] = f"{login.error_code} {ago(login.status_at)}"
        second = QRect(inner.left(), inner.top() + line_height + 4, inner.width(), line_height)
        painter.setFont(option.font)
        painter.setPen(QColor("#5d6677"))
        painter.drawText(second, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(option.font).elidedText(" · ".join(details), Qt.TextElideMode.ElideRight,
                                                              second.width()))
        painter.restore()


class ConnectionsPanel(QWidget):
    """Search box and list. `selected` carries the chosen loginId ("" when none)."""

    selected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("connectionsPanel")
        self.model = ConnectionsModel(self)
        self.filter = ConnectionsFilter(self)
        self.filter.setSourceModel(self.model)
        self.search = QLineEdit(objectName="connectionSearch")
        self.search.setPlaceholderText("Search loginId, username or bank")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search)
        self.list = QListView(objectName="connectionsList")
        self.list.setModel(self.filter)
        self.list.setItemDelegate(ConnectionDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.selectionModel().currentChanged.connect(self._on_current)
        self.count = QLabel(objectName="connectionsCount")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 6, 12)
        layout.setSpacing(8)
        title = QLabel("Connections", objectName="sectionTitle")
        layout.addWidget(title)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.count)

    def set_logins(self, logins: list[LoginRow], keep: str | None = None) -> None:
        current = keep if keep is not None else self.current_login_id()
        self.model.set_logins(logins)
        self._update_count()
        if current:
            self.select(current)

    def current_login(self) -> LoginRow | None:
        index = self.list.currentIndex()
        return index.data(LOGIN_ROLE) if index.isValid() else None

    def current_login_id(self) -> str:
        login = self.current_login()
        return login.id if login else ""

    def select(self, login_id: str) -> bool:
        row = self.model.row_of(login_id)
        if row < 0:
            return False
        index = self.filter.mapFromSource(self.model.index(row))
        if not index.isValid():  # hidden by the search: show it
            self.search.clear()
            index = self.filter.mapFromSource(self.model.index(row))
        self.list.setCurrentIndex(index)
        return True

    def _on_search(self, text: str) -> None:
        self.filter.setFilterFixedString(text)
        self._update_count()
        # A loginId pasted whole selects its connection at once (the support ticket).
        if self.filter.rowCount() == 1:
            self.list.setCurrentIndex(self.filter.index(0, 0))

    def _on_current(self, current, previous) -> None:
        login = current.data(LOGIN_ROLE) if current.isValid() else None
        self.selected.emit(login.id if login else "")

    def _update_count(self) -> None:
        shown, total = self.filter.rowCount(), self.model.rowCount()
        noun = "connection" if total == 1 else "connections"
        self.count.setText(f"{total} {noun}" if shown == total else f"{shown} of {total} {noun}")
