"""The use cases of `core.sync` against the offline sandbox over loopback, on real SQLite files.

Each test gets a sandbox whose "today" is fixed (the same data every run) and a cache in
`tmp_path / "data"`. Logins are made as Flinks Connect would make them (a credential login at
Flinks, which gives a loginId), then handed to `Sync`. Tests that check what is cached read it
with their own `Store`, as the GUI does; tests that check what is *not* in the cache read the raw
bytes of every file in the data directory.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from flinks_desktop.core.flinks import FlinksClient, MfaRequired
from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.store import Store, UnknownLogin
from flinks_desktop.core.sync import (
    MfaPrompt,
    OtherEnvironment,
    Sync,
    SyncInProgress,
    SyncProgress,
    SyncResult,
)
from flinks_desktop.sandbox import state as sandbox_state
from flinks_desktop.sandbox.server import SandboxServer

AS_OF = date(2025, 6, 15)
ENVIRONMENT = "Offline sandbox"
ANSWERS = {
    "What city were you born in?": "Montreal",
    "What is the best country on earth?": "Canada",
    "What shape do people like most?": "Triangle",
}


# -- helpers -----------------------------------------------------------------------------------------


@pytest.fixture
def sandbox(flinks_sandbox_factory) -> SandboxServer:
    return flinks_sandbox_factory(as_of=AS_OF)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "data" / "cache.db"


@asynccontextmanager
async def opened_sync(
    sandbox: SandboxServer, cache: Path, client_options: Mapping[str, Any] | None = None, **options: Any
) -> AsyncIterator[Sync]:
    async with FlinksClient(sandbox.api_url, poll_interval=0.01, **(client_options or {})) as client:
        sync = Sync(client, cache, environment=ENVIRONMENT, **options)
        try:
            yield sync
        finally:
            await sync.close()


async def connect(sandbox: SandboxServer, username: str = "greatday_nomfa", **client_options: Any) -> str:
    """What Flinks Connect does for the customer: a login at the bank through Flinks -> a loginId."""
    async with FlinksClient(sandbox.api_url, **client_options) as flinks:
        result = await flinks.authorize_credentials("FlinksCapital", username, "Everyday")
        while isinstance(result, MfaRequired):
            result = await flinks.answer_mfa(
                result.request_id, {prompt.prompt: [ANSWERS[prompt.prompt]] for prompt in result.challenges}
            )
        return result.login.id


def add_failing_login(sandbox: SandboxServer, username: str) -> str:
    """A login Connect made before its bank started failing: credential logins of such users fail,
    so it goes straight into the sandbox's memory."""
    login_id = sandbox.state.login_id_for(username)
    stamp = sandbox_state.flinks_timestamp(datetime.now(UTC))
    sandbox.state.logins[login_id] = sandbox_state.Login(login_id, username, stamp)
    return login_id


def right_answers(prompt: MfaPrompt) -> dict[str, list[str]]:
    return {challenge.prompt: [ANSWERS[challenge.prompt]] for challenge in prompt.challenges}


def cached(cache: Path, login_id: str) -> tuple[object, ...]:
    """Everything the cache holds of a login, as the GUI reads it."""
    with Store.open(cache) as store:
        return (
            store.login(login_id),
            store.accounts(login_id),
            store.transactions(login_id),
            [(row, store.statement_pdf(login_id, row.unique_id)) for row in store.statements(login_id)],
        )


def files_holding(directory: Path, needles: Sequence[bytes]) -> list[tuple[str, bytes]]:
    """(file name, needle) for each needle found in the raw bytes of any file under `directory`."""
    return [
        (path.name, needle)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
        for needle in needles
        if needle in path.read_bytes()
    ]


def expected_transactions(sandbox: SandboxServer, username: str, days: int = 365) -> int:
    from flinks_desktop.sandbox.dataset import build_dataset

    dataset = build_dataset(username, AS_OF)
    return sum(len(dataset.transactions(account["Id"], days)) for account in dataset.accounts())


# -- link, refresh -----------------------------------------------------------------------------------


def test_link_caches_the_login_its_accounts_transactions_and_statements(sandbox, cache) -> None:
    stages: list[SyncProgress] = []

    async def scenario() -> None:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache) as sync:
            result = await sync.link(login_id, "FlinksCapital", progress=stages.append)
        assert result.ok, result.message
        count = expected_transactions(sandbox, "greatday_nomfa")
        assert result.message == f"Saved 4 accounts, {count:,} new transactions, 0 updated, 12 new statements."

        with Store.open(cache) as store:
            login = store.login(login_id)
            assert (login.institution, login.environment) == ("FlinksCapital", ENVIRONMENT)
            assert login.status == "ok"
            assert login.username == "greatday_nomfa" and login.synced_at is not None
            assert len(store.accounts(login_id)) == 4
            assert store.count_transactions(login_id) == count
            assert len(store.statements(login_id)) == 4 * 3  # Months3 for each account
        assert {progress.login_id for progress in stages} == {login_id}

    asyncio.run(scenario())
    names = [progress.stage for progress in stages]
    # The sandbox answers 202 to the POST and to the first poll (pending_polls=1), then 200.
    assert names == ["authorize", "accounts", "waiting", "waiting", "statements", "saving", "done"]
    waiting = [(progress.endpoint, progress.attempt) for progress in stages if progress.stage == "waiting"]
    assert waiting == [("GetAccountsDetail", 1), ("GetAccountsDetail", 2)]
    assert 0 <= stages[2].elapsed <= stages[3].elapsed


def test_link_fills_in_the_institution_when_connect_did_not_name_it(sandbox, cache) -> None:
    async def scenario() -> None:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache, statements=None) as sync:
            assert (await sync.link(login_id)).ok
        with Store.open(cache) as store:
            assert store.login(login_id).institution == "FlinksCapital"

    asyncio.run(scenario())


def test_link_refuses_what_is_not_a_login_id_before_asking_flinks(sandbox, cache) -> None:
    async def scenario() -> None:
        async with opened_sync(sandbox, cache) as sync:
            for wrong in ("", "4c1bb6…-45aa-4d1f-9f2c-0e6b1c9d8a11", "b0debb48-f9f1-46c6-80a4-08d7dd88d47"):
                with pytest.raises(ValueError, match="GUID"):
                    await sync.link(wrong)

    asyncio.run(scenario())
    assert sandbox.requests == []


def test_a_resync_adds_no_duplicate_and_the_upstream_transaction_wins(sandbox, cache) -> None:
    async def scenario() -> None:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache, statements=None) as sync:
            assert (await sync.link(login_id)).ok
            count = expected_transactions(sandbox, "greatday_nomfa")
            with Store.open(cache) as store:
                original = store.transactions(login_id, limit=1)[0]
            # The cached copy drifts from Flinks (as if Flinks corrected the description since).
            with sqlite3.connect(cache) as db:
                db.execute("UPDATE transactions SET description = 'STALE' WHERE id = ?", [original.id])
            db.close()

            again = await sync.refresh(login_id)

        assert again.ok
        assert (again.snapshot.new, again.snapshot.updated, again.snapshot.removed) == (0, 1, 0)
        assert again.snapshot.unchanged == count - 1
        with Store.open(cache) as store:
            assert store.count_transactions(login_id) == count
            assert store.transactions(login_id, limit=1)[0] == original
            assert store.count_transactions(login_id, search="STALE") == 0
            assert len(store.statements(login_id)) == 0

    asyncio.run(scenario())


def test_a_refresh_of_a_login_flinks_no_longer_knows_marks_it_deleted(sandbox, cache) -> None:
    async def scenario() -> None:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache, statements=None) as sync:
            assert (await sync.link(login_id)).ok
            async with FlinksClient(sandbox.api_url) as elsewhere:  # another app deletes the card
                await elsewhere.delete_card(login_id)
            result = await sync.refresh(login_id)
        assert (result.outcome, result.error_code) == ("error", "INVALID_LOGIN")
        with Store.open(cache) as store:
            login = store.login(login_id)
            assert (login.status, login.error_code) == ("deleted", "INVALID_LOGIN")
            assert login.error_message == result.message
            assert len(store.accounts(login_id)) == 4  # kept until the user deletes the card here

    asyncio.run(scenario())


def test_refresh_refuses_logins_that_are_not_cached_or_of_another_environment(sandbox, cache) -> None:
    async def scenario() -> None:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache) as sync:
            with pytest.raises(UnknownLogin, match="not in the cache"):
                await sync.refresh(login_id)
        with Store.open(cache) as store:
            store.upsert_login(login_id, "FlinksCapital", at=datetime.now(UTC), environment="Flinks toolbox")
        async with opened_sync(sandbox, cache) as sync:
            with pytest.raises(OtherEnvironment, match="Flinks toolbox"):
                await sync.refresh(login_id)
            with pytest.raises(OtherEnvironment):
                await sync.delete_card(login_id)
            assert (await sync.refresh_all()) == []

    asyncio.run(scenario())
    assert not [request for request in sandbox.requests if b"LoginId" in request.body]  # Flinks never asked


def test_statements_that_fail_still_let_the_accounts_be_saved(sandbox, cache) -> None:
    class NoStatements(httpx.AsyncBaseTransport):
        """The sandbox, except that GetStatements is not enabled for this instance."""

        def __init__(self) -> None:
            self._real = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/GetStatements"):
                return httpx.Response(
                    400,
                    json={
                        "HttpStatusCode": 400,
                        "FlinksCode": "INVALID_REQUEST",
                        "Message": "Statements are not enabled",
                    },
                )
            return await self._real.handle_async_request(request)

        async def aclose(self) -> None:
            await self._real.aclose()

    async def scenario() -> None:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache, client_options={"transport": NoStatements()}) as sync:
            result = await sync.link(login_id, "FlinksCapital")
        assert result.ok and result.statements is None
        assert result.statements_error.flinks_code == "INVALID_REQUEST"
        assert result.message.endswith(
            "The statements could not be downloaded: Flinks rejected the request as malformed. "
            "Report this problem to support."
        )
        with Store.open(cache) as store:
            assert store.login(login_id).status == "ok" and len(store.accounts(login_id)) == 4

    asyncio.run(scenario())


# -- MFA -------------------------------------------------------------------------------------------


def test_live_refresh_answers_the_banks_questions_through_the_callback(flinks_sandbox_factory, cache) -> None:
    sandbox = flinks_sandbox_factory(as_of=AS_OF, mfa_rounds=2)
    prompts: list[MfaPrompt] = []
    stages: list[str] = []

    async def answer(prompt: MfaPrompt) -> dict[str, list[str]]:
        prompts.append(prompt)
        return right_answers(prompt)

    async def scenario() -> None:
        login_id = await connect(sandbox, "Greatday")
        async with opened_sync(sandbox, cache) as sync:
            assert (await sync.link(login_id, "FlinksCapital")).ok
            result = await sync.refresh(
                login_id, live=True, mfa=answer, progress=lambda progress: stages.append(progress.stage)
            )
        assert result.ok, result.message
        assert [(prompt.login_id, prompt.institution, prompt.retry_message) for prompt in prompts] == [
            (login_id, "FlinksCapital", None)
        ] * 2
        assert all(len(prompt.challenges) == 1 for prompt in prompts)
        assert prompts[0].challenges[0].prompt != prompts[1].challenges[0].prompt

    asyncio.run(scenario())
    assert stages[:3] == ["authorize", "mfa", "mfa"] and stages[-1] == "done"


def test_a_wrong_answer_asks_again_with_the_banks_message(sandbox, cache) -> None:
    prompts: list[MfaPrompt] = []

    async def wrong_then_right(prompt: MfaPrompt) -> dict[str, list[str]]:
        prompts.append(prompt)
        if len(prompts) == 1:
            return {challenge.prompt: ["Atlantis"] for challenge in prompt.challenges}
        return right_answers(prompt)

    async def scenario() -> None:
        login_id = await connect(sandbox, "Greatday")
        async with opened_sync(sandbox, cache, statements=None) as sync:
            assert (await sync.link(login_id)).ok
            result = await sync.refresh(login_id, live=True, mfa=wrong_then_right)
        assert result.ok
        assert [prompt.retry_message for prompt in prompts] == [None, "The security response is invalid"]
        assert prompts[0].challenges == prompts[1].challenges

    asyncio.run(scenario())


def test_too_many_wrong_answers_end_in_an_error_status(sandbox, cache) -> None:
    async def always_wrong(prompt: MfaPrompt) -> dict[str, list[str]]:
        return {challenge.prompt: ["Atlantis"] for challenge in prompt.challenges}

    async def scenario() -> None:
        login_id = await connect(sandbox, "Greatday")
        async with opened_sync(sandbox, cache, statements=None) as sync:
            assert (await sync.link(login_id)).ok
            result = await sync.refresh(login_id, live=True, mfa=always_wrong)
        assert (result.outcome, result.error_code) == ("error", "INVALID_SECURITY_RESPONSE_NO_RETRY")
        with Store.open(cache) as store:
            login = store.login(login_id)
            assert (login.status, login.error_code) == ("error", "INVALID_SECURITY_RESPONSE_NO_RETRY")
            assert login.error_message.startswith("The answer to the security question is wrong")

    asyncio.run(scenario())


def test_cancelling_the_questions_marks_needs_mfa_and_keeps_the_cached_data(sandbox, cache) -> None:
    async def cancel(prompt: MfaPrompt) -> None:
        return None

    async def scenario() -> None:
        login_id = await connect(sandbox, "Greatday")
        async with opened_sync(sandbox, cache) as sync:
            assert (await sync.link(login_id)).ok
            before = cached(cache, login_id)
            result = await sync.refresh(login_id, live=True, mfa=cancel)
        assert result.outcome == "needs_mfa" and "not answered" in result.message
        after = cached(cache, login_id)
        assert after[0].status == "needs_mfa" and after[0].error_message == result.message
        assert after[1:] == before[1:]
        assert after[0].synced_at == before[0].synced_at

    asyncio.run(scenario())


def test_direct_login_with_mfa_caches_the_new_login(sandbox, cache) -> None:
    async def scenario() -> None:
        async with opened_sync(sandbox, cache, statements="MostRecent") as sync:
            result = await sync.login("FlinksCapital", "Greatday", "Everyday", mfa=_answering)
            wrong = await sync.login("FlinksCapital", "Greatday", "Weekday", mfa=_answering)
        assert result.ok and result.login_id is not None
        assert (wrong.outcome, wrong.login_id, wrong.error_code) == ("error", None, "INVALID_LOGIN")
        with Store.open(cache) as store:
            [login] = store.logins()
            assert (login.id, login.username, login.environment) == (result.login_id, "Greatday", ENVIRONMENT)
            assert len(store.statements(login.id)) == 4

    asyncio.run(scenario())


async def _answering(prompt: MfaPrompt) -> dict[str, list[str]]:
    return right_answers(prompt)


# -- one sync per login, refresh-all, cancellation ------------------------------------------------


def test_a_second_sync_or_a_delete_of_a_busy_login_is_refused(flinks_sandbox_factory, cache) -> None:
    sandbox = flinks_sandbox_factory(as_of=AS_OF, slow_pending_polls=15)

    async def scenario() -> None:
        login_id = await connect(sandbox, "test_pending")
        async with opened_sync(sandbox, cache, statements=None) as sync:
            assert (await sync.link(login_id)).ok
            waiting = asyncio.Event()
            first = asyncio.create_task(
                sync.refresh(login_id, progress=lambda progress: waiting.set() if progress.stage == "waiting" else None)
            )
            await waiting.wait()
            assert sync.is_busy(login_id)
            with pytest.raises(SyncInProgress, match=f"{mask_id(login_id)} is being refreshed"):
                await sync.refresh(login_id, live=True)
            with pytest.raises(SyncInProgress):
                await sync.delete_card(login_id)
            [skipped] = await sync.refresh_all()
            assert (skipped.login_id, skipped.outcome) == (login_id, "skipped")
            assert "being refreshed" in skipped.message
            assert (await first).ok
            assert not sync.is_busy(login_id)
            assert (await sync.refresh(login_id)).ok  # free again

    asyncio.run(scenario())
    deletes = [request for request in sandbox.requests if "/DeleteCard/" in request.path]
    assert deletes == []


def test_refresh_all_bounds_concurrency_and_records_each_outcome(flinks_sandbox_factory, cache) -> None:
    sandbox = flinks_sandbox_factory(as_of=AS_OF, slow_pending_polls=8)
    in_flight, most = set(), 0

    def track(progress: SyncProgress) -> None:
        nonlocal most
        if progress.stage == "authorize":
            in_flight.add(progress.login_id)
            most = max(most, len(in_flight))
        elif progress.stage == "done":
            in_flight.discard(progress.login_id)

    async def scenario() -> tuple[dict[str, str], list[SyncResult]]:
        logins = {
            username: await connect(sandbox, username)
            for username in ("greatday_nomfa", "test_pending", "Greatday", "test_dispatched")
        }
        logins["test_service_unavailable"] = add_failing_login(sandbox, "test_service_unavailable")
        async with opened_sync(sandbox, cache, statements=None) as sync:
            for login_id in logins.values():
                assert (await sync.link(login_id, "FlinksCapital")).ok
            return logins, await sync.refresh_all(live=True, concurrency=2, progress=track)

    logins, results = asyncio.run(scenario())
    assert [result.login_id for result in results] == list(logins.values())  # in the order added
    outcome = dict(zip(logins, results))
    assert {username: result.outcome for username, result in outcome.items()} == {
        "greatday_nomfa": "ok",
        "test_pending": "ok",
        "Greatday": "needs_mfa",  # a live refresh with nobody to answer
        "test_dispatched": "ok",
        "test_service_unavailable": "error",
    }
    assert outcome["test_service_unavailable"].error_code == "RETRY_LATER"
    assert most == 2 and not in_flight
    with Store.open(cache) as store:
        statuses = {username: store.login(login_id) for username, login_id in logins.items()}
    unavailable = statuses["test_service_unavailable"]
    assert (unavailable.status, unavailable.error_code) == ("error", "RETRY_LATER")
    assert unavailable.error_message == "The bank could not be reached. Try again later."
    assert statuses["Greatday"].status == "needs_mfa"
    assert {statuses[name].status for name in ("greatday_nomfa", "test_pending", "test_dispatched")} == {"ok"}


def test_cancelling_a_refresh_mid_poll_leaves_the_cache_as_it_was(flinks_sandbox_factory, cache) -> None:
    sandbox = flinks_sandbox_factory(as_of=AS_OF, slow_pending_polls=10)

    async def scenario() -> None:
        login_id = await connect(sandbox, "test_pending")
        async with opened_sync(sandbox, cache) as sync:
            assert (await sync.link(login_id, "FlinksCapital")).ok
            before = cached(cache, login_id)
            polling = asyncio.Event()

            def progress(step: SyncProgress) -> None:
                if step.stage == "waiting" and step.attempt >= 3:
                    polling.set()

            refresh = asyncio.create_task(sync.refresh(login_id, progress=progress))
            await polling.wait()
            refresh.cancel()
            with pytest.raises(asyncio.CancelledError):
                await refresh
            assert not sync.is_busy(login_id)
            polls = len([r for r in sandbox.requests if "GetAccountsDetailAsync" in r.path])
            await asyncio.sleep(0.1)  # the poll really stopped
            assert len([r for r in sandbox.requests if "GetAccountsDetailAsync" in r.path]) == polls
        assert cached(cache, login_id) == before

    asyncio.run(scenario())


def test_the_loop_stays_responsive_while_the_largest_snapshot_is_saved(sandbox, cache, monkeypatch) -> None:
    """Writes run on the writer thread: a 10 ms ticker on the loop never waits long (a correctness
    bound for "writes are off the loop thread", not a benchmark)."""
    writers: set[str] = set()
    snapshot_writer = Store.snapshot_writer

    def noting_thread(store: Store, *args: Any, **kwargs: Any) -> Any:
        writers.add(threading.current_thread().name)
        return snapshot_writer(store, *args, **kwargs)

    monkeypatch.setattr(Store, "snapshot_writer", noting_thread)
    gaps: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async def scenario() -> None:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache, days="Days365", statements="Months12") as sync:
            stop = asyncio.Event()
            ticking = asyncio.create_task(ticker(stop))
            result = await sync.link(login_id, "FlinksCapital")
            stop.set()
            await ticking
        assert result.ok and result.statements.new == 4 * 12

    asyncio.run(scenario())
    assert writers and threading.main_thread().name not in writers
    assert max(gaps) < 0.25, f"the loop waited {max(gaps) * 1000:.0f} ms"


# -- delete card -------------------------------------------------------------------------------------


def test_delete_card_removes_every_trace_from_the_data_directory(sandbox, cache, tmp_path) -> None:
    async def scenario() -> tuple[str, list[bytes]]:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache) as sync:
            assert (await sync.link(login_id, "FlinksCapital")).ok
            with Store.open(cache) as store:
                card = next(account for account in store.accounts(login_id) if account.type == "CreditCard")
                traces = [
                    card.account_number.encode(),
                    card.holder.name.encode(),
                    *{row.description.encode() for row in store.transactions(login_id, limit=50)},
                ]
            found = {needle for _, needle in files_holding(tmp_path, traces)}
            assert found == set(traces)  # the scan does see them while they are cached
            result = await sync.delete_card(login_id, by="agent Tremblay")
            # While the cache is open, its WAL is there too: the purge truncated it.
            assert cache.with_name("cache.db-wal").exists()
            assert files_holding(tmp_path, traces) == []
        assert result.ok and result.deleted_at_flinks, result.message
        assert result.purged.transactions == expected_transactions(sandbox, "greatday_nomfa")
        assert result.message == "The card was deleted at Flinks and its data removed from this computer."
        return login_id, traces

    login_id, traces = asyncio.run(scenario())
    assert cache.exists() and files_holding(tmp_path, traces) == []
    with Store.open(cache) as store:
        assert store.logins() == []
        [purged] = [row for row in store.activity(login_id) if row.name == "LOGIN_PURGED"]
        assert purged.detail["by"] == "agent Tremblay" and purged.at is not None
        assert purged.detail["at_flinks"] is True  # the activity says Flinks deleted it first
        [delete] = [row for row in store.activity(login_id) if row.name == "DeleteCard"]
        assert (delete.method, delete.status) == ("DELETE", 200)
    assert login_id not in sandbox.state.logins


def test_a_delete_flinks_refuses_changes_nothing(flinks_sandbox_factory, cache) -> None:
    sandbox = flinks_sandbox_factory(as_of=AS_OF, card_in_use_seconds=60)

    async def scenario() -> None:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache) as sync:
            assert (await sync.link(login_id, "FlinksCapital")).ok
            before = cached(cache, login_id)
            result = await sync.delete_card(login_id)
        assert not result.ok and not result.deleted_at_flinks and result.purged is None
        assert result.error.flinks_code == "CARD_IN_USE"
        assert result.message == (
            "Flinks did not delete the card, so nothing was removed: "
            "Flinks is still processing this login. Try again in a few minutes."
        )
        assert cached(cache, login_id) == before

    asyncio.run(scenario())


def test_a_delete_that_cannot_reach_flinks_changes_nothing(sandbox, cache) -> None:
    async def scenario() -> None:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache, statements=None) as sync:
            assert (await sync.link(login_id, "FlinksCapital")).ok
            before = cached(cache, login_id)
            sandbox.stop()
            result = await sync.delete_card(login_id)
        assert not result.ok and not result.deleted_at_flinks
        assert type(result.error).__name__ == "TransportError"
        assert result.message.startswith("Flinks did not delete the card, so nothing was removed: ")
        assert cached(cache, login_id) == before

    asyncio.run(scenario())


def test_a_local_only_delete_purges_without_asking_flinks(sandbox, cache) -> None:
    async def scenario() -> None:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache, statements=None) as sync:
            assert (await sync.link(login_id, "FlinksCapital")).ok
            result = await sync.delete_card(login_id, local_only=True, by="cli")
        assert result.ok and not result.deleted_at_flinks and result.purged.accounts == 4
        assert "Flinks still holds the card" in result.message
        with Store.open(cache) as store:
            assert store.logins() == []
            [purged] = [row for row in store.activity(login_id) if row.name == "LOGIN_PURGED"]
            assert purged.detail["at_flinks"] is False and purged.detail["by"] == "cli"
        assert login_id in sandbox.state.logins
        assert not [request for request in sandbox.requests if "/DeleteCard/" in request.path]

    asyncio.run(scenario())


# -- secrets -----------------------------------------------------------------------------------------


def test_no_secret_reaches_any_file_of_the_data_directory(flinks_sandbox_factory, tmp_path, cache) -> None:
    sandbox = flinks_sandbox_factory(as_of=AS_OF, auth_key="s3cret-auth", api_key="s3cret-api", mfa_rounds=3)
    secrets = {"auth_secret": "s3cret-auth", "api_key": "s3cret-api"}
    answered: list[str] = []

    async def answer(prompt: MfaPrompt) -> dict[str, list[str]]:
        answers = right_answers(prompt)
        answered.extend(value for values in answers.values() for value in values)
        return answers

    def leaks() -> list[tuple[str, bytes]]:
        tokens = {
            request.headers["flinks-auth-key"]
            for request in sandbox.requests
            if request.path.endswith("/Authorize") and "flinks-auth-key" in request.headers
        }
        assert len(tokens) >= 2
        forbidden = [b"s3cret", *(answer.encode() for answer in ANSWERS.values())]
        forbidden += [form.encode() for token in tokens for form in (token, mask_id(token), token[:8])]
        found = files_holding(tmp_path, forbidden)
        # The password is also the first word of an account's title: bank data, not the password.
        for path in tmp_path.rglob("*"):
            content = path.read_bytes() if path.is_file() else b""
            if content.count(b"Everyday") != content.count(b"Everyday Chequing"):
                found.append((path.name, b"Everyday"))
        return found

    async def scenario() -> None:
        async with opened_sync(sandbox, cache, client_options=secrets) as sync:
            first = await sync.login("FlinksCapital", "Greatday", "Everyday", mfa=answer)
            assert first.ok, first.message
            again = await sync.refresh(first.login_id, live=True, mfa=answer)
            assert again.ok and again.statements is not None
            redirect = f"https://flinks-desktop.invalid/connected?loginId={first.login_id}"
            assert sync.audit.record_connect_event({"step": "REDIRECT", "url": redirect})
            await sync.refresh(first.login_id)  # after the event: the writer has stored it
            assert cache.with_name("cache.db-wal").stat().st_size > 0
            assert files_holding(tmp_path, [b"Everyday Chequing", b"Greatday"])  # the scan sees bank data
            assert leaks() == []

    asyncio.run(scenario())
    assert set(answered) == set(ANSWERS.values())
    assert leaks() == []


def test_a_local_purge_that_finishes_a_deletion_flinks_confirmed_says_flinks_deleted_it(sandbox, cache) -> None:
    """Flinks deleted the card, but the cache was held by another writer: the purge failed. The
    purge from this computer only that finishes it (the dialog's retry, the CLI's advice) records
    and says that Flinks deleted the card, not that Flinks still holds it."""

    async def scenario() -> str:
        login_id = await connect(sandbox)
        async with opened_sync(sandbox, cache, statements=None) as sync:
            assert (await sync.link(login_id, "FlinksCapital")).ok
            blocker = sqlite3.connect(cache, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")  # another writer, for longer than the busy timeout
            try:
                first = await sync.delete_card(login_id, by="agent Tremblay")
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            assert not first.ok and first.deleted_at_flinks and first.purged is None
            assert "To finish, delete the connection again, from this computer only." in first.message
            second = await sync.delete_card(login_id, local_only=True, by="agent Tremblay")
        assert second.ok and second.deleted_at_flinks
        assert second.message == "The card was deleted at Flinks and its data removed from this computer."
        return login_id

    login_id = asyncio.run(scenario())
    with Store.open(cache) as store:
        assert store.logins() == []
        [purged] = [row for row in store.activity(login_id) if row.name == "LOGIN_PURGED"]
        assert purged.detail["at_flinks"] is True
    assert login_id not in sandbox.state.logins
