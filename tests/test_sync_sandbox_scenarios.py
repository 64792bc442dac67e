"""`Sync` against the sandbox's scenario users, which answer as real Flinks instances were seen to
(see the sandbox's institution.py): numeric fields, a 200 without `Login` after MFA, a multiple
choice, two questions in one 203, damaged statement PDFs, and rate limiting with Retry-After.
End to end over loopback HTTP, on a real SQLite file, as the app and the CLI run them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_flinks_retries import Waits
from test_sync import AS_OF, ENVIRONMENT

from flinks_desktop.core.flinks import FlinksClient
from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import MfaPrompt, Sync, SyncResult

ANSWERS = {
    "What city were you born in?": "Montreal",
    "What is the best country on earth?": "Canada",
    "What shape do people like most?": "Triangle",
    "Which of these colours is your favourite?": "Blue",
}


class Person:
    """Answers every question right (a choice with the option as sent), remembering what was asked."""

    def __init__(self) -> None:
        self.asked: list[MfaPrompt] = []

    async def __call__(self, prompt: MfaPrompt) -> dict[str, list[str]]:
        self.asked.append(prompt)
        return {challenge.prompt: [ANSWERS[challenge.prompt]] for challenge in prompt.challenges}


@pytest.fixture
def sandbox(flinks_sandbox_factory):
    return flinks_sandbox_factory(as_of=AS_OF, pending_polls=0)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "data" / "cache.db"


def made_on_the_customers_device(sandbox, username: str) -> str:
    """What Connect does for the customer: a login at the bank through Flinks, answering its
    questions and waiting out a rate limit as Connect would -> the loginId."""
    with httpx.Client(base_url=sandbox.banking_url + "/", timeout=10) as http:
        body: dict[str, Any] = {
            "Institution": "FlinksCapital",
            "Username": username,
            "Password": "Everyday",
            "MostRecentCached": False,
        }
        for _ in range(10):
            answer = http.post("Authorize", json=body)
            if answer.status_code == 429:
                continue
            if answer.status_code == 203:
                challenges = answer.json()["SecurityChallenges"]
                body = {
                    "RequestId": answer.json()["RequestId"],
                    "SecurityResponses": {c["Prompt"]: [ANSWERS[c["Prompt"]]] for c in challenges},
                }
                continue
            assert answer.status_code == 200, answer.text
            return sandbox.state.login_id_for(username)
    raise AssertionError("no loginId")


def raw_detail(sandbox, login_id: str) -> dict:
    """GetAccountsDetail as the sandbox sends it, JSON numbers and all."""
    with httpx.Client(base_url=sandbox.banking_url + "/", timeout=10) as http:
        request_id = http.post("Authorize", json={"LoginId": login_id, "MostRecentCached": True}).json()["RequestId"]
        answer = http.post(
            "GetAccountsDetail",
            json={"RequestId": request_id, "WithTransactions": True, "DaysOfTransactions": "Days365"},
        )
        while answer.status_code == 202:
            answer = http.get(f"GetAccountsDetailAsync/{request_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()


async def with_sync(sandbox, cache: Path, use, waits: Waits | None = None, **options: Any):
    async with FlinksClient(sandbox.api_url, poll_interval=0.01, sleep=waits or Waits()) as flinks:
        sync = Sync(flinks, cache, environment=ENVIRONMENT, **options)
        try:
            return await use(sync)
        finally:
            await sync.close()


def test_numeric_fields_are_kept_as_their_text(sandbox, cache) -> None:
    login_id = made_on_the_customers_device(sandbox, "greatday_numeric")
    result = asyncio.run(with_sync(sandbox, cache, lambda sync: sync.add(login_id), statements=None))
    assert result.ok and result.dropped == (), result.message
    sent = raw_detail(sandbox, login_id)
    with Store.open(cache) as store:
        accounts = {a.id: a for a in store.accounts(login_id)}
        codes = {t.id: t.code for t in store.transactions(login_id)}
    for account in sent["Accounts"]:
        assert isinstance(account["TransitNumber"], int)  # the scenario holds
        assert accounts[account["Id"]].transit_number == str(account["TransitNumber"])
        assert accounts[account["Id"]].institution_number == str(account["InstitutionNumber"]) == "777"
        for transaction in account["Transactions"]:
            expected = transaction["Code"]
            assert codes[transaction["Id"]] == (None if expected is None else str(expected))
    assert any(code is not None and code.isdigit() for code in codes.values())


@pytest.mark.parametrize(
    ("username", "per_prompt"),
    [
        ("greatday_nologin", [1]),  # one question, then a 200 without Login
        ("greatday_twoquestions", [2]),  # two questions in one 203
        ("greatday_choice", [1]),  # a multiple choice
    ],
)
def test_a_live_refresh_asks_what_the_bank_asks(sandbox, cache, username: str, per_prompt: list[int]) -> None:
    login_id = made_on_the_customers_device(sandbox, username)
    person = Person()

    async def link_then_live(sync: Sync) -> tuple[SyncResult, SyncResult]:
        return await sync.link(login_id, "FlinksCapital"), await sync.refresh(login_id, live=True, mfa=person)

    linked, live = asyncio.run(with_sync(sandbox, cache, link_then_live, statements=None))
    assert linked.ok and live.ok, (linked.message, live.message)
    assert [len(prompt.challenges) for prompt in person.asked] == per_prompt
    if username == "greatday_choice":
        (choice,) = person.asked[0].challenges
        assert "Blue" in choice.options and not choice.several_answers
    with Store.open(cache) as store:
        login = store.login(login_id)
        assert (login.status, login.username) == ("ok", username)


def test_damaged_statement_pdfs_are_kept_with_an_unknown_period(sandbox, cache) -> None:
    login_id = made_on_the_customers_device(sandbox, "greatday_badpdf")
    result = asyncio.run(with_sync(sandbox, cache, lambda sync: sync.add(login_id), statements="Months3"))
    assert result.ok and result.statements_error is None, result.message
    with Store.open(cache) as store:
        statements = store.statements(login_id)
    assert len(statements) == 4 * 3
    unknown = [s for s in statements if s.period_start is None]
    assert 1 <= len(unknown) < len(statements)  # the damaged ones only (their account's)


def test_a_rate_limited_instance_is_waited_out_and_every_try_is_in_activity(sandbox, cache) -> None:
    login_id = made_on_the_customers_device(sandbox, "greatday_ratelimited")
    waits = Waits()
    result = asyncio.run(with_sync(sandbox, cache, lambda sync: sync.add(login_id), waits, statements="Months3"))
    assert result.ok, result.message
    with Store.open(cache) as store:
        api = [
            (row.name, row.status, row.flinks_code) for row in reversed(store.activity(login_id)) if row.kind == "api"
        ]
    limited = [entry for entry in api if entry[1] == 429]
    assert limited and all(code == "TOO_MANY_REQUESTS" for _, _, code in limited)
    assert waits.asked == [1.0] * len(limited)  # what Retry-After asked, each time
    for index, (name, status, _) in enumerate(api):
        if status == 429:  # each limited call is followed by its served try
            assert api[index + 1][0] == name and api[index + 1][1] in (200, 202)
    assert {name for name, _, _ in limited} >= {"GetAccountsDetail", "GetStatements"}
    assert json.dumps(api)  # plain data, as the Activity shows it
