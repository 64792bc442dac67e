"""The sandbox's HTTP face: the Flinks API and the Connect widget page, as one ASGI app.

API: `/v3/{customerId}/BankingServices/{Endpoint}` with the documented request and response shapes,
status codes and FlinksCodes. Connect: `/v2/` (the widget page) and its assets.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flinks_desktop.sandbox import institution
from flinks_desktop.sandbox.config import SandboxConfig
from flinks_desktop.sandbox.dataset import build_dataset
from flinks_desktop.sandbox.institution import INSTITUTION, INSTITUTION_ID
from flinks_desktop.sandbox.state import Login, SandboxError, SandboxState, Session

#: What a route of the app calls with each request.
_RouteHandler = Callable[[Request], Awaitable[Response]]

DAYS = {"Days90": 90, "Days365": 365}
STATEMENT_MONTHS = {"MostRecent": 1, "Months3": 3, "Months12": 12}
#: The most transactions history a data call reaches back: Days365.
HISTORY_DAYS = 365
#: Deepest JSON nesting accepted in a request body (Flinks' own bodies nest three levels at most).
MAX_JSON_DEPTH = 32
DATA_ENDPOINTS = ("GetAccountsSummary", "GetAccountsDetail", "GetStatements")
CONNECT_ASSETS = resources.files("flinks_desktop.sandbox") / "connect"
CONNECT_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}


# -- responses ---------------------------------------------------------------------------------
def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Amounts are quantized to cents: a float's shortest repr prints them exactly ("1500.25").
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def flinks_json(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    document = {"HttpStatusCode": status, **payload}
    try:
        body = json.dumps(document, default=_json_default, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate echoed from a request ("\ud800"): escape it instead
        body = json.dumps(document, default=_json_default).encode("ascii")
    return Response(body, status_code=status, headers=headers, media_type="application/json; charset=utf-8")


def error_response(error: SandboxError) -> Response:
    payload: dict[str, Any] = {"Message": error.message, "FlinksCode": error.code}
    if error.request_id:
        payload["RequestId"] = error.request_id
    return flinks_json(payload, error.status, error.headers or None)


def pending_response(endpoint: str, code: str, request_id: str) -> Response:
    return flinks_json(
        {
            "FlinksCode": code,
            "Links": [
                {"rel": f"{endpoint}Async", "href": f"/{endpoint}Async", "example": f"/{endpoint}Async/{{requestId}}"}
            ],
            "Message": "Your operation is still processing",
            "RequestId": request_id,
        },
        202,
    )


def links(*rels: str) -> list[dict[str, Any]]:
    return [
        {"rel": rel, "href": f"/Get{rel}" if rel != "Authorization" else "/Authorize", "example": None} for rel in rels
    ]


# -- the API ------------------------------------------------------------------------------------
class FlinksApi:
    """The endpoint handlers. Each returns a Flinks answer; SandboxError becomes an error answer."""

    def __init__(self, config: SandboxConfig, state: SandboxState):
        self.config = config
        self.state = state

    def as_of(self) -> date:
        return self.config.as_of or date.today()

    def check_api_key(self, request: Request) -> None:
        if self.config.api_key and request.headers.get("x-api-key") != self.config.api_key:
            raise SandboxError(401, "UNAUTHORIZED", "You must provide a valid API key")

    async def bank_pause(self) -> None:
        """The time a real bank takes to check credentials or an answer (the demo's pause)."""
        if self.config.bank_delay > 0:
            await asyncio.sleep(self.config.bank_delay)

    # /GenerateAuthorizeToken
    async def generate_authorize_token(self, request: Request, body: dict[str, Any]) -> Response:
        if self.config.auth_key and request.headers.get("flinks-auth-key") != self.config.auth_key:
            raise SandboxError(401, "UNAUTHORIZED", "You must provide a valid auth key")
        return flinks_json({"Token": self.state.issue_token()})

    # /Authorize
    async def authorize(self, request: Request, body: dict[str, Any]) -> Response:
        if "RequestId" in body:  # an MFA answer: the session itself is the credential
            return await self.answer_challenges(body)
        if self.config.auth_key:
            self.state.consume_token(request.headers.get("flinks-auth-key"))
        language: str = body["Language"] if body.get("Language") in ("en", "fr") else "en"
        if "LoginId" in body:
            return await self.authorize_login(body, language)
        return await self.authorize_credentials(body, language)

    async def authorize_login(self, body: dict[str, Any], language: str) -> Response:
        login = self.state.find_login(body["LoginId"])
        user = institution.find_user(login.username)
        if user is None:  # a state file shared with another sandbox that knows other users
            raise SandboxError(401, "INVALID_LOGIN", "LoginId not found or invalid")
        self.state.throttle(user, login.username, "Authorize")
        session = self.state.open_session(user, login.username, language, login.login_id)
        if body.get("MostRecentCached") is True:
            if user.mfa and (user.cached_mfa or self.config.cached_mfa):
                # Real Flinks may challenge a cached request too: the same 203 as a live one, unless
                # answers stored with AnswerMFAQuestions answer it.
                await self.bank_pause()
                session.cached = True
                self.state.ask_questions(session)
                self.state.answer_stored_questions(session)
                if session.rounds:
                    return self.challenge(session)
            self.state.authorize(session)
            return self.authorized(session)
        return await self.contact_bank(session)

    async def authorize_credentials(self, body: dict[str, Any], language: str) -> Response:
        name, username, password = body.get("Institution"), body.get("Username"), body.get("Password")
        if username is None:  # the documented sample spells it "username"
            username = body.get("username")
        if not (
            isinstance(name, str)
            and name
            and isinstance(username, str)
            and username
            and isinstance(password, str)
            and password
        ):
            raise SandboxError(
                400, "INVALID_REQUEST", "Provide a LoginId, or an Institution, a Username and a Password"
            )
        if name.lower() != INSTITUTION.lower():
            raise SandboxError(
                405, "DISABLED_INSTITUTION", f"The institution {name} is not available in this environment"
            )
        await self.bank_pause()
        user = institution.find_user(username)
        if user is None or password != institution.PASSWORD:
            raise SandboxError(401, "INVALID_LOGIN", "The username or password is invalid")
        self.state.throttle(user, username, "Authorize")
        session = self.state.open_session(user, username, language, None)
        return await self.contact_bank(session, paused=True)

    async def contact_bank(self, session: Session, paused: bool = False) -> Response:
        """A live connection to the bank: its errors, its questions, or fresh data."""
        if not paused:
            await self.bank_pause()
        if session.user.bank_error:
            del self.state.sessions[session.request_id]
            raise SandboxError(401, session.user.bank_error, BANK_MESSAGES[session.user.bank_error], session.request_id)
        if session.user.mfa:
            self.state.ask_questions(session)
            # Enhanced MFA: Flinks answers what it can with the login's stored answers; only the
            # questions left (none when every one asked has a right stored answer) reach the person.
            self.state.answer_stored_questions(session)
            if session.rounds:
                return self.challenge(session)
        self.state.record_login(session)
        self.state.authorize(session)
        return self.authorized(session)

    async def answer_challenges(self, body: dict[str, Any]) -> Response:
        session = self.state.find_session(body.get("RequestId"), authorized=False)
        if session.authorized:
            raise SandboxError(400, "ALREADY_AUTHORIZED", "This RequestId is already authorized", session.request_id)
        responses = body.get("SecurityResponses")
        if not isinstance(responses, dict):
            raise SandboxError(400, "INVALID_REQUEST", "SecurityResponses must be an object", session.request_id)
        # Every question of the 203 (usually one), by its exact prompt.
        asked = {institution.prompt(question, session.language): question for question in session.rounds[0]}
        unknown = [key for key in responses if key not in asked]
        if unknown:
            raise SandboxError(
                401, "QUESTION_NOT_FOUND", "The security responses do not match the questions asked", session.request_id
            )
        if not any(responses.get(prompt) for prompt in asked):  # empty answer lists: the same 203 again
            return self.challenge(session)
        for prompt in asked:
            answers = responses.get(prompt)
            if answers and (not isinstance(answers, list) or not all(isinstance(a, str) for a in answers)):
                raise SandboxError(
                    400, "INVALID_REQUEST", "Each security response is a list of strings", session.request_id
                )
        if not all(responses.get(prompt) for prompt in asked):
            raise SandboxError(
                401,
                "SECURITYRESPONSES_INCOMPLETE",
                "Answer every security question of the challenge",
                session.request_id,
            )
        await self.bank_pause()
        if not all(institution.is_right_answer(asked[prompt], responses[prompt][0]) for prompt in asked):
            session.wrong_answers += 1
            if session.wrong_answers >= institution.MAX_WRONG_ANSWERS:
                del self.state.sessions[session.request_id]
                raise SandboxError(
                    401, "INVALID_SECURITY_RESPONSE_NO_RETRY", "Too many wrong answers: start again", session.request_id
                )
            raise SandboxError(401, "INVALID_SECURITY_RESPONSE", "The security response is invalid", session.request_id)
        session.rounds.pop(0)
        session.wrong_answers = 0
        if session.rounds:
            return self.challenge(session)
        if session.cached:  # the cached data, as it was: its LastRefresh stays
            self.state.find_login(session.login_id)
        else:
            self.state.record_login(session)
        self.state.authorize(session)
        if not session.user.login_after_mfa:
            # As a real private instance answered: no Login (and no InstitutionName/Id); the client
            # keeps the loginId it knows (or reads it from the data endpoints' Login).
            return flinks_json(
                {
                    "Links": links("AccountsDetail", "AccountsSummary", "Statements"),
                    "Institution": INSTITUTION,
                    "RequestId": session.request_id,
                }
            )
        return self.authorized(session)

    def challenge(self, session: Session) -> Response:
        return flinks_json(
            {
                "Links": links("Authorization"),
                "SecurityChallenges": [
                    institution.challenge(question, session.language) for question in session.rounds[0]
                ],
                "Institution": INSTITUTION,
                "RequestId": session.request_id,
            },
            203,
        )

    def authorized(self, session: Session) -> Response:
        return flinks_json(
            {
                "Links": links("AccountsDetail", "AccountsSummary", "Statements"),
                "Login": self.login_json(session),
                "Institution": INSTITUTION,
                "InstitutionName": INSTITUTION,
                "InstitutionId": INSTITUTION_ID,
                "RequestId": session.request_id,
            }
        )

    def login_json(self, session: Session) -> dict[str, Any]:
        login = self.state.find_login(session.login_id)
        return {
            "Username": login.username,
            "IsScheduledRefresh": False,
            "LastRefresh": login.last_refresh,
            "Type": "Personal",
            "Id": login.login_id,
        }

    # /GetAccountsSummary, /GetAccountsDetail, /GetStatements and their Async forms
    async def data(self, request: Request, body: dict[str, Any], endpoint: str) -> Response:
        self.check_api_key(request)
        session = self.state.find_session(body.get("RequestId"), authorized=True)
        self.state.throttle(session.user, session.username, endpoint)
        wanted = parse_data_request(endpoint, body, session.request_id)
        self.state.note_data_call(session)
        op = self.state.start_operation(session, endpoint, wanted, pending_first=endpoint == "GetAccountsDetail")
        if op.in_progress:
            return pending_response(endpoint, op.code, session.request_id)
        return self.payload(session, op.body)

    async def data_async(self, request: Request, endpoint: str, request_id: str) -> Response:
        self.check_api_key(request)
        session = self.state.find_session(request_id, authorized=True)
        op = self.state.poll(session, endpoint)
        if op.in_progress:
            return pending_response(endpoint, op.code, session.request_id)
        return self.payload(session, op.body)

    def payload(self, session: Session, wanted: DataRequest) -> Response:
        as_of = self.as_of()
        dataset = build_dataset(session.username, as_of)
        accounts = [
            a for a in dataset.accounts() if wanted.accounts_filter is None or a["Id"] in wanted.accounts_filter
        ]
        common = {
            "Login": self.login_json(session),
            "Institution": INSTITUTION,
            "InstitutionName": INSTITUTION,
            "InstitutionId": INSTITUTION_ID,
            "RequestId": session.request_id,
        }
        if wanted.endpoint == "GetStatements":
            by_account = [
                {"AccountNumber": a["AccountNumber"], "Statements": dataset.statements(a["Id"], wanted.statements)}
                for a in accounts
            ]
            return flinks_json({"StatementsByAccount": by_account, **common})
        for account in accounts:
            wanted.shape(account)
        if wanted.endpoint == "GetAccountsSummary":
            for account in accounts:
                account.update({"EftEligibleRatio": 1.0, "ETransferEligibleRatio": 1.0})
            return flinks_json({"Accounts": accounts, "Links": links("AccountsDetail", "Statements"), **common})
        history_start = as_of - timedelta(days=HISTORY_DAYS - 1)
        if wanted.date_from or wanted.date_to:  # a period replaces DaysOfTransactions
            first, last = max(wanted.date_from or history_start, history_start), wanted.date_to or as_of
        else:
            first, last = as_of - timedelta(days=wanted.days - 1), as_of
        delta = dict(wanted.refresh_delta)
        for account in accounts:
            after = delta.get(account["Id"])
            if not wanted.with_transactions:
                account["Transactions"] = []
            elif after is not None:  # what came after the client's last transaction, Days365 at most
                since = max(wanted.date_from or history_start, history_start)
                account["Transactions"] = dataset.transactions_between(account["Id"], since, last, after)
            else:
                account["Transactions"] = dataset.transactions_between(account["Id"], first, last)
        return flinks_json({"Accounts": accounts, **common})

    # Enhanced MFA: /GetMFAQuestions/{loginId} (GET) and /AnswerMFAQuestions (PATCH)
    def login_and_user(self, login_id: object) -> tuple[Login, institution.TestUser]:
        login = self.state.find_login(login_id)
        user = institution.find_user(login.username)
        if user is None:  # a state file shared with another sandbox that knows other users
            raise SandboxError(401, "INVALID_LOGIN", "LoginId not found or invalid")
        return login, user

    async def get_mfa_questions(self, request: Request, login_id: str) -> Response:
        """The security questions the bank may ask this login (none for a user without MFA), in the
        language of its first login. Their answers are never sent back."""
        self.check_api_key(request)
        login, user = self.login_and_user(login_id)
        return flinks_json(
            {
                "Message": "SUCCESS",
                "Questions": [
                    {"Question": institution.prompt(index, login.language)} for index in institution.questions_of(user)
                ],
            }
        )

    async def answer_mfa_questions(self, request: Request, body: dict[str, Any]) -> Response:
        """Store answers to some of a login's questions (`{LoginId (or loginId), Questions: [{Question,
        Answer}]}`, a question in English or French): a later live /Authorize of the login, or a cached
        one the bank challenges, is then answered with them instead of a 203. All or nothing: one item
        that is not valid stores none. The answers are not checked here (the bank checks them when it
        asks), and neither echoed nor logged."""
        self.check_api_key(request)
        login_id = body.get("LoginId", body.get("loginId"))
        if not isinstance(login_id, str) or not login_id.strip():
            raise SandboxError(400, "INVALID_REQUEST", "Provide the LoginId")
        login, user = self.login_and_user(login_id)
        items = body.get("Questions")
        if not isinstance(items, list) or not items:
            raise SandboxError(400, "INVALID_REQUEST", "Questions must be a list of {Question, Answer}")
        answers: dict[int, str] = {}
        for position, item in enumerate(items):
            question, answer = (item.get("Question"), item.get("Answer")) if isinstance(item, dict) else (None, None)
            if not (isinstance(question, str) and question.strip() and isinstance(answer, str) and answer.strip()):
                raise SandboxError(
                    400, "INVALID_REQUEST", f"Questions[{position}] needs a Question and an Answer (non-empty strings)"
                )
            index = institution.find_question(question, institution.questions_of(user))
            if index is None:
                raise SandboxError(
                    400,
                    "QUESTION_NOT_FOUND",
                    f"Questions[{position}] is not one of this login's security questions (GetMFAQuestions lists them)",
                )
            answers[index] = answer
        self.state.store_mfa_answers(login.login_id, answers)
        return flinks_json({"Message": "Answers updated"})

    # /DeleteCard/{loginId}
    async def delete_card(self, request: Request, login_id: str) -> Response:
        self.check_api_key(request)
        login = self.state.delete_login(login_id)
        return flinks_json({"Message": f"All of the information about LoginId {login.login_id} has been removed"})


BANK_MESSAGES = {
    "DISABLED_LOGIN": "The account is disabled at the bank",
    "RETRY_LATER": "The institution could not be reached, please retry later",
}


# -- data requests --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataRequest:
    """What a data call asked for, read from its body (see parse_data_request)."""

    endpoint: str
    accounts_filter: frozenset[str] | None = None  # account Ids (lower case); None: every account
    days: int = 90  # DaysOfTransactions
    date_from: date | None = None  # DateFrom/DateTo: a period that replaces DaysOfTransactions
    date_to: date | None = None
    refresh_delta: tuple[tuple[str, str], ...] = ()  # (account Id, last transaction Id the client has)
    with_transactions: bool = True
    with_balance: bool = True
    with_account_identity: bool = True
    statements: int = 1  # NumberOfStatements, in months

    def shape(self, account: dict[str, Any]) -> None:
        """WithBalance false: the Balance's values are null. WithAccountIdentity false: no transit or
        institution number, and the account number masked but its last four digits."""
        if not self.with_balance:
            account["Balance"] = {"Available": None, "Current": None, "Limit": None}
        if not self.with_account_identity:
            number = account["AccountNumber"]
            account.update(
                {
                    "TransitNumber": None,
                    "InstitutionNumber": None,
                    "AccountNumber": "*" * max(0, len(number) - 4) + number[-4:],
                }
            )


#: The options each data endpoint honours; others in the body are ignored, as Flinks ignores them.
BOOLEAN_OPTIONS = {
    "GetAccountsSummary": ("WithBalance", "WithAccountIdentity", "WithTransactions", "MostRecentCached"),
    "GetAccountsDetail": ("WithBalance", "WithAccountIdentity", "WithTransactions", "WithKYC", "MostRecentCached"),
    "GetStatements": ("MostRecentCached",),
}
FLINKS_DATE = re.compile(
    r"(\d{4})[-/](\d{2})[-/](\d{2})"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)


def flinks_date(value: object) -> date | None:
    """The date of a DateFrom/DateTo value, or None when it is not one (2026-02-30 is not)."""
    match = FLINKS_DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    try:
        return date(*(int(part) for part in match.groups())) if match else None
    except ValueError:
        return None


def parse_data_request(endpoint: str, body: dict[str, Any], request_id: str) -> DataRequest:
    """The data call's options, or 400 INVALID_REQUEST naming the first one that is not valid.

    A null is the option's default (Flinks' options are nullable). Booleans are JSON booleans;
    DaysOfTransactions is Days90 or Days365; DateFrom/DateTo are dates (2026-11-21, 2026/11/21, or a
    date and time, whose date counts); RefreshDelta is a list of {"AccountId", "TransactionId"};
    AccountsFilter a list of account Ids; NumberOfStatements MostRecent, Months3 or Months12.
    """

    def bad(message: str) -> SandboxError:
        return SandboxError(400, "INVALID_REQUEST", message, request_id)

    def option(name: str) -> Any:
        return body.get(name)

    flags = {}
    for name in BOOLEAN_OPTIONS[endpoint]:
        value = option(name)
        if value is not None and not isinstance(value, bool):
            raise bad(f"{name} must be true or false")
        flags[name] = value is not False

    accounts_filter = option("AccountsFilter")
    if accounts_filter is not None and (
        not isinstance(accounts_filter, list) or not all(isinstance(a, str) for a in accounts_filter)
    ):
        raise bad("AccountsFilter must be a list of account ids")
    wanted = DataRequest(
        endpoint,
        accounts_filter=frozenset(a.strip().lower() for a in accounts_filter) if accounts_filter else None,
        with_transactions=flags.get("WithTransactions", True),
        with_balance=flags.get("WithBalance", True),
        with_account_identity=flags.get("WithAccountIdentity", True),
    )
    if endpoint == "GetStatements":
        number = option("NumberOfStatements")
        if number is not None and (not isinstance(number, str) or number not in STATEMENT_MONTHS):
            raise bad("NumberOfStatements must be MostRecent, Months3 or Months12")
        return dataclass_replace(wanted, statements=STATEMENT_MONTHS[number or "MostRecent"])
    if endpoint != "GetAccountsDetail":
        return wanted

    days = option("DaysOfTransactions")
    if days is not None and (not isinstance(days, str) or days not in DAYS):
        raise bad("DaysOfTransactions must be Days90 or Days365")
    period: dict[str, date] = {}
    for name in ("DateFrom", "DateTo"):
        if option(name) is not None:
            day = flinks_date(option(name))
            if day is None:
                raise bad(f"{name} must be a date, as 2026-11-21")
            period[name] = day
    if "DateFrom" in period and "DateTo" in period and period["DateFrom"] > period["DateTo"]:
        raise bad("DateFrom must not be after DateTo")
    delta = option("RefreshDelta")
    pairs: list[tuple[str, str]] = []
    if delta is not None:
        if not isinstance(delta, list):
            raise bad("RefreshDelta must be a list of {AccountId, TransactionId}")
        for item in delta:
            account_id, transaction_id = (
                (item.get("AccountId"), item.get("TransactionId")) if isinstance(item, dict) else (None, None)
            )
            if not (
                isinstance(account_id, str)
                and account_id.strip()
                and isinstance(transaction_id, str)
                and transaction_id.strip()
            ):
                raise bad("Each RefreshDelta item needs an AccountId and a TransactionId")
            pairs.append((account_id.strip().lower(), transaction_id.strip().lower()))
    return dataclass_replace(
        wanted,
        days=DAYS[days or "Days90"],
        date_from=period.get("DateFrom"),
        date_to=period.get("DateTo"),
        refresh_delta=tuple(pairs),
    )


# -- the Connect widget page -------------------------------------------------------------------
class ConnectPage:
    def __init__(self, config: SandboxConfig, state: SandboxState):
        self.config = config
        self.state = state

    async def index(self, request: Request) -> Response:
        html = (CONNECT_ASSETS / "index.html").read_text(encoding="utf-8")
        api_base = f"/v3/{self.config.customer_id}/BankingServices"
        return HTMLResponse(html.replace("__FLINKS_API_BASE__", api_base), headers={"Cache-Control": "no-store"})

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        asset = CONNECT_ASSETS / name
        suffix = name[name.rfind(".") :] if "." in name else ""
        if "/" in name or name.startswith(".") or suffix not in CONNECT_TYPES or not asset.is_file():
            raise HTTPException(404, "No such file")
        return Response(asset.read_bytes(), media_type=CONNECT_TYPES[suffix])

    async def accounts(self, request: Request) -> Response:
        """The account-selection step's list (the real widget reads it from Flinks' backend)."""
        body = await json_body(request, self.config.max_body_bytes)
        session = self.state.find_session(body.get("RequestId"), authorized=True)
        dataset = build_dataset(session.username, self.config.as_of or date.today())
        keys = ("Id", "Title", "AccountNumber", "Type", "Category", "Currency", "Balance")
        return flinks_json({"Accounts": [{k: a[k] for k in keys} for a in dataset.accounts()]})


# -- plumbing -----------------------------------------------------------------------------------
async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, or 413 as soon as it is known to be larger than `limit` bytes (by its
    Content-Length, or while it streams in): a hostile body is never read whole."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def body_too_large(limit: int) -> SandboxError:
    return SandboxError(413, "INVALID_REQUEST", f"The request body is larger than {limit} bytes")


# Linear-time passes (no backtracking): escapes first, so that a string is then quote to quote.
_JSON_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_JSON_STRING = re.compile(rb'"[^"]*"')
_JSON_NESTING = re.compile(rb"[^\[\]{}]+")


def nested_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit` (brackets inside strings do
    not count). Checked before parsing, so that a hostile body never reaches the parser's recursion."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _JSON_NESTING.sub(b"", _JSON_STRING.sub(b"", _JSON_ESCAPE.sub(b"", raw)))
    depth = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def json_body(request: Request, limit: int = 1024 * 1024) -> dict[str, Any]:
    """The request's JSON object ({} for no body). Too large: 413; not a JSON object, nested deeper
    than MAX_JSON_DEPTH, or with NaN/Infinity: 400 INVALID_REQUEST, Flinks' answer to a malformed
    request."""
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    if nested_too_deep(raw):
        raise SandboxError(400, "INVALID_REQUEST", f"The request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
        raise SandboxError(400, "INVALID_REQUEST", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise SandboxError(400, "INVALID_REQUEST", "The request body must be a JSON object")
    return body


@dataclass
class RecordedRequest:
    """One request the sandbox received, for tests that check what a client sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0

    @property
    def json(self) -> Any:
        """The body parsed as JSON; None when there is none, or it is not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except (ValueError, RecursionError):
            return None

    @property
    def endpoint(self) -> str:
        """The Flinks endpoint called ("Authorize", "GetAccountsDetailAsync", "DeleteCard"...), or ""
        for anything else (the Connect page and its assets)."""
        parts = self.path.split("?", 1)[0].split("/")
        if len(parts) > 4 and parts[1] == "v3" and parts[3] == "BankingServices":
            return parts[4]
        return ""

    @property
    def argument(self) -> str | None:
        """What the path names after the endpoint: the loginId of DeleteCard and GetMFAQuestions,
        the RequestId of an Async poll; None when there is nothing."""
        parts = self.path.split("?", 1)[0].split("/")
        if self.endpoint and len(parts) > 5 and parts[5]:
            return parts[5]
        return None

    def __str__(self) -> str:
        """One line for a test's failure message: method, path, status and the start of the body."""
        text = self.body.decode("utf-8", "replace")
        body = f" {text[:200]}{'…' if len(text) > 200 else ''}" if text else ""
        return f"{self.method} {self.path} -> {self.status}{body}"


class RecordRequests:
    """ASGI middleware that reports each request (method, path, headers, body, status)."""

    def __init__(self, app: ASGIApp, on_request: Callable[[RecordedRequest], object]):
        self.app = app
        self.on_request = on_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []

        async def receive_and_keep() -> Message:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        async def send_and_note(message: Message) -> None:
            # Noted as the answer starts, so a client that got its answer finds its request recorded.
            if message["type"] == "http.response.start":
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
                query = scope["query_string"].decode("latin-1")
                path = scope["path"] + (f"?{query}" if query else "")
                self.on_request(RecordedRequest(scope["method"], path, headers, b"".join(chunks), message["status"]))
            await send(message)

        await self.app(scope, receive_and_keep, send_and_note)


def create_app(
    config: SandboxConfig | None = None, on_request: Callable[[RecordedRequest], object] | None = None
) -> Starlette:
    """The sandbox as an ASGI app. `app.state.sandbox` is its SandboxState (tests move its clock)."""
    config = config or SandboxConfig()
    state = SandboxState(config)
    api = FlinksApi(config, state)
    connect = ConnectPage(config, state)

    def endpoint(handler: Callable[..., Awaitable[Response]], needs_body: bool = True) -> _RouteHandler:
        async def route(request: Request) -> Response:
            try:
                if request.path_params["customer_id"].lower() != config.customer_id.lower():
                    raise SandboxError(401, "UNAUTHORIZED", "The customer id is not valid for this instance")
                if needs_body:
                    return await handler(request, await json_body(request, config.max_body_bytes))
                if request.method == "POST":  # an Async endpoint POSTed: its body (if any) is not read
                    await read_body(request, config.max_body_bytes)  # beyond the size check
                return await handler(request)
            except SandboxError as error:
                return error_response(error)

        return route

    def data(name: str) -> _RouteHandler:
        return endpoint(lambda request, body: api.data(request, body, name))

    def data_async(name: str) -> _RouteHandler:
        return endpoint(
            lambda request: api.data_async(request, name, request.path_params["request_id"]), needs_body=False
        )

    async def connect_accounts(request: Request) -> Response:
        try:
            return await connect.accounts(request)
        except SandboxError as error:
            return error_response(error)

    base = "/v3/{customer_id}/BankingServices"
    routes = [
        Route(f"{base}/GenerateAuthorizeToken", endpoint(api.generate_authorize_token), methods=["POST"]),
        Route(f"{base}/Authorize", endpoint(api.authorize), methods=["POST"]),
        Route(
            f"{base}/GetMFAQuestions/{{login_id}}",
            endpoint(lambda r: api.get_mfa_questions(r, r.path_params["login_id"]), needs_body=False),
            methods=["GET"],
        ),
        Route(f"{base}/AnswerMFAQuestions", endpoint(api.answer_mfa_questions), methods=["PATCH"]),
        Route(
            f"{base}/DeleteCard/{{login_id}}",
            endpoint(lambda r: api.delete_card(r, r.path_params["login_id"]), needs_body=False),
            methods=["DELETE"],
        ),
        Route("/v2/", connect.index, methods=["GET"]),
        Route("/v2/session/accounts", connect_accounts, methods=["POST"]),
        Route("/v2/{name}", connect.asset, methods=["GET"]),
        Route("/", index_page, methods=["GET"]),
    ]
    for name in DATA_ENDPOINTS:
        routes.append(Route(f"{base}/{name}", data(name), methods=["POST"]))
        # GET as Flinks documents it; POST as a published Node client sends it.
        routes.append(Route(f"{base}/{name}Async/{{request_id}}", data_async(name), methods=["GET", "POST"]))

    middleware = [Middleware(RecordRequests, on_request=on_request)] if on_request else []
    # Starlette types a handler as taking any Exception; it calls this one with the HTTPException it is keyed by.
    handlers = {HTTPException: http_error}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)  # type: ignore[arg-type]
    app.state.sandbox = state
    return app


async def http_error(request: Request, exc: HTTPException) -> Response:
    """Unknown paths and wrong methods answer in Flinks' error shape too."""
    return flinks_json({"Message": exc.detail, "FlinksCode": "INVALID_REQUEST"}, exc.status_code)


async def index_page(request: Request) -> Response:
    config: SandboxConfig = request.app.state.sandbox.config
    base = str(request.base_url).rstrip("/")
    others = ", ".join(
        f"<code>{user.username}</code>" for user in institution.USERS.values() if user.username != "Greatday"
    )
    return HTMLResponse(INDEX_HTML.format(base=base, customer=config.customer_id, others=others))


INDEX_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Flinks Capital offline sandbox</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;color:#1d2433}}
code{{background:#f2f4f8;padding:.1rem .35rem;border-radius:4px}}</style></head><body>
<h1>Flinks Capital offline sandbox</h1>
<p>A local stand-in for the Flinks API and Flinks Connect, with the Flinks Capital test institution.</p>
<ul>
<li>API base: <code>{base}/v3/{customer}/BankingServices/</code></li>
<li>Connect: <a href="{base}/v2/?demo=true">{base}/v2/?demo=true</a></li>
<li>Credentials: <code>Greatday</code> / <code>Everyday</code>; answers Montreal, Canada, Triangle</li>
<li>Other test usernames (password <code>Everyday</code>): {others}</li>
</ul></body></html>"""
