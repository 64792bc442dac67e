"""The MFA dialog: the bank's security questions during a live refresh or a direct login.

    result = await sync.refresh(login_id, live=True, mfa=lambda prompt: MfaDialog.ask(window, prompt))

`MfaDialog.ask` is the `MfaCallback` of `core.sync`: it returns `{prompt: [answer]}`, or None when
the agent cancels (the sync then leaves the connection as it was). A wrong answer makes the sync
call it again with the bank's message, so the dialog comes back saying why.

Decisions a reader should know:

- **Never `exec()`.** The asyncio loop runs on the GUI thread (qasync): a nested event loop inside a
  running task would stall it. `open_and_wait` shows the dialog window-modal and awaits a future
  resolved from `finished`, so the loop (and every other sync) keeps running meanwhile.
- **Bank text is plain text.** Every prompt, option, institution and retry message is shown with
  `Qt.TextFormat.PlainText`: a prompt such as "<b>x</b>" shows its angle brackets.
- **Answers.** One field per challenge: a list of options becomes a choice (a combo box, or check
  boxes when the bank takes several answers), answered with the option exactly as the bank sent it;
  a text question a free-text field with normal echo (Flinks' security answers are not passwords),
  trimmed. Submit stays disabled while an answer is missing. Answers are never logged.
- **What cannot be asked here** (an image to choose from, choices that cannot be read, a kind of
  question the app does not know: `SecurityChallenge.unsupported`) is never guessed at: the dialog
  shows the sentence of `UnsupportedChallenge` (use Flinks Connect) with a Close button only, and
  `ask` raises that error once it is closed, so the sync ends with the same sentence. `core.sync`
  checks before it calls `ask`; this is for any other caller.
"""

from __future__ import annotations

import asyncio

import shiboken6
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core.flinks import SecurityChallenge, UnsupportedChallenge, check_answerable
from flinks_desktop.core.sync import MfaPrompt
from flinks_desktop.ui.formatting import institution_name

#: Wide enough for a long question on two lines, narrow enough to read at a glance.
_DIALOG_WIDTH = 500


async def open_and_wait(dialog: QDialog) -> int:
    """Show `dialog` window-modal and wait, without blocking the loop, until it finishes.

    Returns its result code (`QDialog.DialogCode`). A dialog destroyed under the wait (its parent
    window closed) counts as rejected. When the waiting task is cancelled, the dialog is rejected
    so it does not stay on screen with nobody waiting for it. Shared by the app's dialogs.
    """
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def resolve(code: int) -> None:
        if not future.done():
            future.set_result(code)

    dialog.finished.connect(resolve)
    dialog.destroyed.connect(lambda: resolve(QDialog.DialogCode.Rejected.value))
    dialog.open()  # window-modal to the parent, and returns at once
    try:
        return await future
    finally:
        if shiboken6.isValid(dialog) and dialog.isVisible():
            dialog.reject()


def fit_height(dialog: QDialog) -> None:
    """Give a fixed-width dialog the height its word-wrapped labels need at that width.

    A top-level window sizes itself from `sizeHint`, which guesses a wrapped label's width; asking
    the layout for its height at the real width is what keeps the text from being clipped, or
    floating in empty space.
    """
    height = dialog.layout().totalHeightForWidth(dialog.width())
    if height > 0:
        dialog.setMinimumHeight(height)
        dialog.resize(dialog.width(), height)


class MfaDialog(QDialog):
    """The bank's questions of one `MfaPrompt`, with an answer field for each."""

    def __init__(self, prompt: MfaPrompt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prompt = prompt
        self.setObjectName("mfaDialog")
        bank = institution_name(prompt.institution) if prompt.institution else "The bank"
        self.setWindowTitle(f"Security question — {bank}")

        several = len(prompt.challenges) > 1
        title = QLabel(
            f"{bank} asks {'security questions' if several else 'a security question'}",
            objectName="mfaTitle",
        )
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)
        intro = QLabel(
            "The bank wants an answer before it sends fresh data. Ask the customer and type "
            f"{'each answer' if several else 'the answer'} as they give it. "
            "Answers go to Flinks only; they are not saved.",
            objectName="mfaIntro",
        )
        intro.setWordWrap(True)

        self.error = QLabel(objectName="mfaError")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.unsupported = _unsupported(prompt)
        if self.unsupported is not None:  # no field to type in: the sentence says what to do instead
            intro.hide()
            self.error.setText(self.unsupported.user_message)
        elif prompt.retry_message:
            self.error.setText(
                f"The bank did not accept the answer: “{prompt.retry_message}”. Check it and try again."
            )
        else:
            self.error.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addSpacing(2)
        layout.addWidget(self.error)

        self._answers: list[_Answer] = []
        for index, challenge in enumerate(prompt.challenges if self.unsupported is None else ()):
            label = QLabel(challenge.prompt or "(The bank sent no question text.)", objectName=f"mfaPrompt{index}")
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            answer = _Answer.for_challenge(challenge, f"mfaAnswer{index}", self._update_submit)
            # No setBuddy: a label with a buddy reads "&" as a shortcut and would change the bank's text.
            answer.widget.setAccessibleName(challenge.prompt)
            question = QVBoxLayout()
            question.setSpacing(6)
            question.addWidget(label)
            question.addWidget(answer.widget)
            layout.addSpacing(8)
            layout.addLayout(question)
            self._answers.append(answer)

        self.cancel_button = QPushButton("Cancel" if self.unsupported is None else "Close", objectName="mfaCancel")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        self.submit_button = QPushButton(
            "Submit answers" if several else "Submit answer", objectName="mfaSubmit"
        )
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self._submit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.submit_button)
        if self.unsupported is not None:
            self.submit_button.hide()
            self.cancel_button.setDefault(True)
        layout.addStretch(1)
        layout.addSpacing(14)
        layout.addLayout(buttons)

        self._update_submit()
        self.setFixedWidth(_DIALOG_WIDTH)
        if self._answers:
            self._answers[0].widget.setFocus()

    @classmethod
    async def ask(cls, parent: QWidget | None, prompt: MfaPrompt) -> dict[str, list[str]] | None:
        """Ask the agent; `{prompt: [answers]}`, or None when cancelled. An `MfaCallback`.

        Raises `UnsupportedChallenge`, once the agent has read it and closed the dialog, when the
        bank asks something that cannot be answered here.
        """
        dialog = cls(prompt, parent)
        try:
            accepted = await open_and_wait(dialog) == QDialog.DialogCode.Accepted.value
            if dialog.unsupported is not None:
                raise dialog.unsupported
            return dialog.answers() if accepted else None
        finally:
            if shiboken6.isValid(dialog):
                dialog.deleteLater()

    def answers(self) -> dict[str, list[str]]:
        """The answers as `core.sync` takes them: each challenge's exact prompt -> its answers."""
        return {
            challenge.prompt: answer.values()
            for challenge, answer in zip(self.prompt.challenges, self._answers, strict=True)
        }

    def showEvent(self, event) -> None:
        super().showEvent(event)
        fit_height(self)

    @Slot()
    def _update_submit(self) -> None:
        answered = all(answer.values() for answer in self._answers)
        self.submit_button.setEnabled(self.unsupported is None and answered)

    @Slot()
    def _submit(self) -> None:
        if self.submit_button.isEnabled():
            self.accept()


def _unsupported(prompt: MfaPrompt) -> UnsupportedChallenge | None:
    """The error of a prompt with a question that cannot be asked here, if it has one."""
    try:
        check_answerable(prompt.challenges)
    except UnsupportedChallenge as error:
        return error
    return None


class _Answer:
    """The field of one challenge, and the answers in it (trimmed, none empty)."""

    def __init__(self, widget: QWidget, values) -> None:
        self.widget = widget
        self.values = values

    @classmethod
    def for_challenge(cls, challenge: SecurityChallenge, name: str, changed) -> _Answer:
        if challenge.options and challenge.several_answers:
            return cls._check_boxes(challenge.options, name, changed)
        if challenge.options:
            combo = QComboBox(objectName=name)
            combo.addItems(list(challenge.options))
            combo.setPlaceholderText("Choose an answer")
            combo.setCurrentIndex(-1)  # a deliberate choice, not the first option by default
            combo.currentIndexChanged.connect(changed)
            return cls(combo, lambda: [combo.currentText()] if combo.currentText() else [])
        field = QLineEdit(objectName=name)
        field.setPlaceholderText("The customer's answer")
        field.textChanged.connect(changed)
        return cls(field, lambda: [field.text().strip()] if field.text().strip() else [])

    @classmethod
    def _check_boxes(cls, options: tuple[str, ...], name: str, changed) -> _Answer:
        box = QWidget(objectName=name)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        checks = []
        for option in options:
            check = QCheckBox(option.replace("&", "&&"))  # plain text, but "&" marks a shortcut
            check.toggled.connect(changed)
            column.addWidget(check)
            checks.append((check, option))
        return cls(box, lambda: [option for check, option in checks if check.isChecked()])
