"""The request parameters real Flinks honours, the Async endpoints' two methods, and hostile bodies.

Driven over loopback HTTP against a started sandbox, as a client of the real Flinks API drives it:
DaysOfTransactions, DateFrom/DateTo, RefreshDelta, WithBalance, WithAccountIdentity, WithTransactions,
AccountsFilter and NumberOfStatements change what comes back; a value Flinks would refuse gets its
400 INVALID_REQUEST; a body too large, too deep or not JSON gets a Flinks-shaped 413 or 400, never a
500.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import httpx
import pytest
from test_sandbox_api import AS_OF, Flinks, error_of

from flinks_desktop.sandbox.dataset import build_dataset

MIB = 1024 * 1024
DATA_ENDPOINTS = ("GetAccountsSummary", "GetAccountsDetail", "GetStatements")


@pytest.fixture
def sandbox(flinks_sandbox_factory):
    return flinks_sandbox_factory(as_of=AS_OF)


@pytest.fixture
def flinks(sandbox):
    return Flinks(sandbox.banking_url)


@pytest.fixture
def request_id(flinks) -> str:
    return flinks.login("greatday_nomfa").json()["RequestId"]


def detail(flinks: Flinks, request_id: str, **options) -> list[dict]:
    response = flinks.detail(request_id, **options)
    assert response.status_code == 200, response.text
    return response.json()["Accounts"]


def dates(account: dict) -> list[str]:
    return [t["Date"] for t in account["Transactions"]]


def by_id(accounts: list[dict]) -> dict[str, dict]:
    return {a["Id"]: a for a in accounts}


# -- what the parameters do ------------------------------------------------------------------------
def test_days_of_transactions_90_by_default_or_365(flinks, request_id):
    default = detail(flinks, request_id)
    days90 = detail(flinks, request_id, DaysOfTransactions="Days90")
    days365 = detail(flinks, request_id, DaysOfTransactions="Days365")
    assert default == days90
    for short, full in zip(days90, days365):
        assert min(dates(short)) >= (AS_OF - timedelta(days=89)).isoformat()
        assert min(dates(full)) >= (AS_OF - timedelta(days=364)).isoformat()
        assert full["Transactions"][: len(short["Transactions"])] == short["Transactions"]
    chequing = days365[0]
    assert min(dates(chequing)) <= (AS_OF - timedelta(days=360)).isoformat()


def test_a_period_from_date_from_to_date_to(flinks, request_id):
    year = detail(flinks, request_id, DaysOfTransactions="Days365")
    october = detail(
        flinks, request_id, DateFrom="2026-10-01", DateTo="2026-10-31", DaysOfTransactions="Days90"
    )  # the period wins over the days
    for full, month in zip(year, october):
        expected = [t for t in full["Transactions"] if t["Date"].startswith("2026-10")]
        assert month["Transactions"] == expected
    assert october[0]["Transactions"]

    # Other spellings of a date Flinks takes: slashes, a date and time (its date counts).
    again = detail(flinks, request_id, DateFrom="2026/10/01", DateTo="2026-10-31T23:59:59.0000000")
    assert again == october

    # One end only: the other is today, or the oldest day Flinks reaches (365 days).
    since = detail(flinks, request_id, DateFrom="2026-11-01")
    assert all(d >= "2026-11-01" and d <= AS_OF.isoformat() for a in since for d in dates(a))
    assert since[0]["Transactions"] == [t for t in year[0]["Transactions"] if t["Date"] >= "2026-11-01"]
    until = detail(flinks, request_id, DateTo="2025-12-31")
    assert until[0]["Transactions"] == [t for t in year[0]["Transactions"] if t["Date"] <= "2025-12-31"]

    # A period reaching before the history or after today is cut to what Flinks holds.
    wide = detail(flinks, request_id, DateFrom="2020-01-01", DateTo="2030-12-31")
    assert wide == year
    before = detail(flinks, request_id, DateFrom="2020-01-01", DateTo="2020-12-31")
    assert all(a["Transactions"] == [] for a in before)


def test_refresh_delta_sends_only_what_came_after_the_last_known_transaction(flinks, request_id):
    year = detail(flinks, request_id, DaysOfTransactions="Days365")
    chequing, savings = year[0], year[1]
    known = chequing["Transactions"][10]  # the client has everything up to this one
    delta = detail(flinks, request_id, RefreshDelta=[{"AccountId": chequing["Id"], "TransactionId": known["Id"]}])
    accounts = by_id(delta)
    assert accounts[chequing["Id"]]["Transactions"] == chequing["Transactions"][:10]
    # Accounts not in the delta get their usual period (Days90 by default).
    short = by_id(detail(flinks, request_id))
    assert accounts[savings["Id"]]["Transactions"] == short[savings["Id"]]["Transactions"]

    # An anchor older than DaysOfTransactions still gets everything after it (up to 365 days).
    old = chequing["Transactions"][-5]
    since_old = by_id(
        detail(
            flinks,
            request_id,
            DaysOfTransactions="Days90",
            RefreshDelta=[{"AccountId": chequing["Id"].upper(), "TransactionId": old["Id"]}],
        )
    )
    assert since_old[chequing["Id"]]["Transactions"] == chequing["Transactions"][:-5]

    newest = chequing["Transactions"][0]["Id"]
    nothing_new = by_id(
        detail(flinks, request_id, RefreshDelta=[{"AccountId": chequing["Id"], "TransactionId": newest}])
    )
    assert nothing_new[chequing["Id"]]["Transactions"] == []

    # A transaction Flinks cannot find: the whole period, as without a delta.
    unknown = by_id(
        detail(
            flinks,
            request_id,
            DaysOfTransactions="Days365",
            RefreshDelta=[{"AccountId": chequing["Id"], "TransactionId": "5e115eac-1209-4f19-641c-08d6d484e2fe"}],
        )
    )
    assert unknown[chequing["Id"]]["Transactions"] == chequing["Transactions"]


def test_with_balance_and_with_account_identity(flinks, request_id):
    full = detail(flinks, request_id, WithBalance=True, WithAccountIdentity=True)
    bare = detail(flinks, request_id, WithBalance=False, WithAccountIdentity=False)
    for account, without in zip(full, bare):
        assert account["Balance"]["Current"] is not None and account["TransitNumber"] and account["InstitutionNumber"]
        assert without["Balance"] == {"Available": None, "Current": None, "Limit": None}
        assert without["TransitNumber"] is None and without["InstitutionNumber"] is None
        number = account["AccountNumber"]
        assert without["AccountNumber"] == "*" * (len(number) - 4) + number[-4:]
        assert without["Transactions"] == account["Transactions"] and without["Id"] == account["Id"]

    summary = flinks.post(
        "GetAccountsSummary", {"RequestId": request_id, "WithBalance": False, "WithAccountIdentity": False}
    ).json()["Accounts"]
    assert all(a["Balance"]["Current"] is None and a["TransitNumber"] is None for a in summary)
    assert all("Transactions" not in a for a in summary)


def test_with_transactions_and_accounts_filter_on_every_endpoint(flinks, request_id):
    accounts = detail(flinks, request_id, WithTransactions=False)
    assert all(a["Transactions"] == [] for a in accounts)
    wanted = [accounts[2]["Id"], accounts[0]["Id"].upper()]  # any case, in any order

    filtered = detail(flinks, request_id, AccountsFilter=wanted)
    assert [a["Id"] for a in filtered] == [accounts[0]["Id"], accounts[2]["Id"]]
    summary = flinks.post("GetAccountsSummary", {"RequestId": request_id, "AccountsFilter": wanted})
    assert [a["Id"] for a in summary.json()["Accounts"]] == [accounts[0]["Id"], accounts[2]["Id"]]
    statements = flinks.post(
        "GetStatements", {"RequestId": request_id, "AccountsFilter": wanted, "NumberOfStatements": "Months3"}
    ).json()["StatementsByAccount"]
    assert [s["AccountNumber"] for s in statements] == [accounts[0]["AccountNumber"], accounts[2]["AccountNumber"]]
    assert [len(s["Statements"]) for s in statements] == [3, 3]

    everything = detail(flinks, request_id, AccountsFilter=[])  # an empty filter filters nothing
    assert len(everything) == len(accounts)
    unknown = detail(flinks, request_id, AccountsFilter=["5e115eac-1209-4f19-641c-08d6d484e2fe"])
    assert unknown == []


def test_null_options_are_their_defaults(flinks, request_id):
    nulls = dict.fromkeys(
        (
            "DaysOfTransactions",
            "DateFrom",
            "DateTo",
            "RefreshDelta",
            "WithBalance",
            "WithAccountIdentity",
            "WithKYC",
            "AccountsFilter",
            "MostRecentCached",
        )
    )
    assert detail(flinks, request_id, **nulls) == detail(flinks, request_id)
    statements = flinks.post("GetStatements", {"RequestId": request_id, "NumberOfStatements": None})
    assert [len(s["Statements"]) for s in statements.json()["StatementsByAccount"]] == [1, 1, 1, 1]


def test_the_sandbox_data_is_the_dataset(flinks, request_id):
    expected = build_dataset("greatday_nomfa", AS_OF)
    for account in detail(flinks, request_id, DateFrom="2026-09-01", DateTo="2026-09-30"):
        rows = expected.transactions_between(account["Id"], date(2026, 9, 1), date(2026, 9, 30))
        assert [t["Id"] for t in account["Transactions"]] == [t["Id"] for t in rows]


@pytest.mark.parametrize(
    ("endpoint", "options"),
    [
        ("GetAccountsDetail", {"DaysOfTransactions": "Days12"}),
        ("GetAccountsDetail", {"DaysOfTransactions": 90}),
        ("GetAccountsDetail", {"DaysOfTransactions": ["Days90"]}),
        ("GetAccountsDetail", {"DateFrom": "yesterday"}),
        ("GetAccountsDetail", {"DateFrom": 20261001}),
        ("GetAccountsDetail", {"DateFrom": "2026-02-30"}),
        ("GetAccountsDetail", {"DateTo": "21/11/2026"}),
        ("GetAccountsDetail", {"DateFrom": "2026-11-01", "DateTo": "2026-10-01"}),
        ("GetAccountsDetail", {"RefreshDelta": "all"}),
        ("GetAccountsDetail", {"RefreshDelta": {"AccountId": "a", "TransactionId": "b"}}),
        ("GetAccountsDetail", {"RefreshDelta": [{"AccountId": "a"}]}),
        ("GetAccountsDetail", {"RefreshDelta": [{"AccountId": "a", "TransactionId": 7}]}),
        ("GetAccountsDetail", {"RefreshDelta": ["a"]}),
        ("GetAccountsDetail", {"WithBalance": "yes"}),
        ("GetAccountsDetail", {"WithTransactions": 1}),
        ("GetAccountsDetail", {"WithAccountIdentity": "false"}),
        ("GetAccountsDetail", {"WithKYC": "no"}),
        ("GetAccountsDetail", {"AccountsFilter": "0b0c"}),
        ("GetAccountsDetail", {"AccountsFilter": [1, 2]}),
        ("GetAccountsSummary", {"WithBalance": "no"}),
        ("GetAccountsSummary", {"WithAccountIdentity": []}),
        ("GetAccountsSummary", {"AccountsFilter": {"Id": "x"}}),
        ("GetStatements", {"NumberOfStatements": "Months6"}),
        ("GetStatements", {"NumberOfStatements": ["Months3"]}),
        ("GetStatements", {"NumberOfStatements": 3}),
        ("GetStatements", {"AccountsFilter": "x"}),
    ],
)
def test_a_value_flinks_refuses_is_400_invalid_request(flinks, request_id, endpoint, options):
    response = flinks.post(endpoint, {"RequestId": request_id, **options})
    assert error_of(response) == (400, "INVALID_REQUEST")
    assert response.json()["RequestId"] == request_id
    assert flinks.post("GetAccountsSummary", {"RequestId": request_id}).status_code == 200  # the session lives on


# -- the Async endpoints answer GET and POST -------------------------------------------------------
def test_the_async_endpoints_answer_get_and_post(flinks_sandbox_factory):
    sandbox = flinks_sandbox_factory(as_of=AS_OF, pending_polls=2)
    flinks = Flinks(sandbox.banking_url)
    request_id = flinks.login("greatday_nomfa").json()["RequestId"]
    assert flinks.post("GetAccountsDetail", {"RequestId": request_id}).status_code == 202
    answers = [
        flinks.http.get(f"/GetAccountsDetailAsync/{request_id}"),
        flinks.http.post(f"/GetAccountsDetailAsync/{request_id}"),  # no body, as the Node client
        flinks.http.post(f"/GetAccountsDetailAsync/{request_id}", json={"RequestId": request_id}),
    ]
    assert [a.status_code for a in answers] == [202, 202, 200]
    assert answers[1].json()["FlinksCode"] == "OPERATION_PENDING"
    by_get = flinks.detail(request_id)  # the same data by GET, once ready
    assert answers[2].json()["Accounts"] == by_get.json()["Accounts"]

    slow = flinks_sandbox_factory(as_of=AS_OF, slow_pending_polls=1)
    slow_flinks = Flinks(slow.banking_url)
    slow_id = slow_flinks.login("test_pending").json()["RequestId"]
    for endpoint in DATA_ENDPOINTS:
        assert slow_flinks.post(endpoint, {"RequestId": slow_id}).status_code == 202
        assert slow_flinks.http.post(f"/{endpoint}Async/{slow_id}").status_code == 202
        ready = slow_flinks.http.post(f"/{endpoint}Async/{slow_id}", content=b"")
        assert ready.status_code == 200, endpoint
    assert [r.method for r in slow.requests if "Async" in r.path] == ["POST"] * 6

    assert error_of(flinks.http.post("/GetStatementsAsync/5e115eac-1209-4f19-641c-08d6d484e2fe")) == (
        400,
        "SESSION_NONEXISTENT",
    )
    assert error_of(flinks.http.put(f"/GetAccountsDetailAsync/{request_id}"))[0] == 405


# -- hostile bodies --------------------------------------------------------------------------------
def flinks_error(response: httpx.Response) -> tuple[int, str]:
    """A Flinks-shaped error answer, never a 500: its status and FlinksCode."""
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    return error_of(response)


@pytest.fixture
def raw(sandbox):
    client = httpx.Client(base_url=sandbox.banking_url, timeout=30)
    yield client
    client.close()


@pytest.mark.parametrize(
    "path",
    [
        "/Authorize",
        "/GetAccountsDetail",
        "/GetStatements",
        "/GenerateAuthorizeToken",
        "/GetAccountsSummaryAsync/5e115eac-1209-4f19-641c-08d6d484e2fe",
    ],
)
def test_a_body_over_one_mib_is_413(raw, path):
    padding = "x" * MIB
    too_big = json.dumps({"RequestId": "5e115eac-1209-4f19-641c-08d6d484e2fe", "Pad": padding}).encode()
    assert flinks_error(raw.post(path, content=too_big)) == (413, "INVALID_REQUEST")

    def chunked():  # no Content-Length: the size is found while it streams in
        for _ in range(40):
            yield b"x" * 65536

    assert flinks_error(raw.post(path, content=chunked())) == (413, "INVALID_REQUEST")
    # The connection is still good for the next request.
    assert raw.post("/Authorize", json={"LoginId": "x", "MostRecentCached": True}).status_code == 401


def test_a_body_just_under_the_limit_is_read(raw, sandbox):
    body = {
        "Institution": "FlinksCapital",
        "Username": "greatday_nomfa",
        "Password": "Everyday",
        "MostRecentCached": False,
        "Pad": "",
    }
    body["Pad"] = "x" * (MIB - len(json.dumps(body)))
    content = json.dumps(body).encode()
    assert len(content) == MIB
    assert raw.post("/Authorize", content=content).status_code == 200


def test_the_limit_is_a_setting(flinks_sandbox_factory):
    sandbox = flinks_sandbox_factory(max_body_bytes=100)
    response = httpx.post(f"{sandbox.banking_url}/Authorize", json={"LoginId": "x" * 200})
    assert flinks_error(response) == (413, "INVALID_REQUEST")
    assert "100 bytes" in response.json()["Message"]


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000,
        b'{"a":' * 50_000,
        json.dumps({"RequestId": "x", "Nested": json.loads("[" * 40 + "]" * 40)}).encode(),
        b"{nope",
        b"<Authorize><Username>Greatday</Username></Authorize>",
        b"\xff\xfe\x00garbage",
        b'{"RequestId": NaN}',
        b'{"LoginId": Infinity}',
        b'{"RequestId": 1' + b"0" * 5000 + b"}",
        b'"just a string"',
        b"null",
        b"[]",
    ],
)
@pytest.mark.parametrize("path", ["/Authorize", "/GetAccountsDetail", "/GetStatements"])
def test_deep_or_non_json_bodies_are_400(raw, path, content):
    assert flinks_error(raw.post(path, content=content)) == (400, "INVALID_REQUEST")


def test_bodies_built_to_be_slow_to_check_are_answered_at_once(raw):
    for content in (
        b"[" * 40 + b'"' + b'\\"' * 400_000,  # an unterminated string of escaped quotes
        b"[" * 40 + b'"' * 900_000,
        b"[]" * 450_000,
    ):
        started = time.monotonic()
        assert flinks_error(raw.post("/Authorize", content=content)) == (400, "INVALID_REQUEST")
        assert time.monotonic() - started < 5


def test_brackets_inside_strings_and_modest_nesting_are_fine(raw):
    text = {"LoginId": "[[[{{{" * 1000, "MostRecentCached": True, "Tag": {"a": [[[[[[1]]]]]]}}
    assert flinks_error(raw.post("/Authorize", json=text)) == (401, "INVALID_LOGIN")


def test_strange_strings_are_echoed_safely(raw):
    response = raw.post("/GetAccountsSummary", content=b'{"RequestId": "\\ud800 \\u0000 \xc3\xa9"}')
    assert flinks_error(response) == (400, "SESSION_NONEXISTENT")
    assert response.json()["RequestId"] == "\ud800 \x00 é"
    assert flinks_error(raw.get("/GetAccountsDetailAsync/%ED%A0%80%00")) == (400, "SESSION_NONEXISTENT")


def test_the_connect_pages_account_list_is_guarded_too(sandbox):
    url = f"{sandbox.base_url}/v2/session/accounts"
    assert flinks_error(httpx.post(url, content=b"[" * 10_000)) == (400, "INVALID_REQUEST")
    assert flinks_error(httpx.post(url, content=b"x" * (MIB + 1))) == (413, "INVALID_REQUEST")
