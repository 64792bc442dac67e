"""The async client of the Flinks API: one long-lived `httpx.AsyncClient` per environment.

Read top to bottom: the public calls (authorize token, the four forms of /Authorize, the data
endpoints, DeleteCard); then `_fetch`, which turns Flinks' "202, still processing" into polling of
the Async endpoint until the 200; then `_exchange`, the one place where an HTTP request is sent,
logged, and turned into a JSON object (or a typed result) or a `FlinksError`. Nothing else leaves
this client: callers catch `FlinksError` and never see an httpx, JSON or KeyError exception.

The event loop may be the GUI thread's (qasync), so the CPU-heavy part of an answer never runs on
it: the 200 of a data endpoint (GetAccountsDetail of a big connection is several MB of JSON, tens
of thousands of transactions) is decoded and parsed into its dataclasses on the client's reader
thread, in one go, so that the raw JSON never reaches the loop; any other body larger than
`DECODE_ON_LOOP_LIMIT` is decoded there too. The loop only sends, receives, logs and maps errors.
A connection too big to hold in memory (a million transactions: 190 MB of JSON) is fetched with
`stream_accounts_detail` instead: its 200 goes to a temporary file as it arrives, unread, and the
caller reads it piece by piece where the work is done (`models.AccountsStream`; the sync does it on
its cache writer's thread, writing as it reads). The reader is the client's own thread (not the
loop's default executor, which under qasync is made
of QThreads that abort the process if they still run when it exits); `aclose()` stops it.

**Retries.** A call that only reads (the data endpoints' POSTs, which carry a RequestId, and every
poll of their Async form) is tried again after a dropped or refused connection, a 5xx, or a rate
limit (HTTP 429, or TOO_MANY_REQUESTS in any status), at most `retries` times, after an exponential
backoff with jitter, or after what Flinks' `Retry-After` header asks (seconds or an HTTP date; one
asking longer than `retry_after_limit` ends the call at once, with its RateLimited). A cached
/Authorize is tried again only after a rate limit, which Flinks answers without acting, with a
fresh token each time: refreshing many logins at once is where a rate limit is most likely. Nothing
else that may act is repeated: /Authorize with credentials or MFA
answers, a live /Authorize (it logs in to the bank), GenerateAuthorizeToken (single-use tokens) and
/DeleteCard. Each try is its own
HTTP exchange: logged, and reported to the observer, so the Activity shows "503, then 200". The
retry loop is tenacity's (the standard, well-kept retry library: stop, wait and retry conditions
composed, an injectable sleep for tests, no hand-written loop to get wrong).

**Deadlines.** Each exchange, from connecting to the last byte of the answer, runs under one
deadline (`deadline`); one that runs out is a `TransportError` whose `sent` says the request may
have reached Flinks (not tried again: Flinks may be working on it). A time-out per operation would
not do (a server that trickles its answer a byte every few seconds never trips one), so httpx only
bounds the connection (`DEFAULT_TIMEOUT`). One loop timer serves every deadline (`_Deadlines`):
under qasync, the app's loop, a timer cancelled when its exchange ends stays in the loop until it
would have fired, and one per exchange (or per read) piled up thousands over a long session. A 202
is polled for `poll_timeout` seconds at most, and the progress
callback hears that limit. An answer larger than `max_body_bytes` is refused as it arrives.

Secrets (auth secret, authorize tokens, API key, passwords, MFA answers) go only into headers and
bodies. The log has one line per HTTP call with the method, endpoint, status, FlinksCode, duration
and a masked id, and nothing else. An optional observer (`on_call`) gets the same facts as an
`ApiCall`, with the ids whole: the audit uses it, and masks them before they are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as _json
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any, Self, TypeVar, cast
from urllib.parse import quote

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from flinks_desktop.core.flinks.errors import (
    DEADLINE_MESSAGE,
    FlinksError,
    PollTimeout,
    ProtocolError,
    RateLimited,
    ServerError,
    TransportError,
    error_from_response,
    flinks_code,
    transport_error,
)
from flinks_desktop.core.flinks.models import (
    AccountsResult,
    AccountsStream,
    AuthorizeResult,
    StatementsResult,
    Token,
    loads,
    parse_accounts,
    parse_authorize,
    parse_statements,
    parse_token,
)
from flinks_desktop.core.flinks.options import DaysOfTransactions, NumberOfStatements
from flinks_desktop.core.redact import mask_id

log = logging.getLogger("flinks_desktop.flinks")

#: Only the connection has a time-out of its own: each read and write is bounded by the exchange's
#: deadline instead (/Authorize waits for the bank: a live refresh can take a minute or more). A
#: time-out per read would arm a loop timer per read, about 20 a refresh, that qasync (the app's
#: loop) keeps, cancelled, until it would have fired (see `_Deadlines`).
DEFAULT_TIMEOUT = httpx.Timeout(None, connect=10.0)
#: The most one HTTP exchange may take, from connecting to the last byte of the body. httpx's
#: time-outs are per operation: a server trickling a byte every few seconds never trips them.
DEFAULT_DEADLINE = 180.0
#: How long a data call waits for Flinks to stop answering 202 ("still preparing").
DEFAULT_POLL_TIMEOUT = 1800.0
#: The largest answer read. GetAccountsDetail of a big connection is a few MB, GetStatements of a
#: year of PDFs tens of MB: anything past this is not an answer, and reading it would fill the memory.
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024

#: Bodies up to this size are decoded on the loop (well under a millisecond); larger ones, and every
#: data endpoint's 200, on the client's reader thread.
DECODE_ON_LOOP_LIMIT = 64 * 1024
#: A 200 read as a stream (`stream_accounts_detail`) is kept in memory up to this size, then
#: written on to a temporary file as it arrives.
SPOOL_IN_MEMORY = 4 * 1024 * 1024

_OK = 200
_MFA = 203
_PENDING = 202

#: How often a read is tried again (after the first try), and its backoff: the first wait is about
#: `DEFAULT_RETRY_BACKOFF` seconds (plus as much jitter at most), doubling up to the maximum.
DEFAULT_RETRIES = 3
DEFAULT_RETRY_BACKOFF = 1.0
DEFAULT_RETRY_BACKOFF_MAX = 30.0
#: A Retry-After longer than this is not waited for: the call fails with it, and the person decides.
DEFAULT_RETRY_AFTER_LIMIT = 120.0

#: Transport failures a read is tried again after: the connection could not be made, or broke.
#: Not a read time-out: Flinks may still be working on it, and /Authorize's wait is two minutes.
_RETRIED_TRANSPORT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


Sleep = Callable[[float], Awaitable[None]]

T = TypeVar("T")


@dataclass(frozen=True)
class PollProgress:
    """Reported after each 202 of a data call, before the next poll."""

    #: The data endpoint, e.g. "GetAccountsDetail".
    endpoint: str
    #: 1 for the first 202 (the answer to the POST), 2 for the first poll still pending...
    attempt: int
    #: Seconds since the POST was sent.
    elapsed: float
    #: "OPERATION_PENDING" or "OPERATION_DISPATCHED" (None if Flinks sent neither).
    flinks_code: str | None
    #: The most the client waits, in seconds since the POST (its `poll_timeout`).
    limit: float | None = None


ProgressCallback = Callable[[PollProgress], None]


@dataclass(frozen=True)
class ApiCall:
    """One HTTP exchange with Flinks, as reported to the client's `on_call` observer.

    No body, header or secret: only what the log line says, with the ids whole (mask them before
    they go anywhere).
    """

    method: str
    #: The endpoint's name ("Authorize", "GetAccountsDetailAsync", "DeleteCard"), never a path with an id.
    endpoint: str
    #: The HTTP status; None when no response came, and then `failure` names the transport error.
    status: int | None
    failure: str | None
    flinks_code: str | None
    #: Seconds from sending the request to having the whole answer (or the failure).
    duration: float
    #: The loginId the call concerned: the one sent, else the answer's Login.Id.
    login_id: str | None
    #: The RequestId the call concerned: the one sent, else the answer's.
    request_id: str | None


ApiCallObserver = Callable[[ApiCall], None]


class FlinksClient:
    """One Flinks environment: `api_url` is the API base up to and including the customer id.

    With `auth_secret`, every /Authorize first gets a fresh single-use token. With `api_key`, the
    data endpoints and DeleteCard send it. Without them, no authentication header is sent at all.
    `on_call` (also settable later, as the attribute of that name) is called on the event loop
    once per HTTP exchange; an observer that raises is logged, never the call's failure.
    `retries`, `retry_backoff`, `retry_backoff_max` and `retry_after_limit` bound the retries of
    reads (module docstring); `sleep` is how the client waits between them (tests pass their own).
    `deadline` bounds each HTTP exchange as a whole (connection, request, the whole answer), over
    `timeout`'s per-operation limits; `poll_timeout` bounds the wait of a data call that Flinks
    answers 202; `max_body_bytes` refuses a bigger answer (`ProtocolError`) instead of reading it.
    Every method raises only `FlinksError` subclasses (and `asyncio.CancelledError`).
    """

    def __init__(
        self,
        api_url: str,
        *,
        auth_secret: str | None = None,
        api_key: str | None = None,
        poll_interval: float = 10.0,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
        on_call: ApiCallObserver | None = None,
        retries: int = DEFAULT_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
        retry_backoff_max: float = DEFAULT_RETRY_BACKOFF_MAX,
        retry_after_limit: float = DEFAULT_RETRY_AFTER_LIMIT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, not {retries}")
        if not deadline > 0 or not poll_timeout > 0:
            raise ValueError("deadline and poll_timeout are positive numbers of seconds")
        self._deadline = deadline
        self._max_body = max_body_bytes
        self._retries = retries
        self._backoff = wait_exponential(multiplier=retry_backoff, max=retry_backoff_max) + wait_random(
            0, retry_backoff
        )
        self._retry_after_limit = retry_after_limit
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=f"{api_url.rstrip('/')}/BankingServices/", timeout=timeout, transport=transport
        )
        self._auth_secret = auth_secret
        self._api_key = api_key
        self._poll_interval = poll_interval
        self._poll_timeout = poll_timeout
        self.on_call = on_call
        #: Decodes and parses big answers away from the loop (its thread starts with the first one).
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flinks-answer-reader")
        self._deadlines = _Deadlines()

    def set_secrets(self, *, auth_secret: str | None, api_key: str | None) -> None:
        """Use these secrets from the next call on (the settings changed): a call in flight keeps
        the ones it was sent with, and nothing needs closing or reopening."""
        self._auth_secret = auth_secret
        self._api_key = api_key

    def set_limits(self, *, deadline: float, poll_timeout: float) -> None:
        """Use these limits (seconds, as `__init__` takes them) from the next call on: the settings
        changed, and the client stays open."""
        if not deadline > 0 or not poll_timeout > 0:
            raise ValueError("deadline and poll_timeout are positive numbers of seconds")
        self._deadline = deadline
        self._poll_timeout = poll_timeout

    @property
    def poll_timeout(self) -> float:
        """How long a data call waits, in seconds, while Flinks answers 202."""
        return self._poll_timeout

    @property
    def has_auth_secret(self) -> bool:
        """Whether /Authorize and Connect need a token from this client (`generate_authorize_token`)."""
        return self._auth_secret is not None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        # An answer still being read (its call was cancelled) finishes on its own; nothing waits for it.
        self._reader.shutdown(wait=False, cancel_futures=True)

    # -- authorization -----------------------------------------------------------------------

    async def generate_authorize_token(self) -> Token:
        """A single-use token for one /Authorize or one Flinks Connect session (`authorizeToken=`).

        Raises ValueError when the client has no auth secret: there is nothing to ask with.
        """
        if self._auth_secret is None:
            raise ValueError("generate_authorize_token needs an auth_secret")
        _, body = await self._exchange(
            "POST", "GenerateAuthorizeToken", headers={"flinks-auth-key": self._auth_secret}, ok={_OK}
        )
        return parse_token(body)

    async def authorize_cached(self, login_id: str) -> AuthorizeResult:
        """A session on the data Flinks already holds for `login_id` (e.g. right after Connect).

        Tried again, with a fresh token each time, only after a rate limit (module docstring).
        """
        return await self._authorize(
            {"LoginId": login_id, "MostRecentCached": True}, login_id=login_id, retry_rate_limited=True
        )

    async def authorize_live(self, login_id: str) -> AuthorizeResult:
        """A session that makes Flinks log in to the bank again; it may ask for MFA."""
        return await self._authorize({"LoginId": login_id, "MostRecentCached": False}, login_id=login_id)

    async def authorize_credentials(
        self,
        institution: str,
        username: str,
        password: str,
        *,
        language: str | None = None,
        tag: str | None = None,
        save: bool = True,
    ) -> AuthorizeResult:
        """A direct login with the bank credentials (the sandbox, legacy integrations)."""
        body: dict[str, object] = {
            "Institution": institution,
            "Username": username,
            "Password": password,
            "MostRecentCached": False,
            "Save": save,
        }
        if language is not None:
            body["Language"] = language
        if tag is not None:
            body["Tag"] = tag
        return await self._authorize(body, secrets=(password,))

    async def answer_mfa(self, request_id: str, answers: Mapping[str, Sequence[str]]) -> AuthorizeResult:
        """Answer a 203: `answers` maps each challenge's exact prompt to its answers.

        Raises TypeError when an answer is a bare string rather than a list of strings.
        """
        if any(isinstance(values, str) for values in answers.values()):
            raise TypeError("each prompt's answers must be a sequence of strings, not a string")
        responses = {prompt: list(values) for prompt, values in answers.items()}
        secrets = [answer for values in responses.values() for answer in values]
        return await self._authorize(
            {"RequestId": request_id, "SecurityResponses": responses},
            request_id=request_id,
            secrets=secrets,
        )  # a 200 that leaves out RequestId or Login goes on with the session's (`parse_authorize`)

    async def _authorize(
        self,
        body: Mapping[str, object],
        *,
        login_id: str | None = None,
        request_id: str | None = None,
        secrets: Sequence[str] = (),
        retry_rate_limited: bool = False,
    ) -> AuthorizeResult:
        """One /Authorize, after a fresh token when the client has an auth secret. With
        `retry_rate_limited`, tried again (token and all) after a rate limit; a token that cannot
        be had is never a reason to try again."""
        token_failures: list[BaseException] = []

        async def attempt() -> AuthorizeResult:
            headers: dict[str, str] = {}
            sent_secrets = secrets
            if self._auth_secret is not None:
                try:
                    token = await self.generate_authorize_token()
                except FlinksError as failure:
                    token_failures.append(failure)
                    raise
                headers["flinks-auth-key"] = token.value
                sent_secrets = (*secrets, token.value)
            status, payload = await self._exchange_once(
                "POST",
                "Authorize",
                json=body,
                headers=headers,
                ok={_OK, _MFA},
                login_id=login_id,
                request_id=request_id,
                secrets=sent_secrets,
            )
            return parse_authorize(status, payload, request_id=request_id)

        if not retry_rate_limited or self._retries == 0:
            return await attempt()
        retrying = self._retrying(
            "POST", "Authorize", lambda error: error not in token_failures and _rate_limited(error)
        )
        return await retrying(attempt)

    # -- data ----------------------------------------------------------------------------------

    async def get_accounts_summary(
        self, request_id: str, *, progress: ProgressCallback | None = None
    ) -> AccountsResult:
        body = {"RequestId": request_id}
        return await self._fetch("GetAccountsSummary", body, request_id, progress, parse_accounts)

    async def get_accounts_detail(
        self,
        request_id: str,
        *,
        with_transactions: bool = True,
        days_of_transactions: DaysOfTransactions = "Days90",
        accounts_filter: Sequence[str] | None = None,
        with_account_identity: bool = True,
        with_kyc: bool = False,
        progress: ProgressCallback | None = None,
    ) -> AccountsResult:
        body = _detail_request(
            request_id, with_transactions, days_of_transactions, accounts_filter, with_account_identity, with_kyc
        )
        return await self._fetch("GetAccountsDetail", body, request_id, progress, parse_accounts)

    async def stream_accounts_detail(
        self,
        request_id: str,
        *,
        with_transactions: bool = True,
        days_of_transactions: DaysOfTransactions = "Days90",
        accounts_filter: Sequence[str] | None = None,
        with_account_identity: bool = True,
        with_kyc: bool = False,
        progress: ProgressCallback | None = None,
    ) -> AccountsStream:
        """`get_accounts_detail` for a connection too big to hold in memory (a million transactions
        is about 190 MB of JSON, and several times that as objects): the 200 goes to a temporary
        file as it arrives (in memory up to `SPOOL_IN_MEMORY`, then an unnamed file in the system's
        temporary directory), unread, and the `AccountsStream` returned reads it piece by piece
        wherever the caller iterates it (the sync: on its cache writer's thread). Raises as
        `get_accounts_detail` does, except for the 200's own content: a body that is not JSON, or
        has nothing to keep, raises `ProtocolError` while the stream is read. Closing the stream
        (reading it to its end does) deletes the file.
        """
        body = _detail_request(
            request_id, with_transactions, days_of_transactions, accounts_filter, with_account_identity, with_kyc
        )
        return await self._fetch("GetAccountsDetail", body, request_id, progress, None, spool=AccountsStream)

    async def get_statements(
        self,
        request_id: str,
        *,
        number_of_statements: NumberOfStatements = "MostRecent",
        accounts_filter: Sequence[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> StatementsResult:
        body: dict[str, object] = {
            "RequestId": request_id,
            "NumberOfStatements": number_of_statements,
        }
        if accounts_filter is not None:
            body["AccountsFilter"] = list(accounts_filter)
        return await self._fetch("GetStatements", body, request_id, progress, parse_statements)

    async def delete_card(self, login_id: str) -> str:
        """Delete everything Flinks holds for `login_id`; returns Flinks' confirmation message."""
        _, body = await self._exchange(
            "DELETE",
            f"DeleteCard/{quote(login_id, safe='')}",
            endpoint="DeleteCard",
            headers=self._data_headers(),
            ok={_OK},
            login_id=login_id,
        )
        message = body.get("Message")
        if not isinstance(message, str):
            raise ProtocolError(http_status=_OK, detail="DeleteCard: Message is not a string")
        return message

    # -- the 202 -> poll -> 200 flow -----------------------------------------------------------

    async def _fetch(
        self,
        endpoint: str,
        body: Mapping[str, object],
        request_id: str,
        progress: ProgressCallback | None,
        parse: Callable[[object], T] | None,
        *,
        spool: Callable[[IO[bytes]], T] | None = None,
    ) -> T:
        """POST a data endpoint; while Flinks answers 202, GET its Async form every poll interval.
        The 200 is read with `parse`, off the loop (see `_exchange`); or, with `spool`, written to a
        temporary file and returned unread as `spool(file)`.

        Gives up with PollTimeout when the next poll would start after `poll_timeout` seconds.
        Cancelling the calling task stops at once: the wait, the request in flight and the reading
        of the answer are all cancellation points, and nothing here catches CancelledError.
        """
        started = time.monotonic()
        status, payload = await self._exchange(
            "POST",
            endpoint,
            json=body,
            headers=self._data_headers(),
            ok={_OK, _PENDING},
            request_id=request_id,
            parse=parse,
            spool=spool,
            idempotent=True,
        )
        attempt = 0
        while status == _PENDING:
            attempt += 1
            elapsed = time.monotonic() - started
            code = flinks_code(payload)
            if progress is not None:
                progress(PollProgress(endpoint, attempt, elapsed, code, self._poll_timeout))
            if elapsed + self._poll_interval > self._poll_timeout:
                raise PollTimeout(
                    f"Flinks is taking too long to prepare the data: it was still preparing it after "
                    f"{_duration(elapsed)}, and this app waits {_duration(self._poll_timeout)} at most. "
                    "Try again later.",
                    http_status=_PENDING,
                    flinks_code=code,
                    request_id=request_id,
                    detail=f"{endpoint} still pending after {attempt} answers in {elapsed:.1f} s",
                )
            await asyncio.sleep(self._poll_interval)
            status, payload = await self._exchange(
                "GET",
                f"{endpoint}Async/{quote(request_id, safe='')}",
                endpoint=f"{endpoint}Async",
                headers=self._data_headers(),
                ok={_OK, _PENDING},
                request_id=request_id,
                parse=parse,
                spool=spool,
                idempotent=True,
            )
        return cast(T, payload)  # what `parse` or `spool` made of the 200 (`_exchange_once`)

    def _data_headers(self) -> dict[str, str]:
        return {} if self._api_key is None else {"x-api-key": self._api_key}

    # -- one HTTP exchange, tried again when it is a read ---------------------------------------

    async def _exchange(self, method: str, path: str, *, idempotent: bool = False, **options: Any) -> tuple[int, Any]:
        """`_exchange_once`, tried again (module docstring) when `idempotent` and it failed in a way
        worth another try. The last failure is the one raised."""
        if not idempotent or self._retries == 0:
            return await self._exchange_once(method, path, **options)
        retrying = self._retrying(method, options.get("endpoint") or path, _worth_another_try)
        return await retrying(self._exchange_once, method, path, **options)

    def _retrying(self, method: str, endpoint: str, worth: Callable[[BaseException], bool]) -> AsyncRetrying:
        """tenacity's loop for one call: at most `retries` more tries of a failure `worth` one,
        after the backoff or Retry-After, each logged."""
        return AsyncRetrying(
            # tenacity types `|` for its own stops only; the stop_any it makes calls any predicate.
            stop=stop_after_attempt(self._retries + 1) | self._asks_too_long,  # type: ignore[operator]
            wait=self._wait,
            retry=retry_if_exception(worth),
            sleep=self._sleep,
            before_sleep=lambda state: _log_retry(method, endpoint, state, self._retries + 1),
            reraise=True,
        )

    def _wait(self, state: RetryCallState) -> float:
        """What Flinks' Retry-After asked, else the exponential backoff with jitter."""
        error = state.outcome.exception() if state.outcome is not None else None
        asked = error.retry_after if isinstance(error, FlinksError) else None
        return asked if asked is not None else self._backoff(state)

    def _asks_too_long(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome is not None else None
        asked = error.retry_after if isinstance(error, FlinksError) else None
        return asked is not None and asked > self._retry_after_limit

    async def _exchange_once(
        self,
        method: str,
        path: str,
        *,
        ok: Set[int],
        endpoint: str | None = None,
        json: Mapping[str, object] | None = None,
        headers: Mapping[str, str],
        login_id: str | None = None,
        request_id: str | None = None,
        secrets: Sequence[str] = (),
        parse: Callable[[object], Any] | None = None,
        spool: Callable[[IO[bytes]], Any] | None = None,
    ) -> tuple[int, Any]:
        """Send one request; return its status (one of `ok`) and its JSON object, or raise.

        With `parse`, a 200 is returned as `parse(its JSON object)` instead, decoded and parsed on
        the reader thread; so is any body over `DECODE_ON_LOOP_LIMIT` decoded. `parse` raising
        ProtocolError fails the call as a malformed body does, once the exchange is logged. With
        `spool`, a 200 is written to a temporary file as it arrives and returned as `spool(file)`,
        unread: its FlinksCode and ids are not known, and the log and the observer go without them.
        `endpoint` names the call in the log (default: `path`); `login_id` or `request_id` is the
        id sent, logged masked and attached to errors; `secrets` are this call's own secrets, kept
        out of error messages along with the client's.
        """
        endpoint = endpoint or path
        log_id = login_id or request_id
        started = time.monotonic()
        try:
            response, content = await self._receive(method, path, json, headers, spool=spool is not None)
        except (httpx.HTTPError, TimeoutError, _TooLarge) as exc:
            if isinstance(exc, httpx.HTTPError):
                error = transport_error(exc, request_id=log_id)
            elif isinstance(exc, TimeoutError):  # the whole exchange's deadline: it may have reached Flinks
                error = TransportError(
                    DEADLINE_MESSAGE.format(seconds=self._deadline), request_id=log_id, detail="deadline", sent=True
                )
            else:
                error = ProtocolError(
                    f"Flinks sent an answer larger than {self._max_body // (1024 * 1024):,} MB, which this app "
                    "does not read. Report this problem to support.",
                    http_status=exc.status,
                    request_id=log_id,
                    detail=f"{endpoint}: body over {self._max_body} bytes",
                )
            _log_call(method, endpoint, error.detail, None, started, log_id, failed=True)
            self._observe(
                ApiCall(
                    method,
                    endpoint,
                    getattr(exc, "status", None),
                    error.detail,
                    None,
                    time.monotonic() - started,
                    login_id,
                    request_id,
                )
            )
            raise error from exc
        status = response.status_code
        if not isinstance(content, bytes):  # a 200 on file, to be read where it is used
            assert spool is not None  # `_receive` answers with a file only when asked to spool
            _log_call(method, endpoint, status, None, started, log_id, failed=False)
            self._observe(
                ApiCall(method, endpoint, status, None, None, time.monotonic() - started, login_id, request_id)
            )
            content.seek(0)
            return status, spool(content)
        read_with = parse if status == _OK and status in ok else None
        if read_with is not None or len(content) > DECODE_ON_LOOP_LIMIT:
            try:
                answer = await asyncio.get_running_loop().run_in_executor(self._reader, _read, content, read_with)
            except asyncio.CancelledError:  # the answer came: the call is logged and observed all the same
                _log_call(method, endpoint, status, None, started, log_id, failed=status not in ok)
                self._observe(
                    ApiCall(method, endpoint, status, None, None, time.monotonic() - started, login_id, request_id)
                )
                raise
        else:
            answer = _read(content, None)
        id_for_log = log_id or answer.request_id
        _log_call(method, endpoint, status, answer.flinks_code, started, id_for_log, failed=status not in ok)
        self._observe(
            ApiCall(
                method,
                endpoint,
                status,
                None,
                answer.flinks_code,
                time.monotonic() - started,
                login_id or answer.login_id,
                request_id or answer.request_id,
            )
        )
        if status not in ok:
            raise error_from_response(
                status,
                answer.body,
                request_id=log_id,
                secrets=(self._auth_secret, self._api_key, *secrets),
                retry_after=retry_after(response.headers.get("Retry-After")),
            )
        if answer.failure is not None:
            raise answer.failure
        if answer.parsed is not None:
            return status, answer.parsed
        if not isinstance(answer.body, dict):
            raise ProtocolError(
                http_status=status,
                request_id=id_for_log,
                detail=f"{endpoint}: the HTTP {status} body is not a JSON object",
            )
        return status, answer.body

    async def _receive(
        self,
        method: str,
        path: str,
        json: Mapping[str, object] | None,
        headers: Mapping[str, str],
        *,
        spool: bool = False,
    ) -> tuple[httpx.Response, bytes | IO[bytes]]:
        """Send the request and read the whole answer, within `deadline` seconds in all (TimeoutError)
        and `max_body_bytes` (`_TooLarge`, as soon as the answer says or shows it is bigger). With
        `spool`, a 200 goes to a temporary file (`SPOOL_IN_MEMORY`), returned at its start."""
        content = None
        if json is not None:  # ASCII, with \u escapes: a lone surrogate an answer held goes back as sent
            content = _json.dumps(json, separators=(",", ":"), allow_nan=False).encode("ascii")
            headers = {**headers, "Content-Type": "application/json"}
        async with self._deadlines.within(self._deadline):
            async with self._http.stream(method, path, content=content, headers=headers) as response:
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self._max_body:
                    raise _TooLarge(response.status_code)
                if spool and response.status_code == _OK:
                    return response, await self._spooled(response)
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_body:
                        raise _TooLarge(response.status_code)
                    chunks.append(chunk)
                return response, b"".join(chunks)

    async def _spooled(self, response: httpx.Response) -> IO[bytes]:
        """The body written to a temporary file as it arrives: never whole in memory. The file is
        unnamed (deleted as it is made), so nothing of it stays on disk after it is closed or after
        a crash. Writing a 64 kB piece to the OS's cache takes microseconds: done on the loop."""
        file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        try:
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_body:
                    raise _TooLarge(response.status_code)
                file.write(chunk)
        except BaseException:
            file.close()
            raise
        return file

    def _observe(self, call: ApiCall) -> None:
        """Report `call` to the observer, if any. Its failure is logged: the API call went fine."""
        if self.on_call is None:
            return
        try:
            self.on_call(call)
        except Exception:
            log.exception("the on_call observer failed on %s %s", call.method, call.endpoint)


class _Deadlines:
    """The deadlines of the exchanges in flight (`FlinksClient(deadline=...)`), with one timer of the
    loop for all of them.

    `asyncio.timeout(seconds)` per exchange arms a timer and cancels it when the exchange ends, a
    second later. asyncio's own loop drops a cancelled timer soon; qasync's, the app's, keeps it (with
    a Qt timer) until it would have fired, 3 minutes later: a long session piled up thousands. So each
    exchange runs under `asyncio.timeout(None)`, which arms nothing, and one timer, armed for the
    earliest deadline and never cancelled, moves the deadline of each exchange past its own to now
    when it fires (the exchange then ends in TimeoutError, as under `asyncio.timeout`), and arms
    itself again for the next one, if any exchange is still in flight.
    """

    #: A timer may fire this much before it is due (qasync counts whole milliseconds).
    _EARLY = 0.002

    def __init__(self) -> None:
        self._running: dict[asyncio.Timeout, float] = {}
        #: When the timers armed and not fired yet are due.
        self._armed: set[float] = set()

    @contextlib.asynccontextmanager
    async def within(self, seconds: float) -> AsyncIterator[None]:
        """The block ends in TimeoutError if it is still running `seconds` from now."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(None) as scope:
            when = loop.time() + seconds
            self._running[scope] = when
            self._arm(loop, when)
            try:
                yield
            finally:
                self._running.pop(scope, None)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if not self._armed or when < min(self._armed):
            self._armed.add(when)
            loop.call_at(when, self._fire, loop, when)

    def _fire(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        self._armed.discard(due)
        now = loop.time()
        for scope, when in list(self._running.items()):
            if when <= now + self._EARLY:
                del self._running[scope]
                scope.reschedule(now)  # ends the exchange on the loop's next turn
        if self._running:
            self._arm(loop, min(self._running.values()))


class _TooLarge(Exception):
    """An answer bigger than the client reads (`max_body_bytes`)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _detail_request(
    request_id: str,
    with_transactions: bool,
    days_of_transactions: DaysOfTransactions,
    accounts_filter: Sequence[str] | None,
    with_account_identity: bool,
    with_kyc: bool,
) -> dict[str, object]:
    """The body of a GetAccountsDetail."""
    body: dict[str, object] = {
        "RequestId": request_id,
        "WithAccountIdentity": with_account_identity,
        "WithKYC": with_kyc,
        "WithTransactions": with_transactions,
        "DaysOfTransactions": days_of_transactions,
    }
    if accounts_filter is not None:
        body["AccountsFilter"] = list(accounts_filter)
    return body


def _duration(seconds: float) -> str:
    """ "45 s", "2 min 5 s", "30 min": how long, as a person reads it."""
    if seconds < 10 and seconds != int(seconds):
        return f"{max(0.0, seconds):.1f} s"
    whole = max(0, round(seconds))
    minutes, rest = divmod(whole, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _worth_another_try(error: BaseException) -> bool:
    """Whether a read that failed this way may succeed if sent again: a connection that could not
    be made or broke, a 5xx (Flinks' side; a FlinksCode that says otherwise, such as RETRY_LATER,
    wins), or a rate limit."""
    if isinstance(error, RateLimited):
        return True
    if type(error) is ServerError:
        return error.http_status is not None and error.http_status >= 500
    return isinstance(error, FlinksError) and isinstance(error.__cause__, _RETRIED_TRANSPORT)


def _rate_limited(error: BaseException) -> bool:
    """Whether Flinks refused the request as a rate limit, without acting on it: the one reason to
    send a cached /Authorize again. A 5xx or a broken connection may come after Flinks asked the
    bank (a cached /Authorize can ask MFA), and a refused connection at the first call of a sync
    is the network or the address, which waiting does not mend."""
    return isinstance(error, RateLimited)


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """The seconds a Retry-After header asks to wait: "120", or an HTTP date ("Wed, 21 Oct 2026
    07:28:00 GMT", 0 once past). None when there is none, or it cannot be read."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None


def _log_retry(method: str, endpoint: str, state: RetryCallState, tries: int) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    why = error.flinks_code or error.http_status or error.detail if isinstance(error, FlinksError) else None
    wait = state.upcoming_sleep
    log.warning(
        "%s %s failed (%s): trying again in %.1f s (try %d of %d)",
        method,
        endpoint,
        why or type(error).__name__,
        wait,
        state.attempt_number + 1,
        tries,
    )


@dataclass(frozen=True)
class _Answer:
    """A body as read by `_read`: what the log, the observer and the error mapping need."""

    #: The JSON (None when the body is not JSON), or None once `parsed` was made from it.
    body: object
    flinks_code: str | None
    request_id: str | None
    login_id: str | None
    #: What `parse` made of the JSON object; None without a `parse`, or when it failed.
    parsed: object = None
    #: Why `parse` refused the JSON.
    failure: ProtocolError | None = None


def _read(content: bytes, parse: Callable[[object], object] | None) -> _Answer:
    """Decode a body and, with `parse`, turn its JSON object into a result: on the reader thread for
    a big body, so that the JSON's objects are made (and the raw ones freed) away from the loop."""
    body = _decode(content)
    facts = (flinks_code(body), _text(body, "RequestId"), _answer_login_id(body))
    if parse is None or not isinstance(body, dict):
        return _Answer(body, *facts)
    try:
        return _Answer(None, *facts, parsed=parse(body))
    except ProtocolError as failure:
        return _Answer(None, *facts, failure=failure)


def _decode(content: bytes) -> object:
    """The JSON of a body, or None when it is not JSON (an error page, an empty body...)."""
    try:
        return loads(content)
    except ProtocolError:
        return None


def _text(body: object, key: str) -> str | None:
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _answer_login_id(body: object) -> str | None:
    """The Login.Id of an answer (/Authorize's 200 and the data endpoints' carry one)."""
    login = body.get("Login") if isinstance(body, dict) else None
    return _text(login, "Id")


def _log_call(
    method: str,
    endpoint: str,
    outcome: int | str | None,
    code: str | None,
    started: float,
    log_id: str | None,
    *,
    failed: bool,
) -> None:
    """One line per HTTP call. `outcome` is the status, or the transport failure's type."""
    log.log(
        logging.WARNING if failed else logging.INFO,
        "%s %s -> %s %s in %.3f s [id %s]",
        method,
        endpoint,
        outcome,
        code or "-",
        time.monotonic() - started,
        mask_id(log_id) if log_id else "-",
    )
