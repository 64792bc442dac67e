"""Real Flinks is looser than our sandbox and its published samples: the shapes public sources have
seen (docs/flinks-compatibility.md names each source) are read, exactly, and what still cannot be
read is dropped with a record, never the whole answer.

First the readers on their own, then a whole conversation replayed over loopback HTTP by
`ScriptedServer`: a live /Authorize answered 203 with two questions (one a multiple choice), a
second round, a 200 without `Login`, then accounts and statements in the loose shapes.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from scripted_server import Reply, ScriptedServer, json_reply

from flinks_desktop.core.flinks import (
    Account,
    Authorized,
    Dropped,
    FlinksClient,
    MfaRequired,
    ProtocolError,
    SecurityChallenge,
    UnsupportedChallenge,
    check_answerable,
)
from flinks_desktop.core.flinks.models import loads, parse_accounts, parse_authorize, parse_statements

SAMPLES = Path(__file__).parent / "fixtures" / "flinks-samples"
CUSTOMER = "43387ca6-0391-4c82-857d-70d95f087ecb"
LOGIN_ID = "b0debb48-f9f1-46c6-80a4-08d7dd88d478"
REQUEST_ID = "006fd2f3-055b-4ef6-a9fc-c1261cd76ec6"
CHEQUING = "27a9ffa0-c6b9-4cc6-9eaa-aa9efa07a889"
CARD = "6d0e0ed3-04d1-4e2a-9b37-3c4c0f2f7a11"
#: 9,007,199,254,740,993 cents: more than 2**53, so no float holds it (a float reader would make it
#: ...740,992). Written into the JSON as this exact text.
HUGE = "90071992547409.93"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def raw_json(value: object) -> bytes:
    """`value` as JSON, with every "<HUGE>" string replaced by the raw number literal HUGE."""
    return json.dumps(value).replace('"<HUGE>"', HUGE).encode()


# -- what real instances send (built from the shapes the Flinks API reference documents) ---------------------------


def loose_detail(login_id: str = LOGIN_ID, request_id: str = REQUEST_ID) -> dict:
    """GetAccountsDetail as a real instance may send it: the published sample's account with
    numbers where the sample has text (and text where it has numbers), a Holder that is a string,
    a null Available; a summary-like credit card account; and two transactions no one can read."""
    body = sample("get_accounts_detail_200.json")
    body["RequestId"], body["Login"]["Id"] = request_id, login_id
    chequing = body["Accounts"][0]
    chequing["TransitNumber"] = 12347  # int? in Flinks' C# SDK
    chequing["InstitutionNumber"] = 777  # idem
    chequing["Holder"] = "Testing"  # a string in a public Node client's tests
    chequing["Balance"] = {"Available": None, "Current": "<HUGE>", "Limit": "5105.50"}
    chequing["OverdraftLimit"] = "100.5"  # an amount as a numeric string
    payroll = chequing["Transactions"][0]
    payroll["Code"] = 7  # "number, null" in Flinks' help centre
    chequing["Transactions"] += [
        {
            "Id": "0b9d4c55-0d5e-4f3b-8d54-3f4f1b0b1a01",
            "Date": "2019/05/09",
            "Description": "Older data",
            "Debit": "12.30",
            "Credit": None,
            "Balance": 5093.3,
            "Code": None,
        },
        {
            "Id": "0b9d4c55-0d5e-4f3b-8d54-3f4f1b0b1a02",
            "Description": "Missing its date",
            "Debit": 1,
            "Credit": None,
            "Balance": None,
        },
        {"Date": "2025-01-30", "Description": "Missing its id", "Debit": 2, "Credit": None, "Balance": None},
        {
            "Id": "0b9d4c55-0d5e-4f3b-8d54-3f4f1b0b1a04",
            "Date": "2025-01-29",
            "Description": "Text code",
            "Debit": None,
            "Credit": 0.1,
            "Balance": 5000,
            "Code": "DEP",
        },
    ]
    card = {  # as GetAccountsSummary's accounts come from the real Flinks Capital: no Type
        "Id": CARD,
        "Title": "Visa",
        "AccountNumber": "420024******4242",
        "LastFourDigits": 4242,
        "Balance": {"Available": None, "Current": -250.75, "Limit": 5000},
        "Category": "Credits",
        "Currency": "CAD",
        "Holder": None,
        "Transactions": [],
    }
    body["Accounts"].append(card)
    return body


def loose_statements(login_id: str = LOGIN_ID, request_id: str = REQUEST_ID, *files: tuple[str, object]) -> dict:
    body = sample("get_statements_200.json")
    body["RequestId"], body["Login"]["Id"] = request_id, login_id
    body["StatementsByAccount"] = [
        {
            "AccountNumber": "7641238",
            "Statements": [
                {"UniqueId": unique_id, "FileType": "PDF", "Base64Bytes": data} for unique_id, data in files
            ],
        },
        {"AccountNumber": "420024******4242", "Statements": []},  # real instances may send empty lists
    ]
    return body


def two_questions(request_id: str = REQUEST_ID) -> dict:
    body = sample("authorize_203_mfa.json")
    body["RequestId"] = request_id
    body["SecurityChallenges"] = [
        {"Type": "QuestionAndAnswer", "Prompt": "What city were you born in?"},
        {
            "Type": "MultipleChoice",
            "Prompt": "Which street did you live on?",
            "Iterables": ["Rue Sainte-Catherine", "Rue Sherbrooke", "Boulevard Saint-Laurent"],
        },
    ]
    return body


def one_question(prompt: str, request_id: str = REQUEST_ID) -> dict:
    body = sample("authorize_203_mfa.json")
    body["RequestId"] = request_id
    body["SecurityChallenges"] = [{"Type": "QuestionAndAnswer", "Prompt": prompt}]
    return body


def authorized_without_login(request_id: str | None = REQUEST_ID) -> dict:
    """The 200 a real private instance sent after an MFA answer (public capture): no Login."""
    body = {key: value for key, value in sample("authorize_200_cached.json").items() if key != "Login"}
    if request_id is None:
        del body["RequestId"]
    else:
        body["RequestId"] = request_id
    return body


# -- the readers ---------------------------------------------------------------------------------------


def test_the_loose_shapes_are_read_exactly() -> None:
    result = parse_accounts(loads(raw_json(loose_detail())))
    chequing, card = result.accounts
    assert (chequing.transit_number, chequing.institution_number) == ("12347", "777")
    assert chequing.holder is not None and chequing.holder.name == "Testing" and chequing.holder.address is None
    assert chequing.balance.available is None
    assert chequing.balance.current == Decimal(HUGE) and str(chequing.balance.current) == HUGE
    assert chequing.balance.limit == Decimal("5105.50")
    assert chequing.overdraft_limit == Decimal("100.5")
    assert [t.id[-2:] for t in chequing.transactions] == ["f5", "01", "04"]
    payroll, older, text_code = chequing.transactions
    assert payroll.code == "7" and text_code.code == "DEP" and older.code is None
    assert older.date == date(2019, 5, 9) and older.debit == Decimal("12.30") and older.balance == Decimal("5093.3")
    assert text_code.credit == Decimal("0.1") and text_code.balance == Decimal(5000)
    assert chequing.unread_transactions == 2
    assert (card.type, card.account_number, card.last_four_digits) == (None, "420024******4242", "4242")
    assert card.balance.current == Decimal("-250.75") and card.unread_transactions == 0
    assert result.all_accounts_read
    assert result.dropped == (
        Dropped(
            "transaction",
            "Accounts[0].Transactions[2].Date",
            "missing",
            "0b9d4c55-0d5e-4f3b-8d54-3f4f1b0b1a02",
            CHEQUING,
        ),
        Dropped("transaction", "Accounts[0].Transactions[3].Id", "missing", None, CHEQUING),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, "7"), (Decimal("7.5"), "7.5"), ("DEP", "DEP"), (None, None), (0, "0")],
)
def test_a_code_is_a_number_or_a_string(value: object, expected: str | None) -> None:
    body = sample("get_accounts_detail_200.json")
    body["Accounts"][0]["Transactions"][0]["Code"] = value
    result = parse_accounts(body)
    assert result.accounts[0].transactions[0].code == expected and result.dropped == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1500.25, Decimal("1500.25")),
        ("1500.25", Decimal("1500.25")),
        (" -0.10 ", Decimal("-0.10")),
        (".5", Decimal(".5")),
        (15, Decimal(15)),
        ("", None),
        (None, None),
    ],
)
def test_an_amount_is_a_number_or_a_numeric_string(value: object, expected: Decimal | None) -> None:
    body = sample("get_accounts_detail_200.json")
    body["Accounts"][0]["Transactions"][0]["Credit"] = value
    result = parse_accounts(body)
    credit = result.accounts[0].transactions[0].credit
    assert credit == expected and (credit is None or isinstance(credit, Decimal)) and result.dropped == ()


@pytest.mark.parametrize("value", ["1,500.25", "1 500,25", "$15", "1e3", "NaN", "Infinity", True, [1], {"a": 1}])
def test_an_amount_in_no_known_shape_is_dropped_not_guessed(value: object) -> None:
    # Not guessed, and not kept as a transaction of no amount either (totals and exports would be
    # wrong without a word): the transaction is left out, its cached copy kept, and that is said.
    body = sample("get_accounts_detail_200.json")
    body["Accounts"][0]["Transactions"][0]["Credit"] = value
    result = parse_accounts(body)
    assert result.accounts[0].transactions == () and result.accounts[0].unread_transactions == 1
    (dropped,) = result.dropped
    path = "Accounts[0].Transactions[0].Credit"
    assert (dropped.what, dropped.path, dropped.account_id) == ("transaction", path, CHEQUING)
    assert str(value) not in dropped.reason


def test_flags_integers_and_addresses_in_other_shapes() -> None:
    body = sample("get_accounts_detail_200.json")
    body["Login"]["IsScheduledRefresh"] = "True"
    body["InstitutionId"] = "14"
    body["Accounts"][0]["Holder"]["Address"] = "25 york street, Toronto ON M5J 2V5"
    result = parse_accounts(body)
    assert result.login is not None and result.login.is_scheduled_refresh is True
    assert result.institution_id == 14
    address = result.accounts[0].holder.address
    assert address.civic_address == "25 york street, Toronto ON M5J 2V5" and address.city is None
    assert result.dropped == ()


def test_a_200_after_mfa_without_login_goes_on_with_the_known_session() -> None:
    result = parse_authorize(200, authorized_without_login())
    assert isinstance(result, Authorized)
    assert (result.request_id, result.login, result.institution) == (REQUEST_ID, None, "FlinksCapital")
    # Without even its RequestId: the session the answer was for.
    result = parse_authorize(200, authorized_without_login(None), request_id=REQUEST_ID)
    assert isinstance(result, Authorized) and result.request_id == REQUEST_ID
    with pytest.raises(ProtocolError) as caught:
        parse_authorize(200, authorized_without_login(None))  # a first /Authorize has no session yet
    assert caught.value.detail == "RequestId: missing"


def test_mfa_kinds() -> None:
    body = two_questions()
    body["SecurityChallenges"].append(
        {"Type": "MultipleChoiceMultipleAnswers", "Prompt": "Which apply?", "Iterables": ["A", 2]}
    )
    result = parse_authorize(203, body)
    assert isinstance(result, MfaRequired)
    city, street, several = result.challenges
    assert city == SecurityChallenge("QuestionAndAnswer", "What city were you born in?")
    assert street.options == ("Rue Sainte-Catherine", "Rue Sherbrooke", "Boulevard Saint-Laurent")
    assert not street.several_answers and several.several_answers and several.options == ("A", "2")
    check_answerable(result.challenges)  # all can be asked


@pytest.mark.parametrize(
    ("challenge", "why"),
    [
        (
            {"Type": "ImageSelection", "Prompt": "Pick your image", "Iterables": ["iVBORw0KGgo=", "iVBORw0KGgp="]},
            "an image to choose from",
        ),
        (
            {"Type": "MultipleChoice", "Prompt": "Pick one", "Iterables": [{"Url": "https://bank.example/1.png"}]},
            "choices this app cannot read",
        ),
        ({"Type": "MultipleChoice", "Prompt": "Pick one", "Iterables": []}, "a choice without options"),
        ({"Type": "QuestionAndAnswer"}, "a question without text"),
        ({"Type": "SecurityKey", "Prompt": "Touch your key"}, "a kind of question this app does not know: SecurityKey"),
        ("not an object", "a question this app cannot read"),
    ],
)
def test_a_challenge_that_cannot_be_asked_here_says_so(challenge: object, why: str) -> None:
    body = two_questions()
    body["SecurityChallenges"].append(challenge)
    result = parse_authorize(203, body)
    assert isinstance(result, MfaRequired) and len(result.challenges) == 3  # none dropped
    assert [c.unsupported for c in result.challenges] == [None, None, why]
    with pytest.raises(UnsupportedChallenge) as caught:
        check_answerable(result.challenges)
    assert caught.value.user_message == (
        f"The bank asks a security question this app cannot show ({why}). "
        "Use Flinks Connect for this connection: it shows every kind of question."
    )


def test_statements_left_out_one_by_one() -> None:
    pdf = base64.b64encode(b"%PDF-1.4 one").decode()
    body = loose_statements(LOGIN_ID, REQUEST_ID, ("A1", pdf), ("A2", None), (77, pdf))
    body["StatementsByAccount"][0]["Statements"].append("junk")
    result = parse_statements(body)
    first, second = result.accounts
    assert [s.unique_id for s in first.statements] == ["A1", "77"] and second.statements == ()
    assert [(d.what, d.path, d.reason, d.item_id) for d in result.dropped] == [
        ("statement", "StatementsByAccount[0].Statements[1].Base64Bytes", "missing", "A2"),
        ("statement", "StatementsByAccount[0].Statements[3]", "expected an object, got str", None),
    ]


# -- the whole conversation, over HTTP --------------------------------------------------------------------


@pytest.fixture
def server():
    with ScriptedServer() as running:
        yield running


def test_a_live_refresh_of_a_real_instance_through_the_client(server: ScriptedServer) -> None:
    """Two questions in one 203, a second round, a 200 without Login, 202 then the loose data."""
    pdf = base64.b64encode(b"%PDF-1.4 a statement").decode()
    server.script(
        json_reply(203, two_questions()),
        json_reply(203, one_question("What is the best country on earth?")),
        json_reply(200, authorized_without_login(None)),
        json_reply(202, sample("get_accounts_detail_202_operation_pending.json") | {"RequestId": REQUEST_ID}),
        Reply(200, raw_json(loose_detail())),
        json_reply(200, loose_statements(LOGIN_ID, REQUEST_ID, ("S1", pdf))),
    )

    async def run() -> tuple:
        async with FlinksClient(f"{server.url}/v3/{CUSTOMER}", poll_interval=0.001) as flinks:
            first = await flinks.authorize_live(LOGIN_ID)
            assert isinstance(first, MfaRequired) and len(first.challenges) == 2
            city, street = first.challenges
            second = await flinks.answer_mfa(
                first.request_id, {city.prompt: ["Montreal"], street.prompt: [street.options[1]]}
            )
            assert isinstance(second, MfaRequired) and second.request_id == REQUEST_ID
            (country,) = second.challenges
            third = await flinks.answer_mfa(second.request_id, {country.prompt: ["Canada"]})
            accounts = await flinks.get_accounts_detail(third.request_id)
            statements = await flinks.get_statements(third.request_id)
            return third, accounts, statements

    authorized, accounts, statements = asyncio.run(run())
    assert isinstance(authorized, Authorized)
    assert (authorized.request_id, authorized.login) == (REQUEST_ID, None)
    answers = [json.loads(request.body)["SecurityResponses"] for request in server.requests[1:3]]
    assert answers == [
        {"What city were you born in?": ["Montreal"], "Which street did you live on?": ["Rue Sherbrooke"]},
        {"What is the best country on earth?": ["Canada"]},
    ]
    assert accounts == parse_accounts(loads(raw_json(loose_detail())))  # as the readers read it
    assert accounts.accounts[0].balance.current == Decimal(HUGE)
    assert len(accounts.dropped) == 2
    assert [s.unique_id for g in statements.accounts for s in g.statements] == ["S1"]


def test_every_account_of_the_answer_is_its_own_row(server: ScriptedServer) -> None:
    """An account that cannot be read costs that account only."""
    body = loose_detail()
    broken = copy.deepcopy(body["Accounts"][1])
    del broken["Id"]
    body["Accounts"].insert(0, broken)
    server.script(Reply(200, raw_json(body)))

    async def run():
        async with FlinksClient(f"{server.url}/v3/{CUSTOMER}") as flinks:
            return await flinks.get_accounts_summary(REQUEST_ID)

    result = asyncio.run(run())
    assert [account.id for account in result.accounts] == [CHEQUING, CARD]
    assert all(isinstance(account, Account) for account in result.accounts)
    assert not result.all_accounts_read
    assert result.dropped[0] == Dropped("account", "Accounts[0].Id", "missing")
