"""The connections list: every login of the environment, like the Flinks Dashboard's request feed.

Above the list: a search box (loginId, username, bank, status, error code, tag; every word must
match, case and accents ignored, pasted text cleaned up), and filters by state, institution and
last sync, with the count of each state. Each row shows the institution, the Connect tag as a chip,
a state badge, then the username, the masked loginId and when it was last synced here (or the
error code and when it happened). Right-click or Ctrl+C copies the full loginId.

Everything shown comes from the bank or Flinks: it is painted as plain text, labels are PlainText.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPoint,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QGuiApplication, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionComboBox,
    QStyleOptionViewItem,
    QStylePainter,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core.login_ids import DASHES, login_id_in, normalise
from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.store import LoginRow
from flinks_desktop.ui.formatting import STATE_LABELS, ago, institution_name, login_state, plain_tooltip

LOGIN_ROLE = Qt.ItemDataRole.UserRole + 1
#: The folded text the search looks in (see `searchable_text`).
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2

BADGE_COLOURS = {  # state -> (text, background)
    "ok": ("#0f7a5c", "#e3f6ef"),
    "needs_mfa": ("#8a5300", "#fff3dc"),
    "error": ("#b42318", "#fde8e7"),
    "pending": ("#0b6283", "#dff1f8"),
    "deleted": ("#5d6677", "#eceff4"),
}
TAG_COLOURS = ("#3d4860", "#f1f3f7", "#d5dbe6")  # text, background, border

#: The state filter's choices, in the order of the combo box and of the counts line.
STATES = ("ok", "needs_mfa", "error", "pending", "deleted")
#: How a count reads: "4 OK · 1 error · 2 needs MFA".
COUNT_WORDS = {
    "ok": ("OK", "OK"),
    "needs_mfa": ("needs MFA", "need MFA"),
    "error": ("error", "errors"),
    "pending": ("pending", "pending"),
    "deleted": ("deleted", "deleted"),
}
#: The last-sync filter's choices: (key, label).
SYNCED_CHOICES = (
    ("any", "Any time"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("older", "Older than 7 days"),
    ("never", "Never synced"),
)
FACETS = ("query", "state", "institution", "synced")
NBSP = "\u00a0"

# -- search text -------------------------------------------------------------------------------------

#: The support desk's reading of pasted text is core's (the CLI and Open loginIds read it the same way).
normalise_query = normalise
looks_like_login_id = login_id_in


def fold(text: str) -> str:
    """Text as the search compares it: no accents, no case, plain dashes ("Édouard" -> "edouard")."""
    decomposed = unicodedata.normalize("NFKD", text).translate(DASHES)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def searchable_text(login: LoginRow) -> str:
    """Every field the search looks in, folded, one per line (a word never spans two fields).

    The state is the one the row shows: "needs_mfa" and "Needs MFA" find a login that needs MFA,
    "pending" one never synced (not "ok": the OK count and filter leave it out too).
    """
    state = login_state(login.status, login.synced_at)
    name = institution_name(login.institution)
    fields = [
        login.id,
        login.id.replace("-", ""),
        login.username or "",
        login.institution or "",
        name,
        name.replace(" ", ""),
        state,
        STATE_LABELS.get(state, ""),
        login.error_code or "",
        login.tag or "",
    ]
    return "\n".join(fold(field) for field in fields if field)


def synced_within(login: LoginRow, choice: str, now: datetime) -> bool:
    """Whether the login's last sync here falls in the last-sync filter's `choice`."""
    if choice == "any":
        return True
    if choice == "never":
        return login.synced_at is None
    if login.synced_at is None:
        return False
    age = now - login.synced_at
    if choice == "24h":
        return age <= timedelta(hours=24)
    if choice == "7d":
        return age <= timedelta(days=7)
    if choice == "older":
        return age > timedelta(days=7)
    raise ValueError(f"unknown last-sync choice {choice!r}")


# -- model and filter ------------------------------------------------------------------------------


#: The roles a row answers in words, besides its display text.
_WORDED_ROLES = (
    Qt.ItemDataRole.AccessibleTextRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleDescriptionRole,
)


class ConnectionsModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.logins: list[LoginRow] = []
        self._search: list[str] = []

    def set_logins(self, logins: list[LoginRow]) -> None:
        self.beginResetModel()
        self.logins = sorted(logins, key=lambda row: row.added_at, reverse=True)
        self._search = [searchable_text(login) for login in self.logins]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.logins)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        login = self.logins[index.row()]
        if role == LOGIN_ROLE:
            return login
        if role == SEARCH_ROLE:
            return self._search[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{institution_name(login.institution)} {login.username or ''}"
        if role not in _WORDED_ROLES:  # the view asks for many roles as it paints: nothing to work out
            return None
        state = login_state(login.status, login.synced_at)
        if role == Qt.ItemDataRole.AccessibleTextRole:  # a screen reader says what the card shows
            said = (institution_name(login.institution), login.username, STATE_LABELS.get(state, state))
            return ", ".join(filter(None, (*said, f"synced here {ago(login.synced_at)}")))
        lines = [f"loginId {login.id}", f"{STATE_LABELS.get(state, state)} · synced here {ago(login.synced_at)}"]
        if login.tag:
            lines.append(f"tag {login.tag}")
        if login.error_message:
            code = f" ({login.error_code})" if login.error_code else ""
            lines.append(f"{login.error_message}{code}")
        return plain_tooltip("\n".join(lines)) if role == Qt.ItemDataRole.ToolTipRole else "\n".join(lines)

    def row_of(self, login_id: str) -> int:
        wanted = (login_id or "").lower()
        return next((i for i, login in enumerate(self.logins) if login.id.lower() == wanted), -1)

    def search_text(self, row: int) -> str:
        return self._search[row]


class ConnectionsFilter(QSortFilterProxyModel):
    """The search and the three filters, kept here as plain values (no regular expression).

    `query` is the normalised search text: every word of it must be found in the login's
    loginId, username, institution (id or name), state (value or label), error code or tag.
    `state` is one of STATES or None, `institution` an institution id or None, `synced` one of
    SYNCED_CHOICES' keys. `now` gives the time the last-sync filter measures from.
    """

    def __init__(self, parent=None, now: Callable[[], datetime] | None = None):
        super().__init__(parent)
        self.query = ""
        self.words: tuple[str, ...] = ()
        self.state: str | None = None
        self.institution: str | None = None
        self.synced = "any"
        self.now = now or (lambda: datetime.now(UTC))

    # setters: each re-runs the filter only when something changed
    def set_query(self, text: str) -> None:
        query = normalise_query(text)
        if query != self.query:
            self._change(query=query, words=tuple(fold(query).split()))

    def set_state(self, state: str | None) -> None:
        if state is not None and state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        if state != self.state:
            self._change(state=state)

    def set_institution(self, institution: str | None) -> None:
        if institution != self.institution:
            self._change(institution=institution)

    def set_synced(self, choice: str) -> None:
        if choice not in dict(SYNCED_CHOICES):
            raise ValueError(f"unknown last-sync choice {choice!r}")
        if choice != self.synced:
            self._change(synced=choice)

    def _change(self, **values) -> None:
        self.beginFilterChange()
        for name, value in values.items():
            setattr(self, name, value)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def is_filtering(self) -> bool:
        return bool(self.words) or self.state is not None or self.institution is not None or self.synced != "any"

    def rejections(self, login: LoginRow, search_text: str | None = None) -> set[str]:
        """Which of FACETS hide `login` ("query", "state", "institution", "synced")."""
        hidden = set()
        if self.words:
            haystack = search_text if search_text is not None else searchable_text(login)
            if not all(word in haystack for word in self.words):
                hidden.add("query")
        if self.state is not None and login_state(login.status, login.synced_at) != self.state:
            hidden.add("state")
        if self.institution is not None and login.institution != self.institution:
            hidden.add("institution")
        if self.synced != "any" and not synced_within(login, self.synced, self.now()):
            hidden.add("synced")
        return hidden

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        index = self.sourceModel().index(source_row, 0, source_parent)
        return not self.rejections(index.data(LOGIN_ROLE), index.data(SEARCH_ROLE))


# -- rows ------------------------------------------------------------------------------------------


class ConnectionDelegate(QStyledItemDelegate):
    """Two lines: "Flinks Capital   [ticket-123] [OK]" / "Greatday · b0de…d478 · synced 5 min ago"."""

    PADDING = 12
    CHIP_GAP = 6

    def sizeHint(self, option, index) -> QSize:
        metrics = QFontMetrics(option.font)
        return QSize(240, metrics.height() * 2 + self.PADDING * 2 + 6)

    def __init__(self, parent=None, now: Callable[[], datetime] | None = None):
        super().__init__(parent)
        self.now = now or (lambda: datetime.now(UTC))

    def details(self, login: LoginRow) -> str:
        """The second line: who, which loginId, when synced (or what failed, and when)."""
        now = self.now()
        parts = [login.username or "unknown user", mask_id(login.id)]
        if login.status in ("error", "needs_mfa") and login.error_code:
            parts.append(f"{login.error_code} {ago(login.status_at, now)}")
        elif login.synced_at is None:
            parts.append("never synced")
        else:
            parts.append(f"synced {ago(login.synced_at, now)}")
        return " · ".join(parts)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        login: LoginRow = index.data(LOGIN_ROLE)
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        rect = option.rect.adjusted(6, 3, -6, -3)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # The card with the keyboard's focus (the list focused): the app's blue, as a focused field.
        focused = bool(option.state & QStyle.StateFlag.State_HasFocus)
        painter.setPen(QColor("#1f5eff") if focused else QColor("#b9c8f5") if selected else Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#e8efff") if selected else QColor("#ffffff"))
        painter.drawRoundedRect(rect, 8, 8)

        inner = rect.adjusted(self.PADDING, self.PADDING - 4, -self.PADDING, -self.PADDING + 4)
        line_height = QFontMetrics(option.font).height()
        chip_font = QFont(option.font)
        chip_font.setPointSizeF(max(option.font.pointSizeF() - 1.5, 7))
        chip_font.setBold(True)
        chip_metrics = QFontMetrics(chip_font)
        bold = QFont(option.font)
        bold.setBold(True)
        bold_metrics = QFontMetrics(bold)

        # First line, from the right: the state badge, the tag chip, then the institution.
        state = login_state(login.status, login.synced_at)
        badge_text = STATE_LABELS.get(state, state)
        badge_width = chip_metrics.horizontalAdvance(badge_text) + 14
        badge = QRect(inner.right() - badge_width + 1, inner.top() + 1, badge_width, line_height - 2)
        foreground, background = BADGE_COLOURS.get(state, BADGE_COLOURS["deleted"])
        self._chip(painter, badge, badge_text, chip_font, QColor(foreground), QColor(background))

        title = institution_name(login.institution)
        room = inner.width() - badge_width - self.CHIP_GAP
        if login.tag:
            tag_font = QFont(chip_font)
            tag_font.setBold(False)
            tag_metrics = QFontMetrics(tag_font)
            natural = tag_metrics.horizontalAdvance(login.tag) + 14
            title_natural = bold_metrics.horizontalAdvance(title)
            # The tag gets what the title leaves, and at least half the room when both are long.
            tag_width = min(natural, max(room - title_natural - self.CHIP_GAP, room // 2))
            tag_rect = QRect(badge.left() - self.CHIP_GAP - tag_width, badge.top(), tag_width, badge.height())
            text = tag_metrics.elidedText(login.tag, Qt.TextElideMode.ElideMiddle, tag_width - 12)
            self._chip(
                painter,
                tag_rect,
                text,
                tag_font,
                QColor(TAG_COLOURS[0]),
                QColor(TAG_COLOURS[1]),
                border=QColor(TAG_COLOURS[2]),
            )
            room -= tag_width + self.CHIP_GAP
        title_rect = QRect(inner.left(), inner.top(), max(room, 0), line_height)
        painter.setFont(bold)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        painter.drawText(
            title_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            bold_metrics.elidedText(title, Qt.TextElideMode.ElideRight, title_rect.width()),
        )

        second = QRect(inner.left(), inner.top() + line_height + 4, inner.width(), line_height)
        painter.setFont(option.font)
        painter.setPen(QColor("#5d6677"))
        painter.drawText(
            second,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            QFontMetrics(option.font).elidedText(self.details(login), Qt.TextElideMode.ElideRight, second.width()),
        )
        painter.restore()

    @staticmethod
    def _chip(
        painter: QPainter,
        rect: QRect,
        text: str,
        font: QFont,
        foreground: QColor,
        background: QColor,
        border: QColor | None = None,
    ) -> None:
        painter.setPen(border if border is not None else Qt.PenStyle.NoPen)
        painter.setBrush(background)
        radius = rect.height() / 2
        painter.drawRoundedRect(rect.adjusted(0, 0, -1, -1) if border is not None else rect, radius, radius)
        painter.setFont(font)
        painter.setPen(foreground)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


# -- the panel -------------------------------------------------------------------------------------


def _plain_label(text: str = "", object_name: str = "") -> QLabel:
    label = QLabel(text, objectName=object_name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class _ElidedComboBox(QComboBox):
    """A combo box whose face elides its text ("Banque Nati…") when narrower than it. On its face,
    its first item (the "any" choice, "Any status" in its list) reads `short`, what it filters by
    ("Status"): a row of filters then reads as such at any width, not as "Any…" three times."""

    def __init__(self, *, short: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.short = short

    def face_text(self, option: QStyleOptionComboBox | None = None) -> str:
        """What the face reads, as painted: `short` or the current item, elided to the room."""
        if option is None:
            option = QStyleOptionComboBox()
            self.initStyleOption(option)
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        text = self.short if self.short and self.currentIndex() == 0 else option.currentText
        return self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, max(field.width() - 2, 0))

    def paintEvent(self, event) -> None:
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.face_text(option)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


class _CopyKey(QObject):
    """Ctrl+C (QKeySequence.Copy) on the list copies the loginId, before any window-wide Copy."""

    def __init__(self, panel: ConnectionsPanel):
        super().__init__(panel)
        self._panel = panel

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and event.matches(QKeySequence.StandardKey.Copy):
            event.accept()  # the key press comes to the list: no window shortcut takes it
            return True
        if event.type() == QEvent.Type.KeyPress and event.matches(QKeySequence.StandardKey.Copy):
            self._panel.copy_login_id()
            return True
        return False


#: The connections panel's narrowest: a card's bank, username and status, and each filter's short
#: name ("Status", "Bank", "Synced") in full.
MINIMUM_WIDTH = 236


class WorkspaceSplitter(QSplitter):
    """The connections panel (left) beside the selected connection's page (right).

    The panel keeps the width the person gives it (dragging the handle, or as the last session left
    it) while the page has room. As the window narrows, the panel gives way first, down to its
    minimum, so that the page keeps `page_room` pixels (the transactions' filters on one line, their
    columns readable); it gets its width back as the window widens. Qt's own rule would keep the
    panel and squeeze the page alone (the page's stretch factor), until the page's minimum.
    """

    def __init__(self, *, panel_width: int, page_room: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.page_room = page_room
        #: The panel's width as the person chose it (dragging the handle), or as it starts.
        self.panel_width = panel_width
        self.splitterMoved.connect(self._on_moved)

    def _on_moved(self, _position: int, _index: int) -> None:
        self.panel_width = self.sizes()[0]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()

    def fit(self) -> None:
        """The panel at its chosen width, or narrower (not below its minimum) for the page's room."""
        sizes = self.sizes()
        total = sum(sizes)
        if len(sizes) != 2 or total <= 0:
            return
        panel = self.widget(0)
        least = max(panel.minimumSizeHint().width(), panel.minimumWidth())
        width = max(least, min(self.panel_width, total - self.page_room))
        if width != sizes[0]:
            self.setSizes([width, total - width])


class ConnectionsPanel(QWidget):
    """Search, filters, counts and the list.

    `selected` carries the chosen loginId ("" when none); `copied` a sentence for the status bar
    once a loginId is on the clipboard.
    """

    selected = Signal(str)
    copied = Signal(str)
    #: A whole loginId that is not in the list: the agent asked to look it up at Flinks.
    lookUpRequested = Signal(str)

    def __init__(self, parent=None, now: Callable[[], datetime] | None = None):
        super().__init__(parent)
        self.setObjectName("connectionsPanel")
        # Narrower, a card shows only the start of its bank and username, and the filters nothing.
        self.setMinimumWidth(MINIMUM_WIDTH)
        self.model = ConnectionsModel(self)
        self.filter = ConnectionsFilter(self, now=now)
        self.filter.setSourceModel(self.model)

        self.search = QLineEdit(objectName="connectionSearch", accessibleName="Search connections")
        self.search.setPlaceholderText("Search loginId, username, bank, tag…")
        self.search.setToolTip(
            "Every word must match: loginId, username, bank, status, error code or tag.\n"
            "Paste a whole loginId to select its connection."
        )
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search)
        self.search.returnPressed.connect(self._on_return)

        self.state_filter = self._combo(
            "statusFilter",
            "Status",
            "Status",
            "Show connections in this state",
            [("Any status", None)] + [(STATE_LABELS[s], s) for s in STATES],
        )
        self.institution_filter = self._combo(
            "institutionFilter", "Bank", "Bank", "Show the connections of one institution", [("Any bank", None)]
        )
        self.synced_filter = self._combo(
            "syncedFilter",
            "Last synced",
            "Synced",
            "Show connections by when they were last synced here",
            [(label, key) for key, label in SYNCED_CHOICES],
        )
        self.state_filter.currentIndexChanged.connect(
            lambda: self._on_filter(self.filter.set_state, self.state_filter.currentData())
        )
        self.institution_filter.currentIndexChanged.connect(
            lambda: self._on_filter(self.filter.set_institution, self.institution_filter.currentData())
        )
        self.synced_filter.currentIndexChanged.connect(
            lambda: self._on_filter(self.filter.set_synced, self.synced_filter.currentData())
        )
        self.status_counts = _plain_label(object_name="statusCounts")
        self.status_counts.setWordWrap(True)  # a narrow panel wraps the line rather than widen
        self.status_counts.setToolTip(
            "Connections in each state, among those the search, bank and last-sync filters show"
        )

        self.empty = _plain_label(object_name="connectionsEmpty")
        self.empty.setWordWrap(True)
        self.empty.hide()
        self.look_up_button = QPushButton("Look up at Flinks", objectName="lookUpLoginButton")
        self.look_up_button.setToolTip("Ask Flinks for this loginId's data and add it here (Enter)")
        self.look_up_button.clicked.connect(self._on_return)
        self.look_up_button.hide()
        #: (loginId, sentence) of the last look-up that added nothing: said until the search changes.
        self._look_up_failure: tuple[str, str] | None = None

        self.list = QListView(objectName="connectionsList", accessibleName="Connections")
        self.list.setModel(self.filter)
        self.delegate = ConnectionDelegate(self.list, now=self.filter.now)
        self.list.setItemDelegate(self.delegate)
        self.list.setUniformItemSizes(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.selectionModel().currentChanged.connect(self._on_current)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.list.installEventFilter(_CopyKey(self))

        self.copy_action = QAction("Copy loginId", self, objectName="copyLoginIdAction")
        self.copy_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # a hint: _CopyKey does it
        self.copy_action.setShortcutVisibleInContextMenu(True)
        self.copy_action.triggered.connect(self.copy_login_id)
        self.copy_action.setEnabled(False)  # until a row is current
        self.menu = QMenu(self, objectName="connectionsMenu")
        self.menu.addAction(self.copy_action)

        self.count = _plain_label(object_name="connectionsCount")
        self.count.setWordWrap(True)  # "1 of 2 connections" beside Clear filters in a narrow panel
        self.clear_filters_button = QPushButton("Clear filters", objectName="clearConnectionFilters")
        self.clear_filters_button.setToolTip("Show every connection")
        self.clear_filters_button.setFlat(True)
        self.clear_filters_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.clear_filters_button.clicked.connect(self.clear_filters)

        filters = QHBoxLayout()
        filters.setSpacing(6)
        # Shares of the width as the narrow panel's words need them: "Status", "Bank", "Synced".
        for combo, share in ((self.state_filter, 5), (self.institution_filter, 4), (self.synced_filter, 5)):
            filters.addWidget(combo, share)
        footer = QHBoxLayout()
        footer.setSpacing(6)
        footer.addWidget(self.count, 1)
        footer.addWidget(self.clear_filters_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 6, 12)
        layout.setSpacing(8)
        layout.addWidget(_plain_label("Connections", "sectionTitle"))
        layout.addWidget(self.search)
        layout.addLayout(filters)
        layout.addWidget(self.status_counts)
        layout.addWidget(self.empty)
        layout.addWidget(self.look_up_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.list, 1)
        layout.addLayout(footer)
        self._update_count()

    def _combo(self, name: str, label: str, short: str, tip: str, items: list[tuple[str, str | None]]) -> QComboBox:
        """A filter: `label` its accessible name, `short` what its face reads for its "any" choice."""
        # (Linux's screen reader says the current item instead of the accessible name.)
        combo = _ElidedComboBox(objectName=name, accessibleName=label, short=short)
        combo.setToolTip(tip)
        for text, data in items:
            combo.addItem(text, data)
        # Three share the panel's width: each may shrink below its longest item (it is elided).
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(4)
        combo.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        combo.setProperty("active", False)
        return combo

    # -- the API the window uses -------------------------------------------------------------------
    def set_logins(self, logins: list[LoginRow], keep: str | None = None) -> None:
        current = keep if keep is not None else self.current_login_id()
        self.model.set_logins(logins)
        self._fill_institutions()
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
        """Make `login_id` the current row; clear the search or the filters that hide it."""
        row = self.model.row_of(login_id)
        if row < 0:
            return False
        hidden = self.filter.rejections(self.model.logins[row], self.model.search_text(row))
        if "query" in hidden:
            self.search.clear()
        if "state" in hidden:
            self.state_filter.setCurrentIndex(0)
        if "institution" in hidden:
            self.institution_filter.setCurrentIndex(0)
        if "synced" in hidden:
            self.synced_filter.setCurrentIndex(0)
        index = self.filter.mapFromSource(self.model.index(row))
        self.list.setCurrentIndex(index)
        self.list.scrollTo(index)
        return index.isValid()

    def show_look_up_failure(self, login_id: str, sentence: str) -> None:
        """A look-up of `login_id` added nothing: say why under the search while it shows that loginId."""
        self._look_up_failure = (login_id.lower(), sentence)
        self._update_count()

    def clear_filters(self) -> None:
        """Show every connection: no search, every filter back to Any."""
        self.search.clear()
        for combo in (self.state_filter, self.institution_filter, self.synced_filter):
            combo.setCurrentIndex(0)

    def copy_login_id(self) -> bool:
        """Put the current row's full loginId on the clipboard; False when no row is current."""
        login = self.current_login()
        if login is None:
            return False
        QGuiApplication.clipboard().setText(login.id)
        self.copied.emit(f"loginId {mask_id(login.id)} copied")
        return True

    # -- reactions ---------------------------------------------------------------------------------
    def _on_search(self, text: str) -> None:
        self.filter.set_query(text)
        self._update_count()
        # A loginId pasted whole selects its connection at once (the support ticket), whatever the
        # filters; other text selects the only connection it matches.
        login_id = looks_like_login_id(self.filter.query)
        if login_id and self.model.row_of(login_id) >= 0:
            self.select(login_id)
        elif self.filter.words and self.filter.rowCount() == 1:
            self.list.setCurrentIndex(self.filter.index(0, 0))

    def _on_return(self) -> None:
        """Enter in the search (or Look up at Flinks): open the loginId typed, here or at Flinks."""
        login_id = looks_like_login_id(self.filter.query)
        if login_id is None:
            if self.filter.rowCount() >= 1 and not self.current_login():
                self.list.setCurrentIndex(self.filter.index(0, 0))
            return
        if self.model.row_of(login_id) >= 0:
            self.select(login_id)
        else:
            self.lookUpRequested.emit(login_id)

    def _on_filter(self, setter: Callable, value) -> None:
        setter(value)
        for combo in (self.state_filter, self.institution_filter, self.synced_filter):
            active = combo.currentIndex() > 0
            if combo.property("active") != active:
                combo.setProperty("active", active)
                combo.style().unpolish(combo)
                combo.style().polish(combo)
        self._update_count()

    def _on_current(self, current, previous) -> None:
        login = current.data(LOGIN_ROLE) if current.isValid() else None
        self.copy_action.setEnabled(login is not None)
        self.selected.emit(login.id if login else "")

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.list.indexAt(pos)
        if index.isValid():
            self.list.setCurrentIndex(index)
        self.copy_action.setEnabled(self.current_login() is not None)
        self.menu.popup(self.list.viewport().mapToGlobal(pos))

    # -- what the panel shows ----------------------------------------------------------------------
    def _fill_institutions(self) -> None:
        """The institution filter: Any bank, then the institutions present, by name."""
        combo = self.institution_filter
        chosen = combo.currentData()
        present = {login.institution for login in self.model.logins if login.institution}
        names = sorted(present, key=lambda inst: fold(institution_name(inst)))
        combo.blockSignals(True)
        try:
            combo.clear()
            combo.addItem("Any bank", None)
            for institution in names:
                combo.addItem(institution_name(institution), institution)
                combo.setItemData(combo.count() - 1, plain_tooltip(institution), Qt.ItemDataRole.ToolTipRole)
            combo.setCurrentIndex(max(combo.findData(chosen), 0) if chosen is not None else 0)
        finally:
            combo.blockSignals(False)
        if combo.currentData() != self.filter.institution:  # the chosen bank's last login is gone
            self._on_filter(self.filter.set_institution, combo.currentData())

    def state_counts(self) -> Counter:
        """How many connections are in each state among those the other filters and the search show."""
        counts: Counter = Counter()
        for row, login in enumerate(self.model.logins):
            if not self.filter.rejections(login, self.model.search_text(row)) - {"state"}:
                counts[login_state(login.status, login.synced_at)] += 1
        return counts

    def _update_count(self) -> None:
        shown, total = self.filter.rowCount(), self.model.rowCount()
        noun = "connection" if total == 1 else "connections"
        self.count.setText(f"{total} {noun}" if shown == total else f"{shown} of {total} {noun}")
        self.clear_filters_button.setVisible(self.filter.is_filtering())

        counts = self.state_counts()
        parts = [f"{counts[state]} {COUNT_WORDS[state][counts[state] != 1]}" for state in STATES if counts[state]]
        # No-break spaces inside each count: a narrow panel wraps the line only after a "·".
        self.status_counts.setText(f"{NBSP}· ".join(part.replace(" ", NBSP) for part in parts))
        self.status_counts.setVisible(bool(parts))
        login_id = looks_like_login_id(self.filter.query)
        unknown_here = login_id is not None and self.model.row_of(login_id) < 0
        self.look_up_button.setVisible(unknown_here)
        failed = unknown_here and self._look_up_failure is not None and self._look_up_failure[0] == login_id
        if self.empty.property("tone") != ("error" if failed else ""):
            self.empty.setProperty("tone", "error" if failed else "")
            self.empty.style().unpolish(self.empty)
            self.empty.style().polish(self.empty)
        # After a failed look-up the button offers to try again (the environment may have changed).
        self.look_up_button.setText("Try again" if failed else "Look up at Flinks")
        if unknown_here:
            failure = self._look_up_failure
            if failed and failure is not None:
                self.empty.setText(failure[1])
            else:
                self.empty.setText(
                    "This loginId is not on this computer yet. Look it up at Flinks to add "
                    "it with its accounts (Enter)."
                )
            self.empty.show()
        elif shown or not total:
            self.empty.hide()
        else:
            self.empty.setText("No connection matches the search and filters.")
            self.empty.show()
