"""The audit: the client's observer hook, what `Audit` stores of API calls and Connect events (masked,
never a secret), `describe`, and the audit trail a whole sync leaves, read from a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flinks_desktop.core.audit import Audit, describe
from flinks_desktop.core.flinks import Authorized, FlinksClient, TransportError
from flinks_desktop.core.flinks.client import ApiCall
from flinks_desktop.core.flinks.errors import KNOWN_CODES, message_for
from flinks_desktop.core.redact import HIDDEN, mask_id
from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import Sync

LOGIN_ID = "b0debb48-f9f1-46c6-80a4-08d7dd88d478"
REQUEST_ID = "006fd2f3-055b-4ef6-a9fc-c1261cd76ec6"
TOKEN = "5e115eac-1209-4f19-641c-08d6d484e2fe"
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "cache.db") as opened:
        yield opened


def synchronous_audit(store: Store) -> Audit:
    """An audit that writes at once, on this thread: what the writer thread does, minus the thread."""
    return Audit(lambda job: job(store), clock=lambda: NOW)


# -- the client's observer -------------------------------------------------------------------------


def test_the_client_reports_every_exchange_to_its_observer(flinks_sandbox_factory) -> None:
    sandbox = flinks_sandbox_factory(auth_key="s3cret-auth", api_key="s3cret-api")
    calls: list[ApiCall] = []

    async def scenario() -> tuple[str, str]:
        async with FlinksClient(
            sandbox.api_url, auth_secret="s3cret-auth", api_key="s3cret-api", poll_interval=0.01, on_call=calls.append
        ) as flinks:
            session = await flinks.authorize_credentials("FlinksCapital", "greatday_nomfa", "Everyday")
            assert isinstance(session, Authorized)
            await flinks.get_accounts_detail(session.request_id)
            await flinks.delete_card(session.login.id)
            return session.login.id, session.request_id

    login_id, request_id = asyncio.run(scenario())
    assert [(call.method, call.endpoint, call.status, call.failure, call.flinks_code) for call in calls] == [
        ("POST", "GenerateAuthorizeToken", 200, None, None),
        ("POST", "Authorize", 200, None, None),
        ("POST", "GetAccountsDetail", 202, None, "OPERATION_PENDING"),
        ("GET", "GetAccountsDetailAsync", 202, None, "OPERATION_PENDING"),
        ("GET", "GetAccountsDetailAsync", 200, None, None),
        ("DELETE", "DeleteCard", 200, None, None),
    ]
    assert [(call.login_id, call.request_id) for call in calls] == [
        (None, None),
        (login_id, request_id),  # a credential login: both come from the answer
        (None, request_id),
        (None, request_id),
        (login_id, request_id),  # the data's answer names its login
        (login_id, None),
    ]
    assert all(call.duration > 0 for call in calls)
    tokens = [request.headers["flinks-auth-key"] for request in sandbox.requests if request.path.endswith("/Authorize")]
    assert tokens and not any(secret in repr(calls) for secret in ("s3cret", "Everyday", *tokens))


def test_a_call_that_gets_no_answer_is_reported_with_its_failure(flinks_sandbox) -> None:
    calls: list[ApiCall] = []
    flinks_sandbox.stop()

    async def scenario() -> None:
        async with FlinksClient(flinks_sandbox.api_url, on_call=calls.append) as flinks:
            with pytest.raises(TransportError):
                await flinks.authorize_cached(LOGIN_ID)

    asyncio.run(scenario())
    [call] = calls
    assert (call.endpoint, call.status, call.failure, call.login_id, call.request_id) == (
        "Authorize",
        None,
        "ConnectError",
        LOGIN_ID,
        None,
    )


def test_an_observer_that_fails_does_not_fail_the_call(flinks_sandbox, caplog) -> None:
    def broken(call: ApiCall) -> None:
        raise RuntimeError("observer bug")

    async def scenario() -> object:
        async with FlinksClient(flinks_sandbox.api_url, on_call=broken) as flinks:
            return await flinks.authorize_credentials("FlinksCapital", "greatday_nomfa", "Everyday")

    with caplog.at_level(logging.ERROR, logger="flinks_desktop.flinks"):
        assert isinstance(asyncio.run(scenario()), Authorized)
    assert "the on_call observer failed on POST Authorize" in caplog.text


# -- what the audit stores -------------------------------------------------------------------------


def test_api_calls_are_stored_masked_and_found_under_their_login(store: Store) -> None:
    audit = synchronous_audit(store)
    audit.record_api_call(ApiCall("POST", "Authorize", 200, None, None, 0.25, LOGIN_ID, REQUEST_ID))
    audit.record_api_call(
        ApiCall("GET", "GetAccountsDetailAsync", 202, None, "OPERATION_PENDING", 0.004, None, REQUEST_ID)
    )
    audit.record_api_call(ApiCall("POST", "Authorize", None, "ConnectError", None, 10.0, None, None))

    newest_first = store.activity()
    assert [(row.name, row.status, row.flinks_code, row.duration_ms) for row in newest_first] == [
        ("GetAccountsDetailAsync", 202, "OPERATION_PENDING", 4),
        ("Authorize", 200, None, 250),
        ("Authorize", None, None, 10_000),  # made 10 s before it failed: the oldest
    ]
    assert newest_first[1].at == NOW - timedelta(seconds=0.25)  # when the call was made
    assert [row.name for row in store.activity(LOGIN_ID)] == ["GetAccountsDetailAsync", "Authorize"]
    assert {(row.login, row.request) for row in store.activity(LOGIN_ID)} == {(mask_id(LOGIN_ID), mask_id(REQUEST_ID))}


def test_connect_events_are_stored_masked_without_secrets(store: Store) -> None:
    audit = synchronous_audit(store)
    redirect = {
        "step": "REDIRECT",
        "institution": "FlinksCapital",
        "authorizeToken": TOKEN,
        "url": f"https://flinks-desktop.invalid/connected?loginId={LOGIN_ID}&institution=FlinksCapital"
        f"&authorizeToken={TOKEN}",
    }
    original = dict(redirect)

    assert audit.record_connect_event('{"step": "APP_MOUNTED"}')  # stringify=true sends JSON text
    assert audit.record_connect_event({"flinksCode": "INVALID_LOGIN", "requestId": REQUEST_ID})
    assert audit.record_connect_event(redirect)
    assert not audit.record_connect_event({"not": "an event"})
    assert redirect == original  # the caller's event is left alone

    rows = store.activity()  # all at the same time: in no particular order
    assert sorted((row.kind, row.name, row.flinks_code) for row in rows) == [
        ("connect", "APP_MOUNTED", None),
        ("connect", "INVALID_LOGIN", "INVALID_LOGIN"),
        ("connect", "REDIRECT", None),
    ]
    [stored] = [row for row in rows if row.name == "REDIRECT"]
    assert stored.login == mask_id(LOGIN_ID)  # read from the REDIRECT itself
    assert stored.detail["authorizeToken"] == HIDDEN
    assert TOKEN not in str(stored.detail) and mask_id(TOKEN) not in str(stored.detail)
    assert LOGIN_ID not in str(stored.detail) and mask_id(LOGIN_ID) in stored.detail["url"]
    [error] = [row for row in rows if row.name == "INVALID_LOGIN"]
    assert error.request == mask_id(REQUEST_ID)
    content = store.path.read_bytes() + store.path.with_name("cache.db-wal").read_bytes()
    assert TOKEN.encode() not in content and LOGIN_ID.encode() not in content


def test_describe_says_a_flinks_code_in_plain_words() -> None:
    assert describe("RETRY_LATER") == "The bank could not be reached. Try again later."
    assert describe("CARD_IN_USE") == "Flinks is still processing this login. Try again in a few minutes."
    assert describe("OPERATION_PENDING").startswith("Flinks is still preparing the data")
    assert describe("SOMETHING_NEW") == "Flinks refused the request."
    assert describe("<b>not a code</b>") == "Flinks refused the request."
    # One table of sentences, in the error module: describe says what the errors say.
    assert KNOWN_CODES and all(describe(code) == message_for(code) for code in KNOWN_CODES)


# -- a whole sync ----------------------------------------------------------------------------------


def test_every_step_of_a_sync_is_audited_under_its_login_with_masked_ids(flinks_sandbox, tmp_path) -> None:
    cache = tmp_path / "data" / "cache.db"
    seen: list[ApiCall] = []

    async def scenario() -> str:
        async with FlinksClient(flinks_sandbox.api_url, poll_interval=0.01, on_call=seen.append) as client:
            authorized = await client.authorize_credentials("FlinksCapital", "greatday_nomfa", "Everyday")
            sync = Sync(client, cache, environment="Offline sandbox", statements="MostRecent")
            assert (await sync.link(authorized.login.id, "FlinksCapital")).ok
            assert (await sync.delete_card(authorized.login.id, by="agent")).ok
            await sync.close()
            assert client.on_call == seen.append  # given back
            return authorized.login.id

    login_id = asyncio.run(scenario())
    with Store.open(cache) as store:
        trail = list(reversed(store.activity(login_id)))
    assert [row.name for row in trail] == [
        "Authorize",
        "GetAccountsDetail",
        "GetAccountsDetailAsync",
        "GetAccountsDetailAsync",
        "GetStatements",
        "DeleteCard",
        "LOGIN_PURGED",
    ]
    assert {row.login for row in trail} == {mask_id(login_id)}
    request_ids = {call.request_id for call in seen if call.endpoint.startswith("Get")}
    [request_id] = request_ids
    assert {row.request for row in trail[:5]} == {mask_id(request_id)}
    assert [call.endpoint for call in seen][-6:] == [row.name for row in trail[:6]]  # chained observer
    for path in cache.parent.iterdir():  # the purge left only masks behind
        assert login_id.encode() not in path.read_bytes() and request_id.encode() not in path.read_bytes()


# -- what a sync left out ----------------------------------------------------------------------------


def test_what_a_sync_left_out_is_one_line_of_the_logins_activity(store: Store) -> None:
    from flinks_desktop.core.audit import DATA_DROPPED
    from flinks_desktop.core.flinks import Dropped

    store.upsert_login(LOGIN_ID, "FlinksCapital", at=NOW)
    audit = synchronous_audit(store)
    audit.record_dropped(LOGIN_ID, [])  # nothing left out: no line
    dropped = [
        Dropped(
            "transaction",
            f"Accounts[0].Transactions[{n}].Date",
            "not a date",
            f"94584aed-7c98-42a4-9836-9f8557db{n:04d}",
            REQUEST_ID,
        )
        for n in range(60)
    ]
    dropped.append(Dropped("field", "Accounts[1].Balance.Current", "expected a number, got bool"))
    audit.record_dropped(LOGIN_ID, dropped)

    [row] = store.activity(LOGIN_ID)
    assert (row.kind, row.name, row.at, row.login) == ("app", DATA_DROPPED, NOW, mask_id(LOGIN_ID))
    assert row.detail["message"] == (
        "60 transactions and 1 field that Flinks sent could not be read or kept "
        "exactly, so they were left out. Everything else was saved."
    )
    assert (row.detail["count"], row.detail["counts"]) == (61, {"transaction": 60, "field": 1})
    assert len(row.detail["items"]) == 50  # the first ones: enough to find them, not a copy of the answer
    assert row.detail["items"][0] == {
        "what": "transaction",
        "where": "Accounts[0].Transactions[0].Date",
        "why": "not a date",
        "id": "9458…0000",
        "account": mask_id(REQUEST_ID),
    }
    content = store.path.read_bytes() + store.path.with_name("cache.db-wal").read_bytes()
    assert b"94584aed-7c98-42a4-9836-9f8557db0000" not in content and REQUEST_ID.encode() not in content
