"""FlinksClient over real loopback HTTP: first the request shapes and the 202 polling against
`ScriptedServer` (exact replies, exact timing), then whole journeys against the Flinks Capital
sandbox (`flinks_sandbox`), which behaves as the Flinks API reference documents."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from scripted_server import Hang, Reply, ScriptedServer, json_reply

from flinks_desktop.core.flinks import (
    Authorized,
    CardInUse,
    FlinksClient,
    InvalidCredentials,
    LoginDisabled,
    MfaRequired,
    PollProgress,
    PollTimeout,
    RetryLater,
    SecurityResponseRejected,
    SessionInvalid,
    Unauthorized,
)

SAMPLES = Path(__file__).parent / "fixtures" / "flinks-samples"
CUSTOMER = "43387ca6-0391-4c82-857d-70d95f087ecb"
LOGIN_ID = "b0debb48-f9f1-46c6-80a4-08d7dd88d478"
REQUEST_ID = "006fd2f3-055b-4ef6-a9fc-c1261cd76ec6"
ANSWERS = {
    "What city were you born in?": "Montreal",
    "What is the best country on earth?": "Canada",
    "What shape do people like most?": "Triangle",
}
LOGGER = "flinks_desktop.flinks"


def sample_reply(name: str, status: int = 200) -> Reply:
    return Reply(status, (SAMPLES / name).read_bytes())


PENDING = sample_reply("get_accounts_detail_202_operation_pending.json", 202)
DISPATCHED = json_reply(
    202,
    {
        "FlinksCode": "OPERATION_DISPATCHED",
        "HttpStatusCode": 202,
        "Message": "Your operation is still processing",
        "RequestId": REQUEST_ID,
    },
)
SUMMARY = sample_reply("get_accounts_summary_200.json")


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def scripted_client(server: ScriptedServer, **options: object) -> FlinksClient:
    return FlinksClient(f"{server.url}/v3/{CUSTOMER}", **options)  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.002)


# -- request shapes ----------------------------------------------------------------------------


def test_authorize_bodies_and_no_auth_headers_without_secrets(server: ScriptedServer) -> None:
    cached = sample_reply("authorize_200_cached.json")
    server.script(cached, cached, sample_reply("authorize_203_mfa.json", 203), cached)

    async def run() -> None:
        async with scripted_client(server) as flinks:
            assert isinstance(await flinks.authorize_cached(LOGIN_ID), Authorized)
            assert isinstance(await flinks.authorize_live(LOGIN_ID), Authorized)
            assert isinstance(
                await flinks.authorize_credentials("FlinksCapital", "Greatday", "Everyday", language="fr", tag="t1"),
                MfaRequired,
            )
            await flinks.answer_mfa(REQUEST_ID, {"What shape do people like most?": ["Triangle"]})

    asyncio.run(run())
    paths = {request.path for request in server.requests}
    assert paths == {f"/v3/{CUSTOMER}/BankingServices/Authorize"}
    bodies = [json.loads(request.body) for request in server.requests]
    assert bodies[0] == {"LoginId": LOGIN_ID, "MostRecentCached": True}
    assert set(bodies[0]) == set(json.loads((SAMPLES / "authorize_request_cached.json").read_text()))
    assert bodies[1] == {"LoginId": LOGIN_ID, "MostRecentCached": False}
    assert bodies[2] == {
        "Institution": "FlinksCapital",
        "Username": "Greatday",
        "Password": "Everyday",
        "MostRecentCached": False,
        "Save": True,
        "Language": "fr",
        "Tag": "t1",
    }
    # Flinks' own request sample spells "username" in lower case: .NET reads keys either way.
    credentials_sample = json.loads((SAMPLES / "authorize_request_credentials.json").read_text())
    assert {key.lower() for key in bodies[2]} >= {key.lower() for key in credentials_sample}
    assert bodies[3] == {
        "RequestId": REQUEST_ID,
        "SecurityResponses": {"What shape do people like most?": ["Triangle"]},
    }
    for request in server.requests:
        assert "flinks-auth-key" not in request.headers and "x-api-key" not in request.headers


def test_a_bare_string_answer_is_refused_before_sending(server: ScriptedServer) -> None:
    async def run() -> None:
        async with scripted_client(server) as flinks:
            await flinks.answer_mfa(REQUEST_ID, {"What shape do people like most?": "Triangle"})

    with pytest.raises(TypeError):
        asyncio.run(run())
    assert server.requests == []


def test_data_bodies_headers_and_delete_path(server: ScriptedServer) -> None:
    statements = sample_reply("get_statements_200.json")
    message = f"All of the information about LoginId {LOGIN_ID} has been removed"
    server.script(SUMMARY, SUMMARY, statements, json_reply(200, {"Message": message}))

    async def run() -> str:
        async with scripted_client(server, api_key="k3y") as flinks:
            await flinks.get_accounts_detail(
                REQUEST_ID, days_of_transactions="Days365", accounts_filter=["a1"], with_kyc=True
            )
            await flinks.get_accounts_summary(REQUEST_ID)
            await flinks.get_statements(REQUEST_ID, number_of_statements="Months12")
            return await flinks.delete_card(LOGIN_ID)

    assert asyncio.run(run()) == message
    detail, summary, statement, delete = server.requests
    base = f"/v3/{CUSTOMER}/BankingServices"
    assert (detail.method, detail.path) == ("POST", f"{base}/GetAccountsDetail")
    assert json.loads(detail.body) == {
        "RequestId": REQUEST_ID,
        "WithAccountIdentity": True,
        "WithKYC": True,
        "WithTransactions": True,
        "DaysOfTransactions": "Days365",
        "AccountsFilter": ["a1"],
    }
    assert set(json.loads((SAMPLES / "get_accounts_detail_request.json").read_text())) <= set(json.loads(detail.body))
    assert json.loads(summary.body) == {"RequestId": REQUEST_ID}
    assert json.loads(statement.body) == {"RequestId": REQUEST_ID, "NumberOfStatements": "Months12"}
    assert (delete.method, delete.path, delete.body) == ("DELETE", f"{base}/DeleteCard/{LOGIN_ID}", b"")
    assert all(request.headers["x-api-key"] == "k3y" for request in server.requests)
    assert all("flinks-auth-key" not in request.headers for request in server.requests)


def test_ids_are_escaped_in_paths(server: ScriptedServer) -> None:
    server.script(json_reply(200, {"Message": "ok"}))

    async def run() -> None:
        async with scripted_client(server) as flinks:
            await flinks.delete_card("../Authorize?x=1")

    asyncio.run(run())
    assert server.requests[0].path == f"/v3/{CUSTOMER}/BankingServices/DeleteCard/..%2FAuthorize%3Fx%3D1"


def test_one_log_line_per_call_with_masked_ids(server: ScriptedServer, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    server.script(PENDING, SUMMARY, json_reply(401, {"FlinksCode": "INVALID_LOGIN", "Message": "no"}))

    async def run() -> None:
        async with scripted_client(server, poll_interval=0.001) as flinks:
            await flinks.get_accounts_summary(REQUEST_ID)
            with pytest.raises(InvalidCredentials):
                await flinks.authorize_cached(LOGIN_ID)

    asyncio.run(run())
    lines = [record.getMessage() for record in caplog.records if record.name == LOGGER]
    assert len(lines) == 3
    assert lines[0].startswith("POST GetAccountsSummary -> 202 OPERATION_PENDING in ")
    assert lines[0].endswith(" s [id 006f…6ec6]")
    assert lines[1].startswith("GET GetAccountsSummaryAsync -> 200 - in ")
    assert lines[2].startswith("POST Authorize -> 401 INVALID_LOGIN in ")
    assert lines[2].endswith("[id b0de…d478]")
    assert [record.levelno for record in caplog.records] == [logging.INFO, logging.INFO, logging.WARNING]
    assert LOGIN_ID not in caplog.text and REQUEST_ID not in caplog.text


# -- polling -----------------------------------------------------------------------------------


def test_202_202_200_polls_the_async_endpoint_and_reports_progress(server: ScriptedServer) -> None:
    server.script(PENDING, DISPATCHED, SUMMARY)
    progress: list[PollProgress] = []

    async def run():
        async with scripted_client(server, api_key="k3y", poll_interval=0.01) as flinks:
            return await flinks.get_accounts_summary(REQUEST_ID, progress=progress.append)

    result = asyncio.run(run())
    assert result.accounts[0].balance.available == Decimal("1234.45")
    base = f"/v3/{CUSTOMER}/BankingServices"
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", f"{base}/GetAccountsSummary"),
        ("GET", f"{base}/GetAccountsSummaryAsync/{REQUEST_ID}"),
        ("GET", f"{base}/GetAccountsSummaryAsync/{REQUEST_ID}"),
    ]
    assert all(r.headers["x-api-key"] == "k3y" and r.body == b"" for r in server.requests[1:])
    assert [(p.endpoint, p.attempt, p.flinks_code) for p in progress] == [
        ("GetAccountsSummary", 1, "OPERATION_PENDING"),
        ("GetAccountsSummary", 2, "OPERATION_DISPATCHED"),
    ]
    assert 0 <= progress[0].elapsed < progress[1].elapsed
    assert progress[1].elapsed >= 0.01


def test_poll_timeout(server: ScriptedServer) -> None:
    server.otherwise = PENDING
    progress: list[PollProgress] = []

    async def run() -> None:
        async with scripted_client(server, poll_interval=0.01, poll_timeout=0.1) as flinks:
            await flinks.get_statements(REQUEST_ID, progress=progress.append)

    started = time.monotonic()
    with pytest.raises(PollTimeout) as caught:
        asyncio.run(run())
    assert time.monotonic() - started < 2
    error = caught.value
    assert (error.http_status, error.flinks_code, error.request_id) == (202, "OPERATION_PENDING", REQUEST_ID)
    # The sentence says how long the client waited, and how long it waits at most (its poll_timeout).
    assert str(error).startswith("Flinks is taking too long to prepare the data: it was still preparing it after ")
    assert str(error).endswith(", and this app waits 0.1 s at most. Try again later. (OPERATION_PENDING)")
    assert progress[-1].elapsed + 0.01 > 0.1  # it gave up only when the next poll would be late
    assert {poll.limit for poll in progress} == {0.1}
    assert len(server.requests) == len(progress) >= 2


def test_cancelling_stops_polling_at_once(server: ScriptedServer) -> None:
    server.otherwise = PENDING

    async def run() -> int:
        async with scripted_client(server, poll_interval=0.02) as flinks:
            task = asyncio.create_task(flinks.get_accounts_detail(REQUEST_ID))
            await until(lambda: len(server.requests) >= 3)
            task.cancel()
            cancelled_at = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - cancelled_at < 0.5
            sent = len(server.requests)
            await asyncio.sleep(0.3)  # 15 poll intervals: the absence of requests must be watched
            return sent

    sent = asyncio.run(run())
    assert len(server.requests) == sent


def test_cancelling_during_a_request_in_flight(server: ScriptedServer) -> None:
    server.script(PENDING, Hang())

    async def run() -> None:
        async with scripted_client(server, poll_interval=0.001) as flinks:
            task = asyncio.create_task(flinks.get_accounts_detail(REQUEST_ID))
            await until(lambda: len(server.requests) == 2)
            task.cancel()
            cancelled_at = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - cancelled_at < 0.5

    asyncio.run(run())
    assert len(server.requests) == 2


# -- the Flinks Capital sandbox ----------------------------------------------------------------


def sandbox_client(sandbox, **options: object) -> FlinksClient:
    return FlinksClient(sandbox.api_url, poll_interval=0.01, timeout=httpx.Timeout(10.0), **options)  # type: ignore[arg-type]


async def log_in(flinks: FlinksClient, username: str = "Greatday") -> Authorized:
    """A direct login, answering every security question right."""
    result = await flinks.authorize_credentials("FlinksCapital", username, "Everyday")
    while isinstance(result, MfaRequired):
        answers = {c.prompt: [ANSWERS[c.prompt]] for c in result.challenges}
        result = await flinks.answer_mfa(result.request_id, answers)
    return result


def test_direct_login_with_a_wrong_then_a_right_answer(flinks_sandbox) -> None:
    async def run() -> None:
        async with sandbox_client(flinks_sandbox) as flinks:
            first = await flinks.authorize_credentials("FlinksCapital", "Greatday", "Everyday")
            assert isinstance(first, MfaRequired)
            assert first.institution == "FlinksCapital"
            (challenge,) = first.challenges
            assert challenge.type == "QuestionAndAnswer" and challenge.prompt in ANSWERS
            with pytest.raises(SecurityResponseRejected) as caught:
                await flinks.answer_mfa(first.request_id, {challenge.prompt: ["Atlantis"]})
            assert caught.value.can_retry and caught.value.flinks_code == "INVALID_SECURITY_RESPONSE"
            assert caught.value.request_id == first.request_id
            result = await flinks.answer_mfa(first.request_id, {challenge.prompt: [ANSWERS[challenge.prompt]]})
            assert isinstance(result, Authorized)
            assert result.request_id == first.request_id
            assert result.login.username == "Greatday"
            assert result.login.last_refresh is not None and result.login.last_refresh.tzinfo is not None
            assert (result.institution_name, result.institution_id) == ("FlinksCapital", 14)

    asyncio.run(run())


def test_cached_and_live_authorize_of_a_known_login(flinks_sandbox) -> None:
    async def run() -> None:
        async with sandbox_client(flinks_sandbox) as flinks:
            login_id = (await log_in(flinks)).login.id
            cached = await flinks.authorize_cached(login_id)
            assert isinstance(cached, Authorized) and cached.login.id == login_id
            live = await flinks.authorize_live(login_id)
            assert isinstance(live, MfaRequired)  # Greatday's bank asks again
            (challenge,) = live.challenges
            again = await flinks.answer_mfa(live.request_id, {challenge.prompt: [ANSWERS[challenge.prompt]]})
            assert isinstance(again, Authorized) and again.login.id == login_id

    asyncio.run(run())


def test_summary_detail_with_polling_and_statements(flinks_sandbox) -> None:
    progress: list[PollProgress] = []

    async def run() -> str:
        async with sandbox_client(flinks_sandbox) as flinks:
            session = await log_in(flinks, "greatday_nomfa")
            summary = await flinks.get_accounts_summary(session.request_id)
            assert summary.accounts and all(a.transactions == () for a in summary.accounts)
            assert summary.login is not None and summary.login.id == session.login.id
            detail = await flinks.get_accounts_detail(session.request_id, progress=progress.append)
            assert {a.id for a in detail.accounts} == {a.id for a in summary.accounts}
            transactions = [t for a in detail.accounts for t in a.transactions]
            assert transactions
            assert all(isinstance(t.debit or t.credit, Decimal) for t in transactions)
            chequing = detail.accounts[0]
            assert chequing.institution_number == "777"
            assert isinstance(chequing.balance.current, Decimal)
            one = await flinks.get_accounts_detail(
                session.request_id, accounts_filter=[chequing.id], with_transactions=False
            )
            assert [a.id for a in one.accounts] == [chequing.id] and one.accounts[0].transactions == ()
            statements = await flinks.get_statements(session.request_id)
            assert statements.accounts
            for group in statements.accounts:
                for statement in group.statements:
                    assert statement.content.startswith(b"%PDF")
            return session.request_id

    request_id = asyncio.run(run())
    assert progress and all(p.flinks_code == "OPERATION_PENDING" for p in progress)
    polled = [r for r in flinks_sandbox.requests if r.method == "GET"]
    assert len(polled) == len(progress)
    assert all(r.path.endswith(f"/GetAccountsDetailAsync/{request_id}") for r in polled)


@pytest.mark.parametrize(
    ("username", "code"), [("test_pending", "OPERATION_PENDING"), ("test_dispatched", "OPERATION_DISPATCHED")]
)
def test_slow_users_keep_answering_202(flinks_sandbox_factory, username: str, code: str) -> None:
    sandbox = flinks_sandbox_factory(slow_pending_polls=3)
    progress: list[PollProgress] = []

    async def run() -> None:
        async with sandbox_client(sandbox) as flinks:
            session = await log_in(flinks, username)
            await flinks.get_accounts_summary(session.request_id, progress=progress.append)

    asyncio.run(run())
    assert [(p.attempt, p.flinks_code) for p in progress] == [(1, code), (2, code), (3, code), (4, code)]


@pytest.mark.parametrize(
    ("username", "password", "error_class", "code"),
    [
        ("Greatday", "Wrongday", InvalidCredentials, "INVALID_LOGIN"),
        ("test_disabled_account", "Everyday", LoginDisabled, "DISABLED_LOGIN"),
        ("test_service_unavailable", "Everyday", RetryLater, "RETRY_LATER"),
    ],
)
def test_bank_refusals(flinks_sandbox, username: str, password: str, error_class: type, code: str) -> None:
    async def run() -> None:
        async with sandbox_client(flinks_sandbox) as flinks:
            await flinks.authorize_credentials("FlinksCapital", username, password)

    with pytest.raises(error_class) as caught:
        asyncio.run(run())
    assert caught.value.flinks_code == code and caught.value.http_status == 401
    if code == "RETRY_LATER":
        assert str(caught.value) == "The bank could not be reached. Try again later. (RETRY_LATER)"


def test_an_unknown_request_id_is_an_invalid_session(flinks_sandbox) -> None:
    async def run() -> None:
        async with sandbox_client(flinks_sandbox) as flinks:
            await flinks.get_accounts_summary(REQUEST_ID)

    with pytest.raises(SessionInvalid) as caught:
        asyncio.run(run())
    assert caught.value.flinks_code == "SESSION_NONEXISTENT"


def test_delete_card_then_the_login_is_unknown(flinks_sandbox) -> None:
    async def run() -> None:
        async with sandbox_client(flinks_sandbox) as flinks:
            login_id = (await log_in(flinks, "greatday_nomfa")).login.id
            message = await flinks.delete_card(login_id)
            assert message == f"All of the information about LoginId {login_id} has been removed"
            with pytest.raises(InvalidCredentials) as caught:
                await flinks.authorize_cached(login_id)
            assert caught.value.flinks_code == "INVALID_LOGIN"

    asyncio.run(run())


def test_delete_card_right_after_authorize_is_card_in_use(flinks_sandbox_factory) -> None:
    sandbox = flinks_sandbox_factory(card_in_use_seconds=60)

    async def run() -> None:
        async with sandbox_client(sandbox) as flinks:
            login_id = (await log_in(flinks, "greatday_nomfa")).login.id
            with pytest.raises(CardInUse) as caught:
                await flinks.delete_card(login_id)
            assert caught.value.http_status == 400

    asyncio.run(run())


# -- secrets -----------------------------------------------------------------------------------


def test_with_the_right_secrets_a_fresh_token_goes_to_every_authorize(flinks_sandbox_factory, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    sandbox = flinks_sandbox_factory(auth_key="s3cret", api_key="k3y")

    async def run() -> Authorized:
        async with sandbox_client(sandbox, auth_secret="s3cret", api_key="k3y") as flinks:
            session = await log_in(flinks)
            await flinks.get_accounts_detail(session.request_id)
            cached = await flinks.authorize_cached(session.login.id)
            assert isinstance(cached, Authorized)
            await flinks.delete_card(session.login.id)
            return session

    session = asyncio.run(run())
    requests = sandbox.requests
    endpoints = [r.path.rsplit("/BankingServices/", 1)[1].split("/")[0] for r in requests]
    assert "GetAccountsDetailAsync" in endpoints
    # Each Authorize (login, MFA answer, cached) right after its own token.
    assert [e for e in endpoints if e != "GetAccountsDetailAsync"] == [
        "GenerateAuthorizeToken",
        "Authorize",
        "GenerateAuthorizeToken",
        "Authorize",
        "GetAccountsDetail",
        "GenerateAuthorizeToken",
        "Authorize",
        "DeleteCard",
    ]
    tokens = [r.headers["flinks-auth-key"] for r in requests if r.path.endswith("/Authorize")]
    assert len(set(tokens)) == 3 and "s3cret" not in tokens
    assert all(r.headers["flinks-auth-key"] == "s3cret" for r in requests if "GenerateAuthorizeToken" in r.path)
    data = [r for r in requests if "Authorize" not in r.path]
    assert all(r.headers["x-api-key"] == "k3y" and "flinks-auth-key" not in r.headers for r in data)
    assert all("x-api-key" not in r.headers for r in requests if "Authorize" in r.path)

    lines = [record.getMessage() for record in caplog.records if record.name == LOGGER]
    assert len(lines) == len(requests)
    for forbidden in ("s3cret", "k3y", "Everyday", *ANSWERS.values(), *tokens, session.login.id, session.request_id):
        assert forbidden not in caplog.text
    assert f"[id {session.login.id[:4]}…{session.login.id[-4:]}]" in caplog.text


@pytest.mark.parametrize(
    ("auth_secret", "api_key", "failing_endpoint"),
    [("wrong", "k3y", "GenerateAuthorizeToken"), (None, "k3y", "Authorize"), ("s3cret", "wrong", "GetAccountsSummary")],
)
def test_wrong_or_missing_secrets_are_unauthorized(
    flinks_sandbox_factory, caplog, auth_secret: str | None, api_key: str, failing_endpoint: str
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    sandbox = flinks_sandbox_factory(auth_key="s3cret", api_key="k3y")

    async def run() -> None:
        async with sandbox_client(sandbox, auth_secret=auth_secret, api_key=api_key) as flinks:
            session = await log_in(flinks, "greatday_nomfa")
            await flinks.get_accounts_summary(session.request_id)

    with pytest.raises(Unauthorized) as caught:
        asyncio.run(run())
    assert caught.value.flinks_code == "UNAUTHORIZED" and caught.value.http_status == 401
    assert "secret key and API key" in str(caught.value)
    assert sandbox.requests[-1].path.endswith(f"/{failing_endpoint}")
    for forbidden in ("s3cret", "k3y", "wrong"):
        assert forbidden not in str(caught.value) and forbidden not in caplog.text
