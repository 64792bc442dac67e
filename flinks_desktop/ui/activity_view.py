"""The Activity tab: every API call and Connect event the cache recorded, newest first, in plain words.

    view = ActivityView()
    view.set_login(store, login_id)     # None: every login's activity
    view.reload()                       # after a sync, or when a Connect event arrives
    view.set_filter("errors")           # "all", "api", "connect", "errors"

One row per entry: when (local time), what kind, what happened in words ("Accounts detail
(waiting)", "Institution selected"), the result (HTTP status and FlinksCode; green ok, amber
waiting, red failed, and a failed row tinted), what that means (`core.audit.describe`), how long
it took, and the ids, masked as the cache keeps them. Below the table, the selected entry in full:
the method and endpoint, the whole Connect event (ids masked by the store).

Everything shown comes from the cache as text and is displayed as plain text: item views never
interpret HTML, and the detail pane is a plain-text widget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Literal

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, Qt, Slot
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core.audit import describe
from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.store import DEFAULT_ACTIVITY_LIMIT, ActivityRow, CacheError, Store
from flinks_desktop.ui.elided_label import ElidedLabel
from flinks_desktop.ui.formatting import institution_name, step_label

Filter = Literal["all", "api", "connect", "errors"]
Severity = Literal["ok", "pending", "error", "neutral"]

FILTERS: dict[Filter, str] = {"all": "All", "api": "API calls", "connect": "Connect events", "errors": "Errors"}

#: The data endpoints in words; "<Endpoint>Async" is the poll of one while Flinks prepares it.
ENDPOINTS = {
    "Authorize": "Authorize",
    "GenerateAuthorizeToken": "Authorize token",
    "GetAccountsDetail": "Accounts detail",
    "GetAccountsSummary": "Accounts summary",
    "GetStatements": "Statements",
    "DeleteCard": "Delete card",
}

#: Connect steps that end a Connect session in failure.
_FAILED_STEPS = {"DISABLED_INSTITUTION", "MAXIMUM_RETRY_REACHED"}
_STEP_MEANINGS = {
    "DISABLED_INSTITUTION": "The institution is not available through Flinks at the moment.",
    "MAXIMUM_RETRY_REACHED": "Too many wrong attempts: the customer has to start Connect again.",
    "COMPONENT_DENY_CONSENT": "The customer did not give consent: no connection was made.",
}
APP_EVENTS = {"LOGIN_PURGED": "Connection deleted from this computer", "DATA_DROPPED": "Data left out of a sync"}
#: A deletion, by whether Flinks deleted the card first (recorded since this version).
PURGED = {True: "Card deleted at Flinks and on this computer", False: "Connection deleted from this computer only"}
_KINDS = {"api": "API call", "connect": "Connect", "app": "App"}

#: What a call that did not fail with a FlinksCode means (the codes themselves: `describe`).
_NO_RESPONSE = "No answer came from Flinks: the network failed or the call timed out."
_MFA_ASKED = "The bank asked a security question (MFA)."
_SERVER_FAILED = "Flinks had a problem on its side. Try again later."
_REFUSED = "Flinks refused the request."

#: Colours are data roles, not a painting delegate: the view paints them in C++. (A Python
#: delegate would call into Qt for every cell of every repaint.)
_RESULT_TEXT: dict[Severity, QColor] = {
    "ok": QColor("#17693f"),
    "pending": QColor("#8a5300"),
    "error": QColor("#b3261e"),
    "neutral": QColor("#4a5468"),
}
_QUIET_TEXT = QColor("#6b7487")
_BOLD = QFont()
_BOLD.setWeight(QFont.Weight.DemiBold)


@dataclass(frozen=True)
class Entry:
    """An activity row and the words the table shows for it."""

    row: ActivityRow
    time: str
    kind: str
    what: str
    result: str
    meaning: str
    duration: str
    ids: str
    severity: Severity

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def entry_for(row: ActivityRow, now: datetime | None = None) -> Entry:
    """The words of one activity row (pure: the model and the tests use it)."""
    code = row.flinks_code
    if row.kind == "api":
        what, result, meaning, severity = _api_words(row)
    elif row.kind == "connect":
        is_error_event = code is not None and row.name == code
        if is_error_event:
            what, result, meaning, severity = "Connect error", code, describe(code), "error"
        else:
            what = step_label(row.name)
            result = code or ""
            meaning = describe(code) if code else _STEP_MEANINGS.get(row.name, "")
            severity = "error" if row.name in _FAILED_STEPS or code else "neutral"
        if row.institution:
            what = f"{what} · {institution_name(row.institution)}"
    else:
        what = APP_EVENTS.get(row.name) or step_label(row.name)
        detail = row.detail if isinstance(row.detail, dict) else {}
        if row.name == "LOGIN_PURGED" and isinstance(detail.get("at_flinks"), bool):
            what = PURGED[detail["at_flinks"]]
        by, message = detail.get("by"), detail.get("message")
        result, meaning, severity = "", f"Asked by {by}." if isinstance(by, str) and by else "", "neutral"
        if isinstance(message, str) and message:  # DATA_DROPPED: what a sync left out, in words
            meaning, severity = message, "pending"  # amber: worth a look, not a failure
    ids = "  ".join(part for part in (row.login, row.request) if part)
    return Entry(
        row=row,
        time=_time(row.at, now),
        kind=_KINDS.get(row.kind, row.kind),
        what=what,
        result=result,
        meaning=meaning,
        duration=_duration(row.duration_ms),
        ids=ids,
        severity=severity,
    )


def _api_words(row: ActivityRow) -> tuple[str, str, str, Severity]:
    endpoint = row.name
    polled = endpoint.endswith("Async") and endpoint.removesuffix("Async") in ENDPOINTS
    base = endpoint.removesuffix("Async") if polled else endpoint
    what = ENDPOINTS.get(base) or endpoint
    if polled:
        what += " (waiting)"
    status, code = row.status, row.flinks_code
    if status is None:
        return what, "No response", _NO_RESPONSE, "error"
    result = f"{status} {code}" if code else ("200 OK" if status == 200 else str(status))
    if code:
        meaning = describe(code)
    elif status == 203:
        meaning = _MFA_ASKED
    elif status >= 500:
        meaning = _SERVER_FAILED
    elif status >= 400:
        meaning = _REFUSED
    else:
        meaning = ""
    severity: Severity = "error" if status >= 400 else "pending" if status in (202, 203) else "ok"
    return what, result, meaning, severity


def _time(moment: datetime, now: datetime | None) -> str:
    local = moment.astimezone()
    today = (now or datetime.now().astimezone()).astimezone().date()
    if local.date() == today:
        return f"{local:%H:%M:%S}"
    if local.year == today.year:
        return f"{local:%b} {local.day}, {local:%H:%M:%S}"
    return f"{local:%Y-%m-%d} {local:%H:%M:%S}"


def _duration(milliseconds: int | None) -> str:
    if milliseconds is None:
        return ""
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    return f"{milliseconds / 1000:.1f} s"


def _keeps(entry: Entry, which: Filter) -> bool:
    if which == "api":
        return entry.row.kind == "api"
    if which == "connect":
        return entry.row.kind == "connect"
    if which == "errors":
        return entry.is_error
    return True


# -- the model -------------------------------------------------------------------------------------


class ActivityModel(QAbstractTableModel):
    HEADERS = ("Time", "Kind", "What", "Result", "Meaning", "Duration", "Ids (login, request)")
    TIME, KIND, WHAT, RESULT, MEANING, DURATION, IDS = range(7)
    #: The `Entry` of a row, under this role in every column.
    EntryRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._all: list[Entry] = []
        self.entries: list[Entry] = []
        self.filter: Filter = "all"

    def set_rows(self, rows: list[ActivityRow]) -> None:
        now = datetime.now().astimezone()
        self._all = [entry_for(row, now) for row in rows]
        self._apply()

    def set_filter(self, which: Filter) -> None:
        if which not in FILTERS:
            raise ValueError(f"unknown filter {which!r}")
        self.filter = which
        self._apply()

    def count(self, which: Filter) -> int:
        return sum(1 for entry in self._all if _keeps(entry, which))

    def _apply(self) -> None:
        self.beginResetModel()
        self.entries = [entry for entry in self._all if _keeps(entry, self.filter)]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.entries)

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
        entry = self.entries[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = (entry.time, entry.kind, entry.what, entry.result, entry.meaning, entry.duration, entry.ids)[column]
            if role == Qt.ItemDataRole.DisplayRole:
                return text
            return self._tooltip(entry, column, text)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == self.RESULT:
                return _RESULT_TEXT[entry.severity]
            if column == self.MEANING and entry.is_error:
                return _RESULT_TEXT["error"]
            if column in (self.TIME, self.DURATION, self.IDS):
                return _QUIET_TEXT
            return None
        if role == Qt.ItemDataRole.FontRole:
            return _BOLD if column == self.RESULT and entry.severity != "neutral" else None
        if role == self.EntryRole:
            return entry
        return None

    def _tooltip(self, entry: Entry, column: int, text: str) -> str | None:
        if column == self.WHAT and entry.row.kind == "api":
            text = f"{entry.row.method or ''} {entry.row.name}".strip()
        elif column == self.TIME:
            text = f"{entry.row.at.astimezone():%Y-%m-%d %H:%M:%S.%f}"[:-3] + " (local time)"
        return f"<qt>{escape(text)}</qt>" if text else None

    def _alignment(self, column: int):
        horizontal = Qt.AlignmentFlag.AlignRight if column == self.DURATION else Qt.AlignmentFlag.AlignLeft
        return horizontal | Qt.AlignmentFlag.AlignVCenter


#: The widest a column is made when it is fitted to its text (a longer text is elided; its tool
#: tip and the detail pane have it whole).
_WIDEST = {ActivityModel.WHAT: 200, ActivityModel.RESULT: 200}
#: Meaning takes the width left, but never less than this: a narrower table scrolls sideways
#: (Ids, the last column, goes out of view first) rather than squeezing the sentence.
_MEANING_WIDTH = 240


# -- the view --------------------------------------------------------------------------------------


class ActivityView(QWidget):
    """The activity of one login (or of all of them), filtered, with the selected entry in full."""

    EMPTY = {
        "all": "No activity yet. Every API call and Connect step appears here as it happens.",
        "api": "No API calls recorded.",
        "connect": "No Connect events recorded for this selection.",
        "errors": "No errors recorded. Every call and Connect step shown under All went through.",
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activityView")
        self._store: Store | None = None
        self._login_id: str | None = None
        self.limit = DEFAULT_ACTIVITY_LIMIT

        self.heading = QLabel("Activity", objectName="sectionTitle")
        # Which connection, or all: the first to give way (ending in "…") in a narrow window.
        self.scope = ElidedLabel(objectName="activityScope")
        self.filter_bar = QWidget(objectName="activityFilter")
        self.filter_buttons = QButtonGroup(self)
        bar = QHBoxLayout(self.filter_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(0)
        self.buttons: dict[Filter, QPushButton] = {}
        for position, (key, label) in enumerate(FILTERS.items()):
            button = QPushButton(label, objectName=f"activityFilter{key.capitalize()}", checkable=True)
            button.setProperty("segment", "first" if position == 0 else "last" if position == 3 else "middle")
            button.setProperty("filter", key)
            button.clicked.connect(lambda _checked=False, which=key: self.set_filter(which))
            self.filter_buttons.addButton(button)
            self.buttons[key] = button
            bar.addWidget(button)
        self.buttons["all"].setChecked(True)
        self.reload_button = QPushButton("Reload", objectName="reloadActivityButton")
        self.reload_button.clicked.connect(self.reload)

        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(self.heading)
        top.addWidget(self.scope, 1)
        top.addWidget(self.filter_bar)
        top.addWidget(self.reload_button)

        self.model = ActivityModel(self)
        self.table = QTableView(objectName="activityTable", accessibleName="Activity")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # arrows move in the table; Tab leaves it
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        # Meaning (and a long What) wrap: the sentence is shown whole, on two lines if need be.
        # The other columns are as wide as their text, so they never wrap.
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setMinimumSectionSize(32)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.viewport().installEventFilter(self)
        header.setMinimumSectionSize(60)
        self.table.selectionModel().currentRowChanged.connect(self._show_detail)

        self.empty = QLabel(objectName="activityEmpty", wordWrap=True)
        self.empty.setTextFormat(Qt.TextFormat.PlainText)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)

        self.detail = QPlainTextEdit(
            objectName="activityDetail", readOnly=True, accessibleName="The selected entry in full"
        )
        self.detail.setPlaceholderText("Select a row to see it in full.")
        self.detail.setFixedHeight(86)
        self.footer = QLabel(objectName="activityFooter")
        self.footer.setTextFormat(Qt.TextFormat.PlainText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.detail)
        layout.addWidget(self.footer)
        self.reload()

    # -- API -------------------------------------------------------------------------------------

    def set_login(self, store: Store | None, login_id: str | None) -> None:
        """Show the activity of `login_id` (None: of every login) from `store` (None: nothing)."""
        self._store, self._login_id = store, login_id
        self.reload()

    @Slot()
    def reload(self) -> None:
        """Read the activity again from the cache."""
        if self._store is None:
            self.scope.setText("")
        elif self._login_id is None:
            self.scope.setText("All connections")
        else:
            self.scope.setText(f"Connection {mask_id(self._login_id)}")
        if self._store is None:
            self.model.set_rows([])
            self._update()
            return
        try:
            rows = self._store.activity(self._login_id, limit=self.limit)
        except CacheError as error:
            self.model.set_rows([])
            self._update(failure=str(error))
            return
        self.model.set_rows(rows)
        self._update()

    @Slot(str)
    def set_filter(self, which: Filter) -> None:
        """Show all entries, only "api" calls, only "connect" events, or only "errors"."""
        self.model.set_filter(which)
        self.buttons[which].setChecked(True)
        self._update()

    @property
    def entries(self) -> list[Entry]:
        """The entries on screen, in order."""
        return list(self.model.entries)

    # -- inside ----------------------------------------------------------------------------------

    def _update(self, failure: str | None = None) -> None:
        for key, button in self.buttons.items():
            count = self.model.count(key)
            button.setText(f"{FILTERS[key]} ({count})" if key == "errors" and count else FILTERS[key])
            button.setProperty("alert", key == "errors" and count > 0)
            button.style().unpolish(button)
            button.style().polish(button)
        if failure is not None or not self.model.entries:
            self.empty.setText(failure or self.EMPTY[self.model.filter])
            self.stack.setCurrentWidget(self.empty)
            self.detail.hide()
        else:
            self.stack.setCurrentWidget(self.table)
            self.detail.show()
            self._size_columns()
        total = self.model.count("all")
        footer = (
            f"{len(self.model.entries)} of {total} entries shown"
            if self.model.filter != "all"
            else (f"{total} entries" if total != 1 else "1 entry")
        )
        if total >= self.limit:
            footer += f" · only the latest {self.limit} are kept on screen"
        self.footer.setText(footer + " · times are local · ids are masked" if total else "")
        self.detail.clear()

    def _size_columns(self) -> None:
        """Fit each column to its text, within limits that leave Meaning room for its sentence."""
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount()):
            if column == ActivityModel.MEANING:
                continue
            self.table.resizeColumnToContents(column)
            if column in _WIDEST:
                header.resizeSection(column, min(header.sectionSize(column), _WIDEST[column]))
        self._fit_meaning()

    def _fit_meaning(self) -> None:
        header = self.table.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(self.model.columnCount()) if c != ActivityModel.MEANING)
        width = max(_MEANING_WIDTH, self.table.viewport().width() - others)
        if header.sectionSize(ActivityModel.MEANING) != width:
            header.resizeSection(ActivityModel.MEANING, width)
            self.table.resizeRowsToContents()  # the sentences wrap anew

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_meaning()
        return super().eventFilter(watched, event)

    @Slot(QModelIndex, QModelIndex)
    def _show_detail(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry: Entry | None = current.data(ActivityModel.EntryRole) if current.isValid() else None
        self.detail.setPlainText(_detail_text(entry) if entry else "")


def _detail_text(entry: Entry) -> str:
    row = entry.row
    when = f"{row.at.astimezone():%Y-%m-%d %H:%M:%S.%f}"[:-3]
    lines = [f"{when} (local time) · {entry.kind} · {entry.what}"]
    if row.kind == "api":
        status = "no response" if row.status is None else f"HTTP {row.status}"
        code = f" · FlinksCode {row.flinks_code}" if row.flinks_code else ""
        lines.append(f"{row.method or ''} {row.name} · {status}{code} · {entry.duration}".strip())
    elif row.flinks_code:
        lines.append(f"FlinksCode {row.flinks_code}")
    if entry.meaning:
        lines.append(entry.meaning)
    ids = [f"Login {row.login}" if row.login else "", f"Request {row.request}" if row.request else ""]
    if any(ids):
        lines.append(" · ".join(part for part in ids if part))
    if row.detail:
        lines.append(json.dumps(row.detail, ensure_ascii=False, sort_keys=True))
    return "\n".join(lines)
