"""The sandbox's scenario users: what real Flinks instances send that the documented samples do not.

Each is a Flinks Capital username (password Everyday) driven over loopback HTTP as a client of the
real API drives it: an MFA answer without `Login`, a multiple-choice question, two questions in one
203, numeric fields, rate limiting, a session that expires mid-way, a damaged statement PDF, and a
Flinks Capital with every kind of account.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from datetime import date
from decimal import Decimal

import httpx
import pytest
from pypdf import PdfReader
from test_sandbox_api import ANSWERS, AS_OF, GUID, Flinks, error_of

from flinks_desktop.sandbox import institution
from flinks_desktop.sandbox.dataset import build_dataset

FOUR_TITLES = ["Everyday Chequing", "High Interest Savings", "Flinks Capital Visa Infinite", "US Dollar Chequing"]


@pytest.fixture
def sandbox(flinks_sandbox_factory):
    return flinks_sandbox_factory(as_of=AS_OF, pending_polls=0)


@pytest.fixture
def flinks(sandbox):
    return Flinks(sandbox.banking_url)


def answer_all(flinks: Flinks, challenge: httpx.Response, answers: dict[str, str]) -> httpx.Response:
    body = challenge.json()
    return flinks.post(
        "Authorize",
        {"RequestId": body["RequestId"], "SecurityResponses": {prompt: [answer] for prompt, answer in answers.items()}},
    )


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def cached(flinks: Flinks, login_id: str) -> httpx.Response:
    return flinks.post("Authorize", {"LoginId": login_id, "MostRecentCached": True})


# -- greatday_nologin ------------------------------------------------------------------------------
def test_nologin_answers_mfa_with_a_200_without_login(flinks, sandbox):
    challenge = flinks.login("greatday_nologin")
    assert challenge.status_code == 203
    authorized = flinks.answer(challenge)
    assert authorized.status_code == 200
    body = authorized.json()
    assert set(body) == {"HttpStatusCode", "Links", "Institution", "RequestId"}
    assert body["RequestId"] == challenge.json()["RequestId"] and body["Institution"] == "FlinksCapital"
    assert {link["rel"] for link in body["Links"]} == {"AccountsDetail", "AccountsSummary", "Statements"}

    # The session is authorized all the same; the data endpoints name the login.
    login_id = sandbox.state.login_id_for("greatday_nologin")
    summary = flinks.post("GetAccountsSummary", {"RequestId": body["RequestId"]})
    assert summary.status_code == 200 and summary.json()["Login"]["Id"] == login_id
    assert flinks.detail(body["RequestId"]).status_code == 200

    # A cached /Authorize answers with its Login as usual; a live refresh's MFA answer does not.
    assert cached(flinks, login_id).json()["Login"]["Id"] == login_id
    live = flinks.post("Authorize", {"LoginId": login_id, "MostRecentCached": False})
    assert live.status_code == 203
    assert "Login" not in flinks.answer(live).json()


# -- greatday_choice -------------------------------------------------------------------------------
def test_choice_asks_a_multiple_choice_question(flinks):
    challenge = flinks.login("greatday_choice")
    assert challenge.status_code == 203
    [question] = challenge.json()["SecurityChallenges"]
    assert question == {
        "Type": "MultipleChoice",
        "Prompt": "Which of these colours is your favourite?",
        "Iterables": ["Red", "Green", "Blue", "Yellow"],
    }
    assert error_of(flinks.answer(challenge, "Red")) == (401, "INVALID_SECURITY_RESPONSE")
    assert error_of(flinks.answer(challenge, "Purple")) == (401, "INVALID_SECURITY_RESPONSE")
    authorized = flinks.answer(challenge, "Blue")
    assert authorized.status_code == 200 and authorized.json()["Login"]["Username"] == "greatday_choice"

    # A live refresh asks it again; in French, its options are French.
    live = flinks.post(
        "Authorize", {"LoginId": authorized.json()["Login"]["Id"], "MostRecentCached": False, "Language": "fr"}
    )
    [question] = live.json()["SecurityChallenges"]
    assert question["Iterables"] == ["Rouge", "Vert", "Bleu", "Jaune"] and question["Type"] == "MultipleChoice"
    assert flinks.answer(live, "bleu").status_code == 200


# -- greatday_twoquestions -------------------------------------------------------------------------
def test_twoquestions_asks_two_questions_in_one_203(flinks):
    challenge = flinks.login("greatday_twoquestions")
    assert challenge.status_code == 203
    questions = challenge.json()["SecurityChallenges"]
    assert len(questions) == 2 and all(q["Type"] == "QuestionAndAnswer" for q in questions)
    prompts = [q["Prompt"] for q in questions]
    assert len(set(prompts)) == 2 and set(prompts) <= set(ANSWERS)
    right = {prompt: ANSWERS[prompt] for prompt in prompts}

    empty = flinks.post(
        "Authorize",
        {"RequestId": challenge.json()["RequestId"], "SecurityResponses": {prompt: [] for prompt in prompts}},
    )
    assert empty.status_code == 203 and empty.json()["SecurityChallenges"] == questions
    assert error_of(answer_all(flinks, challenge, {prompts[0]: right[prompts[0]]})) == (
        401,
        "SECURITYRESPONSES_INCOMPLETE",
    )
    assert error_of(answer_all(flinks, challenge, {prompts[0]: right[prompts[0]], prompts[1]: "Atlantis"})) == (
        401,
        "INVALID_SECURITY_RESPONSE",
    )
    assert error_of(answer_all(flinks, challenge, {**right, "Favourite colour?": "Blue"})) == (
        401,
        "QUESTION_NOT_FOUND",
    )
    authorized = answer_all(flinks, challenge, right)
    assert authorized.status_code == 200, authorized.text
    assert authorized.json()["Login"]["Username"] == "greatday_twoquestions"


# -- greatday_numeric ------------------------------------------------------------------------------
def test_numeric_sends_numeric_codes_and_integer_transit_and_institution_numbers(flinks):
    request_id = flinks.login("greatday_numeric").json()["RequestId"]
    response = flinks.detail(request_id, DaysOfTransactions="Days365")
    accounts = response.json()["Accounts"]
    assert [a["Title"] for a in accounts] == FOUR_TITLES
    assert '"InstitutionNumber": 777' in response.text
    for account in accounts:
        assert account["InstitutionNumber"] == 777 and type(account["TransitNumber"]) is int
        assert 10_000 <= account["TransitNumber"] <= 99_999
        assert isinstance(account["AccountNumber"], str)
        assert account["Transactions"]
        assert all(type(t["Code"]) is int and 100 <= t["Code"] <= 999 for t in account["Transactions"])
    codes = {t["Description"]: t["Code"] for a in accounts for t in a["Transactions"]}
    assert len(set(codes.values())) > 10  # a code per kind of transaction, the same every time

    summary = flinks.post("GetAccountsSummary", {"RequestId": request_id}).json()["Accounts"]
    assert all(type(a["TransitNumber"]) is int and a["InstitutionNumber"] == 777 for a in summary)
    statements = flinks.post("GetStatements", {"RequestId": request_id}).json()["StatementsByAccount"]
    pdf = base64.b64decode(statements[0]["Statements"][0]["Base64Bytes"])
    assert str(accounts[0]["TransitNumber"]) in pdf_pages(pdf)[0]  # printed like any other statement


# -- greatday_ratelimited --------------------------------------------------------------------------
def test_ratelimited_answers_429_with_retry_after_then_serves_the_retry(flinks):
    def twice(call) -> httpx.Response:
        limited = call()
        assert error_of(limited) == (429, "TOO_MANY_REQUESTS")
        assert limited.headers["Retry-After"] == "1"
        return call()

    authorized = twice(lambda: flinks.login("greatday_ratelimited"))
    assert authorized.status_code == 200
    request_id, login_id = authorized.json()["RequestId"], authorized.json()["Login"]["Id"]
    assert twice(lambda: flinks.post("GetAccountsSummary", {"RequestId": request_id})).status_code == 200
    detail = twice(lambda: flinks.post("GetAccountsDetail", {"RequestId": request_id}))
    assert detail.status_code == 202  # then its Async polls, which are never limited
    assert flinks.http.get(f"/GetAccountsDetailAsync/{request_id}").status_code == 200
    assert twice(lambda: flinks.post("GetStatements", {"RequestId": request_id})).status_code == 200
    assert twice(lambda: cached(flinks, login_id)).status_code == 200
    # Every other call: the next one is limited again.
    assert flinks.post("GetAccountsSummary", {"RequestId": request_id}).status_code == 429


def test_ratelimited_polls_and_retry_after_setting(flinks_sandbox_factory):
    sandbox = flinks_sandbox_factory(as_of=AS_OF, retry_after=7)
    flinks = Flinks(sandbox.banking_url)
    limited = flinks.login("greatday_ratelimited")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["HttpStatusCode"] == 429 and "7 second" in limited.json()["Message"]
    request_id = flinks.login("greatday_ratelimited").json()["RequestId"]
    assert flinks.post("GetAccountsDetail", {"RequestId": request_id}).status_code == 429
    assert flinks.post("GetAccountsDetail", {"RequestId": request_id}).status_code == 202
    assert flinks.http.get(f"/GetAccountsDetailAsync/{request_id}").status_code == 202
    assert flinks.http.get(f"/GetAccountsDetailAsync/{request_id}").status_code == 200
    # Other users are never limited.
    assert all(flinks.login("greatday_nomfa").status_code == 200 for _ in range(3))


# -- greatday_expired ------------------------------------------------------------------------------
def test_expired_loses_its_request_id_at_the_data_call_then_a_new_session_works(flinks):
    authorized = flinks.login("greatday_expired")
    assert authorized.status_code == 200
    request_id, login_id = authorized.json()["RequestId"], authorized.json()["Login"]["Id"]
    expired = flinks.post("GetAccountsDetail", {"RequestId": request_id})
    assert error_of(expired) == (400, "SESSION_EXPIRED") and expired.json()["RequestId"] == request_id
    assert error_of(flinks.post("GetAccountsSummary", {"RequestId": request_id})) == (400, "SESSION_NONEXISTENT")
    assert error_of(flinks.http.get(f"/GetAccountsDetailAsync/{request_id}")) == (400, "SESSION_NONEXISTENT")

    # Authorize again (the loginId is fine): this session keeps its RequestId for all its calls.
    again = cached(flinks, login_id).json()["RequestId"]
    assert flinks.post("GetAccountsSummary", {"RequestId": again}).status_code == 200
    assert flinks.detail(again).status_code == 200  # 202, then its Async endpoint
    assert flinks.post("GetStatements", {"RequestId": again}).status_code == 200

    # And the next session expires again (every other one does).
    third = cached(flinks, login_id).json()["RequestId"]
    assert error_of(flinks.post("GetStatements", {"RequestId": third})) == (400, "SESSION_EXPIRED")
    # A session that makes no data call does not count.
    cached(flinks, login_id)
    fourth = cached(flinks, login_id).json()["RequestId"]
    assert flinks.post("GetAccountsSummary", {"RequestId": fourth}).status_code == 200


# -- greatday_badpdf -------------------------------------------------------------------------------
def test_badpdf_sends_a_damaged_statement_among_good_ones(flinks):
    request_id = flinks.login("greatday_badpdf").json()["RequestId"]
    by_account = flinks.post("GetStatements", {"RequestId": request_id, "NumberOfStatements": "Months3"})
    assert by_account.status_code == 200
    chequing, *others = by_account.json()["StatementsByAccount"]
    for statement in chequing["Statements"]:
        data = base64.b64decode(statement["Base64Bytes"], validate=True)  # valid Base64 ...
        assert data.startswith(b"%PDF") and len(data) > 1000 and statement["FileType"] == "PDF"
        with pytest.raises(Exception):  # ... of bytes no PDF reader can parse
            pdf_pages(data)
    for account in others:
        for statement in account["Statements"]:
            assert "Flinks Capital" in pdf_pages(base64.b64decode(statement["Base64Bytes"], validate=True))[0]
    assert flinks.detail(request_id).status_code == 200  # everything else is as usual


def test_badpdf_base64_is_strictly_valid(flinks):
    request_id = flinks.login("greatday_badpdf").json()["RequestId"]
    statements = flinks.post("GetStatements", {"RequestId": request_id}).json()["StatementsByAccount"]
    text = statements[0]["Statements"][0]["Base64Bytes"]
    assert re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) and len(text) % 4 == 0
    try:
        base64.b64decode(text, validate=True)
    except binascii.Error:  # pragma: no cover - the assertion below says it
        pytest.fail("not valid Base64")


# -- greatday_everything ---------------------------------------------------------------------------
def signed_change(account: dict, txn: dict) -> Decimal:
    debit, credit = Decimal(str(txn["Debit"] or 0)), Decimal(str(txn["Credit"] or 0))
    return debit - credit if account["Category"] == "Credits" else credit - debit


@pytest.fixture
def everything(flinks) -> tuple[Flinks, str, list[dict]]:
    request_id = flinks.login("greatday_everything").json()["RequestId"]
    response = flinks.detail(request_id, DaysOfTransactions="Days365")
    assert response.status_code == 200
    return flinks, request_id, response.json()["Accounts"]


def test_everything_has_every_kind_of_account(everything):
    flinks, request_id, accounts = everything
    assert len(accounts) == 9
    assert [a["Title"] for a in accounts[:4]] == FOUR_TITLES
    kinds = [(a["Category"], a["Type"], a["AccountType"]) for a in accounts[4:]]
    assert kinds == [
        ("Credits", "LineOfCredit", "Personal"),
        ("Credits", "Loan", "Personal"),
        ("Products", "TFSA", "Personal"),
        ("Products", "RRSP", "Personal"),
        ("Operations", "Chequing", "Business"),
    ]
    assert len({a["Id"] for a in accounts}) == len({a["AccountNumber"] for a in accounts}) == 9
    assert all(GUID.match(a["Id"]) and a["InstitutionNumber"] == "777" and a["Currency"] for a in accounts)

    line, loan, tfsa, rrsp, business = accounts[4:]
    money = {a["Title"]: {k: None if v is None else Decimal(str(v)) for k, v in a["Balance"].items()} for a in accounts}
    line_balance = money[line["Title"]]
    assert line_balance["Limit"] == Decimal("15000") and 0 < line_balance["Current"] < line_balance["Limit"]
    assert line_balance["Available"] == line_balance["Limit"] - line_balance["Current"]
    assert line["LastFourDigits"] is None and loan["LastFourDigits"] is None
    assert money[loan["Title"]]["Available"] is None and money[loan["Title"]]["Limit"] is None
    assert Decimal("1000") < money[loan["Title"]]["Current"] < Decimal("40000")
    for investment in (tfsa, rrsp):
        assert money[investment["Title"]]["Available"] is None and money[investment["Title"]]["Current"] > 1000
    assert business["Holder"]["Name"] != accounts[0]["Holder"]["Name"]
    assert business["Holder"]["Name"].endswith(("inc.", "Ltd."))
    assert Decimal(str(business["OverdraftLimit"])) == Decimal("2000")

    summary = flinks.post("GetAccountsSummary", {"RequestId": request_id}).json()["Accounts"]
    assert [a["Id"] for a in summary] == [a["Id"] for a in accounts]


def test_everythings_running_balances_add_up_and_are_plausible(everything):
    _, _, accounts = everything
    for account in accounts:
        txns = list(reversed(account["Transactions"]))
        assert len(txns) >= 12, account["Title"]  # a year of life in every account
        for previous, txn in zip(txns, txns[1:]):
            expected = Decimal(str(previous["Balance"])) + signed_change(account, txn)
            assert Decimal(str(txn["Balance"])) == expected, (account["Title"], txn)
        assert Decimal(str(account["Balance"]["Current"])) == Decimal(str(txns[-1]["Balance"]))
        balances = [Decimal(str(t["Balance"])) for t in txns]
        if account["Type"] == "LineOfCredit":
            assert max(balances) <= Decimal(str(account["Balance"]["Limit"])) and min(balances) >= 0
        elif account["OverdraftLimit"] is not None:
            assert min(balances) >= -Decimal(str(account["OverdraftLimit"]))
        else:
            assert min(balances) >= 0


def test_everythings_movements_between_its_accounts_appear_on_both_sides(everything):
    _, _, accounts = everything
    chequing, savings, line, loan, tfsa, rrsp, business = (accounts[i] for i in (0, 1, 4, 5, 6, 7, 8))

    def sent(source: dict, target: dict) -> list[tuple[str, float]]:
        return sorted(
            (t["Date"], t["Debit"])
            for t in source["Transactions"]
            if t["Debit"] and target["AccountNumber"] in t["Description"]
        )

    def received(target: dict, source: dict) -> list[tuple[str, float]]:
        return sorted(
            (t["Date"], t["Credit"])
            for t in target["Transactions"]
            if t["Credit"] and source["AccountNumber"] in t["Description"]
        )

    for source, target in ((business, chequing), (chequing, loan), (chequing, line), (savings, tfsa), (chequing, rrsp)):
        assert sent(source, target) and sent(source, target) == received(target, source), (
            source["Title"],
            target["Title"],
        )
    # Owed accounts: an advance from the line of credit raises what is owed (a Debit on the line).
    advances = [t for t in line["Transactions"] if t["Description"].startswith("Advance to")]
    interest = [t for t in loan["Transactions"] if t["Description"] == "Interest charged"]
    assert all(t["Debit"] for t in advances) and len(interest) >= 11 and all(t["Debit"] for t in interest)
    descriptions = " | ".join(t["Description"] for t in business["Transactions"])
    for expected in ("EFT CREDIT", "CRA - GST/HST REMITTANCE", "Owner draw to Chequing", "Monthly fee"):
        assert expected in descriptions


def test_everything_is_deterministic_and_greatday_keeps_its_four_accounts(flinks_sandbox_factory, everything):
    _, _, accounts = everything
    other = Flinks(flinks_sandbox_factory(as_of=AS_OF, pending_polls=0).banking_url)
    request_id = other.login("greatday_everything").json()["RequestId"]
    assert other.detail(request_id, DaysOfTransactions="Days365").json()["Accounts"] == accounts

    greatday = other.login_with_mfa("Greatday")["RequestId"]
    four = other.post("GetAccountsSummary", {"RequestId": greatday}).json()["Accounts"]
    assert [a["Title"] for a in four] == FOUR_TITLES
    assert [a["Id"] for a in four] == [a["Id"] for a in build_dataset("Greatday", AS_OF).accounts()]
    assert not {a["Id"] for a in four} & {a["Id"] for a in accounts}


def test_everythings_statements_read_like_its_accounts(everything):
    flinks, request_id, accounts = everything
    by_account = flinks.post("GetStatements", {"RequestId": request_id, "NumberOfStatements": "Months3"})
    statements = by_account.json()["StatementsByAccount"]
    assert [s["AccountNumber"] for s in statements] == [a["AccountNumber"] for a in accounts]
    assert all(len(s["Statements"]) == 3 for s in statements)
    for account, listed in zip(accounts[4:], statements[4:]):
        pages = pdf_pages(base64.b64decode(listed["Statements"][0]["Base64Bytes"]))
        first = pages[0]
        assert account["Title"] in first and "October 1, 2026 to October 31, 2026" in first
        october = [t for t in account["Transactions"] if t["Date"].startswith("2026-10")]
        assert all(t["Description"] in "\n".join(pages) for t in october)
        if account["Category"] == "Credits":
            assert "Advances, interest and charges (+)" in first and "New balance" in first
        if account["AccountType"] == "Business":
            assert account["Holder"]["Name"].upper() in first


def test_every_scenario_user_is_a_known_user_with_the_password():
    for username in (
        "greatday_nologin",
        "greatday_choice",
        "greatday_twoquestions",
        "greatday_numeric",
        "greatday_ratelimited",
        "greatday_expired",
        "greatday_badpdf",
        "greatday_everything",
    ):
        assert institution.find_user(username.upper()) is not None, username
    assert json.dumps(institution.challenge(institution.CHOICE, "en"))  # JSON-ready
    assert build_dataset("greatday_everything", date(2025, 2, 4)).accounts()[8]["AccountType"] == "Business"
