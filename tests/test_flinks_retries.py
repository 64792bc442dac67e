"""Retries that are safe: the reads (data POSTs with a RequestId, Async polls) are tried again after
a dropped or reset connection, a 5xx or a rate limit, a bounded number of times, after an
exponential backoff with jitter or what `Retry-After` asks; calls that change something never are.

Over real loopback HTTP (`ScriptedServer`; a resetting socket for the reset). No test sleeps for
real: the client's `sleep` is a fake that records each wait and returns at once.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus
from pathlib import Path

import pytest
from scripted_server import RawReply, Reply, ScriptedServer, json_reply

from flinks_desktop.core.flinks import (
    Authorized,
    FlinksClient,
    RateLimited,
    RetryLater,
    ServerError,
    TransportError,
)
from flinks_desktop.core.flinks.client import ApiCall, retry_after

SAMPLES = Path(__file__).parent / "fixtures" / "flinks-samples"
CUSTOMER = "43387ca6-0391-4c82-857d-70d95f087ecb"
LOGIN_ID = "b0debb48-f9f1-46c6-80a4-08d7dd88d478"
REQUEST_ID = "006fd2f3-055b-4ef6-a9fc-c1261cd76ec6"

SUMMARY = Reply(200, (SAMPLES / "get_accounts_summary_200.json").read_bytes())
PENDING = Reply(202, (SAMPLES / "get_accounts_detail_202_operation_pending.json").read_bytes())
UNAVAILABLE = json_reply(503, {"HttpStatusCode": 503, "Message": "Service Unavailable"})
DROPPED = RawReply(b"")  # the connection closes before any answer


def with_headers(status: int, body: object, **headers: str) -> RawReply:
    """A JSON reply with extra headers (Retry-After)."""
    data = json.dumps(body).encode()
    head = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
        "Connection: close",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return RawReply(("\r\n".join(head) + "\r\n\r\n").encode() + data)


def too_many(status: int = 429, **headers: str) -> RawReply:
    return with_headers(
        status, {"HttpStatusCode": status, "FlinksCode": "TOO_MANY_REQUESTS", "Message": "Too many requests"}, **headers
    )


class Waits:
    """The client's sleep: records how long it was asked to wait, and does not wait."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def client(url: str, waits: Waits, calls: list[ApiCall] | None = None, **options: object) -> FlinksClient:
    return FlinksClient(
        f"{url}/v3/{CUSTOMER}",
        poll_interval=0.001,
        sleep=waits,
        on_call=None if calls is None else calls.append,
        **options,
    )  # type: ignore[arg-type]


def summary(url: str, waits: Waits, calls: list[ApiCall] | None = None, **options: object):
    async def run():
        async with client(url, waits, calls, **options) as flinks:
            return await flinks.get_accounts_summary(REQUEST_ID)

    return asyncio.run(run())


# -- reads are tried again ------------------------------------------------------------------------------


def test_503_then_200_is_one_good_answer_and_two_exchanges(server: ScriptedServer) -> None:
    server.script(UNAVAILABLE, SUMMARY)
    waits, calls = Waits(), []
    result = summary(server.url, waits, calls)
    assert result.accounts[0].id == "xxxx-xxxx-xxxxxxx-xxxxxx"
    assert [(r.method, r.path.rsplit("/", 1)[1]) for r in server.requests] == [("POST", "GetAccountsSummary")] * 2
    assert [(c.endpoint, c.status) for c in calls] == [("GetAccountsSummary", 503), ("GetAccountsSummary", 200)]
    (wait,) = waits.asked
    assert 1.0 <= wait <= 2.0  # the first backoff (1 s) and at most as much jitter


def test_429_waits_what_retry_after_asks_in_seconds_or_as_a_date(server: ScriptedServer) -> None:
    in_a_while = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.script(too_many(Retry_After="7"), too_many(403, Retry_After=in_a_while), PENDING, SUMMARY)
    waits, calls = Waits(), []
    summary(server.url, waits, calls)
    assert waits.asked[0] == 7.0
    assert 27 <= waits.asked[1] <= 30  # what is left until that date
    assert len(waits.asked) == 2  # the 202 is polled after the poll interval, not retried
    assert [(c.endpoint, c.status, c.flinks_code) for c in calls] == [
        ("GetAccountsSummary", 429, "TOO_MANY_REQUESTS"),
        ("GetAccountsSummary", 403, "TOO_MANY_REQUESTS"),  # a Ruby client has seen 403
        ("GetAccountsSummary", 202, "OPERATION_PENDING"),
        ("GetAccountsSummaryAsync", 200, None),
    ]


def test_the_polls_of_the_async_endpoint_are_retried_too(server: ScriptedServer) -> None:
    server.script(PENDING, DROPPED, too_many(Retry_After="1"), SUMMARY)
    waits, calls = Waits(), []
    summary(server.url, waits, calls)
    assert [(c.endpoint, c.status, c.failure) for c in calls] == [
        ("GetAccountsSummary", 202, None),
        ("GetAccountsSummaryAsync", None, "RemoteProtocolError"),
        ("GetAccountsSummaryAsync", 429, None),
        ("GetAccountsSummaryAsync", 200, None),
    ]
    assert [r.method for r in server.requests] == ["POST", "GET", "GET", "GET"]
    assert waits.asked[1] == 1.0


def test_retries_are_bounded_and_back_off_exponentially_with_jitter(server: ScriptedServer) -> None:
    server.otherwise = UNAVAILABLE
    waits = Waits()
    with pytest.raises(ServerError) as caught:
        summary(server.url, waits, retries=3, retry_backoff=0.5, retry_backoff_max=60)
    assert caught.value.http_status == 503
    assert len(server.requests) == 4  # the first try and 3 more
    assert len(waits.asked) == 3
    for wait, base in zip(waits.asked, (0.5, 1.0, 2.0), strict=True):
        assert base <= wait <= base + 0.5
    server.requests.clear()
    with pytest.raises(ServerError):
        summary(server.url, Waits(), retries=0)
    assert len(server.requests) == 1


def test_a_retry_after_past_the_limit_is_not_waited_for(server: ScriptedServer) -> None:
    server.script(too_many(Retry_After="3600"), SUMMARY)
    waits = Waits()
    with pytest.raises(RateLimited) as caught:
        summary(server.url, waits)
    assert caught.value.retry_after == 3600 and waits.asked == [] and len(server.requests) == 1
    assert str(caught.value) == "Flinks received too many requests. Wait a minute, then try again. (TOO_MANY_REQUESTS)"


def test_a_5xx_whose_code_says_otherwise_is_not_retried(server: ScriptedServer) -> None:
    server.script(json_reply(503, {"FlinksCode": "RETRY_LATER", "Message": "bank down"}), SUMMARY)
    with pytest.raises(RetryLater):
        summary(server.url, Waits())
    assert len(server.requests) == 1


def test_a_reset_connection_is_tried_again() -> None:
    """A real TCP reset (RST), twice, then the answer."""
    with ResettingServer(resets=2, then=SUMMARY.encode()) as reset:
        waits, calls = Waits(), []
        result = summary(reset.url, waits, calls)
    assert result.request_id == "xxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxx"
    assert [c.status for c in calls] == [None, None, 200]
    assert {c.failure for c in calls[:2]} <= {"ReadError", "RemoteProtocolError", "WriteError"}
    assert len(waits.asked) == 2 and reset.connections == 3


def test_cancelling_during_a_wait_stops_at_once(server: ScriptedServer) -> None:
    server.script(UNAVAILABLE, SUMMARY)
    waiting = asyncio.Event()

    async def forever(seconds: float) -> None:
        waiting.set()
        await asyncio.Event().wait()

    async def run() -> None:
        async with FlinksClient(f"{server.url}/v3/{CUSTOMER}", sleep=forever) as flinks:
            task = asyncio.create_task(flinks.get_accounts_summary(REQUEST_ID))
            await asyncio.wait_for(waiting.wait(), 5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(run())
    assert len(server.requests) == 1


# -- calls that change something are never repeated ---------------------------------------------------------


NEVER_REPEATED = {
    "authorize_live": lambda f: f.authorize_live(LOGIN_ID),
    "authorize_credentials": lambda f: f.authorize_credentials("FlinksCapital", "Greatday", "Everyday"),
    "answer_mfa": lambda f: f.answer_mfa(REQUEST_ID, {"What city were you born in?": ["Montreal"]}),
    "delete_card": lambda f: f.delete_card(LOGIN_ID),
    "token": lambda f: f.generate_authorize_token(),
}


@pytest.mark.parametrize("fault", [UNAVAILABLE, DROPPED, too_many(Retry_After="1")], ids=["503", "dropped", "429"])
@pytest.mark.parametrize("name", sorted(NEVER_REPEATED))
def test_authorize_delete_card_and_tokens_are_never_repeated(server: ScriptedServer, fault, name: str) -> None:
    server.script(fault, SUMMARY)
    waits = Waits()

    async def run() -> None:
        async with client(server.url, waits, auth_secret="s3cret" if name == "token" else None) as flinks:
            await NEVER_REPEATED[name](flinks)

    with pytest.raises((ServerError, TransportError, RateLimited)):
        asyncio.run(run())
    assert len(server.requests) == 1 and waits.asked == []
    assert server.requests[0].path.split("/")[4] == (
        "GenerateAuthorizeToken" if name == "token" else "DeleteCard" if name == "delete_card" else "Authorize"
    )


@pytest.mark.parametrize("fault", [UNAVAILABLE, DROPPED], ids=["503", "dropped"])
def test_a_cached_authorize_is_not_repeated_after_flinks_may_have_acted(server: ScriptedServer, fault) -> None:
    """A 5xx or a broken connection may come after Flinks asked the bank (a cached /Authorize can ask MFA)."""
    server.script(fault, SUMMARY)
    waits = Waits()

    async def run() -> None:
        async with client(server.url, waits) as flinks:
            await flinks.authorize_cached(LOGIN_ID)

    with pytest.raises((ServerError, TransportError)):
        asyncio.run(run())
    assert len(server.requests) == 1 and waits.asked == []


def test_a_rate_limited_cached_authorize_is_tried_again_with_a_fresh_token(server: ScriptedServer) -> None:
    """Refreshing many logins at once is where Flinks rate-limits: it answered without acting."""
    token = lambda value: json_reply(200, {"HttpStatusCode": 200, "Token": value})  # noqa: E731
    cached = Reply(200, (SAMPLES / "authorize_200_cached.json").read_bytes())
    server.script(token("first-token"), too_many(Retry_After="2"), token("second-token"), cached)
    waits, calls = Waits(), []

    async def run():
        async with client(server.url, waits, calls, auth_secret="s3cret") as flinks:
            return await flinks.authorize_cached(LOGIN_ID)

    assert isinstance(asyncio.run(run()), Authorized)
    assert waits.asked == [2.0]
    assert [(c.endpoint, c.status) for c in calls] == [
        ("GenerateAuthorizeToken", 200),
        ("Authorize", 429),
        ("GenerateAuthorizeToken", 200),
        ("Authorize", 200),
    ]
    sent = [r.headers["flinks-auth-key"] for r in server.requests if r.path.endswith("/Authorize")]
    assert sent == ["first-token", "second-token"]  # a token is single-use

    # A token that cannot be had on the way is not a reason to try again.
    server.script(token("first-token"), too_many(Retry_After="2"), UNAVAILABLE, cached)
    waits = Waits()
    with pytest.raises(ServerError):
        asyncio.run(run())
    assert len(server.requests) == 3 and waits.asked == [2.0]


def test_an_authorize_after_a_retried_read_is_sent_once(server: ScriptedServer) -> None:
    cached = Reply(200, (SAMPLES / "authorize_200_cached.json").read_bytes())
    server.script(UNAVAILABLE, SUMMARY, cached)

    async def run():
        async with client(server.url, Waits()) as flinks:
            await flinks.get_accounts_summary(REQUEST_ID)
            return await flinks.authorize_cached(LOGIN_ID)

    assert isinstance(asyncio.run(run()), Authorized)
    assert [r.path.rsplit("/", 1)[1] for r in server.requests] == [
        "GetAccountsSummary",
        "GetAccountsSummary",
        "Authorize",
    ]


# -- Retry-After ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 10, 21, 7, 28, tzinfo=UTC)
    assert retry_after(header, now=now) == seconds


def test_retries_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="retries"):
        FlinksClient("http://127.0.0.1:9/v3/x", retries=-1)


# -- a server that resets connections --------------------------------------------------------------------------


class ResettingServer:
    """Reads each request, resets the first `resets` connections (RST, not a clean close), then
    answers `then` (raw HTTP bytes) to every other."""

    def __init__(self, *, resets: int, then: bytes) -> None:
        self._resets = resets
        self._then = then
        self.connections = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ResettingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                self._read_request(connection)
                self.connections += 1
                if self.connections <= self._resets:
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                else:
                    connection.sendall(self._then)

    @staticmethod
    def _read_request(connection: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
        )
        while len(body) < length:
            body += connection.recv(4096)
