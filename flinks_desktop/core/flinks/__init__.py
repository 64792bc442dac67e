"""The Flinks API: an async client, its typed results, and one exception family.

    async with FlinksClient(api_url, auth_secret=..., api_key=...) as flinks:
        result = await flinks.authorize_credentials("FlinksCapital", "Greatday", "Everyday")
        while isinstance(result, MfaRequired):
            answers = {challenge.prompt: [ask(challenge)] for challenge in result.challenges}
            result = await flinks.answer_mfa(result.request_id, answers)
        accounts = await flinks.get_accounts_detail(result.request_id)

Every failure is a `FlinksError`; its `user_message` is ready to show. What Flinks sent that could
not be read is left out and listed in the result's `dropped` (see `models`).
"""

from flinks_desktop.core.flinks.client import (
    DEFAULT_TIMEOUT,
    ApiCall,
    DaysOfTransactions,
    FlinksClient,
    NumberOfStatements,
    PollProgress,
    ProgressCallback,
)
from flinks_desktop.core.flinks.errors import (
    ActionRequired,
    CardInUse,
    ChallengeMismatch,
    FlinksError,
    InstitutionUnavailable,
    InvalidCredentials,
    LoginDisabled,
    PollTimeout,
    ProtocolError,
    RateLimited,
    RetryLater,
    SecurityResponseRejected,
    ServerError,
    SessionInvalid,
    TransportError,
    Unauthorized,
    UnsupportedChallenge,
)
from flinks_desktop.core.flinks.models import (
    Account,
    AccountsResult,
    AccountStatements,
    Address,
    Authorized,
    AuthorizeResult,
    Balance,
    Dropped,
    Holder,
    Login,
    MfaRequired,
    SecurityChallenge,
    Statement,
    StatementsResult,
    Token,
    Transaction,
    check_answerable,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "ApiCall",
    "Account",
    "AccountStatements",
    "AccountsResult",
    "ActionRequired",
    "Address",
    "AuthorizeResult",
    "Authorized",
    "Balance",
    "CardInUse",
    "ChallengeMismatch",
    "DaysOfTransactions",
    "Dropped",
    "FlinksClient",
    "FlinksError",
    "Holder",
    "InstitutionUnavailable",
    "InvalidCredentials",
    "Login",
    "LoginDisabled",
    "MfaRequired",
    "NumberOfStatements",
    "PollProgress",
    "PollTimeout",
    "ProgressCallback",
    "ProtocolError",
    "RateLimited",
    "RetryLater",
    "SecurityChallenge",
    "SecurityResponseRejected",
    "ServerError",
    "SessionInvalid",
    "Statement",
    "StatementsResult",
    "Token",
    "Transaction",
    "TransportError",
    "Unauthorized",
    "UnsupportedChallenge",
    "check_answerable",
]
