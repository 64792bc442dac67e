"""The acceptance of "real Flinks, not only our sandbox", on the command line: a server (not our
sandbox) whose cached /Authorize answers 203, whose answer to the question comes back without
`Login`, and whose accounts carry a numeric `Code` and an integer `TransitNumber`, as public
material shows real instances do. The question is asked on the terminal; every account and
transaction is saved exactly. The answers are built here from the documented shapes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from scripted_server import ScriptedServer, json_reply
from test_cli import home, run  # noqa: F401 — the CLI fixtures

from flinks_desktop.core.environments import TOOLBOX_CUSTOMER_ID

LOGIN_ID = "0c9a2b71-5e3d-4f6a-9b8c-7d6e5f4a3b2c"
REQUEST_ID = "4f1e2d3c-b5a6-4978-8a1b-2c3d4e5f6a7b"
QUESTION = "What is the name of your first pet?"


def challenge() -> dict:
    return {
        "HttpStatusCode": 203,
        "RequestId": REQUEST_ID,
        "Institution": "FlinksCapital",
        "Links": [{"rel": "SecurityChallenges", "href": "/Authorize"}],
        "SecurityChallenges": [{"Type": "QuestionAndAnswer", "Prompt": QUESTION}],
    }


def authorized_without_login() -> dict:
    return {
        "HttpStatusCode": 200,
        "RequestId": REQUEST_ID,
        "Institution": "FlinksCapital",
        "Links": [{"rel": "AccountsDetail", "href": "/GetAccountsDetail"}],
    }


def detail() -> dict:
    transactions = [
        {
            "Id": "7a1b2c3d-0000-4000-8000-000000000001",
            "Date": "2026-11-02",
            "Code": 42,
            "Description": "PAYROLL",
            "Debit": None,
            "Credit": 2150.1,
            "Balance": 3150.35,
        },
        {
            "Id": "7a1b2c3d-0000-4000-8000-000000000002",
            "Date": "2026-11-03",
            "Code": None,
            "Description": "HYDRO-QUÉBEC",
            "Debit": 0.3,
            "Credit": None,
            "Balance": 3150.05,
        },
        {
            "Id": "7a1b2c3d-0000-4000-8000-000000000003",
            "Date": "2026-11-04",
            "Code": 7,
            "Description": "TRANSFER",
            "Debit": "1000.10",
            "Credit": None,
            "Balance": "2149.95",
        },
    ]
    return {
        "HttpStatusCode": 200,
        "RequestId": REQUEST_ID,
        "Institution": "FlinksCapital",
        "Login": {
            "Username": "pet_owner",
            "IsScheduledRefresh": False,
            "LastRefresh": "2026-11-05T10:00:00",
            "Type": "Personal",
            "Id": LOGIN_ID,
        },
        "Accounts": [
            {
                "Id": "5d4c3b2a-1111-4000-8000-000000000001",
                "Title": "Chèques",
                "AccountNumber": "1234567",
                "TransitNumber": 12345,
                "InstitutionNumber": 815,
                "Category": "Operations",
                "Type": "Chequing",
                "Currency": "CAD",
                "Balance": {"Available": 2149.95, "Current": 2149.95, "Limit": None},
                "Transactions": transactions,
            }
        ],
    }


@pytest.mark.parametrize("live", [False, True], ids=["cached", "live"])
def test_sync_asks_the_question_and_saves_everything_exactly(run, live) -> None:  # noqa: F811
    with ScriptedServer() as server:
        api = ["--api-url", f"{server.url}/v3/{TOOLBOX_CUSTOMER_ID}"]
        replies = [
            json_reply(203, challenge()),
            json_reply(200, authorized_without_login()),
            json_reply(200, detail()),
            json_reply(200, {"HttpStatusCode": 200, "RequestId": REQUEST_ID, "StatementsByAccount": []}),
        ]
        if live:  # a login this computer has not seen is first added (cached), then refreshed live
            replies = [
                *replies,
                *[
                    json_reply(203, challenge()),
                    json_reply(200, authorized_without_login()),
                    json_reply(200, detail()),
                    json_reply(200, {"HttpStatusCode": 200, "RequestId": REQUEST_ID, "StatementsByAccount": []}),
                ],
            ]
        server.script(*replies)
        result = run(*api, "sync", LOGIN_ID, *(["--live"] if live else []), stdin="Rex\nRex\n")
        assert result.code == 0, result.err
        assert QUESTION in result.err
        answers = [json.loads(request.body) for request in server.requests if request.path.endswith("/Authorize")]
        assert {"RequestId": REQUEST_ID, "SecurityResponses": {QUESTION: ["Rex"]}} in answers

        accounts = json.loads(run(*api, "accounts", LOGIN_ID, "--format", "json").out)
        assert [(a["transit_number"], a["institution_number"], Decimal(a["balance_current"])) for a in accounts] == [
            ("12345", "815", Decimal("2149.95"))
        ]
        transactions = json.loads(run(*api, "transactions", LOGIN_ID, "--format", "json").out)
        saved = {t["id"][-1]: (t["code"], t["debit"], t["credit"], t["balance"]) for t in transactions}
        assert saved == {
            "1": ("42", None, "2150.10", "3150.35"),
            "2": (None, "0.30", None, "3150.05"),
            "3": ("7", "1000.10", None, "2149.95"),
        }
        listing = run(*api, "list").out
        assert LOGIN_ID in listing and "pet_owner" in listing
