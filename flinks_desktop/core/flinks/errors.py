"""Every way a Flinks call can fail, as one exception family with sentences a person can act on.

Callers catch `FlinksError` and nothing else: HTTP errors, transport failures, malformed bodies and
poll time-outs all arrive as one of its subclasses. The subclasses are grouped by what the caller
does about the failure (ask for the password again, answer the question again, start a new
session, wait, fix the profile...), not by HTTP status. `user_message` is a plain sentence for the
person at the screen or a support agent; Flinks' own text stays in `server_message`.

`error_from_response` is the single place that turns an HTTP error into an exception: first the
body's FlinksCode through `_BY_CODE`, then a fallback by HTTP status.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import httpx

from flinks_desktop.core.redact import redact

#: What a FlinksCode looks like. Anything else in that field is not shown, as it could be any text.
_FLINKS_CODE = re.compile(r"[A-Z0-9_]{1,64}")
#: Flinks' own message is quoted to the user only for codes we do not know, and only this much of it.
_QUOTED_MESSAGE_LENGTH = 200

NO_RETRY_CODE = "INVALID_SECURITY_RESPONSE_NO_RETRY"


class FlinksError(Exception):
    """A Flinks call failed. `str(err)` is the user message followed by the FlinksCode or HTTP status.

    Attributes: `http_status` (None when no response arrived), `flinks_code`, `server_message`
    (Flinks' own Message, verbatim), `request_id` (from the response, else the one sent),
    `user_message`, `detail`: what went wrong, for a developer (an exception type, a field
    path); never a secret nor a loginId or RequestId, and `retry_after`: the seconds Flinks asked
    to wait (its `Retry-After` header), when it said. `server_message` is Flinks' text as sent:
    mask it (`redact`) before it goes to a log.
    """

    default_message: ClassVar[str] = "Flinks refused the request."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        http_status: int | None = None,
        flinks_code: str | None = None,
        server_message: str | None = None,
        request_id: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.user_message = user_message or self.default_message
        super().__init__(self.user_message)
        self.http_status = http_status
        self.flinks_code = flinks_code
        self.server_message = server_message
        self.request_id = request_id
        self.detail = detail
        self.retry_after = retry_after

    def __str__(self) -> str:
        if self.flinks_code:
            return f"{self.user_message} ({self.flinks_code})"
        if self.http_status is not None:
            return f"{self.user_message} (HTTP {self.http_status})"
        return self.user_message


class InvalidCredentials(FlinksError):
    """The username or password was rejected, or the loginId is unknown: ask for them again."""


class SecurityResponseRejected(FlinksError):
    """An MFA answer was wrong. When `can_retry`, the same question may be answered again."""

    @property
    def can_retry(self) -> bool:
        return self.flinks_code != NO_RETRY_CODE


class ChallengeMismatch(FlinksError):
    """The answers sent do not match the prompts Flinks asked: start the login again."""


class SessionInvalid(FlinksError):
    """The RequestId is unknown, expired or already used: authorize again for a new session."""


class CardInUse(FlinksError):
    """Flinks is still processing this login: retry in a few minutes."""


class RetryLater(FlinksError):
    """The bank could not be reached: retry later."""


class LoginDisabled(FlinksError):
    """The bank disabled the account: the customer must contact their bank."""


class ActionRequired(FlinksError):
    """The customer must act in their online banking before Flinks can connect."""


class Unauthorized(FlinksError):
    """Our own API credentials (auth secret, API key) are wrong: fix the profile."""


class RateLimited(FlinksError):
    """Too many requests: back off before trying again."""


class InstitutionUnavailable(FlinksError):
    """The institution is disabled at Flinks: nothing to do but wait."""


class ServerError(FlinksError):
    """Flinks failed on its side (AGGREGATION_ERROR or any 5xx): retry later."""

    default_message = "Flinks had a problem on its side. Try again later."


class PollTimeout(FlinksError):
    """Flinks kept answering "still processing" past the client's poll time-out (its message says
    how long the client waited)."""

    default_message = "Flinks is taking too long to prepare the data. Try again later."


class TransportError(FlinksError):
    """No usable HTTP response: refused connection, DNS failure, time-out, dropped connection.

    `sent` says whether the request may have reached Flinks (the connection broke or the time ran
    out after it was sent): Flinks may then have acted on it, and whether it did is unknown. False
    when the connection was never made, so Flinks cannot have seen the request.
    """

    default_message = "The connection to Flinks failed. Check the network and try again."

    def __init__(self, user_message: str | None = None, *, sent: bool = False, **fields: object) -> None:
        super().__init__(user_message, **fields)  # type: ignore[arg-type]
        self.sent = sent


class UnsupportedChallenge(FlinksError):
    """The bank asks a kind of security question this app cannot put to a person (an image to pick,
    choices it cannot read, a kind it does not know). Flinks Connect can: the sentence says so."""

    default_message = (
        "The bank asks a kind of security question this app cannot show. "
        "Use Flinks Connect for this connection: it shows every kind of question."
    )


class ProtocolError(FlinksError):
    """Flinks answered something this client cannot read: not JSON, a wrong type, a missing field,
    an unexpected status. A bug on one side or the other: report it."""

    default_message = "Flinks sent an answer this app cannot read. Report this problem to support."


_CREDENTIALS_REJECTED = "The bank rejected the username or password. Check them and try again."
_CHALLENGE_MISMATCH = "The answers did not match the bank's security questions. Start the connection again."
_START_NEW_SESSION = "The Flinks session is no longer valid. Start the connection again."
_OUR_CREDENTIALS = "Flinks rejected this app's credentials. Check the secret key and API key in the profile."

#: FlinksCode -> (exception class, user message). The one dispatch table for coded errors.
_BY_CODE: dict[str, tuple[type[FlinksError], str]] = {
    "INVALID_LOGIN": (
        InvalidCredentials,
        "The username or password is wrong, or this login no longer exists at Flinks.",
    ),
    "INVALID_USERNAME": (InvalidCredentials, _CREDENTIALS_REJECTED),
    "INVALID_PASSWORD": (InvalidCredentials, _CREDENTIALS_REJECTED),
    "INVALID_SECURITY_RESPONSE": (
        SecurityResponseRejected,
        "The answer to the security question is wrong. Try again.",
    ),
    NO_RETRY_CODE: (
        SecurityResponseRejected,
        "The answer to the security question is wrong and the bank allows no more tries. Try again later.",
    ),
    "QUESTION_NOT_FOUND": (ChallengeMismatch, _CHALLENGE_MISMATCH),
    "UNKNOWN_CHALLENGE_KEY": (ChallengeMismatch, _CHALLENGE_MISMATCH),
    "SECURITYRESPONSES_INCOMPLETE": (ChallengeMismatch, _CHALLENGE_MISMATCH),
    "SESSION_NONEXISTENT": (
        SessionInvalid,
        "The Flinks session has expired. Connect the account again to start a new one.",
    ),
    "SESSION_EXPIRED": (SessionInvalid, _START_NEW_SESSION),
    "CONCURRENT_SESSION": (
        SessionInvalid,
        "Another session is open for this login. Start the connection again.",
    ),
    "ALREADY_AUTHORIZED": (SessionInvalid, _START_NEW_SESSION),
    "CARD_IN_USE": (
        CardInUse,
        "Flinks is still processing this login. Try again in a few minutes.",
    ),
    "RETRY_LATER": (RetryLater, "The bank could not be reached. Try again later."),
    "DISABLED_LOGIN": (
        LoginDisabled,
        "The bank has disabled this account. The customer must contact their bank.",
    ),
    "NEW_ACCOUNT": (
        ActionRequired,
        "The bank needs the customer to act in their online banking first, then try again.",
    ),
    "UNAUTHORIZED": (Unauthorized, _OUR_CREDENTIALS),
    "ACCESS_DENIED": (Unauthorized, _OUR_CREDENTIALS),
    "TOO_MANY_REQUESTS": (
        RateLimited,
        "Flinks received too many requests. Wait a minute, then try again.",
    ),
    "DISABLED_INSTITUTION": (
        InstitutionUnavailable,
        "This bank is currently unavailable through Flinks. Try again later.",
    ),
    "INVALID_REQUEST": (
        FlinksError,
        "Flinks rejected the request as malformed. Report this problem to support.",
    ),
    "AGGREGATION_ERROR": (
        ServerError,
        "Flinks could not retrieve the data from the bank. Try again later.",
    ),
}

#: The user message of a call that ran out of its whole deadline (`FlinksClient(deadline=...)`).
DEADLINE_MESSAGE = "Flinks did not answer in time (the call took longer than {seconds:g} s). Try again later."


def message_for(code: str) -> str | None:
    """The sentence the error of a FlinksCode shows, or None for a code this app does not know."""
    entry = _BY_CODE.get(code)
    return entry[1] if entry else None


#: Every FlinksCode the dispatch table knows.
KNOWN_CODES = frozenset(_BY_CODE)


def flinks_code(body: object) -> str | None:
    """The FlinksCode of a decoded response body, when it has one that looks like a code."""
    code = body.get("FlinksCode") if isinstance(body, dict) else None
    return code if isinstance(code, str) and _FLINKS_CODE.fullmatch(code) else None


def error_from_response(
    http_status: int,
    body: object,
    *,
    request_id: str | None = None,
    secrets: Iterable[str | None] = (),
    retry_after: float | None = None,
) -> FlinksError:
    """The exception for an HTTP response the caller did not expect.

    `body` is the decoded JSON (None when the body was not JSON). `request_id` is the one sent,
    used when the body has none. `secrets` are hidden if Flinks' message is quoted to the user.
    `retry_after` is what the response's Retry-After header asked, in seconds.
    """
    fields = body if isinstance(body, dict) else {}
    code = flinks_code(body)
    message = _text(fields.get("Message"))
    error_class, user_message = _classify(http_status, code, message, secrets)
    return error_class(
        user_message,
        http_status=http_status,
        flinks_code=code,
        server_message=message,
        request_id=_text(fields.get("RequestId")) or request_id,
        detail=None if error_class is not ProtocolError else f"unexpected HTTP status {http_status}",
        retry_after=retry_after,
    )


def transport_error(exc: httpx.HTTPError, *, request_id: str | None = None) -> FlinksError:
    """The exception for an httpx failure. Its text is not kept: it may hold the URL and its ids."""
    import httpx  # only the client raises these, and it has loaded httpx already

    if isinstance(exc, httpx.TransportError):
        # httpx exception -> user message, first match wins.
        messages = (
            (httpx.TimeoutException, "Flinks did not answer in time. Try again later."),
            (httpx.ConnectError, "Flinks could not be reached. Check the network connection and the API address."),
        )
        message = next((text for kind, text in messages if isinstance(exc, kind)), TransportError.default_message)
        # Failures before the request could have reached Flinks: nothing was sent.
        not_sent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
        sent = not isinstance(exc, not_sent)
        return TransportError(message, request_id=request_id, detail=type(exc).__name__, sent=sent)
    # DecodingError, TooManyRedirects...: a response arrived but could not be used.
    return ProtocolError(request_id=request_id, detail=type(exc).__name__)


def _classify(
    http_status: int, code: str | None, message: str | None, secrets: Iterable[str | None]
) -> tuple[type[FlinksError], str]:
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code]
    if http_status >= 500:
        return ServerError, ServerError.default_message
    if http_status == 429:  # Too Many Requests
        return RateLimited, _BY_CODE["TOO_MANY_REQUESTS"][1]
    if http_status < 400:
        return ProtocolError, ProtocolError.default_message
    if message:
        quoted = " ".join(valid_text(redact(message, secrets)).split())[:_QUOTED_MESSAGE_LENGTH]
        return FlinksError, f"Flinks refused the request: {quoted}"
    return FlinksError, FlinksError.default_message


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """`text` with each lone surrogate (JSON's "\\ud800": not a character, and not writable as
    UTF-8 to a file, a terminal or SQLite) replaced by U+FFFD, the replacement character."""
    return _LONE_SURROGATE.sub("\ufffd", text)
