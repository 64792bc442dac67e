"""Flinks Capital, the test institution: its users, password and security questions.

These are the documented public test credentials of Flinks Capital, reproduced so that a client
written for the real sandbox behaves the same against ours.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

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
    )
}


@dataclass(frozen=True)
class Question:
    prompts: dict[str, str]  # language -> prompt
    answers: frozenset[str]  # accepted answers, folded (see fold())


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

#: Wrong answers allowed on one question before the session ends (INVALID_SECURITY_RESPONSE_NO_RETRY).
MAX_WRONG_ANSWERS = 3


def find_user(username: str) -> TestUser | None:
    return USERS.get(username.strip().lower())


def prompt(question_index: int, language: str) -> str:
    prompts = QUESTIONS[question_index].prompts
    return prompts.get(language, prompts["en"])


def is_right_answer(question_index: int, answer: str) -> bool:
    return fold(answer) in QUESTIONS[question_index].answers
