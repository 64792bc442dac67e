"""The sandbox's settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

#: The public toolbox customer id; the sandbox answers for this one only.
TOOLBOX_CUSTOMER_ID = "43387ca6-0391-4c82-857d-70d95f087ecb"


@dataclass
class SandboxConfig:
    """How the sandbox behaves. Defaults give the documented Flinks Capital behaviour."""

    customer_id: str = TOOLBOX_CUSTOMER_ID
    #: When set, /GenerateAuthorizeToken needs this in `flinks-auth-key` and /Authorize needs a token.
    auth_key: str | None = None
    #: When set, data endpoints and /DeleteCard need this in `x-api-key`.
    api_key: str | None = None
    #: The day the dataset ends on (its "today"). None means the real today.
    as_of: date | None = None
    #: Async polls answered 202 before the data of a session's first detail call is ready.
    pending_polls: int = 1
    #: Async polls answered 202 for every data call of the `test_pending` and `test_dispatched` users.
    slow_pending_polls: int = 5
    #: Security questions asked one after the other (one per 203) when Greatday logs in.
    mfa_rounds: int = 1
    #: A cached /Authorize (LoginId + MostRecentCached) of a user with MFA (Greatday) answers 203 with a
    #: security question, as real Flinks sometimes does; the answer then gives the 200. (The user
    #: `greatday_cachedmfa` always does, whatever this says.)
    cached_mfa: bool = False
    #: /DeleteCard answers CARD_IN_USE this long after the login was last authorized.
    card_in_use_seconds: float = 0.0
    #: A RequestId waiting for MFA answers expires after this many idle seconds.
    authorize_ttl: float = 8 * 60
    #: An authorized RequestId expires this many seconds after it was authorized.
    data_ttl: float = 30 * 60
    #: Authorize tokens expire this many seconds after they are issued.
    token_ttl: float = 30 * 60
    #: Where logins and deleted cards live (JSON): they survive a restart, and several sandboxes (in
    #: several processes) on the same file share them. None keeps them in this sandbox's memory only.
    state_file: str | None = None
    #: Seconds the fake bank takes to answer a credential or MFA submission (the demo's pause).
    bank_delay: float = 0.0
    #: The largest request body accepted, in bytes; a larger one answers 413 (Flinks' error shape).
    max_body_bytes: int = 1024 * 1024
    #: Seconds in the Retry-After header of a 429 TOO_MANY_REQUESTS (the `greatday_ratelimited` user).
    retry_after: int = 1
