"""Flinks Capital, the test institution: its users, password and security questions.

These are the documented public test credentials of Flinks Capital, reproduced so that a client
written for the real sandbox behaves the same against ours, plus scenario users of our own (all
`greatday_*` but greatday_nomfa): each makes the sandbox send one thing real Flinks instances were
seen to send that the documented samples do not (README: "Scenario usernames").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

INSTITUTION = "FlinksCapital"
INSTITUTION_ID = 14
PASSWORD = "Everyday"


@dataclass(frozen=True)
class TestUser:
    """How one Flinks Capital username behaves."""

    username: str
    #: Asks security questions on a credential login or a live refresh.
    mfa: bool = False
    #: Asks them on a cached /Authorize too, always (SandboxConfig.cached_mfa: every user with mfa).
    cached_mfa: bool = False
    #: A FlinksCode every live contact with the bank fails with (DISABLED_LOGIN, RETRY_LATER).
    bank_error: str | None = None
    #: The FlinksCode 202 answers carry while data is prepared slowly, or None for the usual pace.
    slow_code: str | None = None
    #: How its 203s ask: "one" question per 203 (rotating, SandboxConfig.mfa_rounds of them), "two"
    #: questions in a single 203, or "choice", one multiple-choice question (with `Iterables`).
    questions: str = "one"
    #: False: the 200 that answers its security questions has no `Login` (nor InstitutionName/Id),
    #: as a real private instance was seen to answer. The client keeps the loginId it knows.
    login_after_mfa: bool = True
    #: Every other /Authorize (not an MFA answer) and every other first call of a data endpoint
    #: answers 429 TOO_MANY_REQUESTS with a Retry-After header; the next try is served.
    rate_limited: bool = False
    #: Every other session of the user that reads data expires at its first data call (400
    #: SESSION_EXPIRED, the RequestId is gone); a new session (authorize again) then works.
    session_expires: bool = False
    #: Its accounts: "everyday" (the four of Greatday) or "everything" (those four, a line of credit,
    #: a car loan, a TFSA, an RRSP and a business chequing account).
    accounts: str = "everyday"
    #: Transactions carry a numeric `Code`; TransitNumber and InstitutionNumber are JSON integers
    #: (Flinks' help centre types Code as a number, its C# SDK the two numbers as int?).
    numeric_fields: bool = False
    #: The statements of its first account (Everyday Chequing) are damaged: valid Base64 of bytes that
    #: start like a PDF but that no PDF reader can parse (a truncated file). The others are fine.
    damaged_statements: bool = False


USERS = {
    user.username.lower(): user
    for user in (
        TestUser("Greatday", mfa=True),
        TestUser("greatday_nomfa"),
        TestUser("greatday_cachedmfa", mfa=True, cached_mfa=True),
        TestUser("test_disabled_account", bank_error="DISABLED_LOGIN"),
        TestUser("test_service_unavailable", bank_error="RETRY_LATER"),
        TestUser("test_pending", slow_code="OPERATION_PENDING"),
        TestUser("test_dispatched", slow_code="OPERATION_DISPATCHED"),
        # Scenario users: what real instances send that the documented samples do not.
        TestUser("greatday_nologin", mfa=True, login_after_mfa=False),
        TestUser("greatday_choice", mfa=True, questions="choice"),
        TestUser("greatday_twoquestions", mfa=True, questions="two"),
        TestUser("greatday_numeric", numeric_fields=True),
        TestUser("greatday_ratelimited", rate_limited=True),
        TestUser("greatday_expired", session_expires=True),
        TestUser("greatday_badpdf", damaged_statements=True),
        TestUser("greatday_everything", accounts="everything"),
    )
}


@dataclass(frozen=True)
class Question:
    prompts: dict[str, str]  # language -> prompt
    answers: frozenset[str]  # accepted answers, folded (see fold())
    #: A multiple-choice question's options by language (its `Iterables`); None for free text.
    choices: dict[str, tuple[str, ...]] | None = None


def fold(text: str) -> str:
    """Compare answers as a person would: case, accents and surrounding spaces do not matter."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


QUESTIONS = (
    Question(
        {"en": "What city were you born in?", "fr": "Dans quelle ville êtes-vous né(e)?"},
        frozenset({"montreal"}),
    ),
    Question(
        {"en": "What is the best country on earth?", "fr": "Quel est le meilleur pays au monde?"},
        frozenset({"canada"}),
    ),
    Question(
        {"en": "What shape do people like most?", "fr": "Quelle forme les gens préfèrent-ils?"},
        frozenset({"triangle"}),
    ),
)

#: The multiple-choice question of `greatday_choice` (index CHOICE in ALL_QUESTIONS). Answered with
#: one of its Iterables, by its text; the right one is Blue (Bleu in French), whatever the language.
CHOICE_QUESTION = Question(
    {"en": "Which of these colours is your favourite?", "fr": "Laquelle de ces couleurs préférez-vous?"},
    frozenset({"blue", "bleu"}),
    {"en": ("Red", "Green", "Blue", "Yellow"), "fr": ("Rouge", "Vert", "Bleu", "Jaune")},
)
#: Every question by index: the three rotating ones (QUESTIONS), then the multiple-choice one.
ALL_QUESTIONS = (*QUESTIONS, CHOICE_QUESTION)
CHOICE = len(QUESTIONS)

#: Wrong answers allowed on one question before the session ends (INVALID_SECURITY_RESPONSE_NO_RETRY).
MAX_WRONG_ANSWERS = 3


def find_user(username: str) -> TestUser | None:
    return USERS.get(username.strip().lower())


def prompt(question_index: int, language: str) -> str:
    prompts = ALL_QUESTIONS[question_index].prompts
    return prompts.get(language, prompts["en"])


def challenge(question_index: int, language: str) -> dict[str, Any]:
    """The question as one item of a 203's `SecurityChallenges`."""
    question = ALL_QUESTIONS[question_index]
    if question.choices is None:
        return {"Type": "QuestionAndAnswer", "Prompt": prompt(question_index, language)}
    return {
        "Type": "MultipleChoice",
        "Prompt": prompt(question_index, language),
        "Iterables": list(question.choices.get(language, question.choices["en"])),
    }


def is_right_answer(question_index: int, answer: str) -> bool:
    return fold(answer) in ALL_QUESTIONS[question_index].answers


# -- Enhanced MFA: a login's questions, answered ahead of time (GetMFAQuestions, AnswerMFAQuestions) --
def questions_of(user: TestUser) -> tuple[int, ...]:
    """The security questions the bank may ask this user (indexes of ALL_QUESTIONS): the ones
    GetMFAQuestions lists for its login. Empty for a user without MFA."""
    if not user.mfa:
        return ()
    if user.questions == "choice":
        return (CHOICE,)
    return tuple(range(len(QUESTIONS)))


def question_key(question_index: int) -> str:
    """How a stored answer is filed: the question's English prompt, whatever language asked it."""
    return ALL_QUESTIONS[question_index].prompts["en"]


def find_question(text: str, among: tuple[int, ...]) -> int | None:
    """The question of `among` whose prompt (in any language) `text` is, compared as answers are
    (case, accents and surrounding spaces do not matter); None when it is none of them."""
    wanted = fold(text)
    for index in among:
        if any(fold(prompt) == wanted for prompt in ALL_QUESTIONS[index].prompts.values()):
            return index
    return None
