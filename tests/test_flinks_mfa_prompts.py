"""The kinds of MFA Flinks asks, put to a person by the GUI dialog and by the terminal prompt:
text questions, a multiple choice (`Iterables`) picked by number, several answers, several
questions at once, and a question that cannot be asked here (an image), which ends in the sentence
that sends the agent to Flinks Connect, never a crash. (The dialog's basics: test_dialogs.py.)"""

from __future__ import annotations

import asyncio
import io
import sys

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QPushButton, QWidget
from scripted_server import ScriptedServer, json_reply
from test_cli import home, run  # noqa: F401 - fixtures: a data directory of the test's own, main() in-process
from test_dialogs import child, click, parent, result_of, shown  # noqa: F401 - `parent` is a fixture

from flinks_desktop.core.environments import TOOLBOX_CUSTOMER_ID
from flinks_desktop.core.flinks import SecurityChallenge, UnsupportedChallenge
from flinks_desktop.core.sync import MfaPrompt
from flinks_desktop.terminal import Progress, TerminalMfa
from flinks_desktop.ui.mfa_dialog import MfaDialog

LOGIN_ID = "b0debb48-f9f1-46c6-80a4-08d7dd88d478"
CITY = SecurityChallenge("QuestionAndAnswer", "What city were you born in?")
STREET = SecurityChallenge(
    "MultipleChoice",
    "Which street did you live on?",
    ("Rue Sainte-Catherine", "Rue Sherbrooke", "Boulevard Saint-Laurent"),
)
SEVERAL = SecurityChallenge("MultipleChoiceMultipleAnswers", "Which cards do you hold?", ("Visa", "Amex", "7"))
IMAGE = SecurityChallenge("ImageSelection", "Pick your image", (), "an image to choose from")
CONNECT_SENTENCE = (
    "The bank asks a security question this app cannot show (an image to choose from). "
    "Use Flinks Connect for this connection: it shows every kind of question."
)


def prompt(*challenges: SecurityChallenge) -> MfaPrompt:
    return MfaPrompt(LOGIN_ID, "FlinksCapital", challenges)


# -- the dialog ----------------------------------------------------------------------------------------


def test_the_dialog_asks_a_text_question_and_a_choice_together(qtbot, parent):
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(CITY, STREET)))
    dialog = shown(qtbot, parent, "mfaDialog")
    assert child(dialog, QLabel, "mfaTitle").text() == "Flinks Capital asks security questions"
    choice = child(dialog, QComboBox, "mfaAnswer1")
    qtbot.keyClicks(child(dialog, QLineEdit, "mfaAnswer0"), "Montreal")
    assert not child(dialog, QPushButton, "mfaSubmit").isEnabled()
    choice.setCurrentIndex(2)
    click(qtbot, child(dialog, QPushButton, "mfaSubmit"))
    assert result_of(qtbot, future) == {CITY.prompt: ["Montreal"], STREET.prompt: ["Boulevard Saint-Laurent"]}


def test_the_type_of_several_answers_is_read_whatever_its_case(qtbot, parent):
    several = SecurityChallenge("multiplechoicemultipleanswers", SEVERAL.prompt, SEVERAL.options)
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(several)))
    dialog = shown(qtbot, parent, "mfaDialog")
    boxes = child(dialog, QWidget, "mfaAnswer0").findChildren(QCheckBox)
    assert [box.text() for box in boxes] == ["Visa", "Amex", "7"]
    boxes[1].setChecked(True)
    boxes[2].setChecked(True)
    click(qtbot, child(dialog, QPushButton, "mfaSubmit"))
    assert result_of(qtbot, future) == {SEVERAL.prompt: ["Amex", "7"]}


def test_an_image_challenge_shows_the_sentence_to_use_connect_and_nothing_to_answer(qtbot, parent):
    future = asyncio.ensure_future(MfaDialog.ask(parent, prompt(CITY, IMAGE)))
    dialog = shown(qtbot, parent, "mfaDialog")
    assert child(dialog, QLabel, "mfaError").text() == CONNECT_SENTENCE
    assert child(dialog, QLabel, "mfaError").isVisible()
    assert dialog.findChild(QLineEdit, "mfaAnswer0") is None  # no half of the questions
    assert not child(dialog, QPushButton, "mfaSubmit").isVisible()
    close = child(dialog, QPushButton, "mfaCancel")
    assert close.text() == "Close"
    click(qtbot, close)
    qtbot.waitUntil(future.done, timeout=10_000)
    with pytest.raises(UnsupportedChallenge) as caught:
        future.result()
    assert caught.value.user_message == CONNECT_SENTENCE


# -- the terminal -------------------------------------------------------------------------------------------


def ask(monkeypatch, typed: str, *challenges: SecurityChallenge) -> dict[str, list[str]] | None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    return asyncio.run(TerminalMfa(Progress(io.StringIO()))(prompt(*challenges)))


def test_the_terminal_asks_two_questions_one_a_numbered_choice(monkeypatch, capsys):
    answers = ask(monkeypatch, "Montreal\n2\n", CITY, STREET)
    assert answers == {CITY.prompt: ["Montreal"], STREET.prompt: ["Rue Sherbrooke"]}
    err = capsys.readouterr().err
    assert "FlinksCapital asks 2 security questions." in err
    assert "  1. Rue Sainte-Catherine\n  2. Rue Sherbrooke\n  3. Boulevard Saint-Laurent\n" in err


def test_a_choice_takes_a_number_or_an_option_and_refuses_anything_else(monkeypatch, capsys):
    assert ask(monkeypatch, "4\nRue de la Paix\nRue Sherbrooke\n", STREET) == {STREET.prompt: ["Rue Sherbrooke"]}
    assert capsys.readouterr().err.count("Type a number from 1 to 3, or the answer as shown.") == 2


def test_several_answers_are_numbers_separated_by_commas(monkeypatch, capsys):
    assert ask(monkeypatch, "1, 3\n", SEVERAL) == {SEVERAL.prompt: ["Visa", "7"]}
    assert "separated by commas" in capsys.readouterr().err
    assert ask(monkeypatch, "7\n", SEVERAL) == {SEVERAL.prompt: ["7"]}  # the option "7" before a 7th option
    assert ask(monkeypatch, "2 2\n", SEVERAL) == {SEVERAL.prompt: ["Amex"]}


def test_an_image_challenge_on_the_terminal_is_the_connect_sentence_before_any_question(monkeypatch, capsys):
    with pytest.raises(UnsupportedChallenge) as caught:
        ask(monkeypatch, "Montreal\n", CITY, IMAGE)
    assert caught.value.user_message == CONNECT_SENTENCE
    assert "What city" not in capsys.readouterr().err
    assert sys.stdin.read() == "Montreal\n"  # nothing was read


def test_the_command_line_ends_an_image_challenge_with_the_sentence(run, monkeypatch):
    """`flinks-desktop sync LOGIN_ID` of a loginId whose cached /Authorize asks for an image."""
    body = {
        "HttpStatusCode": 203,
        "RequestId": "9022abc2-8a2e-4b06-a06e-c3e5449c4d10",
        "Institution": "FlinksCapital",
        "SecurityChallenges": [{"Type": "ImageSelection", "Prompt": "Pick your image", "Iterables": ["iVBORw0KGgo="]}],
    }
    with ScriptedServer(otherwise=json_reply(203, body)) as server:
        result = run("--api-url", f"{server.url}/v3/{TOOLBOX_CUSTOMER_ID}", "sync", LOGIN_ID, tty=True)
    assert result.code == 1 and "Traceback" not in result.err
    assert CONNECT_SENTENCE in result.err
    assert "Pick your image" not in result.err  # nothing was asked
