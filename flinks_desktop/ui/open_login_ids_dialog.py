"""Open many loginIds at once (a morning's tickets), and the per-connection summary of a bulk sync.

    login_ids = await OpenLoginIdsDialog.ask(window)          # pasted, or read from a file; None: cancelled
    summary = SyncSummaryDialog(window, "Open loginIds", login_ids)
    summary.show(); ... summary.add_result(result) ...; summary.finish(results)

`OpenLoginIdsDialog` only collects loginIds (`core.login_ids` reads them: one per line or one CSV
column) and says, before anything is sent, what was found and which lines are not loginIds.
`SyncSummaryDialog` is the window a bulk sync (Open loginIds, Refresh all) fills as each
connection finishes: a row per loginId with its outcome in words, a progress bar, and at the end a
count per outcome. It is not modal: the agent keeps working while it runs, and double-clicking a
row, or Enter on it, selects that connection in the main window (`openLogin`).

Everything shown is plain text: loginIds and sentences from Flinks are never markup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, QObject, QRect, Qt, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core.login_ids import LoginIds, read_login_ids
from flinks_desktop.core.sync import SyncResult
from flinks_desktop.ui.dialogs import open_and_wait
from flinks_desktop.ui.formatting import plain_tooltip

#: A file of loginIds is a few kilobytes; anything this big is the wrong file.
MAX_FILE_BYTES = 5 * 1024 * 1024

#: What each outcome means in a summary, for the agent.
OUTCOME_LABELS = {
    "ok": "added",
    "unknown": "unknown to Flinks",
    "needs_mfa": "needs MFA",
    "error": "error",
    "skipped": "skipped",
}
#: The colours of the connections list's badges: ok green, attention amber, failure red.
OUTCOME_COLOURS = {
    "ok": "#0f7a5c",
    "needs_mfa": "#8a5300",
    "unknown": "#b42318",
    "error": "#b42318",
    "skipped": "#5d6677",
}
#: The words of a refresh, where "added" would be wrong.
REFRESH_LABELS = {**OUTCOME_LABELS, "ok": "refreshed"}


def _plain(label: QLabel) -> QLabel:
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class OpenLoginIdsDialog(QDialog):
    """Paste loginIds or open a file of them; "Open N loginIds" hands them back."""

    def __init__(self, parent: QWidget | None = None, text: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("openLoginIdsDialog")
        self.setWindowTitle("Open loginIds")
        self.found = LoginIds()

        title = _plain(QLabel("Open loginIds", objectName="openLoginIdsTitle"))
        intro = _plain(
            QLabel(
                "Paste the loginIds of your tickets, one per line, or open a CSV or text file with a "
                "loginId column. Each one is looked up at Flinks, with the data Flinks already holds, "
                "and added here with its accounts. Nothing is asked of the bank.",
                objectName="openLoginIdsIntro",
            )
        )
        intro.setWordWrap(True)
        self.input = QPlainTextEdit(objectName="loginIdsInput", accessibleName="loginIds")
        self.input.setPlaceholderText("b0debb48-f9f1-46c6-80a4-08d7dd88d478\n152b925b-22ef-4c1e-9d0a-6a4f3e2b1c0d\n…")
        self.input.setTabChangesFocus(True)
        self.input.textChanged.connect(self._read)
        self.parsed = _plain(QLabel(objectName="loginIdsParsed"))
        self.parsed.setWordWrap(True)

        open_file = QPushButton("Open file…", objectName="openLoginIdsFileButton")
        open_file.setAutoDefault(False)
        open_file.clicked.connect(self._open_file)
        cancel = QPushButton("Cancel", objectName="cancelOpenLoginIdsButton")
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        self.open_button = QPushButton(objectName="openLoginIdsButton")
        self.open_button.setDefault(True)
        self.open_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(open_file)
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.open_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 22, 24, 18)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(self.input, 1)
        layout.addWidget(self.parsed)
        layout.addLayout(buttons)
        self.resize(600, 460)
        self.input.setPlainText(text)
        self._read()

    @classmethod
    async def ask(cls, parent: QWidget | None, text: str = "") -> list[str] | None:
        """The loginIds to open, or None when the agent cancels."""
        dialog = cls(parent, text)
        try:
            code = await open_and_wait(dialog)
            accepted = code == QDialog.DialogCode.Accepted.value and dialog.found.login_ids
            return list(dialog.found.login_ids) if accepted else None
        finally:
            if shiboken6.isValid(dialog):
                dialog.deleteLater()

    def choose_file(self) -> str:
        """The file to read loginIds from (tests replace this)."""
        path, _chosen = QFileDialog.getOpenFileName(
            self, "Open a file of loginIds", "", "loginIds (*.csv *.txt *.tsv);;All files (*)"
        )
        return path

    @Slot()
    def _open_file(self) -> None:
        path = self.choose_file()
        if not path:
            return
        try:
            size = Path(path).stat().st_size
            if size > MAX_FILE_BYTES:
                self._say(
                    f"{Path(path).name} is {size // 1024 // 1024} MB: too big for a list of loginIds. "
                    "Nothing was read.",
                    error=True,
                )
                return
            text = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
        except OSError as error:
            self._say(f"{Path(path).name} cannot be read: {error.strerror or error}. Nothing was read.", error=True)
            return
        self.input.setPlainText(text)

    @Slot()
    def _read(self) -> None:
        self.found = read_login_ids(self.input.toPlainText())
        count = len(self.found.login_ids)
        self.open_button.setText(f"Open {count} loginId{'' if count == 1 else 's'}" if count else "Open")
        self.open_button.setEnabled(count > 0)
        parts = []
        if count:
            parts.append(f"{count} loginId{'' if count == 1 else 's'} found")
        if self.found.repeated:
            parts.append(f"{self.found.repeated} repeated (opened once)")
        rejected = self.found.rejected
        if rejected:
            lines = ", ".join(str(number) for number, _text in rejected[:5]) + ("…" if len(rejected) > 5 else "")
            noun, where = ("line is", "line") if len(rejected) == 1 else ("lines are", "lines")
            parts.append(f"{len(rejected)} {noun} not a loginId ({where} {lines}) and will be left out")
        if not parts:
            parts.append("No loginId yet: a loginId looks like b0debb48-f9f1-46c6-80a4-08d7dd88d478.")
        self._say(" · ".join(parts), error=bool(rejected))

    def _say(self, text: str, *, error: bool) -> None:
        self.parsed.setText(text)
        self.parsed.setProperty("tone", "warning" if error else "")
        self.parsed.style().unpolish(self.parsed)
        self.parsed.style().polish(self.parsed)


#: The summary's rows: at least this tall; the details' style-sheet padding (8 px a side) and the
#: item's own text margins, across; a wrapped sentence's room above and below.
_ROW_HEIGHT = 32
_DETAILS_MARGINS = 2 * 8 + 2 * 4
_ROW_PADDING = 12
#: The summary grows to show its rows up to this height; beyond, the table scrolls.
_TALLEST = 620


class SyncSummaryDialog(QDialog):
    """A row per loginId of a bulk sync, filled as each finishes; the count per outcome at the end."""

    #: Double-click on a row, or Enter on it: show that connection.
    openLogin = Signal(str)

    COLUMNS = ("loginId", "Result", "Details")

    def __init__(
        self,
        parent: QWidget | None,
        title: str,
        login_ids: list[str],
        *,
        refresh: bool = False,
        known: Collection[str] = (),
    ) -> None:
        """`known`: the loginIds already on this computer, which an Open "refreshes" rather than "adds"."""
        super().__init__(parent)
        self.setObjectName("syncSummaryDialog")
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._labels = REFRESH_LABELS if refresh else OUTCOME_LABELS
        self._known = {login_id.lower() for login_id in known}
        self._rows = {login_id: row for row, login_id in enumerate(login_ids)}
        self.results: dict[str, SyncResult] = {}

        self.title = _plain(QLabel(title, objectName="syncSummaryTitle"))
        self.text = _plain(QLabel(objectName="syncSummaryText"))
        self.text.setWordWrap(True)
        self.progress = QProgressBar(objectName="syncSummaryProgress")
        self.progress.setRange(0, max(len(login_ids), 1))
        self.progress.setValue(0)
        self.progress.setFormat("%v of %m")
        self.table = QTableWidget(
            len(login_ids), len(self.COLUMNS), objectName="syncSummaryTable", accessibleName="Results"
        )
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # A result's details are read whole: they wrap, and only the row that changed is measured
        # again (all of them only when the column's width changes), so a long list stays cheap.
        self.table.setWordWrap(True)
        # Rows are read, not edited: Tab leaves the table, the arrows move between rows, and Enter
        # opens the row like a double-click (the dialog would otherwise close on it: `eventFilter`).
        self.table.setTabKeyNavigation(False)
        self.table.installEventFilter(self)
        self.table.setAlternatingRowColors(False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.sectionResized.connect(self._on_section_resized)
        for login_id, row in self._rows.items():
            self._set_row(row, login_id, "waiting…", "")
        self.table.cellDoubleClicked.connect(self._open_row)

        copy = QPushButton("Copy", objectName="copySyncSummaryButton")
        copy.setToolTip("Copy the table, for a ticket")
        copy.setAutoDefault(False)
        copy.clicked.connect(self.copy_to_clipboard)
        self.close_button = QPushButton("Close", objectName="closeSyncSummaryButton")
        self.close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(copy)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(10)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addWidget(self.progress)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        # No narrower than a loginId, its result and a loginId in the details side by side.
        self.setMinimumWidth(780)
        self.resize(860, min(220 + 30 * len(login_ids), _TALLEST))
        self.text.setText(f"Working on {len(login_ids)} connection{'' if len(login_ids) == 1 else 's'}…")

    def add_result(self, result: SyncResult) -> None:
        """One loginId finished (in any order)."""
        if not shiboken6.isValid(self) or result.login_id is None:
            return
        self.results[result.login_id] = result
        row = self._rows.get(result.login_id)
        if row is None:  # not announced (Refresh all learns its logins as it goes)
            row = self._rows[result.login_id] = self.table.rowCount()
            self.table.insertRow(row)
            self.progress.setMaximum(self.table.rowCount())
        self._set_row(
            row,
            result.login_id,
            self._label(result),
            result.message,
            colour=OUTCOME_COLOURS.get(result.outcome),
        )
        self.progress.setValue(len(self.results))

    def finish(self, results: list[SyncResult] | None, cancelled: bool = False) -> None:
        """The bulk sync ended: the count per outcome (or that it was cancelled, and where)."""
        if not shiboken6.isValid(self):
            return
        for result in results or []:
            if result.login_id not in self.results:
                self.add_result(result)
        counts = Counter(self._label(result) for result in self.results.values())
        order = [OUTCOME_LABELS["ok"], REFRESH_LABELS["ok"]]
        order += [self._labels[outcome] for outcome in ("unknown", "needs_mfa", "error", "skipped")]
        text = " · ".join(f"{counts[label]} {label}" for label in order if counts[label])
        left = [login_id for login_id in self._rows if login_id not in self.results]
        if left and (cancelled or results is None):
            why = "Cancelled" if cancelled else "Stopped by a failure"
            text = f"{why}: {len(left)} not done. " + (text or "Nothing was done.")
            for login_id in left:
                self._set_row(self._rows[login_id], login_id, "not done", f"{why} before it was done.")
        self.text.setText(text or "Nothing to do.")
        self.progress.hide()
        self._fit_height()

    def _label(self, result: SyncResult) -> str:
        """The result in a word: "added", or "refreshed" for one this computer had already."""
        if result.outcome == "ok" and result.login_id is not None and result.login_id.lower() in self._known:
            return REFRESH_LABELS["ok"]
        return self._labels.get(result.outcome, result.outcome)

    def _fit_height(self) -> None:
        """Grown (never shrunk) to show every row once all are in, up to the usual cap: what
        wrapped details added is not left behind a scroll bar."""
        rows = sum(self.table.rowHeight(row) for row in range(self.table.rowCount()))
        missing = rows - self.table.viewport().height()
        if missing > 0:
            self.resize(self.width(), min(self.height() + missing, max(self.height(), _TALLEST)))

    @Slot()
    def copy_to_clipboard(self) -> None:
        lines = ["\t".join(self.COLUMNS)]
        for row in range(self.table.rowCount()):
            lines.append("\t".join(self.table.item(row, column).text() for column in range(len(self.COLUMNS))))
        QGuiApplication.clipboard().setText("\n".join(lines) + "\n")

    def _set_row(self, row: int, login_id: str, outcome: str, message: str, colour: str | None = None) -> None:
        for column, text in enumerate((login_id, outcome, message)):
            item = QTableWidgetItem(text)
            if column == 1 and colour:
                item.setForeground(QColor(colour))
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            if column == 2 and text:  # a tooltip renders markup: ours, around the escaped sentence
                item.setToolTip(plain_tooltip(text))
            self.table.setItem(row, column, item)
        self._fit_row(row)

    def _fit_row(self, row: int) -> None:
        """The row as tall as its details need at the column's width. (Measured here: the view's own
        measure leaves out the style sheet's padding, and the last line would be elided.)"""
        item = self.table.item(row, 2)
        width = self.table.columnWidth(2) - _DETAILS_MARGINS
        if item is None or width <= 0:
            return
        lines = self.table.fontMetrics().boundingRect(
            QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap, item.text()
        )
        self.table.setRowHeight(row, max(_ROW_HEIGHT, lines.height() + _ROW_PADDING))

    @Slot(int, int, int)
    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        if column == 2:
            for row in range(self.table.rowCount()):
                self._fit_row(row)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():  # opened, not restored from the task bar: focus stays put then
            self.close_button.setFocus()  # Enter closes the summary; its rows are a Tab away

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.table
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.table.currentRow() >= 0
        ):
            self._open_row(self.table.currentRow(), 0)
            return True  # not the dialog's: its default button is Close
        return super().eventFilter(watched, event)

    @Slot(int, int)
    def _open_row(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        result = self.results.get(item.text()) if item else None
        if result is not None and result.outcome in ("ok", "needs_mfa", "error"):
            self.openLogin.emit(item.text())
