"""The MFA, delete-card and settings dialogs, driven as an agent would, on the qasync loop.

Each dialog's `ask(...)` is a coroutine: a test schedules it with `asyncio.ensure_future`, waits
for the dialog to be on screen, types and clicks, then waits for the coroutine's result. The
`qasync_loop` fixture makes pytest-qt's waits drive the asyncio loop, as the app's loop does.
The keyring is never the real one: each settings test installs an in-memory backend (or keyring's
own "fail" backend) and puts the previous one back afterwards.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import shiboken6
from focus_walk import walk
from keyring.backends import fail
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from flinks_desktop.core.environments import TOOLBOX_CUSTOMER_ID, SettingsError
from flinks_desktop.core.flinks import CardInUse, FlinksClient, MfaRequired, SecurityChallenge
from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.secret_store import NO_KEYRING_MESSAGE, SecretStore
from flinks_desktop.core.settings import Settings
from flinks_desktop.core.store import PurgeStats
from flinks_desktop.core.sync import DeleteResult, MfaPrompt, Sync, SyncInProgress
from flinks_desktop.ui.delete_card_dialog import DeleteCardDialog, DeleteChoice
from flinks_desktop.ui.mfa_dialog import MfaDialog
from flinks_desktop.ui.settings_dialog import SettingsDialog

CITY = "What city were you born in?"
ANSWERS = {
    CITY: "Montreal",
    "What is the best country on earth?": "Canada",
    "What shape do people like most?": "Triangle",
}
LOGIN_ID = "b0debb48-1f2c-4a3e-9d1a-08d7dd88d478"
CUSTOMER_ID = "5e115eac-1209-4f19-641c-08d6d484e2fe"
SECRET = "sk-live-7f3a9c21d4"


# -- helpers -----------------------------------------------------------------------------------------


@pytest.fixture
def parent(qtbot, qasync_loop) -> QWidget:
    """The window the dialogs open over."""
    window = QWidget()
    window.resize(900, 700)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def shown(qtbot, parent: QWidget, name: str, but_not: QDialog | None = None, timeout: int = 10_000) -> QDialog:
    """The dialog `name` once it is on screen over `parent` (a new one, when `but_not` is given)."""
    found: list[QDialog] = []

    def visible() -> bool:
        found[:] = [d for d in parent.findChildren(QDialog, name) if d.isVisible() and d is not but_not]
        return bool(found)

    qtbot.waitUntil(visible, timeout=timeout)
    return found[0]


def child(dialog: QDialog, kind: type, name: str):
    widget = dialog.findChild(kind, name)
    assert widget is not None, f"no {kind.__name__} named {name!r}"
    return widget


def click(qtbot, button: QAbstractButton) -> None:
    """A click where a person clicks: a radio button on its circle, a push button anywhere."""
    assert button.isEnabled() and button.isVisible(), button.objectName()
    at = QPoint(8, button.height() // 2) if isinstance(button, QRadioButton) else button.rect().center()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=at)


def result_of(qtbot, future: asyncio.Future):
    qtbot.waitUntil(future.done, timeout=10_000)
    return future.result()


def prompt(*challenges: SecurityChallenge, retry: str | None = None) -> MfaPrompt:
    return MfaPrompt(LOGIN_ID, "FlinksCapital", challenges, retry)


def question(text: str = CITY, *options: str) -> SecurityChallenge:
    return SecurityChallenge("MultipleChoice" if options else "QuestionAndAnswer", text, options)


# -- MFA -------------------------------------------------------------------------------------------------


def test_one_question_is_answered_trimmed(qtbot, parent):
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(question())))
    dialog = shown(qtbot, parent, "mfaDialog")

    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    assert child(dialog, QLabel, "mfaTitle").text() == "Flinks Capital asks a security question"
    assert child(dialog, QLabel, "mfaPrompt0").text() == CITY
    assert not child(dialog, QLabel, "mfaError").isVisible()
    submit = child(dialog, QPushButton, "mfaSubmit")
    answer = child(dialog, QLineEdit, "mfaAnswer0")
    assert answer.echoMode() == QLineEdit.EchoMode.Normal  # not a password at Flinks
    assert not submit.isEnabled()

    qtbot.keyClicks(answer, "   ")
    assert not submit.isEnabled()  # blanks are no answer
    qtbot.keyClicks(answer, "Montreal  ")
    click(qtbot, submit)

    assert result_of(qtbot, future) == {CITY: ["Montreal"]}


def test_two_questions_need_both_answers(qtbot, parent):
    second = "What is the best country on earth?"
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(question(), question(second))))
    dialog = shown(qtbot, parent, "mfaDialog")
    submit = child(dialog, QPushButton, "mfaSubmit")

    assert child(dialog, QLabel, "mfaPrompt1").text() == second
    qtbot.keyClicks(child(dialog, QLineEdit, "mfaAnswer0"), "Montreal")
    assert not submit.isEnabled()
    qtbot.keyClicks(child(dialog, QLineEdit, "mfaAnswer1"), "Canada")
    assert submit.isEnabled()
    qtbot.keyClick(child(dialog, QLineEdit, "mfaAnswer1"), Qt.Key.Key_Return)  # Enter submits

    assert result_of(qtbot, future) == {CITY: ["Montreal"], second: ["Canada"]}


def test_options_are_a_choice_with_nothing_chosen_at_first(qtbot, parent):
    challenge = question("Which street did you live on?", "Rue Sainte-Catherine", "Rue Sherbrooke")
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(challenge)))
    dialog = shown(qtbot, parent, "mfaDialog")
    choice = child(dialog, QComboBox, "mfaAnswer0")
    submit = child(dialog, QPushButton, "mfaSubmit")

    assert [choice.itemText(i) for i in range(choice.count())] == ["Rue Sainte-Catherine", "Rue Sherbrooke"]
    assert choice.currentIndex() == -1 and not submit.isEnabled()
    choice.setCurrentIndex(1)
    click(qtbot, submit)

    assert result_of(qtbot, future) == {"Which street did you live on?": ["Rue Sherbrooke"]}


def test_several_answers_are_check_boxes(qtbot, parent):
    challenge = SecurityChallenge("MultipleChoiceMultipleAnswers", "Which apply?", ("A & B", "C", "D"))
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(challenge)))
    dialog = shown(qtbot, parent, "mfaDialog")
    boxes = child(dialog, QWidget, "mfaAnswer0").findChildren(QCheckBox)

    assert not child(dialog, QPushButton, "mfaSubmit").isEnabled()
    boxes[0].setChecked(True)
    boxes[2].setChecked(True)
    click(qtbot, child(dialog, QPushButton, "mfaSubmit"))

    assert result_of(qtbot, future) == {"Which apply?": ["A & B", "D"]}


def test_an_unknown_challenge_type_gets_a_text_field(qtbot, parent):
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(SecurityChallenge("TextOnly", "Your PIN hint?"))))
    dialog = shown(qtbot, parent, "mfaDialog")
    qtbot.keyClicks(child(dialog, QLineEdit, "mfaAnswer0"), "blue")
    click(qtbot, child(dialog, QPushButton, "mfaSubmit"))
    assert result_of(qtbot, future) == {"Your PIN hint?": ["blue"]}


def test_bank_text_is_shown_literally_never_as_html(qtbot, parent):
    html = '<b>x</b> <img src="https://evil.example/p.png">'
    future = asyncio.ensure_future(
        MfaDialog.ask(
            parent, MfaPrompt(LOGIN_ID, "<i>Bank</i>", (question(html),), retry_message="<a href='x'>wrong</a>")
        )
    )
    dialog = shown(qtbot, parent, "mfaDialog")

    for name in ("mfaPrompt0", "mfaError", "mfaTitle"):
        label = child(dialog, QLabel, name)
        assert label.textFormat() == Qt.TextFormat.PlainText, name
    assert child(dialog, QLabel, "mfaPrompt0").text() == html
    assert "<a href='x'>wrong</a>" in child(dialog, QLabel, "mfaError").text()
    assert child(dialog, QLabel, "mfaTitle").text().startswith("<i>Bank</i>")
    click(qtbot, child(dialog, QPushButton, "mfaCancel"))
    assert result_of(qtbot, future) is None


def test_the_banks_retry_message_is_shown(qtbot, parent):
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(question(), retry="The security response is invalid")))
    dialog = shown(qtbot, parent, "mfaDialog")
    error = child(dialog, QLabel, "mfaError")
    assert error.isVisible()
    assert error.text() == (
        "The bank did not accept the answer: “The security response is invalid”. Check it and try again."
    )
    assert child(dialog, QLineEdit, "mfaAnswer0").text() == ""  # the wrong answer is not kept
    dialog.reject()
    assert result_of(qtbot, future) is None


def test_cancel_or_escape_answers_none(qtbot, parent):
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(question())))
    dialog = shown(qtbot, parent, "mfaDialog")
    qtbot.keyClicks(child(dialog, QLineEdit, "mfaAnswer0"), "Montreal")
    click(qtbot, child(dialog, QPushButton, "mfaCancel"))
    assert result_of(qtbot, future) is None

    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(question())))
    dialog = shown(qtbot, parent, "mfaDialog", but_not=dialog)
    qtbot.keyClick(child(dialog, QLineEdit, "mfaAnswer0"), Qt.Key.Key_Escape)
    assert result_of(qtbot, future) is None


def test_the_loop_keeps_running_while_the_dialog_is_open(qtbot, parent):
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(question())))
    dialog = shown(qtbot, parent, "mfaDialog")
    ticking = asyncio.ensure_future(ticker())
    qtbot.waitUntil(lambda: ticks >= 5, timeout=5000)
    assert dialog.isVisible() and not future.done()
    ticking.cancel()
    dialog.reject()
    assert result_of(qtbot, future) is None


def test_cancelling_the_waiting_task_closes_the_dialog(qtbot, parent):
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(question())))
    dialog = shown(qtbot, parent, "mfaDialog")
    future.cancel()
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())


def test_a_live_refresh_asks_again_after_a_wrong_answer(qtbot, parent, flinks_sandbox, tmp_path):
    """The real engine: a Greatday login linked in the sandbox, refreshed live through the dialog."""

    async def scenario():
        async with FlinksClient(flinks_sandbox.api_url, poll_interval=0.01) as flinks:
            result = await flinks.authorize_credentials("FlinksCapital", "Greatday", "Everyday")
            while isinstance(result, MfaRequired):  # what Connect does for the customer
                result = await flinks.answer_mfa(
                    result.request_id, {c.prompt: [ANSWERS[c.prompt]] for c in result.challenges}
                )
            login_id = result.login.id
        async with FlinksClient(flinks_sandbox.api_url, poll_interval=0.01) as client:
            sync = Sync(client, tmp_path / "cache.db", environment="Offline sandbox", statements=None)
            try:
                assert (await sync.link(login_id, "FlinksCapital")).ok
                return await sync.refresh(login_id, live=True, mfa=lambda p: MfaDialog.ask(parent, p))
            finally:
                await sync.close()

    future = asyncio.ensure_future(scenario())
    first = shown(qtbot, parent, "mfaDialog", timeout=15_000)
    asked = child(first, QLabel, "mfaPrompt0").text()
    assert asked in ANSWERS  # the sandbox takes its questions in turn: Connect had the first one
    assert not child(first, QLabel, "mfaError").isVisible()
    qtbot.keyClicks(child(first, QLineEdit, "mfaAnswer0"), "Atlantis")
    click(qtbot, child(first, QPushButton, "mfaSubmit"))

    again = shown(qtbot, parent, "mfaDialog", but_not=first)
    assert child(again, QLabel, "mfaPrompt0").text() == asked
    assert child(again, QLabel, "mfaError").isVisible()
    assert "The security response is invalid" in child(again, QLabel, "mfaError").text()
    qtbot.keyClicks(child(again, QLineEdit, "mfaAnswer0"), ANSWERS[asked])
    click(qtbot, child(again, QPushButton, "mfaSubmit"))

    result = result_of(qtbot, future)
    assert result.ok, result.message
    assert result.snapshot.accounts == 4


# -- delete card ---------------------------------------------------------------------------------------


def ask_delete(parent: QWidget) -> asyncio.Future:
    return asyncio.ensure_future(
        DeleteCardDialog.ask(parent, institution="FlinksCapital", username="Greatday", login_id=LOGIN_ID)
    )


def texts(dialog: QDialog) -> str:
    return "\n".join(label.text() for label in dialog.findChildren(QLabel) if label.isVisible())


def test_delete_says_what_will_happen_and_waits_for_a_deliberate_confirmation(qtbot, parent):
    future = ask_delete(parent)
    dialog = shown(qtbot, parent, "deleteCardDialog")
    words = texts(dialog)

    assert "Flinks Capital" in words and "Greatday" in words and mask_id(LOGIN_ID) in words
    assert LOGIN_ID not in words  # masked
    assert "everything it holds for this login: it cannot be refreshed again" in words
    assert "accounts, transactions and statements" in words
    assert "activity log keeps a line saying when and by whom" in words
    assert child(dialog, QRadioButton, "deleteAtFlinks").isChecked()

    confirm = child(dialog, QPushButton, "deleteConfirmButton")
    field = child(dialog, QLineEdit, "deleteConfirmInput")
    assert not confirm.isEnabled()
    qtbot.keyClicks(field, "d47")
    assert not confirm.isEnabled()
    qtbot.keyClicks(field, "9")
    assert not confirm.isEnabled()
    field.clear()
    qtbot.keyClicks(field, "D478")  # case does not matter
    assert confirm.isEnabled() and confirm.text() == "Delete card"
    click(qtbot, confirm)

    assert result_of(qtbot, future) == DeleteChoice(local_only=False)


def test_delete_from_this_computer_only(qtbot, parent):
    future = ask_delete(parent)
    dialog = shown(qtbot, parent, "deleteCardDialog")
    click(qtbot, child(dialog, QRadioButton, "deleteLocalOnly"))
    qtbot.keyClicks(child(dialog, QLineEdit, "deleteConfirmInput"), "d478")
    confirm = child(dialog, QPushButton, "deleteConfirmButton")
    assert confirm.text() == "Remove from this computer"
    qtbot.keyClick(child(dialog, QLineEdit, "deleteConfirmInput"), Qt.Key.Key_Return)
    assert result_of(qtbot, future) == DeleteChoice(local_only=True)


def test_cancelling_a_delete_answers_none(qtbot, parent):
    future = ask_delete(parent)
    dialog = shown(qtbot, parent, "deleteCardDialog")
    click(qtbot, child(dialog, QPushButton, "deleteCancelButton"))
    assert result_of(qtbot, future) is None


def run_delete(parent: QWidget, delete) -> asyncio.Future:
    return asyncio.ensure_future(
        DeleteCardDialog.ask_and_run(
            parent, institution="FlinksCapital", username="Greatday", login_id=LOGIN_ID, delete=delete
        )
    )


def confirm_delete(qtbot, dialog: QDialog) -> None:
    qtbot.keyClicks(child(dialog, QLineEdit, "deleteConfirmInput"), "d478")
    click(qtbot, child(dialog, QPushButton, "deleteConfirmButton"))


def test_ask_and_run_shows_deleting_then_the_outcome(qtbot, parent):
    calls: list[bool] = []
    flinks_answers = asyncio.Event()
    done = DeleteResult(
        LOGIN_ID,
        True,
        PurgeStats(True, 4, 120, 3),
        "The card was deleted at Flinks and its data removed from this computer.",
    )

    async def delete(local_only: bool) -> DeleteResult:
        calls.append(local_only)
        await flinks_answers.wait()
        return done

    future = run_delete(parent, delete)
    dialog = shown(qtbot, parent, "deleteCardDialog")
    confirm_delete(qtbot, dialog)

    title = child(dialog, QLabel, "deleteTitle")
    qtbot.waitUntil(lambda: title.text() == "Deleting…")
    assert child(dialog, QLabel, "deleteProgress").isVisible()
    assert not child(dialog, QPushButton, "deleteConfirmButton").isVisible()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # nothing closes it while Flinks is asked
    assert dialog.isVisible()

    flinks_answers.set()
    qtbot.waitUntil(lambda: title.text() == "Deleted")
    assert child(dialog, QLabel, "deleteOutcome").text() == done.message
    assert not child(dialog, QPushButton, "deleteRetryButton").isVisible()
    assert not future.done()  # the agent reads the outcome first
    click(qtbot, child(dialog, QPushButton, "deleteCloseButton"))

    assert result_of(qtbot, future) is done
    assert calls == [False]


def test_a_failed_delete_says_nothing_was_deleted_and_can_be_tried_again(qtbot, parent):
    refused = DeleteResult(
        LOGIN_ID,
        False,
        None,
        "Flinks did not delete the card, so nothing was removed: "
        "Flinks is still processing this login. Try again in a few minutes.",
        CardInUse("Flinks is still processing this login. Try again in a few minutes.", flinks_code="CARD_IN_USE"),
    )
    removed = DeleteResult(
        LOGIN_ID,
        False,
        PurgeStats(True, 4, 120, 3),
        "The connection's data was removed from this computer. Flinks still holds the card.",
    )
    answers = [refused, removed]
    calls: list[bool] = []

    async def delete(local_only: bool) -> DeleteResult:
        calls.append(local_only)
        return answers.pop(0)

    future = run_delete(parent, delete)
    dialog = shown(qtbot, parent, "deleteCardDialog")
    click(qtbot, child(dialog, QRadioButton, "deleteLocalOnly"))
    confirm_delete(qtbot, dialog)

    title = child(dialog, QLabel, "deleteTitle")
    qtbot.waitUntil(lambda: title.text() == "Nothing was deleted")
    assert child(dialog, QLabel, "deleteOutcome").text() == refused.message
    assert "still here, unchanged" in child(dialog, QLabel, "deleteOutcomeNext").text()
    click(qtbot, child(dialog, QPushButton, "deleteRetryButton"))

    qtbot.waitUntil(lambda: title.text() == "Removed from this computer")
    click(qtbot, child(dialog, QPushButton, "deleteCloseButton"))
    assert result_of(qtbot, future) is removed
    assert calls == [True, True]  # the retry keeps the agent's choice


def test_a_delete_refused_before_it_starts_is_a_sentence(qtbot, parent):
    async def delete(local_only: bool) -> DeleteResult:
        raise SyncInProgress(LOGIN_ID, "being refreshed")

    future = run_delete(parent, delete)
    dialog = shown(qtbot, parent, "deleteCardDialog")
    confirm_delete(qtbot, dialog)

    title = child(dialog, QLabel, "deleteTitle")
    qtbot.waitUntil(lambda: title.text() == "Nothing was deleted")
    assert child(dialog, QLabel, "deleteOutcome").text() == str(SyncInProgress(LOGIN_ID, "being refreshed"))
    click(qtbot, child(dialog, QPushButton, "deleteCloseButton"))
    assert result_of(qtbot, future) is None


# -- settings ----------------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def open_settings(qtbot, parent, settings: Settings, secrets: SecretStore, data_dir: Path):
    future = asyncio.ensure_future(SettingsDialog.ask(parent, settings, secrets, data_dir))
    return future, shown(qtbot, parent, "settingsDialog")


def select(qtbot, dialog: QDialog, name: str) -> None:
    environments = child(dialog, QListWidget, "environmentList")
    rows = [i for i in range(environments.count()) if environments.item(i).text().split("\n")[0] == name]
    assert rows, name
    environments.setCurrentRow(rows[0])


def fill_new_instance(qtbot, dialog: QDialog, name: str, instance: str, customer_id: str) -> None:
    click(qtbot, child(dialog, QPushButton, "addEnvironmentButton"))
    qtbot.keyClicks(child(dialog, QLineEdit, "instanceName"), name)
    qtbot.keyClicks(child(dialog, QLineEdit, "instanceId"), instance)
    qtbot.keyClicks(child(dialog, QLineEdit, "customerId"), customer_id)


def test_a_private_instance_is_added_through_the_form(qtbot, parent, memory_keyring, data_dir):
    settings = Settings(data_dir)
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), data_dir)
    fill_new_instance(qtbot, dialog, "Acme Corp", "acme", CUSTOMER_ID)
    environments = child(dialog, QListWidget, "environmentList")
    assert not environments.isEnabled()  # unsaved: save or discard first

    table = child(dialog, QTableWidget, "connectParameters")
    click(qtbot, child(dialog, QPushButton, "addParameterButton"))
    table.setItem(0, 0, QTableWidgetItem("customerName"))
    table.setItem(0, 1, QTableWidgetItem("Acme"))
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))

    acme = Settings.load(data_dir).environment("Acme Corp")  # written to the file
    assert (acme.kind, acme.instance, acme.customer_id) == ("private", "acme", CUSTOMER_ID)
    assert dict(acme.connect_parameters) == {"customerName": "Acme"}
    assert settings.environment("Acme Corp").slug == acme.slug
    assert environments.isEnabled() and environments.currentItem().text().startswith("Acme Corp\n")
    assert child(dialog, QLineEdit, "instanceId").isReadOnly()  # fixed once added
    assert child(dialog, QLineEdit, "customerId").isReadOnly()
    assert not child(dialog, QPushButton, "saveSettingsButton").isEnabled()

    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    assert result_of(qtbot, future) is True


def test_connect_parameters_are_typed_with_tab_and_tab_leaves_the_table(qtbot, parent, memory_keyring, data_dir):
    settings = Settings(data_dir)
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), data_dir)
    fill_new_instance(qtbot, dialog, "Acme Corp", "acme", CUSTOMER_ID)
    table = child(dialog, QTableWidget, "connectParameters")
    add = child(dialog, QPushButton, "addParameterButton")
    dialog.activateWindow()

    def type_row(name: str, value: str) -> None:
        click(qtbot, add)  # a new row, its name being edited
        qtbot.keyClicks(QApplication.focusWidget(), name)
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)  # on to its value
        qtbot.keyClicks(QApplication.focusWidget(), value)
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)  # the last value: out of the table

    type_row("customerName", "Acme")
    assert QApplication.focusWidget() is add
    type_row("theme", "light")
    assert QApplication.focusWidget() is add, "Tab after the last value leaves the table"
    rows = [(table.item(row, 0).text(), table.item(row, 1).text()) for row in range(table.rowCount())]
    assert rows == [("customerName", "Acme"), ("theme", "light")]

    # Shift+Tab comes back into the table and walks it backwards, then out before the first name.
    qtbot.keyClick(add, Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is table and (table.currentRow(), table.currentColumn()) == (1, 1)
    for cell in ((1, 0), (0, 1), (0, 0)):
        qtbot.keyClick(table, Qt.Key.Key_Backtab)
        assert (table.currentRow(), table.currentColumn()) == cell
    qtbot.keyClick(table, Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is child(dialog, QComboBox, "waitLimitUnit")  # the field above the table

    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))
    assert dict(Settings.load(data_dir).environment("Acme Corp").connect_parameters) == {
        "customerName": "Acme",
        "theme": "light",
    }
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    assert result_of(qtbot, future) is True


def test_an_invalid_customer_id_shows_the_sentence_core_gives(qtbot, parent, memory_keyring, data_dir):
    with pytest.raises(SettingsError) as expected:
        Settings(data_dir).add_private("Beta", "beta", "not-a-guid")
    settings = Settings(data_dir)
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), data_dir)
    fill_new_instance(qtbot, dialog, "Beta", "beta", "not-a-guid")
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))

    error = child(dialog, QLabel, "settingsError")
    assert error.isVisible() and error.text() == str(expected.value)
    assert "is not valid: it is a GUID given by Flinks" in error.text()
    assert [e.name for e in settings.environments() if e.kind == "private"] == []
    assert not settings.path.exists()

    customer = child(dialog, QLineEdit, "customerId")
    assert customer.property("invalid") is True and customer.hasFocus()  # the field that is wrong
    assert not child(dialog, QLineEdit, "instanceName").property("invalid")

    click(qtbot, child(dialog, QPushButton, "discardChangesButton"))
    assert not error.isVisible()
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    assert result_of(qtbot, future) is False


def test_every_field_that_is_wrong_is_said_at_once_and_marked(qtbot, parent, memory_keyring, data_dir):
    settings = Settings(data_dir)
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), data_dir)
    fill_new_instance(qtbot, dialog, "Offline sandbox", "bad url with spaces", "not-a-guid")
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))

    error = child(dialog, QLabel, "settingsError")
    lines = error.text().split("\n")
    assert lines[0] == 'There is already an environment named "Offline sandbox".'
    assert lines[1].startswith('The instance name "bad url with spaces" is not valid')
    assert lines[2].startswith('The customer id "not-a-guid" is not valid')
    fields = [child(dialog, QLineEdit, name) for name in ("instanceName", "instanceId", "customerId")]
    assert [field.property("invalid") for field in fields] == [True, True, True]
    assert fields[0].hasFocus()  # the first one, to fix first
    assert [e.name for e in settings.environments() if e.kind == "private"] == [] and not settings.path.exists()

    # Editing a field takes its mark away; the next Save says only what is still wrong.
    fields[0].selectAll()
    qtbot.keyClicks(fields[0], "Beta")
    assert fields[0].property("invalid") is False
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))
    assert len(error.text().split("\n")) == 2 and fields[0].property("invalid") is False
    click(qtbot, child(dialog, QPushButton, "discardChangesButton"))  # another form: no marks left
    assert not any(field.property("invalid") for field in fields) and not error.isVisible()
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    assert result_of(qtbot, future) is False


def test_a_secret_shows_only_as_set_and_never_comes_back(qtbot, parent, memory_keyring, data_dir, caplog):
    caplog.set_level(logging.DEBUG)
    settings = Settings(data_dir)
    settings.add_private("Acme Corp", "acme", CUSTOMER_ID)
    secrets = SecretStore()
    future, dialog = open_settings(qtbot, parent, settings, secrets, data_dir)
    select(qtbot, dialog, "Acme Corp")
    status = child(dialog, QLabel, "authSecretStatus")
    assert status.text() == "not set" and child(dialog, QLabel, "apiKeyStatus").text() == "not set"

    field = child(dialog, QLineEdit, "authSecretInput")
    assert field.echoMode() == QLineEdit.EchoMode.Password
    qtbot.keyClicks(field, SECRET)
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))

    acme = settings.environment("Acme Corp")
    assert secrets.get(acme, "auth-secret") == SECRET
    assert status.text() == "set" and child(dialog, QLabel, "apiKeyStatus").text() == "not set"
    assert SECRET not in widget_texts(dialog)
    assert SECRET not in settings.path.read_text() and SECRET not in caplog.text

    click(qtbot, child(dialog, QPushButton, "authSecretClear"))
    assert status.text() == "not set" and secrets.get(acme, "auth-secret") is None
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    assert result_of(qtbot, future) is True


def widget_texts(dialog: QDialog) -> str:
    """Every text a widget of `dialog` holds or shows."""
    parts = [dialog.windowTitle()]
    for widget in dialog.findChildren(QWidget):
        parts += [widget.toolTip(), widget.accessibleName(), widget.windowTitle()]
        if isinstance(widget, (QLabel, QLineEdit, QAbstractButton)):
            parts.append(widget.text())
        if isinstance(widget, QLineEdit):
            parts.append(widget.placeholderText())
        if isinstance(widget, QComboBox):
            parts += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QListWidget):
            parts += [widget.item(i).text() for i in range(widget.count())]
        if isinstance(widget, QTableWidget):
            parts += [
                widget.item(r, c).text()
                for r in range(widget.rowCount())
                for c in range(2)
                if widget.item(r, c) is not None
            ]
    return "\n".join(parts)


def test_built_ins_are_read_only_and_the_toolbox_takes_secrets(qtbot, parent, memory_keyring, data_dir):
    future, dialog = open_settings(qtbot, parent, Settings(data_dir), SecretStore(), data_dir)
    assert child(dialog, QLabel, "environmentTitle").text() == "Offline sandbox"  # the one in use
    assert not child(dialog, QWidget, "authSecretInput").isVisible()
    assert child(dialog, QLabel, "noSecretsHint").isVisible()

    select(qtbot, dialog, "Flinks toolbox")
    assert child(dialog, QLineEdit, "instanceName").isReadOnly()
    assert child(dialog, QLineEdit, "customerId").text() == TOOLBOX_CUSTOMER_ID
    assert not child(dialog, QTableWidget, "connectParameters").isEnabled()
    hint = child(dialog, QLabel, "connectParametersHint")
    assert hint.text() == "A built-in environment opens Connect with the app's defaults."
    assert not child(dialog, QPushButton, "addParameterButton").isVisible()
    assert not child(dialog, QTableWidget, "connectParameters").isVisible()  # it has none
    assert child(dialog, QLineEdit, "apiKeyInput").isVisible()
    assert not child(dialog, QPushButton, "saveSettingsButton").isEnabled()
    click(qtbot, child(dialog, QPushButton, "addEnvironmentButton"))  # a private instance takes parameters
    assert child(dialog, QTableWidget, "connectParameters").isEnabled()
    assert hint.text() == "Added to the Connect URL, over the app's defaults."
    assert child(dialog, QPushButton, "addParameterButton").isVisible()
    assert child(dialog, QTableWidget, "connectParameters").isVisible()
    click(qtbot, child(dialog, QPushButton, "discardChangesButton"))
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    assert result_of(qtbot, future) is False


def test_another_environment_can_be_put_in_use(qtbot, parent, memory_keyring, data_dir):
    settings = Settings(data_dir)
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), data_dir)
    select(qtbot, dialog, "Flinks toolbox")
    click(qtbot, child(dialog, QPushButton, "useEnvironmentButton"))
    assert settings.active.name == "Flinks toolbox"
    assert Settings.load(data_dir).active.name == "Flinks toolbox"
    assert child(dialog, QListWidget, "environmentList").currentItem().text() == "Flinks toolbox\nBuilt in · in use"
    dialog.reject()
    assert result_of(qtbot, future) is True


def test_without_a_keyring_the_status_says_so(qtbot, parent, use_keyring, data_dir):
    use_keyring(fail.Keyring())
    future, dialog = open_settings(qtbot, parent, Settings(data_dir), SecretStore(), data_dir)
    status = child(dialog, QLabel, "keyringStatus")
    assert status.isVisible() and status.text() == NO_KEYRING_MESSAGE
    dialog.reject()
    assert result_of(qtbot, future) is False


def test_the_data_directory_is_shown_and_opens(qtbot, parent, memory_keyring, data_dir, monkeypatch):
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    future, dialog = open_settings(qtbot, parent, Settings(data_dir), SecretStore(), data_dir)
    label = child(dialog, QLabel, "dataDirectory")
    assert label.text() == str(data_dir)
    assert label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    click(qtbot, child(dialog, QPushButton, "openDataDirectoryButton"))
    assert opened == [QUrl.fromLocalFile(str(data_dir))]
    dialog.reject()
    assert result_of(qtbot, future) is False


def test_edits_lock_the_list_until_saved_or_discarded(qtbot, parent, memory_keyring, data_dir):
    settings = Settings(data_dir)
    settings.add_private("Acme Corp", "acme", CUSTOMER_ID, connect_parameters={"customerName": "Acme"})
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), data_dir)
    select(qtbot, dialog, "Acme Corp")
    environments = child(dialog, QListWidget, "environmentList")
    name = child(dialog, QLineEdit, "instanceName")

    qtbot.keyClicks(name, " (old)")
    assert not environments.isEnabled() and child(dialog, QLabel, "environmentListLocked").isVisible()
    click(qtbot, child(dialog, QPushButton, "discardChangesButton"))
    assert environments.isEnabled() and name.text() == "Acme Corp"

    name.clear()
    qtbot.keyClicks(name, "Acme Corp - production")
    child(dialog, QComboBox, "daysOfTransactions").setCurrentIndex(1)
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))
    acme = Settings.load(data_dir).environment("Acme Corp - production")
    assert acme.days_of_transactions == "Days365" and dict(acme.connect_parameters) == {"customerName": "Acme"}
    assert child(dialog, QLabel, "settingsSaved").text() == "Saved."
    dialog.reject()
    assert result_of(qtbot, future) is True


def test_a_settings_file_that_cannot_be_written_changes_nothing(qtbot, parent, memory_keyring, data_dir, monkeypatch):
    settings = Settings(data_dir)

    def refuse() -> None:
        raise SettingsError(f"Flinks Desktop cannot save its settings in {settings.path} (Read-only file system).")

    monkeypatch.setattr(settings, "save", refuse)
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), data_dir)
    fill_new_instance(qtbot, dialog, "Acme Corp", "acme", CUSTOMER_ID)
    qtbot.keyClicks(child(dialog, QLineEdit, "apiKeyInput"), SECRET)
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))

    assert child(dialog, QLabel, "settingsError").text().startswith("Flinks Desktop cannot save its settings")
    assert [e for e in settings.environments() if e.kind == "private"] == []  # taken back out of memory
    assert memory_keyring.entries == {}  # nor was a secret kept for it
    dialog.reject()
    assert result_of(qtbot, future) is False


def test_a_deletion_that_fails_unexpectedly_is_a_sentence_then_raises(qtbot, parent, caplog):
    async def delete(local_only: bool) -> DeleteResult:
        raise RuntimeError("a bug")

    future = run_delete(parent, delete)
    dialog = shown(qtbot, parent, "deleteCardDialog")
    confirm_delete(qtbot, dialog)
    outcome = child(dialog, QLabel, "deleteOutcome")
    qtbot.waitUntil(outcome.isVisible)
    assert outcome.text().startswith("Something unexpected went wrong")
    click(qtbot, child(dialog, QPushButton, "deleteCloseButton"))
    qtbot.waitUntil(future.done)
    with pytest.raises(RuntimeError, match="a bug"):
        future.result()


def test_closing_the_window_under_the_dialog_answers_none(qtbot, qasync_loop):
    window = QWidget()
    window.show()
    future = asyncio.ensure_future(MfaDialog.ask(window, prompt(question())))
    shown(qtbot, window, "mfaDialog")
    window.close()
    window.deleteLater()
    assert result_of(qtbot, future) is None


def test_an_ampersand_in_a_prompt_stays_an_ampersand(qtbot, parent):
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(question("Your Q&A word?"))))
    dialog = shown(qtbot, parent, "mfaDialog")
    label = child(dialog, QLabel, "mfaPrompt0")
    assert label.text() == "Your Q&A word?" and label.buddy() is None  # a buddy makes "&" a shortcut
    assert child(dialog, QLineEdit, "mfaAnswer0").accessibleName() == "Your Q&A word?"
    dialog.reject()
    assert result_of(qtbot, future) is None


def test_a_private_instance_not_in_use_can_be_removed_with_its_secrets(qtbot, parent, memory_keyring, data_dir):
    settings = Settings(data_dir)
    acme = settings.add_private("Acme Corp", "acme", CUSTOMER_ID)
    settings.save()
    secrets = SecretStore()
    secrets.set(acme, "api-key", SECRET)
    future, dialog = open_settings(qtbot, parent, settings, secrets, data_dir)
    remove = child(dialog, QPushButton, "removeEnvironmentButton")
    assert not remove.isEnabled()  # the offline sandbox, built in and in use
    select(qtbot, dialog, "Acme Corp")
    assert remove.isEnabled()
    click(qtbot, remove)
    box = shown(qtbot, dialog, "removeEnvironmentBox")
    assert "Acme Corp" in box.text() and "stay on disk" in box.text()
    click(qtbot, box.button(QMessageBox.StandardButton.Yes))

    qtbot.waitUntil(lambda: "Acme Corp" not in [e.name for e in settings.environments()])
    assert "Acme Corp" not in [e.name for e in Settings.load(data_dir).environments()]  # the file too
    assert secrets.get(acme, "api-key") is None and SECRET not in str(memory_keyring.entries)
    assert child(dialog, QLabel, "settingsSaved").text() == "“Acme Corp” was removed."
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    assert result_of(qtbot, future) is True


def test_the_environment_in_use_is_not_changed_while_a_sync_runs(qtbot, parent, memory_keyring, data_dir):
    settings = Settings(data_dir)
    acme = settings.add_private("Acme Corp", "acme", CUSTOMER_ID)
    settings.set_active("Acme Corp")
    settings.save()
    secrets = SecretStore()
    reason = "A sync or a deletion is running in this environment: wait for it to finish."
    busy = [reason]
    future = asyncio.ensure_future(SettingsDialog.ask(parent, settings, secrets, data_dir, busy=lambda: busy[0]))
    dialog = shown(qtbot, parent, "settingsDialog")
    select(qtbot, dialog, "Acme Corp")
    qtbot.keyClicks(child(dialog, QLineEdit, "apiKeyInput"), SECRET)
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))
    error = child(dialog, QLabel, "settingsError")
    assert error.isVisible() and error.text() == reason
    assert secrets.get(acme, "api-key") is None  # nothing changed under the running sync

    click(qtbot, child(dialog, QPushButton, "discardChangesButton"))
    select(qtbot, dialog, "Flinks toolbox")
    click(qtbot, child(dialog, QPushButton, "useEnvironmentButton"))
    assert error.isVisible() and error.text() == reason
    assert Settings.load(data_dir).active.name == "Acme Corp"

    busy[0] = None  # the sync ended: the same Save goes through
    select(qtbot, dialog, "Acme Corp")
    qtbot.keyClicks(child(dialog, QLineEdit, "apiKeyInput"), SECRET)
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))
    assert secrets.get(acme, "api-key") == SECRET
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    assert result_of(qtbot, future) is True


# -- keyboard ----------------------------------------------------------------------------------------


def test_each_dialog_by_keyboard(qtbot, parent, memory_keyring, data_dir):
    """Tab goes round each dialog in reading order from where it opens, and every stop has a name a
    screen reader says (`focus_walk.walk` checks both); a disabled button is no stop."""
    from flinks_desktop.ui.open_login_ids_dialog import OpenLoginIdsDialog

    parent.activateWindow()
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(question(), question("Which colour?", "Red", "Blue"))))
    dialog = shown(qtbot, parent, "mfaDialog")
    assert walk(qtbot, child(dialog, QLineEdit, "mfaAnswer0"), Qt.Key.Key_Tab) == ["mfaAnswer1", "mfaCancel"]
    dialog.reject()
    assert result_of(qtbot, future) is None

    future = ask_delete(parent)
    dialog = shown(qtbot, parent, "deleteCardDialog")
    stops = walk(qtbot, child(dialog, QLineEdit, "deleteConfirmInput"), Qt.Key.Key_Tab)
    assert stops == ["deleteCancelButton", "deleteAtFlinks"]  # the choice is one stop: the arrows pick
    dialog.reject()
    assert result_of(qtbot, future) is None

    future, dialog = open_settings(qtbot, parent, Settings(data_dir), SecretStore(), data_dir)
    stops = walk(qtbot, child(dialog, QListWidget, "environmentList"), Qt.Key.Key_Tab)
    assert stops == [
        "addEnvironmentButton",
        "instanceName",
        "instanceId",
        "customerId",
        "waitLimit",
        "openDataDirectoryButton",
        "closeSettingsButton",
    ]
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    result_of(qtbot, future)

    future = asyncio.ensure_future(OpenLoginIdsDialog.ask(parent, ""))
    dialog = shown(qtbot, parent, "openLoginIdsDialog")
    stops = walk(qtbot, dialog.findChild(QWidget, "loginIdsInput"), Qt.Key.Key_Tab)
    assert stops == ["openLoginIdsFileButton", "cancelOpenLoginIdsButton"]
    dialog.reject()
    assert not result_of(qtbot, future)


@pytest.mark.parametrize(
    ("suggested", "safe"),
    [
        ("Flinks Capital - Greatday - transactions.csv", "Flinks Capital - Greatday - transactions.csv"),
        ("Flinks Capital - DOMAIN\\agent - transactions.csv", "Flinks Capital - DOMAIN-agent - transactions.csv"),
        ("RBC - a/b: c? - transactions.csv", "RBC - a-b- c- - transactions.csv"),
        ("...", "export"),
    ],
)
def test_a_suggested_file_name_is_one_file_on_any_system(suggested, safe):
    from flinks_desktop.ui.dialogs import file_name

    assert file_name(suggested) == safe
