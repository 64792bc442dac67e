"""Enhanced MFA: a login's security questions answered ahead of time, so that a refresh needs nobody.

docs.flinks.com (API reference, Account Linking): `GET /GetMFAQuestions/{loginId}` lists the
login's questions (`{"Message": "SUCCESS", "Questions": [{"Question"}]}`) and `PATCH
/AnswerMFAQuestions` (`{"loginId", "Questions": [{"Question", "Answer"}]}`) stores answers to them
(`{"Message": "Answers updated"}`). Then a live /Authorize of the login (or a cached one the bank
challenges) is answered with them instead of a 203. Driven over loopback HTTP, as any client would.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import httpx
import pytest
from test_sandbox_api import ANSWERS, AS_OF, Flinks, error_of

from flinks_desktop.sandbox import SandboxConfig, SandboxServer, SandboxStateError

ENGLISH = list(ANSWERS)[:3]  # city, country, shape: the order GetMFAQuestions lists them in
FRENCH = list(ANSWERS)[3:]
CITY, COUNTRY, SHAPE = ENGLISH
NO_LOGIN = "00000000-0000-0000-0000-000000000000"


class EnhancedFlinks(Flinks):
    """The documented client, with the two Enhanced MFA endpoints."""

    def questions(self, login_id: str, **headers) -> httpx.Response:
        return self.http.get(f"/GetMFAQuestions/{login_id}", headers=headers)

    def store(self, login_id: str, answers: dict[str, str], key: str = "LoginId", **headers) -> httpx.Response:
        body = {key: login_id, "Questions": [{"Question": q, "Answer": a} for q, a in answers.items()]}
        return self.http.patch("/AnswerMFAQuestions", json=body, headers=headers)

    def refresh(self, login_id: str, cached: bool = False, **extra) -> httpx.Response:
        return self.post("Authorize", {"LoginId": login_id, "MostRecentCached": cached, **extra})


@pytest.fixture
def sandbox(flinks_sandbox_factory):
    return flinks_sandbox_factory(as_of=AS_OF, pending_polls=0)


@pytest.fixture
def flinks(sandbox):
    return EnhancedFlinks(sandbox.banking_url)


def prompts(response: httpx.Response) -> list[str]:
    assert response.status_code == 203, response.text
    return [q["Prompt"] for q in response.json()["SecurityChallenges"]]


def authorized_without_a_person(response: httpx.Response, login_id: str) -> dict:
    """A 200 with the Login, straight from the /Authorize call: no 203 on the way."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert "SecurityChallenges" not in body and body["Login"]["Id"] == login_id
    return body


# -- GetMFAQuestions ----------------------------------------------------------------------------------
def test_get_mfa_questions_lists_the_logins_questions(flinks):
    login_id = flinks.login_with_mfa()["Login"]["Id"]
    listed = flinks.questions(login_id)
    assert listed.status_code == 200
    assert listed.json() == {
        "HttpStatusCode": 200,
        "Message": "SUCCESS",
        "Questions": [{"Question": q} for q in ENGLISH],
    }
    assert flinks.questions(login_id.upper()).json() == listed.json()  # a loginId is not case-sensitive

    # In the language of the login; a multiple-choice user's one question; none without MFA.
    french = flinks.login("greatday_twoquestions", Language="fr")
    french_id = flinks.post(
        "Authorize",
        {"RequestId": french.json()["RequestId"], "SecurityResponses": {p: [ANSWERS[p]] for p in prompts(french)}},
    ).json()["Login"]["Id"]
    assert [q["Question"] for q in flinks.questions(french_id).json()["Questions"]] == FRENCH
    choice = flinks.answer(flinks.login("greatday_choice"), "Blue").json()["Login"]["Id"]
    assert flinks.questions(choice).json()["Questions"] == [{"Question": "Which of these colours is your favourite?"}]
    nomfa = flinks.login("greatday_nomfa").json()["Login"]["Id"]
    assert flinks.questions(nomfa).json() == {"HttpStatusCode": 200, "Message": "SUCCESS", "Questions": []}

    assert error_of(flinks.questions(NO_LOGIN)) == (401, "INVALID_LOGIN")
    assert error_of(flinks.questions("not-a-login")) == (401, "INVALID_LOGIN")
    assert flinks.http.delete(f"/DeleteCard/{nomfa}").status_code == 200
    assert error_of(flinks.questions(nomfa)) == (401, "INVALID_LOGIN")


# -- AnswerMFAQuestions, then refreshes without a person ---------------------------------------------
def test_stored_answers_answer_every_live_refresh(flinks, sandbox):
    login = flinks.login_with_mfa()["Login"]
    login_id = login["Id"]
    assert prompts(flinks.refresh(login_id)) == [COUNTRY]  # before: the bank asks the person

    # The docs spell it loginId; answers ignore case, accents and spaces, as interactive ones do.
    stored = flinks.store(login_id, {CITY: "MONTRÉAL", COUNTRY: "  canada ", SHAPE: "tRiAnGlE"}, key="loginId")
    assert stored.status_code == 200
    assert stored.json() == {"HttpStatusCode": 200, "Message": "Answers updated"}

    last_refresh = login["LastRefresh"]
    for _ in range(4):  # every question comes round (shape, city, country, shape): none reaches the person
        body = authorized_without_a_person(flinks.refresh(login_id), login_id)
        assert body["Login"]["Username"] == "Greatday" and body["Login"]["LastRefresh"] > last_refresh
        last_refresh = body["Login"]["LastRefresh"]
        assert {link["rel"] for link in body["Links"]} == {"AccountsDetail", "AccountsSummary", "Statements"}
        assert flinks.detail(body["RequestId"]).status_code == 200
    # In French too (the answers are the login's, whatever the language), and a direct login of the
    # same card (it has the same loginId) as well.
    authorized_without_a_person(flinks.refresh(login_id, Language="fr"), login_id)
    authorized_without_a_person(flinks.login("Greatday"), login_id)

    # Only the questions come back, never the answers.
    listed = flinks.questions(login_id).text
    assert not any(word in listed.lower() for word in ("montr", "canada", "triangle"))

    # Deleting the card forgets them: the next login is a new card, and the bank asks again.
    assert flinks.http.delete(f"/DeleteCard/{login_id}").status_code == 200
    assert error_of(flinks.refresh(login_id)) == (401, "INVALID_LOGIN")
    assert flinks.login("Greatday").status_code == 203


def test_answers_can_be_stored_a_few_at_a_time_and_replaced(flinks_sandbox_factory):
    flinks = EnhancedFlinks(flinks_sandbox_factory(as_of=AS_OF, pending_polls=0).banking_url)
    login_id = flinks.login_with_mfa()["Login"]["Id"]  # asked the city
    assert flinks.store(login_id, {CITY: "Montreal"}).status_code == 200

    # Only the city is stored: the other questions still reach the person, the city no more.
    country = flinks.refresh(login_id)
    assert prompts(country) == [COUNTRY]
    assert flinks.answer(country).status_code == 200
    assert prompts(flinks.refresh(login_id)) == [SHAPE]
    authorized_without_a_person(flinks.refresh(login_id), login_id)  # the city's turn

    # A second call adds to the first, and replaces what it names.
    assert flinks.store(login_id, {COUNTRY: "Canada", SHAPE: "Circle"}).status_code == 200
    authorized_without_a_person(flinks.refresh(login_id), login_id)  # country
    # A wrong stored answer answers nothing: the bank asks that question, and the person answers it.
    shape = flinks.refresh(login_id)
    assert prompts(shape) == [SHAPE]
    assert flinks.answer(shape).status_code == 200
    assert flinks.store(login_id, {"what shape do people like MOST?": "Triangle"}).status_code == 200
    for _ in range(3):
        authorized_without_a_person(flinks.refresh(login_id), login_id)


def test_questions_asked_together_or_in_rounds(flinks_sandbox_factory):
    flinks = EnhancedFlinks(flinks_sandbox_factory(as_of=AS_OF, pending_polls=0, mfa_rounds=3).banking_url)

    # Three rounds (one question each): with two stored, one 203 with the third; with all, none.
    login_id = flinks.login_with_mfa()["Login"]["Id"]
    assert flinks.store(login_id, {CITY: "Montreal", SHAPE: "Triangle"}).status_code == 200
    left = flinks.refresh(login_id)
    assert prompts(left) == [COUNTRY]
    assert flinks.answer(left).json()["Login"]["Id"] == login_id
    assert flinks.store(login_id, {COUNTRY: "Canada"}).status_code == 200
    authorized_without_a_person(flinks.refresh(login_id), login_id)

    # Two questions in one 203 (the pairs rotate: city+country, country+shape, shape+city): with the
    # city stored, a 203 asks the pair's other question alone.
    challenge = flinks.login("greatday_twoquestions")
    assert prompts(challenge) == [CITY, COUNTRY]
    two = flinks.post(
        "Authorize",
        {"RequestId": challenge.json()["RequestId"], "SecurityResponses": {CITY: ["Montreal"], COUNTRY: ["Canada"]}},
    ).json()["Login"]["Id"]
    assert flinks.store(two, {CITY: "Montreal"}).status_code == 200
    assert [prompts(flinks.refresh(two)) for _ in range(3)] == [[COUNTRY, SHAPE], [SHAPE], [COUNTRY]]
    assert flinks.store(two, {COUNTRY: "Canada"}).status_code == 200
    assert prompts(flinks.refresh(two)) == [SHAPE]
    assert prompts(flinks.refresh(two)) == [SHAPE]
    authorized_without_a_person(flinks.refresh(two), two)

    # The multiple-choice question is answered by the option's text.
    choice = flinks.answer(flinks.login("greatday_choice"), "Blue").json()["Login"]["Id"]
    assert flinks.store(choice, {"Laquelle de ces couleurs préférez-vous?": "bleu"}).status_code == 200
    authorized_without_a_person(flinks.refresh(choice), choice)


def test_a_cached_authorize_the_bank_would_challenge(flinks, flinks_sandbox_factory):
    challenge = flinks.login("greatday_cachedmfa")
    login = flinks.answer(challenge).json()["Login"]
    assert flinks.refresh(login["Id"], cached=True).status_code == 203  # always asks, without answers
    assert flinks.store(login["Id"], {q: ANSWERS[q] for q in ENGLISH}).status_code == 200
    for _ in range(3):
        body = authorized_without_a_person(flinks.refresh(login["Id"], cached=True), login["Id"])
        assert body["Login"] == login  # the cached data: its LastRefresh unchanged
        assert flinks.post("GetAccountsSummary", {"RequestId": body["RequestId"]}).status_code == 200

    # The sandbox set to challenge cached requests (--cached-mfa): Greatday's are answered the same way.
    other = EnhancedFlinks(flinks_sandbox_factory(as_of=AS_OF, cached_mfa=True).banking_url)
    greatday = other.login_with_mfa()["Login"]
    assert other.refresh(greatday["Id"], cached=True).status_code == 203
    assert other.store(greatday["Id"], {q: ANSWERS[q] for q in FRENCH}).status_code == 200  # French prompts too
    assert authorized_without_a_person(other.refresh(greatday["Id"], cached=True), greatday["Id"])["Login"] == greatday


# -- what AnswerMFAQuestions refuses ------------------------------------------------------------------
@pytest.mark.parametrize(
    "body, message",
    [
        ({"Questions": [{"Question": CITY, "Answer": "Montreal"}]}, "LoginId"),
        ({"LoginId": 42, "Questions": [{"Question": CITY, "Answer": "Montreal"}]}, "LoginId"),
        ({"LoginId": "{login}"}, "Questions"),
        ({"LoginId": "{login}", "Questions": []}, "Questions"),
        ({"LoginId": "{login}", "Questions": {CITY: "Montreal"}}, "Questions"),
        ({"LoginId": "{login}", "Questions": ["Montreal"]}, "Questions[0]"),
        ({"LoginId": "{login}", "Questions": [{"Question": CITY}]}, "Questions[0]"),
        ({"LoginId": "{login}", "Questions": [{"Question": CITY, "Answer": "  "}]}, "Questions[0]"),
        ({"LoginId": "{login}", "Questions": [{"Question": CITY, "Answer": ["Montreal"]}]}, "Questions[0]"),
        (
            {"LoginId": "{login}", "Questions": [{"Question": CITY, "Answer": "Montreal"}, {"Answer": "Canada"}]},
            "Questions[1]",
        ),
    ],
)
def test_malformed_answers_are_400_invalid_request(flinks, body, message):
    login_id = flinks.login_with_mfa()["Login"]["Id"]
    body = json.loads(json.dumps(body).replace("{login}", login_id))
    refused = flinks.http.patch("/AnswerMFAQuestions", json=body)
    assert error_of(refused) == (400, "INVALID_REQUEST") and message in refused.json()["Message"]


def test_unknown_logins_and_questions_that_are_not_the_logins(flinks):
    assert error_of(flinks.store(NO_LOGIN, {CITY: "Montreal"})) == (401, "INVALID_LOGIN")
    login_id = flinks.login_with_mfa()["Login"]["Id"]

    # A question that is not one of the login's: 400, Flinks' shape, and nothing of the call stored
    # (all or nothing), nor its answers echoed.
    for question in ("What was your first pet's name?", "Which of these colours is your favourite?"):
        refused = flinks.store(login_id, {CITY: "Montreal", question: "Secret-Answer-42"})
        assert error_of(refused) == (400, "QUESTION_NOT_FOUND")
        assert refused.json()["Message"].startswith("Questions[1] is not one of this login's security questions")
        assert "Secret-Answer-42" not in refused.text and "Montreal" not in refused.text
    assert prompts(flinks.refresh(login_id)) == [COUNTRY]
    assert prompts(flinks.refresh(login_id)) == [SHAPE]
    assert prompts(flinks.refresh(login_id)) == [CITY]  # the city's answer of the refused calls was not kept

    nomfa = flinks.login("greatday_nomfa").json()["Login"]["Id"]
    assert error_of(flinks.store(nomfa, {CITY: "Montreal"})) == (400, "QUESTION_NOT_FOUND")

    assert error_of(flinks.http.post("/AnswerMFAQuestions", json={"LoginId": login_id}))[0] == 405
    assert error_of(flinks.http.patch(f"/GetMFAQuestions/{login_id}"))[0] == 405
    assert error_of(flinks.http.patch("/AnswerMFAQuestions", content=b"{nope")) == (400, "INVALID_REQUEST")


def test_api_key_and_customer_id_are_checked(flinks_sandbox_factory):
    sandbox = flinks_sandbox_factory(as_of=AS_OF, api_key="k3y")
    flinks = EnhancedFlinks(sandbox.banking_url)
    login_id = flinks.login_with_mfa()["Login"]["Id"]  # /Authorize takes no x-api-key
    answers = {CITY: "Montreal", COUNTRY: "Canada", SHAPE: "Triangle"}

    for refused in (
        flinks.questions(login_id),
        flinks.store(login_id, answers),
        flinks.questions(login_id, **{"x-api-key": "wrong"}),
        flinks.store(NO_LOGIN, answers),
    ):  # the key is checked first: it says nothing of logins
        assert error_of(refused) == (401, "UNAUTHORIZED")
    assert flinks.questions(login_id, **{"x-api-key": "k3y"}).json()["Message"] == "SUCCESS"
    assert flinks.store(login_id, answers, **{"x-api-key": "k3y"}).json()["Message"] == "Answers updated"
    authorized_without_a_person(flinks.refresh(login_id), login_id)

    other = f"{sandbox.base_url}/v3/{NO_LOGIN}/BankingServices"
    assert error_of(httpx.get(f"{other}/GetMFAQuestions/{login_id}", headers={"x-api-key": "k3y"})) == (
        401,
        "UNAUTHORIZED",
    )
    assert error_of(
        httpx.patch(
            f"{other}/AnswerMFAQuestions", headers={"x-api-key": "k3y"}, json={"LoginId": login_id, "Questions": []}
        )
    ) == (401, "UNAUTHORIZED")


def test_answers_are_never_logged(flinks, caplog):
    caplog.set_level(logging.DEBUG)
    login_id = flinks.login_with_mfa()["Login"]["Id"]
    secret = "Sainte-Agathe-des-Monts-7731"
    assert flinks.store(login_id, {CITY: secret}).status_code == 200
    assert error_of(flinks.store(login_id, {"Favourite colour?": secret}))[1] == "QUESTION_NOT_FOUND"
    assert flinks.refresh(login_id).status_code == 203
    assert secret not in caplog.text and secret.lower() not in caplog.text.lower()


# -- in the shared state file ----------------------------------------------------------------------
@pytest.fixture
def state_file(tmp_path) -> Path:
    return tmp_path / "sandbox-state.json"


def test_answers_live_in_the_shared_state_file_as_digests(flinks_sandbox_factory, state_file):
    a = EnhancedFlinks(flinks_sandbox_factory(as_of=AS_OF, state_file=str(state_file)).banking_url)
    b = EnhancedFlinks(flinks_sandbox_factory(as_of=AS_OF, state_file=str(state_file)).banking_url)
    login_id = a.login_with_mfa()["Login"]["Id"]
    before = state_file.read_text(encoding="utf-8")
    assert "mfa_answers" not in before  # a login without stored answers is saved as it always was

    assert a.store(login_id, {q: ANSWERS[q] for q in ENGLISH}).status_code == 200
    for _ in range(3):  # the other sandbox (another process) knows them at once
        authorized_without_a_person(b.refresh(login_id), login_id)

    saved = json.loads(state_file.read_text(encoding="utf-8"))
    [login] = saved["logins"]
    assert set(login["mfa_answers"]) == set(ENGLISH)
    assert all(len(digest) == 64 and int(digest, 16) >= 0 for digest in login["mfa_answers"].values())
    text = state_file.read_text(encoding="utf-8").lower()
    assert not any(word in text for word in ("montreal", "canada", "triangle"))  # digests, never answers

    # A restart keeps them; deleting the card, from the other sandbox, forgets them.
    third = EnhancedFlinks(flinks_sandbox_factory(as_of=AS_OF, state_file=str(state_file)).banking_url)
    authorized_without_a_person(third.refresh(login_id), login_id)
    assert b.http.delete(f"/DeleteCard/{login_id}").status_code == 200
    assert error_of(a.store(login_id, {CITY: "Montreal"})) == (401, "INVALID_LOGIN")
    assert "mfa_answers" not in state_file.read_text(encoding="utf-8")
    assert a.login("Greatday").status_code == 203


def test_stores_from_two_sandboxes_at_once_lose_nothing(flinks_sandbox_factory, state_file):
    pair = [
        EnhancedFlinks(flinks_sandbox_factory(as_of=AS_OF, state_file=str(state_file)).banking_url) for _ in range(2)
    ]
    greatday = pair[0].login_with_mfa()["Login"]["Id"]
    cachedmfa = pair[1].login_with_mfa("greatday_cachedmfa")["Login"]["Id"]
    failures: list[str] = []
    start = threading.Barrier(4)

    def run(flinks: EnhancedFlinks, login_id: str, question: str) -> None:
        try:
            start.wait(10)
            for round_ in range(8):  # wrong first, right last: the last write of each must be the one kept
                answer = ANSWERS[question] if round_ == 7 else f"wrong {round_}"
                assert flinks.store(login_id, {question: answer}).status_code == 200
        except Exception as exc:  # reported below, with the others
            failures.append(repr(exc))

    def logins(flinks: EnhancedFlinks) -> None:
        try:
            start.wait(10)
            for _ in range(8):  # other changes of the file meanwhile
                assert flinks.login("greatday_nomfa").status_code == 200
        except Exception as exc:
            failures.append(repr(exc))

    threads = [
        threading.Thread(target=run, args=(pair[i % 2], login_id, question), daemon=True)
        for i, (login_id, question) in enumerate([(greatday, CITY), (greatday, COUNTRY)])
    ]
    threads += [
        threading.Thread(target=run, args=(pair[0], greatday, SHAPE), daemon=True),
        threading.Thread(target=logins, args=(pair[1],), daemon=True),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads) and not failures, failures

    saved = {login["login_id"]: login for login in json.loads(state_file.read_text(encoding="utf-8"))["logins"]}
    assert set(saved[greatday]["mfa_answers"]) == set(ENGLISH) and "mfa_answers" not in saved[cachedmfa]
    for flinks in pair:
        for _ in range(3):
            authorized_without_a_person(flinks.refresh(greatday), greatday)
        assert flinks.refresh(cachedmfa, cached=True).status_code == 203


def test_a_damaged_answers_entry_is_a_clear_error(state_file):
    login = {
        "login_id": NO_LOGIN,
        "username": "Greatday",
        "last_refresh": "2026-11-21T00:00:00.0000000",
        "language": "en",
    }
    for damaged in ([], {"What city were you born in?": 7}):
        state_file.write_text(json.dumps({"logins": [{**login, "mfa_answers": damaged}]}), encoding="utf-8")
        with pytest.raises(SandboxStateError, match='"mfa_answers" is not an object of strings'):
            SandboxServer(SandboxConfig(state_file=str(state_file)))
