"""`Sync.add` and `Sync.add_many`: opening loginIds made elsewhere (the support ticket), against the
offline sandbox over loopback, on real SQLite files. The logins are made at the sandbox through its
API, as a customer's own device would make them: this cache has never seen them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from test_sync import AS_OF, ENVIRONMENT, cached, connect, opened_sync, right_answers

from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import MfaPrompt, SyncResult

UNKNOWN = "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


@pytest.fixture
def sandbox(flinks_sandbox_factory):
    return flinks_sandbox_factory(as_of=AS_OF, pending_polls=0)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "data" / "cache.db"


def logins_in(cache: Path) -> list[str]:
    with Store.open(cache) as store:
        return [login.id for login in store.logins()]


def test_add_opens_a_login_made_elsewhere_with_its_accounts(sandbox, cache) -> None:
    stages: list[str] = []

    async def scenario() -> SyncResult:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache) as sync:
            return await sync.add(login_id, progress=lambda progress: stages.append(progress.stage))

    result = asyncio.run(scenario())
    assert result.outcome == "ok", result.message
    login, accounts, transactions, statements = cached(cache, result.login_id)
    assert (login.institution, login.username, login.environment, login.status) == (
        "FlinksCapital",
        "greatday_nomfa",
        ENVIRONMENT,
        "ok",
    )
    assert len(accounts) == 4 and transactions and len(statements) == 12
    assert stages[0] == "authorize" and stages[-1] == "done"
    cached_authorize = [r for r in sandbox.requests if r.path.endswith("/Authorize")][-1]
    assert json.loads(cached_authorize.body) == {"LoginId": result.login_id, "MostRecentCached": True}


def test_a_login_id_flinks_does_not_know_adds_nothing(sandbox, cache) -> None:
    async def scenario() -> SyncResult:
        async with opened_sync(sandbox, cache) as sync:
            return await sync.add(UNKNOWN)

    result = asyncio.run(scenario())
    assert result.outcome == "unknown"
    assert result.error_code == "INVALID_LOGIN"
    assert "nothing was added" in result.message and UNKNOWN in result.message
    assert logins_in(cache) == []


def test_a_fault_while_checking_adds_nothing(sandbox, cache) -> None:
    async def scenario() -> SyncResult:
        login_id = await connect(sandbox)
        sandbox.stop()  # Flinks cannot be reached
        async with opened_sync(sandbox, cache) as sync:
            return await sync.add(login_id)

    result = asyncio.run(scenario())
    assert result.outcome == "error"
    assert result.message.endswith("Nothing was added.")
    assert logins_in(cache) == []


def test_a_cached_authorize_that_asks_a_question_is_answered(flinks_sandbox_factory, cache) -> None:
    """Real Flinks may answer a cached /Authorize with 203: the question goes to the person."""
    sandbox = flinks_sandbox_factory(as_of=AS_OF, pending_polls=0, cached_mfa=True)
    prompts: list[MfaPrompt] = []

    async def answer(prompt: MfaPrompt) -> dict[str, list[str]]:
        prompts.append(prompt)
        return right_answers(prompt)

    async def scenario() -> SyncResult:
        login_id = await connect(sandbox, "Greatday")
        async with opened_sync(sandbox, cache, statements=None) as sync:
            return await sync.add(login_id, mfa=answer)

    result = asyncio.run(scenario())
    assert result.ok, result.message
    assert len(prompts) == 1 and prompts[0].login_id == result.login_id
    assert prompts[0].institution == "FlinksCapital"
    assert len(cached(cache, result.login_id)[1]) == 4


def test_an_unanswered_question_adds_the_login_as_needing_mfa(flinks_sandbox_factory, cache) -> None:
    sandbox = flinks_sandbox_factory(as_of=AS_OF, pending_polls=0, cached_mfa=True)

    async def scenario() -> tuple[SyncResult, SyncResult]:
        login_id = await connect(sandbox, "Greatday")
        async with opened_sync(sandbox, cache, statements=None) as sync:
            first = await sync.add(login_id)  # no one to answer: a bulk import
            # Flinks knows it: the login is listed, and a refresh that answers completes it.
            second = await sync.refresh(login_id, mfa=lambda prompt: _answered(prompt))
        return first, second

    first, second = asyncio.run(scenario())
    assert first.outcome == "needs_mfa"
    login = cached(cache, first.login_id)[0]
    assert login is not None and login.institution == "FlinksCapital"
    assert second.ok, second.message
    assert cached(cache, first.login_id)[0].status == "ok"


async def _answered(prompt: MfaPrompt) -> dict[str, list[str]]:
    return right_answers(prompt)


def test_link_answers_a_question_on_a_cached_authorize(flinks_sandbox_factory, cache) -> None:
    sandbox = flinks_sandbox_factory(as_of=AS_OF, pending_polls=0, cached_mfa=True)

    async def scenario() -> tuple[SyncResult, SyncResult]:
        login_id = await connect(sandbox, "Greatday")
        async with opened_sync(sandbox, cache, statements=None) as sync:
            without = await sync.link(login_id, "FlinksCapital")
            answered = await sync.link(login_id, "FlinksCapital", tag="ticket-4521", mfa=_answered)
        return without, answered

    without, answered = asyncio.run(scenario())
    assert without.outcome == "needs_mfa"
    assert answered.ok, answered.message
    assert cached(cache, answered.login_id)[0].tag == "ticket-4521"


def test_add_of_a_login_already_here_refreshes_it(sandbox, cache) -> None:
    async def scenario() -> tuple[SyncResult, SyncResult]:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache, statements=None) as sync:
            return await sync.add(login_id), await sync.add(login_id)

    first, again = asyncio.run(scenario())
    assert first.ok and again.ok
    assert again.snapshot.new == 0 and again.snapshot.accounts == 4
    assert logins_in(cache) == [first.login_id]


def test_add_many_reports_each_login_id_once_in_order(sandbox, cache) -> None:
    heard: list[str] = []

    async def scenario() -> tuple[str, list[SyncResult]]:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache, statements=None) as sync:
            results = await sync.add_many(
                [UNKNOWN, login_id, "not-a-login", login_id], done=lambda result: heard.append(result.outcome)
            )
        return login_id, results

    login_id, results = asyncio.run(scenario())
    assert [(r.login_id, r.outcome) for r in results] == [
        (UNKNOWN, "unknown"),
        (login_id, "ok"),
        ("not-a-login", "error"),
    ]
    assert sorted(heard) == ["error", "ok", "unknown"]
    assert "not a loginId" in results[2].message
    assert logins_in(cache) == [login_id]
