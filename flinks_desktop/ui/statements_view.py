"""The Statements tab: a login's cached statements by account, opened in an in-app PDF viewer.

    view = StatementsView()
    view.set_login(store, login_id)     # reads the cache (rows only; a PDF when one is selected)
    view.reload()                       # after a sync

Left, the statements grouped by account (title and masked number), each account's newest first;
right, the selected statement in a `QPdfView` with zoom, "Page n of N" and "Save as…".

Decisions a reader should know:

- **Periods.** Flinks sends no period with a statement, so the cache only knows one when the
  caller recorded it. Statements with a known period are listed newest first and named by month.
  The others are shown as what is known for sure: their place in the list Flinks sent
  ("Statement 1", in Flinks' order; the offline sandbox sends the most recent first, Flinks does
  not document its order) and the day they were fetched.
- **The PDF comes from memory.** `QPdfDocument` reads the bytes through a `QBuffer`, which must
  outlive the document's use of it: the view keeps both and closes the document before dropping
  the buffer. A file that is not a readable PDF ends in a sentence in the viewer area; it can
  still be saved, as sent, for a support ticket.
- **"Save as…" is injectable.** `choose_path(parent, suggested_path) -> str | None` asks where to
  save; tests replace it. The file is written whole to a temporary name, then renamed.
- Text from the bank (account titles) is shown as plain text only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMargins, Qt, Slot
from PySide6.QtGui import QColor, QKeySequence, QPalette, QShortcut
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core import export
from flinks_desktop.core.atomic_file import atomic_write
from flinks_desktop.core.redact import mask_account_number
from flinks_desktop.core.store import AccountRow, CacheError, StatementRow, Store
from flinks_desktop.ui.dialogs import remember_save_folder, save_folder
from flinks_desktop.ui.elided_label import ElidedLabel
from flinks_desktop.ui.formatting import plain_tooltip

#: Asks where to save: (parent widget, suggested path) -> the chosen path, or None if cancelled.
ChoosePath = Callable[[QWidget, str], str | None]

_UNIQUE_ID_ROLE = Qt.ItemDataRole.UserRole
_VIEWER_BACKGROUND = "#e4e8ef"
_QUIET_TEXT = QColor("#6b7487")
_HEADER_HEIGHT = 40
_ZOOM_STEP = 1.25
_ZOOM_RANGE = (0.25, 5.0)

#: The list's short word for an empty state; the reader area beside it has the whole sentence.
LIST_NO_CONNECTION = "No connection selected"
LIST_NO_STATEMENTS = "No statements"
LIST_UNREADABLE = "The cache could not be read"
NO_CONNECTION = "Select a connection to see its statements."
NO_STATEMENTS = (
    "Flinks has sent no statements for this connection yet. Refresh it to download them, if "
    "statements are enabled for your Flinks instance."
)
SELECT_A_STATEMENT = "Select a statement on the left to open it here."
NOT_CACHED = (
    "This statement is no longer in the cache: the connection may have been deleted or refreshed "
    "meanwhile. Reload the list and try again."
)
_PDF_ERRORS = {
    QPdfDocument.Error.InvalidFileFormat: "the file Flinks sent is not a readable PDF",
    QPdfDocument.Error.IncorrectPassword: "the PDF is protected by a password",
    QPdfDocument.Error.UnsupportedSecurityScheme: "the PDF is protected in a way this viewer cannot open",
    QPdfDocument.Error.DataNotYetAvailable: "the file Flinks sent is incomplete",
}


def ask_save_path(parent: QWidget, suggested: str) -> str | None:
    """The system's "Save as" dialog, for PDF files; None when the user cancels."""
    path, _ = QFileDialog.getSaveFileName(parent, "Save statement as", suggested, "PDF documents (*.pdf)")
    return path or None


@dataclass(frozen=True)
class _Entry:
    """One statement as listed: its row, and the words shown for it."""

    row: StatementRow
    account: str
    label: str
    when: str
    file_name: str


class StatementsView(QWidget):
    """A login's statements, grouped by account, and the selected one's PDF."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statementsView")
        self.choose_path: ChoosePath = ask_save_path
        self._store: Store | None = None
        self._login_id: str | None = None
        self._entries: dict[str, _Entry] = {}
        self._current: _Entry | None = None
        self._pdf: bytes | None = None
        # The buffer the document reads from: replaced only after the document is closed.
        self._buffer: QBuffer | None = None
        self._loading = False
        self.document = QPdfDocument(self)
        self.document.statusChanged.connect(self._on_document_status)

        self.list = QTreeWidget(objectName="statementsList", accessibleName="Statements")
        self.list.setColumnCount(2)
        self.list.setHeaderHidden(True)
        self.list.setRootIsDecorated(False)
        self.list.setIndentation(14)
        self.list.setUniformRowHeights(True)
        self.list.setExpandsOnDoubleClick(False)
        self.list.header().setStretchLastSection(False)
        self.list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.list.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.list.currentItemChanged.connect(self._on_current_item)
        self.list_placeholder = QLabel(objectName="statementsListEmpty", wordWrap=True)
        self.list_placeholder.setTextFormat(Qt.TextFormat.PlainText)
        self.list_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.list_stack = QStackedWidget()
        self.list_stack.addWidget(self.list)
        self.list_stack.addWidget(self.list_placeholder)

        side = QFrame(objectName="statementsSide")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.setSpacing(8)
        side_title = QLabel("Statements", objectName="sectionTitle")
        side_title.setFixedHeight(_HEADER_HEIGHT)  # the list starts level with the PDF
        side_title.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        side_layout.addWidget(side_title)
        side_layout.addWidget(self.list_stack, 1)

        splitter = QSplitter(objectName="statementsSplitter")
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(14)
        splitter.addWidget(side)
        splitter.addWidget(self._build_reader())
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 800])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.addWidget(splitter)
        self._show_list_message(LIST_NO_CONNECTION)
        self._show_message(NO_CONNECTION)

    def _build_reader(self) -> QWidget:
        # Long account titles must not push the buttons off: the labels give way, ending in "…".
        self.title = ElidedLabel(objectName="statementTitle")
        self.subtitle = ElidedLabel(objectName="statementSubtitle")
        self.save_button = QPushButton("Save as…", objectName="saveStatementButton")
        self.save_button.clicked.connect(self.save_as)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header_row = QWidget(objectName="statementHeader")
        header_row.setFixedHeight(_HEADER_HEIGHT)
        header = QHBoxLayout(header_row)
        header.setContentsMargins(0, 0, 0, 0)
        header.setSpacing(12)
        header.addLayout(titles, 1)
        header.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignVCenter)

        self.notice = QLabel(objectName="statementsNotice", wordWrap=True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.hide()

        self.viewer = QPdfView(objectName="statementViewer", accessibleName="Statement")
        self.viewer.setDocument(self.document)
        self.viewer.setPageMode(QPdfView.PageMode.MultiPage)
        self.viewer.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.viewer.setPageSpacing(14)
        self.viewer.setDocumentMargins(QMargins(18, 18, 18, 18))
        # QPdfView paints around the pages with the palette's Dark colour, which QSS does not reach.
        palette = self.viewer.palette()
        palette.setColor(QPalette.ColorRole.Dark, QColor(_VIEWER_BACKGROUND))
        self.viewer.setPalette(palette)
        self.viewer.pageNavigator().currentPageChanged.connect(self._update_page_label)
        self.message = QLabel(objectName="statementMessage", wordWrap=True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.viewer_stack = QStackedWidget(objectName="statementViewerArea")
        self.viewer_stack.addWidget(self.viewer)
        self.viewer_stack.addWidget(self.message)

        self.zoom_out = QPushButton("−", objectName="zoomOutButton")
        self.zoom_in = QPushButton("+", objectName="zoomInButton")
        self.fit_width = QPushButton("Fit width", objectName="fitWidthButton", checkable=True)
        self.fit_page = QPushButton("Whole page", objectName="fitPageButton", checkable=True)
        # The keys of every viewer (Ctrl++, Ctrl+-, Ctrl+0), anywhere in this tab; said in the tips.
        for button, tip, keys in (
            (self.zoom_in, "Zoom in", QKeySequence(QKeySequence.StandardKey.ZoomIn)),
            (self.zoom_out, "Zoom out", QKeySequence(QKeySequence.StandardKey.ZoomOut)),
            (self.fit_width, "Fit the page's width", QKeySequence("Ctrl+0")),
        ):
            QShortcut(keys, self, button.click, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            button.setToolTip(f"{tip} ({keys.toString(QKeySequence.SequenceFormat.NativeText)})")
        self.page_label = QLabel(objectName="statementPageLabel")
        self.zoom_out.setAccessibleName("Zoom out")
        self.zoom_in.setAccessibleName("Zoom in")
        self.zoom_out.clicked.connect(lambda: self._zoom_by(1 / _ZOOM_STEP))
        self.zoom_in.clicked.connect(lambda: self._zoom_by(_ZOOM_STEP))
        self.fit_width.clicked.connect(lambda: self._set_fit(QPdfView.ZoomMode.FitToWidth))
        self.fit_page.clicked.connect(lambda: self._set_fit(QPdfView.ZoomMode.FitInView))
        self.controls = QWidget(objectName="statementControls")
        controls = QHBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setSpacing(0)
        controls.addWidget(self.page_label)
        controls.addStretch(1)
        for position, button in enumerate((self.zoom_out, self.zoom_in, self.fit_width, self.fit_page)):
            button.setProperty("segment", ("first", "middle", "middle", "last")[position])
            controls.addWidget(button)

        reader = QFrame(objectName="statementReader")
        layout = QVBoxLayout(reader)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(header_row)
        layout.addWidget(self.notice)
        layout.addWidget(self.viewer_stack, 1)
        layout.addWidget(self.controls)
        self._set_fit(QPdfView.ZoomMode.FitToWidth)
        return reader

    # -- API -------------------------------------------------------------------------------------

    def set_login(self, store: Store | None, login_id: str | None) -> None:
        """Show the statements of `login_id` from `store` (None for either: nothing to show)."""
        changed = (store, login_id) != (self._store, self._login_id)
        self._store, self._login_id = store, login_id
        if changed:
            self._close_document()
        self.reload()

    def reload(self) -> None:
        """Read the list again from the cache, keeping the open statement if it is still there."""
        keep = self._current.row.unique_id if self._current else None
        self._entries = {}
        if self._store is None or self._login_id is None:
            self._fill_list([])
            self._show_list_message(LIST_NO_CONNECTION)
            self._close_document(NO_CONNECTION)
            return
        try:
            entries = self._read_entries(self._store, self._login_id)
        except CacheError as error:
            self._fill_list([])
            self._show_list_message(LIST_UNREADABLE)
            self._close_document(str(error))
            return
        self._entries = {entry.row.unique_id: entry for entry in entries}
        self._fill_list(entries)
        if not entries:
            self._show_list_message(LIST_NO_STATEMENTS)
            self._close_document(NO_STATEMENTS)
        elif keep in self._entries:
            self.select_statement(keep)
        else:
            self._close_document(SELECT_A_STATEMENT)

    def select_statement(self, unique_id: str) -> bool:
        """Select (and so open) the statement with this UniqueId; False if it is not listed."""
        item = self._item_of(unique_id)
        if item is None:
            return False
        if self.list.currentItem() is item:
            self._open(self._entries[unique_id])
        else:
            self.list.setCurrentItem(item)
        return True

    @property
    def current_statement(self) -> StatementRow | None:
        return self._current.row if self._current else None

    def suggested_file_name(self) -> str | None:
        """The file name "Save as…" proposes for the open statement: the one the command line's
        `statements --save` gives it, so the same statement saved both ways is one file."""
        return self._current.file_name if self._current else None

    @Slot()
    def save_as(self) -> None:
        """Ask where to save the open statement, then write its bytes there exactly as cached."""
        if self._current is None or self._pdf is None:
            return
        # In the folder last saved to (a statement or an export), else Documents (`dialogs.save_folder`).
        chosen = self.choose_path(self, os.path.join(save_folder(), self.suggested_file_name()))
        if not chosen:
            return
        path = Path(chosen)
        if not path.suffix:
            path = path.with_suffix(".pdf")
        try:
            with atomic_write(path) as file:
                file.write(self._pdf)
        except OSError as error:
            reason = error.strerror or str(error)
            self._show_notice(
                f"The statement could not be saved to {path} ({reason}). Choose another folder and try again.",
                error=True,
            )
            return
        remember_save_folder(path)
        self._show_notice(f"Saved to {path}")

    # -- the list --------------------------------------------------------------------------------

    def _read_entries(self, store: Store, login_id: str) -> list[_Entry]:
        accounts = store.accounts(login_id)
        by_number = {account.account_number: account for account in accounts if account.account_number}
        order = {account.account_number: place for place, account in enumerate(accounts)}
        rows = sorted(
            store.statements(login_id),
            key=lambda row: (
                order.get(row.account_number, len(order)),
                row.account_number or "",
                # Known periods newest first, then the others in the order Flinks sent them.
                row.period_end is None,
                -(row.period_end.toordinal() if row.period_end else 0),
                row.position,
            ),
        )
        return [_entry(row, by_number.get(row.account_number)) for row in rows]

    def _fill_list(self, entries: list[_Entry]) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for entry in entries:
            group = groups.get(entry.account)
            if group is None:
                group = QTreeWidgetItem(self.list, [entry.account, ""])
                group.setFlags(Qt.ItemFlag.ItemIsEnabled)
                group.setFirstColumnSpanned(True)
                group.setData(0, Qt.ItemDataRole.AccessibleTextRole, f"Account {entry.account}")
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
                groups[entry.account] = group
            item = QTreeWidgetItem(group, [entry.label, entry.when])
            item.setData(0, _UNIQUE_ID_ROLE, entry.row.unique_id)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setForeground(1, _QUIET_TEXT)
            if entry.row.period_end is None:
                tip = (
                    f"Flinks did not say which period this statement covers. It is number "
                    f"{entry.row.position + 1} in the list Flinks sent for this account, and was "
                    f"fetched {_long_date(entry.row.fetched_at)}. Open it to see its period."
                )
                item.setToolTip(0, plain_tooltip(tip))
                item.setToolTip(1, plain_tooltip(tip))
        self.list.expandAll()
        self.list.blockSignals(False)
        self.list_stack.setCurrentWidget(self.list)

    def _item_of(self, unique_id: str) -> QTreeWidgetItem | None:
        for group in range(self.list.topLevelItemCount()):
            parent = self.list.topLevelItem(group)
            for child in range(parent.childCount()):
                if parent.child(child).data(0, _UNIQUE_ID_ROLE) == unique_id:
                    return parent.child(child)
        return None

    def _show_list_message(self, text: str) -> None:
        self.list_placeholder.setText(text)
        self.list_stack.setCurrentWidget(self.list_placeholder)

    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _on_current_item(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        unique_id = current.data(0, _UNIQUE_ID_ROLE) if current is not None else None
        if unique_id in self._entries:
            self._open(self._entries[unique_id])

    # -- the viewer ------------------------------------------------------------------------------

    def _open(self, entry: _Entry) -> None:
        self._close_document()
        self._current = entry
        self.title.setText(entry.account)
        self.subtitle.setText(f"{entry.label} · {entry.when}" if entry.when else entry.label)
        try:
            pdf = self._store.statement_pdf(entry.row.login_id, entry.row.unique_id)
        except CacheError as error:
            self._show_message(str(error))
            return
        if pdf is None:
            self._show_message(NOT_CACHED)
            return
        self._pdf = bytes(pdf)
        self.save_button.setVisible(True)
        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray(self._pdf))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self._loading = True
        self.document.load(self._buffer)  # from memory this finishes at once; if not, statusChanged
        if self._loading and self.document.status() == QPdfDocument.Status.Loading:
            self._show_message("Opening the statement…")
        elif self._loading:
            self._loaded()

    @Slot(QPdfDocument.Status)
    def _on_document_status(self, status: QPdfDocument.Status) -> None:
        if self._loading and status in (QPdfDocument.Status.Ready, QPdfDocument.Status.Error):
            self._loaded()

    def _loaded(self) -> None:
        """The document finished loading: show it, or say why it cannot be shown."""
        self._loading = False
        if self.document.status() != QPdfDocument.Status.Ready or self.document.pageCount() < 1:
            reason = _PDF_ERRORS.get(self.document.error(), "the file could not be read as a PDF")
            self._show_message(
                f"This statement could not be opened: {reason}. You can still save the file as "
                "Flinks sent it with “Save as…”, for example to attach it to a support ticket."
            )
            self.document.close()
            return
        self._set_zoom_enabled(True)
        self.viewer_stack.setCurrentWidget(self.viewer)
        self.viewer.pageNavigator().jump(0, self.viewer.pageNavigator().currentLocation())
        self._update_page_label()

    def _close_document(self, message: str | None = None) -> None:
        """Forget the open statement (the document first, then its buffer); show `message` if given."""
        self._loading = False
        self.document.close()
        if self._buffer is not None:
            self._buffer.close()
            self._buffer.deleteLater()
            self._buffer = None
        self._current = None
        self._pdf = None
        self.title.setText("")
        self.subtitle.setText("")
        self.save_button.setVisible(False)
        self._set_zoom_enabled(False)
        self.page_label.setText("")
        self.notice.hide()
        if message is not None:
            self._show_message(message)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.viewer_stack.setCurrentWidget(self.message)
        self.page_label.setText("")
        self._set_zoom_enabled(False)

    def _show_notice(self, text: str, *, error: bool = False) -> None:
        self.notice.setText(text)
        self.notice.setProperty("error", error)
        self.notice.style().unpolish(self.notice)
        self.notice.style().polish(self.notice)
        self.notice.show()

    @Slot()
    def _update_page_label(self) -> None:
        pages = self.document.pageCount() if self.document.status() == QPdfDocument.Status.Ready else 0
        if pages:
            current = self.viewer.pageNavigator().currentPage() + 1
            self.page_label.setText(f"Page {current} of {pages}")
        else:
            self.page_label.setText("")

    def _set_zoom_enabled(self, enabled: bool) -> None:
        """Show the page and zoom controls only while a document is on screen."""
        self.controls.setVisible(enabled)

    def _set_fit(self, mode: QPdfView.ZoomMode) -> None:
        self.viewer.setZoomMode(mode)
        self.fit_width.setChecked(mode == QPdfView.ZoomMode.FitToWidth)
        self.fit_page.setChecked(mode == QPdfView.ZoomMode.FitInView)

    def _zoom_by(self, factor: float) -> None:
        current = self._effective_zoom()
        self.viewer.setZoomMode(QPdfView.ZoomMode.Custom)
        self.viewer.setZoomFactor(min(max(current * factor, _ZOOM_RANGE[0]), _ZOOM_RANGE[1]))
        self.fit_width.setChecked(False)
        self.fit_page.setChecked(False)

    def _effective_zoom(self) -> float:
        """The zoom on screen: in a fit mode `zoomFactor()` keeps the last custom value, so work it
        out from the page width in points (1/72 inch) and the viewport's width."""
        if self.viewer.zoomMode() == QPdfView.ZoomMode.Custom or self.document.pageCount() < 1:
            return self.viewer.zoomFactor()
        page = self.document.pagePointSize(0)
        dpi = self.viewer.logicalDpiX() / 72.0
        margins = self.viewer.documentMargins()
        width = self.viewer.viewport().width() - margins.left() - margins.right()
        height = self.viewer.viewport().height() - margins.top() - margins.bottom()
        zoom = width / (page.width() * dpi) if page.width() else 1.0
        if self.viewer.zoomMode() == QPdfView.ZoomMode.FitInView and page.height():
            zoom = min(zoom, height / (page.height() * dpi))
        return zoom


# -- words -----------------------------------------------------------------------------------------


def _entry(row: StatementRow, account: AccountRow | None) -> _Entry:
    number = account.account_number if account else row.account_number
    title = (account.title if account else None) or "Account"
    masked = mask_account_number(number) if number else ""
    account_text = f"{title}  {masked}".strip() if number else f"{title} (no account number)"
    if row.period_end is not None:
        label = f"{row.period_end:%B %Y}"
        when = f"{_day(row.period_start)} – {_day(row.period_end)}" if row.period_start else ""
    else:
        label = f"Statement {row.position + 1}"
        when = f"fetched {_short_date(row.fetched_at)}"
    return _Entry(
        row=row, account=account_text, label=label, when=when, file_name=export.statement_file_name(row, account)
    )


def _day(day: date) -> str:
    return f"{day:%b} {day.day}"


def _short_date(moment: datetime) -> str:
    local = moment.astimezone()
    return f"{local:%b} {local.day}, {local:%Y}"


def _long_date(moment: datetime) -> str:
    local = moment.astimezone()
    return f"{local:%B} {local.day}, {local:%Y} at {local:%H:%M}"
