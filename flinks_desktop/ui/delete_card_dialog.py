"""The delete-card dialog: what will happen, a deliberate confirmation, then the outcome.

    result = await DeleteCardDialog.ask_and_run(
        window, institution=row.institution, username=row.username, login_id=row.id,
        delete=lambda local_only: sync.delete_card(row.id, local_only=local_only, by=agent),
    )

One dialog for the whole deletion, in three states: *confirm* (what Flinks deletes, what this
computer purges, which of the two the agent wants, and the last 4 characters of the loginId typed
to confirm), *deleting* ("Deleting…", nothing to click: once asked, Flinks decides), then the
*outcome*: success, or "Nothing was deleted" with the reason and what to do, and a "Try again".
`ask` is the confirmation alone, for a caller that shows the outcome itself.

Decisions a reader should know:

- **Deliberate, and about this connection.** The confirmation is the last 4 characters of this
  loginId (shown next to the field), not a generic "DELETE": it ties the click to the connection the
  customer named.
- **The outcome is the core's sentence.** `DeleteResult.message` already says what happened and,
  for a refusal, Flinks' reason and advice; the dialog adds only the headline and what is left.
  When Flinks deleted the card but this computer could not purge it, "Try again" purges locally
  only, as the sentence advises. When the request went out but no answer came back, nobody knows
  whether Flinks deleted the card: the dialog says so (not "Nothing was deleted"), and the core's
  sentence says how to find out.
- **Never `exec()`.** The dialog is opened window-modal and awaited (`open_and_wait`'s way), so the
  asyncio loop, and the deletion itself, run while it is on screen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.sync import DeleteResult, SyncRefused
from flinks_desktop.ui.dialogs import fit_height, open_and_wait
from flinks_desktop.ui.formatting import institution_name

log = logging.getLogger("flinks_desktop.ui")

#: How many of the loginId's last characters the agent types to confirm.
CONFIRM_CHARACTERS = 4

_DIALOG_WIDTH = 540

_AT_FLINKS_DETAIL = (
    "Flinks deletes everything it holds for this login: it cannot be refreshed again. Then its "
    "accounts, transactions and statements are removed from this computer."
)
_LOCAL_ONLY_DETAIL = (
    "Its accounts, transactions and statements are removed from this computer. Flinks keeps the "
    "login and its data: ask Flinks to delete them later, or connect it again."
)
_UNEXPECTED = (
    "Something unexpected went wrong, so the deletion may not have finished. "
    "Check the connection's status, and report the problem with the log."
)
_FOOTNOTE = "The activity log keeps a line saying when and by whom the connection was deleted."


@dataclass(frozen=True)
class DeleteChoice:
    """What the agent confirmed: delete at Flinks and purge the cache, or purge the cache only."""

    local_only: bool


class DeleteCardDialog(QDialog):
    """Confirm, run and report the deletion of one connection (see the module)."""

    #: The agent confirmed (the deliberate input matches) and chose this.
    confirmed = Signal(object)
    #: The agent asked to try a failed deletion again; the argument is the choice to retry with.
    retry_requested = Signal(object)

    def __init__(
        self, *, institution: str | None, username: str | None, login_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("deleteCardDialog")
        self.setWindowTitle("Delete card")
        self._login_id = login_id
        self._busy = False
        self._retry_choice: DeleteChoice | None = None

        # The title and the connection stay on screen in every state: the agent always sees which
        # connection this is about. Below them, one state at a time.
        self.title = QLabel("Delete this connection?", objectName="deleteTitle")
        summary = _summary(institution_name(institution), username, login_id)
        self.confirm_page = self._build_confirm_page(login_id)
        self.progress_page = self._build_progress_page()
        self.outcome_page = self._build_outcome_page()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(10)
        layout.addWidget(self.title)
        layout.addWidget(summary)
        layout.addSpacing(6)
        for page in (self.confirm_page, self.progress_page, self.outcome_page):
            layout.addWidget(page)
        self._show_page(self.confirm_page)
        self.setFixedWidth(_DIALOG_WIDTH)
        self._update_confirm()
        self.confirm_input.setFocus()

    # -- the three states ---------------------------------------------------------------------------

    def _build_confirm_page(self, login_id: str) -> QWidget:
        page = QWidget()
        self.at_flinks = QRadioButton("Delete at Flinks and on this computer", objectName="deleteAtFlinks")
        self.local_only = QRadioButton("Remove from this computer only", objectName="deleteLocalOnly")
        self.at_flinks.setChecked(True)
        choice = QButtonGroup(page)
        choice.addButton(self.at_flinks)
        choice.addButton(self.local_only)
        choice.buttonToggled.connect(self._update_confirm)

        footnote = _wrapped(_FOOTNOTE, "deleteFootnote")
        expected = login_id[-CONFIRM_CHARACTERS:]
        hint = _wrapped(
            f"To confirm, type the last {CONFIRM_CHARACTERS} characters of the loginId: {expected}",
            "deleteConfirmHint",
        )
        self.confirm_input = QLineEdit(objectName="deleteConfirmInput")
        self.confirm_input.setMaxLength(len(login_id))
        self.confirm_input.setFixedWidth(140)
        self.confirm_input.setPlaceholderText(expected)
        self.confirm_input.textChanged.connect(self._update_confirm)
        self.confirm_input.returnPressed.connect(self._confirm)
        hint.setBuddy(self.confirm_input)

        cancel = QPushButton("Cancel", objectName="deleteCancelButton")
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        self.confirm_button = QPushButton(objectName="deleteConfirmButton")
        self.confirm_button.setAutoDefault(False)  # Enter in the field confirms only when it matches
        self.confirm_button.clicked.connect(self._confirm)

        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(self.at_flinks)
        layout.addWidget(_indented(_wrapped(_AT_FLINKS_DETAIL, "deleteOptionDetail0")))
        layout.addSpacing(2)
        layout.addWidget(self.local_only)
        layout.addWidget(_indented(_wrapped(_LOCAL_ONLY_DETAIL, "deleteOptionDetail1")))
        layout.addSpacing(6)
        layout.addWidget(footnote)
        layout.addSpacing(6)
        layout.addWidget(hint)
        layout.addWidget(self.confirm_input)
        layout.addStretch(1)
        layout.addSpacing(12)
        layout.addLayout(_button_row(cancel, self.confirm_button))
        return page

    def _build_progress_page(self) -> QWidget:
        page = QWidget()
        self.progress_text = QLabel("Deleting…", objectName="deleteProgress")
        self.progress_text.setWordWrap(True)
        self.progress_text.setProperty("role", "hint")
        bar = QProgressBar(objectName="deleteBusy")
        bar.setRange(0, 0)
        bar.setTextVisible(False)
        bar.setFixedHeight(6)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(self.progress_text)
        layout.addWidget(bar)
        layout.addSpacing(20)
        return page

    def _build_outcome_page(self) -> QWidget:
        page = QWidget()
        self.outcome = _wrapped("", "deleteOutcome")
        self.outcome.setProperty("outcome", "failed")
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome_next = _wrapped("", "deleteOutcomeNext")
        self.outcome_next.setProperty("role", "hint")
        self.retry_button = QPushButton("Try again", objectName="deleteRetryButton")
        self.retry_button.setAutoDefault(False)
        self.retry_button.clicked.connect(self._retry)
        self.close_button = QPushButton("Close", objectName="deleteCloseButton")
        self.close_button.clicked.connect(self.accept)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(self.outcome)
        layout.addWidget(self.outcome_next)
        layout.addStretch(1)
        layout.addSpacing(6)
        layout.addLayout(_button_row(self.retry_button, self.close_button))
        return page

    def choice(self) -> DeleteChoice:
        return DeleteChoice(local_only=self.local_only.isChecked())

    def confirmation_matches(self) -> bool:
        typed = self.confirm_input.text().strip().casefold()
        return typed == self._login_id[-CONFIRM_CHARACTERS:].casefold()

    def show_progress(self, choice: DeleteChoice) -> None:
        """The deleting state: nothing to click until Flinks has answered."""
        self._busy = True
        self.title.setText("Deleting…")
        self.progress_text.setText(
            "Removing the connection's data from this computer."
            if choice.local_only
            else "Asking Flinks to delete the card. Its data is removed from this computer once Flinks confirms."
        )
        self._show_page(self.progress_page)

    def show_outcome(self, result: DeleteResult) -> None:
        """The outcome state: success, or what was (not) deleted, why, and what to do."""
        self._busy = False
        self.outcome.setText(result.message)
        if result.ok:
            self._set_outcome("ok", "Deleted" if result.deleted_at_flinks else "Removed from this computer", "")
            self._retry_choice = None
        elif result.deleted_at_flinks:
            self._set_outcome(
                "failed",
                "Deleted at Flinks, not on this computer",
                "The connection stays listed until its data is removed from this computer.",
            )
            self._retry_choice = DeleteChoice(local_only=True)
        elif result.outcome_unknown:
            # The request may have reached Flinks: "nothing was deleted" could be false. A retry is
            # harmless: Flinks deletes the card, or answers INVALID_LOGIN if it already did.
            self._set_outcome(
                "failed",
                "Flinks may or may not have deleted the card",
                "The connection and its data are still on this computer. Refresh it to find out, or "
                "try again: if the card is already gone, Flinks says so and it can be removed here.",
            )
            self._retry_choice = self.choice()
        elif _flinks_code(result) == "INVALID_LOGIN" and not self.choice().local_only:
            # Flinks no longer knows the card (deleted elsewhere, or expired): nothing is left to
            # delete there, and retrying would fail the same way. What finishes the job is local.
            self._set_outcome(
                "failed",
                "Flinks no longer knows this card",
                "There is nothing left to delete at Flinks. Remove the connection's data from this computer to finish.",
            )
            self._retry_choice = DeleteChoice(local_only=True)
        else:
            self._set_outcome(
                "failed",
                "Nothing was deleted",
                "The connection and its data are still here, unchanged. Try again once the reason above is dealt with.",
            )
            self._retry_choice = self.choice()
        local_next = self._retry_choice is not None and self._retry_choice.local_only and not self.choice().local_only
        self.retry_button.setText(
            "Remove from this computer" if result.deleted_at_flinks or local_next else "Try again"
        )
        self._show_page(self.outcome_page)
        self.close_button.setFocus()

    def show_refusal(self, sentence: str, choice: DeleteChoice) -> None:
        """The outcome state for a deletion refused before it started (another sync is running)."""
        self._busy = False
        self.outcome.setText(sentence)
        self._set_outcome("failed", "Nothing was deleted", "The connection and its data are still here, unchanged.")
        self._retry_choice = choice
        self.retry_button.setText("Try again")
        self._show_page(self.outcome_page)
        self.close_button.setFocus()

    # -- asking -------------------------------------------------------------------------------------

    @classmethod
    async def ask(
        cls, parent: QWidget | None, *, institution: str | None, username: str | None, login_id: str
    ) -> DeleteChoice | None:
        """The confirmation alone: the agent's choice, or None when cancelled."""
        dialog = cls(institution=institution, username=username, login_id=login_id, parent=parent)
        chosen: list[DeleteChoice] = []
        dialog.confirmed.connect(lambda choice: (chosen.append(choice), dialog.accept()))
        try:
            accepted = await open_and_wait(dialog) == QDialog.DialogCode.Accepted.value
            return chosen[-1] if accepted and chosen else None
        finally:
            if shiboken6.isValid(dialog):
                dialog.deleteLater()

    @classmethod
    async def ask_and_run(
        cls,
        parent: QWidget | None,
        *,
        institution: str | None,
        username: str | None,
        login_id: str,
        delete: Callable[[bool], Awaitable[DeleteResult]],
    ) -> DeleteResult | None:
        """Confirm, run `delete(local_only)` with "Deleting…" on screen, then show the outcome in
        the same dialog until the agent closes it.

        Returns the last `DeleteResult`, or None when the agent cancelled before anything was
        asked, or the only attempts were refused (`SyncRefused`: shown as "Nothing was deleted").
        When the last attempt raised anything else (a bug), that is shown as a sentence too, then
        raised once the dialog is closed.
        """
        dialog = cls(institution=institution, username=username, login_id=login_id, parent=parent)
        events: asyncio.Queue[DeleteChoice | None] = asyncio.Queue()
        dialog.confirmed.connect(events.put_nowait)
        dialog.retry_requested.connect(events.put_nowait)
        dialog.finished.connect(lambda _code: events.put_nowait(None))
        dialog.destroyed.connect(lambda: events.put_nowait(None))
        dialog.open()
        result: DeleteResult | None = None
        failure: Exception | None = None
        try:
            while (choice := await events.get()) is not None:
                dialog.show_progress(choice)
                failure, refusal = None, None
                try:
                    result = await delete(choice.local_only)
                except SyncRefused as refused:
                    refusal = str(refused)
                except Exception as error:  # a bug: say so, and raise it once the agent has read it
                    log.exception("deleting a card failed unexpectedly")
                    failure, refusal = error, _UNEXPECTED
                if not shiboken6.isValid(dialog):
                    break  # its window was closed meanwhile
                if refusal is None:
                    dialog.show_outcome(result)
                else:
                    dialog.show_refusal(refusal, choice)
        finally:
            if shiboken6.isValid(dialog):
                dialog._busy = False
                if dialog.isVisible():
                    dialog.reject()
                dialog.deleteLater()
        if failure is not None:
            raise failure
        return result

    # -- behaviour ----------------------------------------------------------------------------------

    def reject(self) -> None:
        if not self._busy:  # while Flinks is asked, Escape and the close button wait for its answer
            super().reject()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        fit_height(self)

    @Slot()
    def _update_confirm(self) -> None:
        self.confirm_button.setText("Remove from this computer" if self.local_only.isChecked() else "Delete card")
        self.confirm_button.setEnabled(self.confirmation_matches())

    @Slot()
    def _confirm(self) -> None:
        if self.confirmation_matches() and not self._busy:
            self.confirmed.emit(self.choice())

    @Slot()
    def _retry(self) -> None:
        if self._retry_choice is not None:
            self.retry_requested.emit(self._retry_choice)

    def current_page(self) -> QWidget:
        return self._page

    def _show_page(self, page: QWidget) -> None:
        """Show one state, the dialog as tall as that state needs. (Not a QStackedWidget: it would
        keep the height of its tallest page, leaving the outcome in a sea of white.)"""
        self._page = page
        for other in (self.confirm_page, self.progress_page, self.outcome_page):
            other.setVisible(other is page)
        if self.isVisible():
            self.layout().activate()
            fit_height(self)

    def _set_outcome(self, outcome: str, title: str, next_step: str) -> None:
        self.title.setText(title)
        self.outcome.setProperty("outcome", outcome)
        self.outcome.style().unpolish(self.outcome)
        self.outcome.style().polish(self.outcome)
        self.outcome_next.setText(next_step)
        self.outcome_next.setVisible(bool(next_step))
        self.retry_button.setVisible(outcome == "failed")


def _summary(bank: str, username: str | None, login_id: str) -> QFrame:
    """Which connection this is: institution, username, masked loginId."""
    summary = QFrame(objectName="deleteSummary")
    grid = QGridLayout(summary)
    grid.setContentsMargins(14, 10, 14, 10)
    grid.setHorizontalSpacing(16)
    grid.setVerticalSpacing(4)
    for row, (name, value, object_name) in enumerate(
        (
            ("Institution", bank, "deleteInstitution"),
            ("Username", username or "—", "deleteUsername"),
            ("loginId", mask_id(login_id), "deleteLoginId"),
        )
    ):
        name_label = QLabel(name)
        name_label.setProperty("role", "fieldName")
        value_label = QLabel(value, objectName=object_name)
        value_label.setTextFormat(Qt.TextFormat.PlainText)  # from the bank and Flinks
        value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(name_label, row, 0)
        grid.addWidget(value_label, row, 1)
    grid.setColumnStretch(1, 1)
    return summary


def _wrapped(text: str, object_name: str) -> QLabel:
    label = QLabel(text, objectName=object_name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


def _indented(widget: QWidget) -> QWidget:
    """A radio button's explanation, aligned with the button's text."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(26, 0, 0, 0)
    row.addWidget(widget)
    return box


def _button_row(*buttons: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addStretch(1)
    for button in buttons:
        row.addWidget(button)
    return row


def _flinks_code(result: DeleteResult) -> str | None:
    return getattr(result.error, "flinks_code", None)
