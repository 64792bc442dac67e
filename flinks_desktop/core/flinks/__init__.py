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

import importlib
from typing import TYPE_CHECKING

#: Where each public name lives. Loaded on first use (PEP 562): the client pulls in httpx, and
#: code that only needs the models or the errors (the window's first paint) should not pay for it.
_HOME = {
    "DEFAULT_TIMEOUT": "client",
    "ApiCall": "client",
    "DaysOfTransactions": "options",
    "FlinksClient": "client",
    "NumberOfStatements": "options",
    "PollProgress": "client",
    "ProgressCallback": "client",
    "ActionRequired": "errors",
    "CardInUse": "errors",
    "ChallengeMismatch": "errors",
    "FlinksError": "errors",
    "InstitutionUnavailable": "errors",
    "InvalidCredentials": "errors",
    "LoginDisabled": "errors",
    "PollTimeout": "errors",
    "ProtocolError": "errors",
    "RateLimited": "errors",
    "RetryLater": "errors",
    "SecurityResponseRejected": "errors",
    "ServerError": "errors",
    "SessionInvalid": "errors",
    "TransportError": "errors",
    "Unauthorized": "errors",
    "UnsupportedChallenge": "errors",
    "Account": "models",
    "AccountsResult": "models",
    "AccountStatements": "models",
    "Address": "values",
    "Authorized": "models",
    "AuthorizeResult": "models",
    "Balance": "values",
    "Dropped": "models",
    "Holder": "values",
    "Login": "models",
    "MfaRequired": "models",
    "SecurityChallenge": "models",
    "Statement": "models",
    "StatementsResult": "models",
    "Token": "models",
    "Transaction": "models",
    "check_answerable": "models",
}

if TYPE_CHECKING:
    from flinks_desktop.core.flinks.client import (
        DEFAULT_TIMEOUT,
        ApiCall,
        FlinksClient,
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
        Authorized,
        AuthorizeResult,
        Dropped,
        Login,
        MfaRequired,
        SecurityChallenge,
        Statement,
        StatementsResult,
        Token,
        Transaction,
        check_answerable,
    )
    from flinks_desktop.core.flinks.options import DaysOfTransactions, NumberOfStatements
    from flinks_desktop.core.flinks.values import Address, Balance, Holder


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))


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
