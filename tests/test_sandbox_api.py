"""The sandbox API, driven over loopback HTTP the way a client written for the real Flinks API is.

Only documented paths, methods, bodies and field names are used here: if these pass, a client built
against docs.flinks.com works against `flinks-desktop sandbox` unchanged.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date

import httpx
import pytest

from flinks_desktop.sandbox import institution

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LAST_REFRESH = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")
ANSWERS = {
    "What city were you born in?": "Montreal",
    "What is the best country on earth?": "Canada",
    "What shape do people like most?": "Triangle",
    "Dans quelle ville êtes-vous né(e)?": "Montréal",
    "Quel est le meilleur pays au monde?": "Canada",
    "Quelle forme les gens préfèrent-ils?": "Triangle",
}
AS_OF = date(2026, 11, 21)


class Flinks:
    """The smallest honest client of the documented API: one method per endpoint."""

    def __init__(self, banking_url: str, headers: dict | None = None):
        self.http = httpx.Client(base_url=banking_url, headers=headers or {}, timeout=10)

    def post(self, endpoint: str, body: dict | None = None, **headers) -> httpx.Response:
        return self.http.post(f"/{endpoint}", json=body, headers=headers)

    def login(self, username: str, password: str = "Everyday", **extra) -> httpx.Response:
        body = {
            "Institution": "FlinksCapital",
            "Username": username,
            "Password": password,
            "MostRecentCached": False,
            "Save": True,
            **extra,
        }
        return self.post("Authorize", body)

    def answer(self, response: httpx.Response, answer: str | None = None) -> httpx.Response:
        body = response.json()
        prompt = body["SecurityChallenges"][0]["Prompt"]
        return self.post(
            "Authorize", {"RequestId": body["RequestId"], "SecurityResponses": {prompt: [answer or ANSWERS[prompt]]}}
        )

    def login_with_mfa(self, username: str = "Greatday") -> dict:
        response = self.login(username)
        while response.status_code == 203:
            response = self.answer(response)
        assert response.status_code == 200, response.text
        return response.json()

    def detail(self, request_id: str, **extra) -> httpx.Response:
        response = self.post("GetAccountsDetail", {"RequestId": request_id, "WithTransactions": True, **extra})
        while response.status_code == 202:
            response = self.http.get(f"/GetAccountsDetailAsync/{request_id}")
        return response


@pytest.fixture
def sandbox(flinks_sandbox_factory):
    return flinks_sandbox_factory(as_of=AS_OF)


@pytest.fixture
def flinks(sandbox):
    return Flinks(sandbox.banking_url)


def error_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["HttpStatusCode"] == response.status_code
    assert body["Message"]
    return response.status_code, body["FlinksCode"]


def test_direct_login_answers_mfa_then_reads_everything(flinks, sandbox):
    challenge = flinks.login("Greatday")
    assert challenge.status_code == 203
    body = challenge.json()
    assert body["SecurityChallenges"] == [{"Type": "QuestionAndAnswer", "Prompt": "What city were you born in?"}]
    assert body["Institution"] == "FlinksCapital" and GUID.match(body["RequestId"])

    wrong = flinks.answer(challenge, "Toronto")
    assert error_of(wrong) == (401, "INVALID_SECURITY_RESPONSE")
    authorized = flinks.answer(challenge, "montreal")  # answers are not case-sensitive, as at Flinks
    assert authorized.status_code == 200
    auth = authorized.json()
    login, request_id = auth["Login"], auth["RequestId"]
    assert GUID.match(login["Id"]) and login["Username"] == "Greatday" and LAST_REFRESH.match(login["LastRefresh"])
    assert {link["rel"] for link in auth["Links"]} == {"AccountsDetail", "AccountsSummary", "Statements"}

    summary = flinks.post("GetAccountsSummary", {"RequestId": request_id}).json()
    assert len(summary["Accounts"]) >= 4 and "Transactions" not in summary["Accounts"][0]
    assert summary["Login"]["Id"] == login["Id"]

    first = flinks.post("GetAccountsDetail", {"RequestId": request_id, "DaysOfTransactions": "Days365"})
    assert first.status_code == 202
    assert first.json()["FlinksCode"] == "OPERATION_PENDING" and first.json()["RequestId"] == request_id
    polled = flinks.http.get(f"/GetAccountsDetailAsync/{request_id}")
    assert polled.status_code == 202  # pending_polls=1: one more 202 from the Async endpoint
    detail = flinks.http.get(f"/GetAccountsDetailAsync/{request_id}")
    assert detail.status_code == 200
    accounts = detail.json()["Accounts"]
    types = {(a["Type"], a["Currency"]) for a in accounts}
    assert {("Chequing", "CAD"), ("Savings", "CAD"), ("CreditCard", "CAD")} <= types
    assert any(currency == "USD" for _, currency in types)
    chequing = next(a for a in accounts if a["Type"] == "Chequing")
    assert chequing["InstitutionNumber"] == "777" and chequing["Holder"]["Name"]
    oldest = min(t["Date"] for t in chequing["Transactions"])
    assert (AS_OF - date.fromisoformat(oldest)).days > 300

    statements = flinks.post("GetStatements", {"RequestId": request_id, "NumberOfStatements": "Months3"})
    assert statements.status_code == 200
    by_account = statements.json()["StatementsByAccount"]
    assert {s["AccountNumber"] for s in by_account} == {a["AccountNumber"] for a in accounts}
    pdfs = [st for s in by_account for st in s["Statements"]]
    assert len(pdfs) == 3 * len(accounts)
    assert all(st["FileType"] == "PDF" and base64.b64decode(st["Base64Bytes"]).startswith(b"%PDF") for st in pdfs)

    cached = flinks.post("Authorize", {"LoginId": login["Id"], "MostRecentCached": True})
    assert cached.status_code == 200 and cached.json()["Login"]["Id"] == login["Id"]
    assert cached.json()["RequestId"] != request_id

    deleted = flinks.http.delete(f"/DeleteCard/{login['Id']}")
    assert deleted.status_code == 200
    assert deleted.json()["Message"] == f"All of the information about LoginId {login['Id']} has been removed"
    gone = flinks.post("Authorize", {"LoginId": login["Id"], "MostRecentCached": True})
    assert error_of(gone) == (401, "INVALID_LOGIN")
    assert flinks.post("GetAccountsSummary", {"RequestId": request_id}).json()["FlinksCode"] == "SESSION_NONEXISTENT"
    assert error_of(flinks.http.delete(f"/DeleteCard/{login['Id']}")) == (401, "INVALID_LOGIN")


def test_the_documented_request_samples_are_accepted(flinks):
    # authorize_request_credentials.json spells "username" in lower case
    response = flinks.post(
        "Authorize",
        {
            "Institution": "FlinksCapital",
            "username": "Greatday",
            "Password": "Everyday",
            "MostRecentCached": False,
            "Save": True,
        },
    )
    assert response.status_code == 203


def test_wrong_password_and_unknown_user(flinks):
    assert error_of(flinks.login("Greatday", "Everynight")) == (401, "INVALID_LOGIN")
    assert error_of(flinks.login("Nobody")) == (401, "INVALID_LOGIN")


def test_other_institutions_are_unavailable(flinks):
    response = flinks.post(
        "Authorize", {"Institution": "RBC", "Username": "a", "Password": "b", "MostRecentCached": False}
    )
    assert error_of(response) == (405, "DISABLED_INSTITUTION")


@pytest.mark.parametrize(
    ("username", "code"),
    [
        ("test_disabled_account", "DISABLED_LOGIN"),
        ("test_service_unavailable", "RETRY_LATER"),
    ],
)
def test_users_whose_bank_fails(flinks, username, code):
    assert error_of(flinks.login(username)) == (401, code)


def test_login_ids_are_stable_per_user_and_new_after_deletion(flinks):
    first = flinks.login("greatday_nomfa").json()["Login"]["Id"]
    again = flinks.login("GREATDAY_NOMFA").json()["Login"]["Id"]
    assert first == again
    assert flinks.login_with_mfa()["Login"]["Id"] != first
    assert flinks.http.delete(f"/DeleteCard/{first}").status_code == 200
    assert flinks.login("greatday_nomfa").json()["Login"]["Id"] not in (first, None)


def test_live_refresh_of_a_known_login_asks_mfa_again(flinks):
    login_id = flinks.login_with_mfa()["Login"]["Id"]
    live = flinks.post("Authorize", {"LoginId": login_id, "MostRecentCached": False})
    assert live.status_code == 203
    assert flinks.answer(live).json()["Login"]["Id"] == login_id


def test_live_refresh_of_a_user_whose_bank_is_down(flinks, sandbox):
    # A login made earlier (the sandbox's memory), its bank now unreachable: cached works, live fails.
    user = institution.find_user("test_service_unavailable")
    session = sandbox.state.open_session(user, user.username, "en", None)
    login_id = sandbox.state.record_login(session).login_id
    assert flinks.post("Authorize", {"LoginId": login_id, "MostRecentCached": True}).status_code == 200
    live = flinks.post("Authorize", {"LoginId": login_id, "MostRecentCached": False})
    assert error_of(live) == (401, "RETRY_LATER")


def test_security_questions_rotate_and_each_round_asks_one(flinks_sandbox_factory):
    sandbox = flinks_sandbox_factory(mfa_rounds=3)
    flinks = Flinks(sandbox.banking_url)
    response = flinks.login("Greatday")
    prompts = []
    while response.status_code == 203:
        challenges = response.json()["SecurityChallenges"]
        assert len(challenges) == 1
        prompts.append(challenges[0]["Prompt"])
        response = flinks.answer(response)
    assert response.status_code == 200
    assert prompts == [
        "What city were you born in?",
        "What is the best country on earth?",
        "What shape do people like most?",
    ]
    # the next session starts on the next question
    assert flinks.login("Greatday").json()["SecurityChallenges"][0]["Prompt"] == prompts[1]


def test_french_prompts(flinks):
    challenge = flinks.login("Greatday", Language="fr")
    assert challenge.json()["SecurityChallenges"][0]["Prompt"] == "Dans quelle ville êtes-vous né(e)?"
    assert flinks.answer(challenge).status_code == 200  # "Montréal", accent and all


def test_mfa_answer_edge_cases(flinks):
    challenge = flinks.login("Greatday")
    request_id = challenge.json()["RequestId"]
    prompt = challenge.json()["SecurityChallenges"][0]["Prompt"]
    empty = flinks.post("Authorize", {"RequestId": request_id, "SecurityResponses": {prompt: []}})
    assert empty.status_code == 203 and empty.json()["RequestId"] == request_id
    other = flinks.post("Authorize", {"RequestId": request_id, "SecurityResponses": {"Favourite colour?": ["x"]}})
    assert error_of(other) == (401, "QUESTION_NOT_FOUND")
    for _ in range(2):
        assert error_of(flinks.answer(challenge, "Paris"))[1] == "INVALID_SECURITY_RESPONSE"
    assert error_of(flinks.answer(challenge, "Paris"))[1] == "INVALID_SECURITY_RESPONSE_NO_RETRY"
    assert error_of(flinks.answer(challenge))[1] == "SESSION_NONEXISTENT"


def test_data_needs_an_authorized_session(flinks):
    challenge = flinks.login("Greatday").json()
    unanswered = flinks.post("GetAccountsSummary", {"RequestId": challenge["RequestId"]})
    assert error_of(unanswered) == (401, "UNAUTHORIZED")
    unknown = flinks.post("GetAccountsSummary", {"RequestId": "5e115eac-1209-4f19-641c-08d6d484e2fe"})
    assert error_of(unknown) == (400, "SESSION_NONEXISTENT")
    assert error_of(flinks.http.get("/GetAccountsDetailAsync/not-a-request"))[1] == "SESSION_NONEXISTENT"


def test_request_ids_expire(flinks, sandbox):
    request_id = flinks.login_with_mfa()["RequestId"]
    assert flinks.post("GetAccountsSummary", {"RequestId": request_id}).status_code == 200
    sandbox.state.advance_clock(31 * 60)
    assert error_of(flinks.post("GetAccountsSummary", {"RequestId": request_id})) == (400, "SESSION_NONEXISTENT")

    pending = flinks.login("Greatday").json()
    sandbox.state.advance_clock(9 * 60)  # 8 minutes idle while MFA is pending
    answer = flinks.post(
        "Authorize",
        {"RequestId": pending["RequestId"], "SecurityResponses": {pending["SecurityChallenges"][0]["Prompt"]: ["x"]}},
    )
    assert error_of(answer) == (400, "SESSION_NONEXISTENT")


def test_detail_options(flinks):
    request_id = flinks.login("greatday_nomfa").json()["RequestId"]
    full = flinks.detail(request_id, DaysOfTransactions="Days365").json()["Accounts"]
    short = flinks.detail(request_id, DaysOfTransactions="Days90").json()["Accounts"]
    assert sum(len(a["Transactions"]) for a in full) > sum(len(a["Transactions"]) for a in short) > 0
    one = full[1]["Id"]
    filtered = flinks.detail(request_id, AccountsFilter=[one], WithTransactions=False).json()["Accounts"]
    assert [a["Id"] for a in filtered] == [one] and filtered[0]["Transactions"] == []
    bad = flinks.post("GetAccountsDetail", {"RequestId": request_id, "DaysOfTransactions": "Days12"})
    assert error_of(bad) == (400, "INVALID_REQUEST")


def test_a_second_detail_call_once_ready_answers_at_once(flinks):
    request_id = flinks.login("greatday_nomfa").json()["RequestId"]
    assert flinks.detail(request_id).status_code == 200
    assert flinks.post("GetAccountsDetail", {"RequestId": request_id}).status_code == 200


def test_money_is_sent_as_json_numbers_with_cents(flinks):
    request_id = flinks.login("greatday_nomfa").json()["RequestId"]
    text = flinks.detail(request_id).text
    assert re.search(r'"Balance": \{"Available": -?\d+(\.\d{1,2})?, "Current": -?\d+(\.\d{1,2})?', text)


@pytest.mark.parametrize(
    ("username", "code"), [("test_pending", "OPERATION_PENDING"), ("test_dispatched", "OPERATION_DISPATCHED")]
)
def test_slow_users_stay_pending_for_a_while(flinks_sandbox_factory, username, code):
    sandbox = flinks_sandbox_factory(slow_pending_polls=4)
    flinks = Flinks(sandbox.banking_url)
    request_id = flinks.login(username).json()["RequestId"]
    for endpoint in ("GetAccountsSummary", "GetAccountsDetail", "GetStatements"):
        answers = [flinks.post(endpoint, {"RequestId": request_id})]
        while answers[-1].status_code == 202:
            assert answers[-1].json()["FlinksCode"] == code
            answers.append(flinks.http.get(f"/{endpoint}Async/{request_id}"))
        assert [a.status_code for a in answers] == [202] * 5 + [200], endpoint


def test_card_in_use_while_data_is_prepared_then_deletable(flinks):
    auth = flinks.login("greatday_nomfa").json()
    assert flinks.post("GetAccountsDetail", {"RequestId": auth["RequestId"]}).status_code == 202
    in_use = flinks.http.delete(f"/DeleteCard/{auth['Login']['Id']}")
    assert error_of(in_use) == (400, "CARD_IN_USE")
    assert flinks.detail(auth["RequestId"]).status_code == 200
    assert flinks.http.delete(f"/DeleteCard/{auth['Login']['Id']}").status_code == 200


def test_card_in_use_right_after_authorize(flinks_sandbox_factory):
    sandbox = flinks_sandbox_factory(card_in_use_seconds=60)
    flinks = Flinks(sandbox.banking_url)
    login_id = flinks.login("greatday_nomfa").json()["Login"]["Id"]
    assert error_of(flinks.http.delete(f"/DeleteCard/{login_id}")) == (400, "CARD_IN_USE")
    sandbox.state.advance_clock(61)
    assert flinks.http.delete(f"/DeleteCard/{login_id}").status_code == 200


def test_secrets_when_the_sandbox_has_them(flinks_sandbox_factory):
    sandbox = flinks_sandbox_factory(auth_key="s3cret", api_key="k3y")
    flinks = Flinks(sandbox.banking_url)
    assert error_of(flinks.post("GenerateAuthorizeToken")) == (401, "UNAUTHORIZED")
    assert flinks.post("GenerateAuthorizeToken", **{"flinks-auth-key": "wrong"}).status_code == 401
    token = flinks.post("GenerateAuthorizeToken", **{"flinks-auth-key": "s3cret"}).json()["Token"]
    assert GUID.match(token)

    body = {
        "Institution": "FlinksCapital",
        "Username": "greatday_nomfa",
        "Password": "Everyday",
        "MostRecentCached": False,
    }
    without = flinks.post("Authorize", body)
    assert (
        error_of(without) == (401, "UNAUTHORIZED") and without.json()["Message"] == "You must provide a valid auth key"
    )
    auth = flinks.post("Authorize", body, **{"flinks-auth-key": token})
    assert auth.status_code == 200
    assert flinks.post("Authorize", body, **{"flinks-auth-key": token}).status_code == 401  # single use

    request_id = auth.json()["RequestId"]
    assert error_of(flinks.post("GetAccountsSummary", {"RequestId": request_id})) == (401, "UNAUTHORIZED")
    ok = flinks.post("GetAccountsSummary", {"RequestId": request_id}, **{"x-api-key": "k3y"})
    assert ok.status_code == 200
    login_id = auth.json()["Login"]["Id"]
    assert flinks.http.delete(f"/DeleteCard/{login_id}").status_code == 401
    assert flinks.http.delete(f"/DeleteCard/{login_id}", headers={"x-api-key": "k3y"}).status_code == 200


def test_authorize_tokens_expire(flinks_sandbox_factory):
    sandbox = flinks_sandbox_factory(auth_key="s3cret")
    flinks = Flinks(sandbox.banking_url)
    token = flinks.post("GenerateAuthorizeToken", **{"flinks-auth-key": "s3cret"}).json()["Token"]
    sandbox.state.advance_clock(31 * 60)
    assert flinks.login("greatday_nomfa", **{}).status_code == 401
    response = flinks.http.post(
        "/Authorize",
        headers={"flinks-auth-key": token},
        json={
            "Institution": "FlinksCapital",
            "Username": "greatday_nomfa",
            "Password": "Everyday",
            "MostRecentCached": False,
        },
    )
    assert error_of(response) == (401, "UNAUTHORIZED")


def test_headers_are_ignored_without_secrets(flinks):
    response = flinks.post(
        "Authorize",
        {
            "Institution": "FlinksCapital",
            "Username": "greatday_nomfa",
            "Password": "Everyday",
            "MostRecentCached": False,
        },
        **{"flinks-auth-key": "anything"},
    )
    assert response.status_code == 200


def test_unknown_customer_and_bad_requests(sandbox):
    other = httpx.post(
        f"{sandbox.base_url}/v3/00000000-0000-0000-0000-000000000000/BankingServices/Authorize",
        json={"LoginId": "x", "MostRecentCached": True},
    )
    assert error_of(other) == (401, "UNAUTHORIZED")
    not_json = httpx.post(f"{sandbox.banking_url}/Authorize", content=b"{nope")
    assert error_of(not_json) == (400, "INVALID_REQUEST")
    a_list = httpx.post(f"{sandbox.banking_url}/Authorize", json=[1, 2])
    assert error_of(a_list) == (400, "INVALID_REQUEST")
    empty = httpx.post(f"{sandbox.banking_url}/Authorize", json={})
    assert error_of(empty) == (400, "INVALID_REQUEST")
    wrong_method = httpx.get(f"{sandbox.banking_url}/Authorize")
    assert error_of(wrong_method) == (405, "INVALID_REQUEST")
    assert error_of(httpx.get(f"{sandbox.banking_url}/Nothing"))[0] == 404


def test_logins_survive_a_restart_with_a_state_file(tmp_path, flinks_sandbox_factory):
    state_file = str(tmp_path / "sandbox.json")
    first = flinks_sandbox_factory(state_file=state_file)
    nomfa = Flinks(first.banking_url).login("greatday_nomfa").json()["Login"]["Id"]
    greatday = Flinks(first.banking_url).login_with_mfa()["Login"]["Id"]
    assert Flinks(first.banking_url).http.delete(f"/DeleteCard/{nomfa}").status_code == 200
    first.stop()

    second = Flinks(flinks_sandbox_factory(state_file=state_file).banking_url)
    assert second.post("Authorize", {"LoginId": greatday, "MostRecentCached": True}).status_code == 200
    assert error_of(second.post("Authorize", {"LoginId": nomfa, "MostRecentCached": True}))[1] == "INVALID_LOGIN"
    assert second.login("greatday_nomfa").json()["Login"]["Id"] != nomfa


def test_requests_are_recorded_for_tests(flinks, sandbox):
    flinks.login("greatday_nomfa")
    recorded = sandbox.requests[-1]
    assert recorded.method == "POST" and recorded.path.endswith("/BankingServices/Authorize")
    assert json.loads(recorded.body)["Username"] == "greatday_nomfa" and recorded.status == 200


def test_index_page_says_what_this_is(sandbox):
    page = httpx.get(sandbox.base_url + "/")
    assert page.status_code == 200 and "Flinks Capital offline sandbox" in page.text


# -- a cached /Authorize that the bank challenges (203), as real Flinks may -------------------------
def cached(flinks: Flinks, login_id: str) -> httpx.Response:
    return flinks.post("Authorize", {"LoginId": login_id, "MostRecentCached": True})


def test_cached_authorize_asks_mfa_when_the_sandbox_is_set_to(flinks_sandbox_factory):
    sandbox = flinks_sandbox_factory(as_of=AS_OF, cached_mfa=True)
    flinks = Flinks(sandbox.banking_url)
    auth = flinks.login_with_mfa()
    login = auth["Login"]

    challenge = cached(flinks, login["Id"])
    assert challenge.status_code == 203
    body = challenge.json()
    live = flinks.post("Authorize", {"LoginId": login["Id"], "MostRecentCached": False})
    assert live.status_code == 203
    assert (
        set(body) == set(live.json()) == {"HttpStatusCode", "Links", "SecurityChallenges", "Institution", "RequestId"}
    )
    assert body["HttpStatusCode"] == 203 and body["Institution"] == "FlinksCapital"
    assert body["Links"] == live.json()["Links"]
    [question] = body["SecurityChallenges"]
    assert question["Type"] == "QuestionAndAnswer" and question["Prompt"] in ANSWERS
    assert GUID.match(body["RequestId"]) and body["RequestId"] not in (auth["RequestId"], live.json()["RequestId"])

    unanswered = flinks.post("GetAccountsSummary", {"RequestId": body["RequestId"]})
    assert error_of(unanswered) == (401, "UNAUTHORIZED")
    assert error_of(flinks.answer(challenge, "Atlantis")) == (401, "INVALID_SECURITY_RESPONSE")
    authorized = flinks.answer(challenge)
    assert authorized.status_code == 200, authorized.text
    answer = authorized.json()
    assert answer["RequestId"] == body["RequestId"]
    assert answer["Login"] == login  # the cached data: same loginId, same LastRefresh
    assert {link["rel"] for link in answer["Links"]} == {"AccountsDetail", "AccountsSummary", "Statements"}
    summary = flinks.post("GetAccountsSummary", {"RequestId": answer["RequestId"]})
    assert summary.status_code == 200 and summary.json()["Login"]["Id"] == login["Id"]

    # Users without MFA still authorize from the cache at once; French prompts in French.
    nomfa = flinks.login("greatday_nomfa").json()["Login"]["Id"]
    assert cached(flinks, nomfa).status_code == 200
    french = flinks.post("Authorize", {"LoginId": login["Id"], "MostRecentCached": True, "Language": "fr"})
    assert french.status_code == 203
    assert french.json()["SecurityChallenges"][0]["Prompt"] in set(list(ANSWERS)[3:])
    assert flinks.answer(french).json()["Login"]["Id"] == login["Id"]


def test_without_the_setting_a_cached_authorize_of_greatday_is_200(flinks):
    login_id = flinks.login_with_mfa()["Login"]["Id"]
    assert cached(flinks, login_id).status_code == 200


def test_greatday_cachedmfa_always_gets_a_question_on_a_cached_authorize(flinks):
    challenge = flinks.login("greatday_cachedmfa")
    assert challenge.status_code == 203  # its credential login asks, like Greatday's
    assert challenge.json()["SecurityChallenges"][0]["Prompt"] in ANSWERS
    login = flinks.answer(challenge).json()["Login"]
    assert login["Username"] == "greatday_cachedmfa"

    for _ in range(2):  # every time, with no sandbox setting
        again = cached(flinks, login["Id"])
        assert again.status_code == 203
        authorized = flinks.answer(again)
        assert authorized.status_code == 200 and authorized.json()["Login"] == login
        request_id = authorized.json()["RequestId"]
        assert flinks.detail(request_id).status_code == 200

    # Three wrong answers end the session, as on a live login.
    pending = cached(flinks, login["Id"])
    for _ in range(2):
        assert error_of(flinks.answer(pending, "Paris"))[1] == "INVALID_SECURITY_RESPONSE"
    assert error_of(flinks.answer(pending, "Paris"))[1] == "INVALID_SECURITY_RESPONSE_NO_RETRY"


def test_a_card_deleted_while_its_cached_question_waits(flinks):
    login_id = flinks.answer(flinks.login("greatday_cachedmfa")).json()["Login"]["Id"]
    pending = cached(flinks, login_id)
    assert pending.status_code == 203
    assert flinks.http.delete(f"/DeleteCard/{login_id}").status_code == 200
    assert error_of(flinks.answer(pending)) == (400, "SESSION_NONEXISTENT")
    assert error_of(cached(flinks, login_id)) == (401, "INVALID_LOGIN")
