"""The exception family, its dispatch table and messages, and the masking of ids and secrets."""

from __future__ import annotations

import httpx
import pytest

from flinks_desktop.core.flinks import (
    ActionRequired,
    CardInUse,
    ChallengeMismatch,
    FlinksError,
    InstitutionUnavailable,
    InvalidCredentials,
    LoginDisabled,
    ProtocolError,
    RateLimited,
    RetryLater,
    SecurityResponseRejected,
    ServerError,
    SessionInvalid,
    TransportError,
    Unauthorized,
)
from flinks_desktop.core.flinks.errors import error_from_response, transport_error
from flinks_desktop.core.redact import is_guid, mask_account_number, mask_id, redact

LOGIN_ID = "b0debb48-f9f1-46c6-80a4-08d7dd88d478"


def flinks_body(code: str, message: str = "Flinks says no", **extra: object) -> dict[str, object]:
    return {"HttpStatusCode": 401, "FlinksCode": code, "Message": message, **extra}


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        ("INVALID_LOGIN", InvalidCredentials),
        ("INVALID_USERNAME", InvalidCredentials),
        ("INVALID_PASSWORD", InvalidCredentials),
        ("INVALID_SECURITY_RESPONSE", SecurityResponseRejected),
        ("INVALID_SECURITY_RESPONSE_NO_RETRY", SecurityResponseRejected),
        ("QUESTION_NOT_FOUND", ChallengeMismatch),
        ("UNKNOWN_CHALLENGE_KEY", ChallengeMismatch),
        ("SECURITYRESPONSES_INCOMPLETE", ChallengeMismatch),
        ("SESSION_NONEXISTENT", SessionInvalid),
        ("SESSION_EXPIRED", SessionInvalid),
        ("CONCURRENT_SESSION", SessionInvalid),
        ("ALREADY_AUTHORIZED", SessionInvalid),
        ("CARD_IN_USE", CardInUse),
        ("RETRY_LATER", RetryLater),
        ("DISABLED_LOGIN", LoginDisabled),
        ("NEW_ACCOUNT", ActionRequired),
        ("UNAUTHORIZED", Unauthorized),
        ("ACCESS_DENIED", Unauthorized),
        ("TOO_MANY_REQUESTS", RateLimited),
        ("DISABLED_INSTITUTION", InstitutionUnavailable),
        ("AGGREGATION_ERROR", ServerError),
        ("INVALID_REQUEST", FlinksError),
    ],
)
def test_every_documented_code_has_its_class_and_a_plain_sentence(code: str, error_class: type) -> None:
    error = error_from_response(401, flinks_body(code, RequestId="rid"), request_id="sent")
    assert type(error) is error_class
    assert error.flinks_code == code
    assert error.http_status == 401
    assert error.server_message == "Flinks says no"
    assert error.request_id == "rid"  # the response's, over the one sent
    assert error.user_message.endswith(".") and "Flinks says no" not in error.user_message
    assert str(error) == f"{error.user_message} ({code})"


def test_retry_later_reads_as_the_table_says() -> None:
    error = error_from_response(401, flinks_body("RETRY_LATER"))
    assert str(error) == "The bank could not be reached. Try again later. (RETRY_LATER)"


def test_security_response_retry_flag() -> None:
    retry = error_from_response(401, flinks_body("INVALID_SECURITY_RESPONSE"))
    final = error_from_response(401, flinks_body("INVALID_SECURITY_RESPONSE_NO_RETRY"))
    assert isinstance(retry, SecurityResponseRejected) and retry.can_retry
    assert isinstance(final, SecurityResponseRejected) and not final.can_retry


def test_unknown_code_on_a_4xx_quotes_flinks_without_ids_or_secrets() -> None:
    body = flinks_body("SOMETHING_NEW", f"Login {LOGIN_ID} refused key s3cret\nat  line 2")
    error = error_from_response(400, body, request_id="sent", secrets=["s3cret", None])
    assert type(error) is FlinksError
    assert error.flinks_code == "SOMETHING_NEW"
    assert error.request_id == "sent"
    assert error.user_message == "Flinks refused the request: Login b0de…d478 refused key ••• at line 2"
    assert LOGIN_ID not in str(error) and "s3cret" not in str(error)
    assert error.server_message == body["Message"]  # verbatim, for whoever needs it


def test_a_quoted_message_is_kept_short() -> None:
    error = error_from_response(400, flinks_body("SOMETHING_NEW", "x" * 10_000))
    assert len(error.user_message) < 250


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
@pytest.mark.parametrize("body", [None, "<html>oops</html>", {}, {"FlinksCode": "WHO_KNOWS"}])
def test_any_5xx_without_a_known_code_is_a_server_error(status: int, body: object) -> None:
    error = error_from_response(status, body)
    assert type(error) is ServerError
    assert error.http_status == status


def test_fallbacks_by_status() -> None:
    assert type(error_from_response(429, None)) is RateLimited
    plain = error_from_response(404, None)
    assert type(plain) is FlinksError
    assert str(plain) == "Flinks refused the request. (HTTP 404)"
    unexpected = error_from_response(302, None)
    assert type(unexpected) is ProtocolError
    assert unexpected.detail == "unexpected HTTP status 302"


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        "text",
        {"FlinksCode": 7, "Message": ["not", "text"], "RequestId": {"a": 1}},
        {"FlinksCode": "lower case or spaces", "Message": ""},
        {"FlinksCode": "A" * 65},
    ],
)
def test_bodies_of_any_shape_give_an_error_and_no_code_that_is_not_one(body: object) -> None:
    error = error_from_response(401, body, request_id="sent")
    assert type(error) is FlinksError
    assert error.flinks_code is None and error.server_message is None
    assert error.request_id == "sent"
    assert str(error) == "Flinks refused the request. (HTTP 401)"


def test_transport_errors_say_what_happened_without_the_url() -> None:
    url = f"https://toolbox-api.private.fin.ag/v3/x/BankingServices/DeleteCard/{LOGIN_ID}"
    timeout = transport_error(httpx.ReadTimeout(f"timed out on {url}"), request_id=LOGIN_ID)
    assert isinstance(timeout, TransportError)
    assert str(timeout) == "Flinks did not answer in time. Try again later."
    assert timeout.detail == "ReadTimeout" and timeout.http_status is None
    refused = transport_error(httpx.ConnectError(f"refused {url}"))
    assert "could not be reached" in str(refused)
    cut = transport_error(httpx.RemoteProtocolError("peer closed connection"))
    assert type(cut) is TransportError and cut.detail == "RemoteProtocolError"
    decoding = transport_error(httpx.DecodingError("bad gzip"))
    assert type(decoding) is ProtocolError
    for error in (timeout, refused, cut, decoding):
        assert LOGIN_ID not in str(error) and LOGIN_ID not in repr(error)


def test_errors_without_a_status_or_code_read_as_their_message() -> None:
    assert str(TransportError()) == TransportError.default_message
    assert str(ProtocolError(http_status=200)) == f"{ProtocolError.default_message} (HTTP 200)"


# -- redact ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        LOGIN_ID,
        "5e115eac-1209-4f19-641c-08d6d484e2fe",  # not RFC 4122: the shape is what counts
        "00000000-0000-0000-0000-000000000000",
        "ABCDEF12-3456-7890-ABCD-EF1234567890",
    ],
)
def test_guids(value: str) -> None:
    assert is_guid(value)


@pytest.mark.parametrize(
    "value",
    [
        "xxxx-xxxx-xxxxxxx-xxxxxx",
        "b0debb48f9f146c680a408d7dd88d478",
        f"{LOGIN_ID}\n",
        f" {LOGIN_ID}",
        "{b0debb48-f9f1-46c6-80a4-08d7dd88d478}",
        "g0debb48-f9f1-46c6-80a4-08d7dd88d478",
        "",
        None,
        42,
    ],
)
def test_not_guids(value: object) -> None:
    assert not is_guid(value)


def test_mask_id() -> None:
    assert mask_id(LOGIN_ID) == "b0de…d478"
    assert mask_id("xxxx-xxxx-xxxxxxx-xxxxxx") == "xxxx…xxxx"
    assert mask_id("short-id") == "…"
    assert mask_id("") == "…"


def test_mask_account_number() -> None:
    assert mask_account_number("7641238") == "•••1238"
    assert mask_account_number("1234") == "•••"
    assert mask_account_number("") == "•••"


def test_redact_masks_guids_and_hides_secrets() -> None:
    token = "d65f1adb-8ebc-48dc-be8b-20c773ba1565"
    text = f"login {LOGIN_ID} token {token} key k3y and k3y-long, glued x{LOGIN_ID}y"
    redacted = redact(text, [token, "k3y", "k3y-long", None, ""])
    assert redacted == "login b0de…d478 token ••• key ••• and •••, glued xb0de…d478y"
    assert redact("nothing to hide") == "nothing to hide"
