"""The MFA dialog: the bank's security questions during a live refresh or a direct login.

    result = await sync.refresh(login_id, live=True, mfa=lambda prompt: MfaDialog.ask(window, prompt))

`MfaDialog.ask` is the `MfaCallback` of `core.sync`: it returns `{prompt: [answer]}`, or None when
the agent cancels (the sync then leaves the connection as it was). A wrong answer makes the sync
call it again with the bank's message, so the dialog comes back saying why.

Decisions a reader should know:

- **One dialog for all of a window's questions.** The main window asks through `ask_reusing`: a
  wrong answer, or the bank's next round of questions, shows the same `MfaDialog` object again with
  the new prompt (`set_prompt`), so a reference held by a test or a screen reader stays valid, and
  the window's `mfaRequested(dialog)` hands that object over each time it is shown. Its answer
  fields are new each time (look them up by objectName, as `findChild` sees only the current ones).

- **Never `exec()`.** The dialog is shown with `dialogs.open_and_wait`, so the asyncio loop (and
  every other sync) keeps running while it is open.
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

from collections.abc import Callable

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
from flinks_desktop.ui.dialogs import fit_height, open_and_wait
from flinks_desktop.ui.formatting import institution_name

#: Wide enough for a long question on two lines, narrow enough to read at a glance.
_DIALOG_WIDTH = 500


class MfaDialog(QDialog):
    """The bank's questions of one `MfaPrompt`, with an answer field for each.

    `set_prompt` shows another prompt in the same dialog (a wrong answer, the next round of
    questions): the window asks every question of a sync through one dialog (`ask_reusing`), so a
    reference to it, or a test's, stays good from the first question to the last.
    """

    def __init__(self, prompt: MfaPrompt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mfaDialog")
        self._title = QLabel(objectName="mfaTitle")
        self._title.setTextFormat(Qt.TextFormat.PlainText)
        self._title.setWordWrap(True)
        self._intro = QLabel(objectName="mfaIntro")
        self._intro.setWordWrap(True)

        self.error = QLabel(objectName="mfaError")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)

        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(28, 24, 28, 20)
        self._layout.setSpacing(10)
        self._layout.addWidget(self._title)
        self._layout.addWidget(self._intro)
        self._layout.addSpacing(2)
        self._layout.addWidget(self.error)
        #: The questions of the prompt shown, replaced as a whole by set_prompt.
        self._questions = QWidget()
        self._layout.addWidget(self._questions)

        self.cancel_button = QPushButton("Cancel", objectName="mfaCancel")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        self.submit_button = QPushButton("Submit answer", objectName="mfaSubmit")
        self.submit_button.clicked.connect(self._submit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.submit_button)
        self._layout.addStretch(1)
        self._layout.addSpacing(14)
        self._layout.addLayout(buttons)
        self.setFixedWidth(_DIALOG_WIDTH)

        self._answers: list[_Answer] = []
        self.set_prompt(prompt)

    def set_prompt(self, prompt: MfaPrompt) -> None:
        """Show `prompt`: its questions with empty answer fields and, on a retry, why the bank
        refused the last answer. The fields of the prompt shown before are gone."""
        self.prompt = prompt
        bank = institution_name(prompt.institution) if prompt.institution else "The bank"
        self.setWindowTitle(f"Security question — {bank}")
        several = len(prompt.challenges) > 1
        self._title.setText(f"{bank} asks {'security questions' if several else 'a security question'}")
        self._intro.setText(
            "The bank wants an answer before it sends fresh data. Ask the customer and type "
            f"{'each answer' if several else 'the answer'} as they give it. "
            "Answers go to Flinks only; they are not saved."
        )

        self.unsupported = _unsupported(prompt)
        self._intro.setVisible(self.unsupported is None)
        if self.unsupported is not None:  # no field to type in: the sentence says what to do instead
            self.error.setText(self.unsupported.user_message)
        elif prompt.retry_message:
            self.error.setText(f"The bank did not accept the answer: “{prompt.retry_message}”. Check it and try again.")
        else:
            self.error.clear()
        self.error.setVisible(bool(self.error.text()))

        # The previous questions leave the dialog at once (findChild no longer sees their fields),
        # and are deleted once Qt is done with them.
        old, self._questions = self._questions, QWidget()
        self._layout.replaceWidget(old, self._questions)
        old.hide()
        old.setParent(None)
        old.deleteLater()
        column = QVBoxLayout(self._questions)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        self._answers = []
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
            column.addSpacing(8)
            column.addLayout(question)
            self._answers.append(answer)
        self._questions.setVisible(bool(self._answers))

        self.cancel_button.setText("Cancel" if self.unsupported is None else "Close")
        self.submit_button.setText("Submit answers" if several else "Submit answer")
        self.submit_button.setVisible(self.unsupported is None)
        self.submit_button.setDefault(self.unsupported is None)
        self.cancel_button.setDefault(self.unsupported is not None)
        self._update_submit()
        if self._answers:
            self._answers[0].widget.setFocus()
        if self.isVisible():
            fit_height(self)

    @classmethod
    async def ask(cls, parent: QWidget | None, prompt: MfaPrompt) -> dict[str, list[str]] | None:
        """Ask the agent; `{prompt: [answers]}`, or None when cancelled. An `MfaCallback`.

        A dialog of its own, deleted once answered. Raises `UnsupportedChallenge`, once the agent has
        read it and closed the dialog, when the bank asks something that cannot be answered here.
        """
        dialog = cls(prompt, parent)
        try:
            return await dialog.run()
        finally:
            if shiboken6.isValid(dialog):
                dialog.deleteLater()

    @classmethod
    async def ask_reusing(
        cls, parent: QWidget, prompt: MfaPrompt, *, shown: Callable[[MfaDialog], None] | None = None
    ) -> dict[str, list[str]] | None:
        """`ask`, through the one MFA dialog `parent` keeps for all its questions (the main window's
        way): a wrong answer or another round of questions shows the same dialog object again, with
        the new prompt. `shown(dialog)` is called each time it is on screen.

        Should a second question come while the dialog is still asking, it gets a dialog of its own.
        """
        dialog = next(
            (
                child
                for child in parent.findChildren(cls, "mfaDialog", Qt.FindChildOption.FindDirectChildrenOnly)
                if child.property("reused") and not child.isVisible()
            ),
            None,
        )
        if dialog is None:
            dialog = cls(prompt, parent)
            dialog.setProperty("reused", True)
        else:
            dialog.set_prompt(prompt)
        return await dialog.run(shown=None if shown is None else lambda: shown(dialog))

    async def run(self, *, shown: Callable[[], None] | None = None) -> dict[str, list[str]] | None:
        """Show the prompt and wait for the agent: the answers, or None when cancelled. The dialog
        stays (hidden) afterwards; `ask` deletes its own."""
        accepted = await open_and_wait(self, shown=shown) == QDialog.DialogCode.Accepted.value
        if self.unsupported is not None:
            raise self.unsupported
        return self.answers() if accepted else None

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
