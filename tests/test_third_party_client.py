"""The offline sandbox driven by a published third-party Flinks client, run unchanged.

The client is the PyPI package `flinks` 0.1.0a2 (impak Finance, "A Python module for communicating
with the Flinks.io API"), pinned in the `test` extras of pyproject.toml. Nobody here wrote it against
our sandbox: it was written against Flinks' own service, so what passes below is a client built for
the real Flinks API working against `flinks-desktop sandbox` as it is.

How it is pointed at the sandbox: configuration only, the way its README documents it,
`Client(customer_id, base_url)` with `base_url` = the sandbox's `http://127.0.0.1:PORT/v3/`. The
client joins `{base_url}{customer_id}/BankingServices/{Endpoint}` itself. Nothing of the client is
patched or monkeypatched.

What the client does, read from its source: JSON bodies in Flinks' field names (`MostRecentCached`,
`SecurityResponses`, ...), POST for Authorize and the data endpoints, GET for the `*Async/{id}`
endpoints, DELETE for `DeleteCard/{loginId}`. It returns the JSON body of any 2xx answer (so a 203
challenge or a 202 OPERATION_PENDING is returned, and the caller polls), raises `ProtocolError(
FlinksCode)` for a 400 and `TransportError` (HTTP status only; the body stays on `.response`) for
any other error status.

Its Enhanced MFA methods (`get_mfa_questions`, `set_mfa_questions`) are driven at the end. Two
methods of the client are not exercised: `authorize_multiple` (AuthorizeMultiple) and
`set_scheduled_refresh` (SetScheduledRefresh), endpoints the sandbox does not emulate (404).
"""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from decimal import Decimal

import flinks  # the `test` extras pin it: pip install -e '.[test]'
import pytest
from flinks.exceptions import ProtocolError, TransportError

from flinks_desktop.sandbox.dataset import build_dataset

AS_OF = date(2026, 11, 21)
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ANSWERS = {  # Flinks Capital's documented security questions
    "What city were you born in?": "Montreal",
    "What is the best country on earth?": "Canada",
    "What shape do people like most?": "Triangle",
}
TITLES = ["Everyday Chequing", "High Interest Savings", "Flinks Capital Visa Infinite", "US Dollar Chequing"]
PENDING = {"OPERATION_PENDING", "OPERATION_DISPATCHED"}


@pytest.fixture
def sandbox(flinks_sandbox_factory):
    return flinks_sandbox_factory(as_of=AS_OF)


def client_for(sandbox) -> flinks.Client:
    """The client configured as its README says: customer id and the API base URL, nothing else."""
    return flinks.Client(sandbox.config.customer_id, base_url=f"{sandbox.base_url}/v3/")


@pytest.fixture
def banking(sandbox):
    return client_for(sandbox).banking_services


def until_ready(answer: dict, poll, limit: int = 20) -> dict:
    """Poll the client's *_async method while Flinks answers 202, as Flinks' docs say to."""
    for _ in range(limit):
        if answer["HttpStatusCode"] != 202:
            return answer
        assert answer["FlinksCode"] in PENDING, answer
        answer = poll(answer["RequestId"])
    pytest.fail(f"still 202 after {limit} polls: {answer}")


def answer_questions(banking, challenge: dict) -> dict:
    """Answer each 203 by its exact prompt, through the client's `security_responses`."""
    answer = challenge
    while answer["HttpStatusCode"] == 203:
        [question] = answer["SecurityChallenges"]
        assert question["Type"] == "QuestionAndAnswer"
        answer = banking.authorize(
            request_id=answer["RequestId"], security_responses={question["Prompt"]: [ANSWERS[question["Prompt"]]]}
        )
    assert answer["HttpStatusCode"] == 200, answer
    return answer


def flinks_error(exc: pytest.ExceptionInfo) -> tuple[int, str]:
    """(HTTP status, FlinksCode) of an error the client raised; TransportError keeps the body on .response."""
    response = exc.value.response
    return response.status_code, response.json()["FlinksCode"]


def test_the_pinned_client_reaches_the_sandbox_by_its_documented_base_url(sandbox):
    assert flinks.__version__ == "0.1.0a2"
    client = client_for(sandbox)
    assert client.api_endpoint == f"{sandbox.api_url}/"


def test_greatday_with_mfa_accounts_statements_and_delete_card(sandbox, banking):
    challenge = banking.authorize(institution="FlinksCapital", username="Greatday", password="Everyday", save=True)
    assert challenge["HttpStatusCode"] == 203
    assert challenge["SecurityChallenges"] == [{"Type": "QuestionAndAnswer", "Prompt": "What city were you born in?"}]
    assert challenge["Institution"] == "FlinksCapital" and GUID.match(challenge["RequestId"])

    authorized = answer_questions(banking, challenge)
    login_id, request_id = authorized["Login"]["Id"], authorized["RequestId"]
    assert request_id == challenge["RequestId"]
    assert GUID.match(login_id) and authorized["Login"]["Username"] == "Greatday"

    first = banking.get_accounts_detail(
        request_id, with_account_identity=True, with_transactions=True, days_of_transactions="Days90"
    )
    assert first["HttpStatusCode"] == 202 and first["FlinksCode"] == "OPERATION_PENDING"
    detail = until_ready(first, banking.get_accounts_detail_async)
    accounts = detail["Accounts"]
    assert [a["Title"] for a in accounts] == TITLES
    assert [(a["Type"], a["Currency"]) for a in accounts] == [
        ("Chequing", "CAD"),
        ("Savings", "CAD"),
        ("CreditCard", "CAD"),
        ("Chequing", "USD"),
    ]
    assert all(a["InstitutionNumber"] == "777" and GUID.match(a["Id"]) for a in accounts)
    expected = {a["Id"]: a for a in build_dataset("Greatday", AS_OF).accounts()}
    for account in accounts:  # the same balances the sandbox's dataset holds, to the cent
        assert Decimal(str(account["Balance"]["Current"])) == expected[account["Id"]]["Balance"]["Current"]
        assert account["Transactions"], account["Title"]
        oldest = min(date.fromisoformat(t["Date"]) for t in account["Transactions"])
        assert AS_OF - oldest <= timedelta(days=90)

    summary = banking.get_accounts_summary(request_id)
    assert summary["HttpStatusCode"] == 200
    assert [a["Title"] for a in summary["Accounts"]] == TITLES

    statements = until_ready(
        banking.get_statements(request_id, number_of_statements="Months3"), banking.get_statements_async
    )
    by_account = statements["StatementsByAccount"]
    assert [s["AccountNumber"] for s in by_account] == [a["AccountNumber"] for a in accounts]
    pdfs = [pdf for s in by_account for pdf in s["Statements"]]
    assert len(pdfs) == 3 * 4
    assert all(p["FileType"] == "PDF" and base64.b64decode(p["Base64Bytes"]).startswith(b"%PDF") for p in pdfs)

    deleted = banking.delete_card(login_id)
    assert deleted["Message"] == f"All of the information about LoginId {login_id} has been removed"
    with pytest.raises(TransportError) as gone:
        banking.authorize(login_id=login_id, most_recent_cached=True)
    assert flinks_error(gone) == (401, "INVALID_LOGIN")

    # What the client sent, as the sandbox recorded it: the documented methods and paths.
    base = f"/v3/{sandbox.config.customer_id}/BankingServices"
    assert [(r.method, r.path) for r in sandbox.requests] == [
        ("POST", f"{base}/Authorize"),
        ("POST", f"{base}/Authorize"),
        ("POST", f"{base}/GetAccountsDetail"),
        ("GET", f"{base}/GetAccountsDetailAsync/{request_id}"),
        ("GET", f"{base}/GetAccountsDetailAsync/{request_id}"),
        ("POST", f"{base}/GetAccountsSummary"),
        ("POST", f"{base}/GetStatements"),
        ("DELETE", f"{base}/DeleteCard/{login_id}"),
        ("POST", f"{base}/Authorize"),
    ]


def test_greatday_nomfa_then_a_cached_authorize_of_its_login_id(banking):
    authorized = banking.authorize(
        institution="FlinksCapital", username="greatday_nomfa", password="Everyday", save=True
    )
    assert authorized["HttpStatusCode"] == 200
    login_id = authorized["Login"]["Id"]

    cached = banking.authorize(login_id=login_id, most_recent_cached=True)
    assert cached["HttpStatusCode"] == 200
    assert cached["Login"]["Id"] == login_id and cached["RequestId"] != authorized["RequestId"]

    detail = until_ready(
        banking.get_accounts_detail(cached["RequestId"], with_transactions=False), banking.get_accounts_detail_async
    )
    assert [a["Title"] for a in detail["Accounts"]] == TITLES
    assert all(a["Transactions"] == [] for a in detail["Accounts"])  # the client sent WithTransactions false

    assert banking.delete_card(login_id)["HttpStatusCode"] == 200


def test_three_security_questions_and_a_wrong_answer(flinks_sandbox_factory):
    banking = client_for(flinks_sandbox_factory(as_of=AS_OF, mfa_rounds=3)).banking_services
    challenge = banking.authorize(institution="FlinksCapital", username="Greatday", password="Everyday")
    prompt = challenge["SecurityChallenges"][0]["Prompt"]
    with pytest.raises(TransportError) as wrong:
        banking.authorize(request_id=challenge["RequestId"], security_responses={prompt: ["Toronto"]})
    assert flinks_error(wrong) == (401, "INVALID_SECURITY_RESPONSE")

    asked = []
    answer = challenge
    while answer["HttpStatusCode"] == 203:
        asked.append(answer["SecurityChallenges"][0]["Prompt"])
        answer = banking.authorize(request_id=answer["RequestId"], security_responses={asked[-1]: [ANSWERS[asked[-1]]]})
    assert answer["HttpStatusCode"] == 200 and answer["Login"]["Username"] == "Greatday"
    assert sorted(asked) == sorted(ANSWERS)


@pytest.mark.parametrize(
    "username, code", [("test_dispatched", "OPERATION_DISPATCHED"), ("test_pending", "OPERATION_PENDING")]
)
def test_slow_data_is_polled_through_the_clients_async_methods(flinks_sandbox_factory, username, code):
    sandbox = flinks_sandbox_factory(as_of=AS_OF, slow_pending_polls=3)
    banking = client_for(sandbox).banking_services
    request_id = banking.authorize(institution="FlinksCapital", username=username, password="Everyday")["RequestId"]

    first = banking.get_accounts_detail(request_id, with_transactions=True)
    assert (first["HttpStatusCode"], first["FlinksCode"]) == (202, code)
    assert [a["Title"] for a in until_ready(first, banking.get_accounts_detail_async)["Accounts"]] == TITLES

    first = banking.get_statements(request_id)
    assert (first["HttpStatusCode"], first["FlinksCode"]) == (202, code)
    statements = until_ready(first, banking.get_statements_async)
    assert [len(s["Statements"]) for s in statements["StatementsByAccount"]] == [1, 1, 1, 1]  # MostRecent
    polls = [r.path for r in sandbox.requests if r.method == "GET"]  # three 202s, then the 200
    assert sum("/GetAccountsDetailAsync/" in p for p in polls) == 4
    assert sum("/GetStatementsAsync/" in p for p in polls) == 4


def test_the_errors_the_client_raises(banking):
    with pytest.raises(TransportError) as wrong_password:
        banking.authorize(institution="FlinksCapital", username="Greatday", password="Nope")
    assert flinks_error(wrong_password) == (401, "INVALID_LOGIN")

    with pytest.raises(TransportError) as disabled:
        banking.authorize(institution="FlinksCapital", username="test_disabled_account", password="Everyday")
    assert flinks_error(disabled) == (401, "DISABLED_LOGIN")

    with pytest.raises(TransportError) as unavailable:
        banking.authorize(institution="FlinksCapital", username="test_service_unavailable", password="Everyday")
    assert flinks_error(unavailable) == (401, "RETRY_LATER")

    with pytest.raises(TransportError) as institution:
        banking.authorize(institution="NotABank", username="Greatday", password="Everyday")
    assert flinks_error(institution) == (405, "DISABLED_INSTITUTION")

    # A 400 is the one status the client reads: ProtocolError carries the FlinksCode and the body.
    with pytest.raises(ProtocolError) as expired:
        banking.get_accounts_summary("00000000-0000-0000-0000-000000000000")
    assert expired.value.msg == "SESSION_NONEXISTENT"
    assert expired.value.data["HttpStatusCode"] == 400


def test_an_api_key_set_on_the_clients_requests_session(flinks_sandbox_factory):
    """The client has no API-key setting (it predates `x-api-key`); its public `session` is a
    requests.Session, whose default headers are requests' own configuration, not a patch."""
    sandbox = flinks_sandbox_factory(as_of=AS_OF, api_key="test-api-key")
    client = client_for(sandbox)
    banking = client.banking_services
    request_id = banking.authorize(institution="FlinksCapital", username="greatday_nomfa", password="Everyday")[
        "RequestId"
    ]
    with pytest.raises(TransportError) as refused:
        banking.get_accounts_summary(request_id)
    assert flinks_error(refused) == (401, "UNAUTHORIZED")

    client.session.headers["x-api-key"] = "test-api-key"
    assert [a["Title"] for a in banking.get_accounts_summary(request_id)["Accounts"]] == TITLES


# -- Enhanced MFA: a login's security questions answered ahead of time -----------------------------
# docs.flinks.com (API reference, Account Linking): GET /GetMFAQuestions/{loginId} and PATCH
# /AnswerMFAQuestions, which the client calls `get_mfa_questions` and `set_mfa_questions`.


def greatday_login_id(banking) -> str:
    challenge = banking.authorize(institution="FlinksCapital", username="Greatday", password="Everyday", save=True)
    return answer_questions(banking, challenge)["Login"]["Id"]


def test_get_mfa_questions(sandbox, banking):
    login_id = greatday_login_id(banking)
    questions = banking.get_mfa_questions(login_id)
    assert questions["HttpStatusCode"] == 200 and questions["Message"] == "SUCCESS"
    assert [q["Question"] for q in questions["Questions"]] == list(ANSWERS)  # only questions, never answers
    assert all(set(q) == {"Question"} for q in questions["Questions"])

    nomfa = banking.authorize(institution="FlinksCapital", username="greatday_nomfa", password="Everyday")
    assert banking.get_mfa_questions(nomfa["Login"]["Id"])["Questions"] == []

    with pytest.raises(TransportError) as unknown:
        banking.get_mfa_questions("00000000-0000-0000-0000-000000000000")
    assert flinks_error(unknown) == (401, "INVALID_LOGIN")
    base = f"/v3/{sandbox.config.customer_id}/BankingServices"
    assert ("GET", f"{base}/GetMFAQuestions/{login_id}") in [(r.method, r.path) for r in sandbox.requests]


def test_answer_mfa_questions(sandbox, banking):
    login_id = greatday_login_id(banking)
    asked = banking.get_mfa_questions(login_id)["Questions"]
    answers = [{"Question": q["Question"], "Answer": ANSWERS[q["Question"]]} for q in asked]
    updated = banking.set_mfa_questions(login_id, answers)
    assert updated == {"HttpStatusCode": 200, "Message": "Answers updated"}

    # What the feature is for: live refreshes with nobody to answer. Each asks the next of the three
    # questions; the stored answers answer every one of them, so each is a 200, never a 203.
    for _ in range(len(ANSWERS)):
        refreshed = banking.authorize(login_id=login_id, most_recent_cached=False)
        assert refreshed["HttpStatusCode"] == 200, refreshed
        assert refreshed["Login"]["Id"] == login_id and "SecurityChallenges" not in refreshed
        summary = banking.get_accounts_summary(refreshed["RequestId"])
        assert [a["Title"] for a in summary["Accounts"]] == TITLES

    # A question that is not the login's: 400, which the client raises as ProtocolError(FlinksCode).
    with pytest.raises(ProtocolError) as not_asked:
        banking.set_mfa_questions(login_id, [{"Question": "What was your first pet's name?", "Answer": "Rex"}])
    assert not_asked.value.msg == "QUESTION_NOT_FOUND" and not_asked.value.data["HttpStatusCode"] == 400
    with pytest.raises(TransportError) as unknown:
        banking.set_mfa_questions("00000000-0000-0000-0000-000000000000", answers)
    assert flinks_error(unknown) == (401, "INVALID_LOGIN")

    base = f"/v3/{sandbox.config.customer_id}/BankingServices"
    [sent] = [r for r in sandbox.requests if r.path.endswith("/AnswerMFAQuestions") and r.status == 200]
    assert (sent.method, sent.path) == ("PATCH", f"{base}/AnswerMFAQuestions")
