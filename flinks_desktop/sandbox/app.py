"""The sandbox's HTTP face: the Flinks API and the Connect widget page, as one ASGI app.

API: `/v3/{customerId}/BankingServices/{Endpoint}` with the documented request and response shapes,
status codes and FlinksCodes. Connect: `/v2/` (the widget page) and its assets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from flinks_desktop.sandbox import institution
from flinks_desktop.sandbox.config import SandboxConfig
from flinks_desktop.sandbox.dataset import build_dataset
from flinks_desktop.sandbox.institution import INSTITUTION, INSTITUTION_ID
from flinks_desktop.sandbox.state import SandboxError, SandboxState, Session

DAYS = {"Days90": 90, "Days365": 365}
STATEMENT_MONTHS = {"MostRecent": 1, "Months3": 3, "Months12": 12}
CONNECT_ASSETS = resources.files("flinks_desktop.sandbox") / "connect"
CONNECT_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
                 ".svg": "image/svg+xml", ".png": "image/png", ".woff2": "font/woff2"}


# -- responses ---------------------------------------------------------------------------------
def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Amounts are quantized to cents: a float's shortest repr prints them exactly ("1500.25").
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def flinks_json(payload: dict, status: int = 200) -> Response:
    body = json.dumps({"HttpStatusCode": status, **payload}, default=_json_default, ensure_ascii=False)
    return Response(body, status_code=status, media_type="application/json; charset=utf-8")


def error_response(error: SandboxError) -> Response:
    payload: dict[str, Any] = {"Message": error.message, "FlinksCode": error.code}
    if error.request_id:
        payload["RequestId"] = error.request_id
    return flinks_json(payload, error.status)


def pending_response(endpoint: str, code: str, request_id: str) -> Response:
    return flinks_json({
        "FlinksCode": code,
        "Links": [{"rel": f"{endpoint}Async", "href": f"/{endpoint}Async",
                   "example": f"/{endpoint}Async/{{requestId}}"}],
        "Message": "Your operation is still processing",
        "RequestId": request_id,
    }, 202)


def links(*rels: str) -> list[dict]:
    return [{"rel": rel, "href": f"/Get{rel}" if rel != "Authorization" else "/Authorize", "example": None}
            for rel in rels]


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
    async def generate_authorize_token(self, request: Request, body: dict) -> Response:
        if self.config.auth_key and request.headers.get("flinks-auth-key") != self.config.auth_key:
            raise SandboxError(401, "UNAUTHORIZED", "You must provide a valid auth key")
        return flinks_json({"Token": self.state.issue_token()})

    # /Authorize
    async def authorize(self, request: Request, body: dict) -> Response:
        if "RequestId" in body:  # an MFA answer: the session itself is the credential
            return await self.answer_challenges(body)
        if self.config.auth_key:
            self.state.consume_token(request.headers.get("flinks-auth-key"))
        language = body.get("Language") if body.get("Language") in ("en", "fr") else "en"
        if "LoginId" in body:
            return await self.authorize_login(body, language)
        return await self.authorize_credentials(body, language)

    async def authorize_login(self, body: dict, language: str) -> Response:
        login = self.state.find_login(body["LoginId"])
        user = institution.find_user(login.username)
        if user is None:  # a state file shared with another sandbox that knows other users
            raise SandboxError(401, "INVALID_LOGIN", "LoginId not found or invalid")
        session = self.state.open_session(user, login.username, language, login.login_id)
        if body.get("MostRecentCached") is True:
            if user.mfa and (user.cached_mfa or self.config.cached_mfa):
                # Real Flinks may challenge a cached request too: the same 203 as a live one.
                await self.bank_pause()
                session.cached = True
                self.state.ask_questions(session)
                return self.challenge(session)
            self.state.authorize(session)
            return self.authorized(session)
        return await self.contact_bank(session)

    async def authorize_credentials(self, body: dict, language: str) -> Response:
        name, username, password = body.get("Institution"), body.get("Username"), body.get("Password")
        if username is None:  # the documented sample spells it "username"
            username = body.get("username")
        if not all(isinstance(v, str) and v for v in (name, username, password)):
            raise SandboxError(400, "INVALID_REQUEST",
                               "Provide a LoginId, or an Institution, a Username and a Password")
        if name.lower() != INSTITUTION.lower():
            raise SandboxError(405, "DISABLED_INSTITUTION",
                               f"The institution {name} is not available in this environment")
        await self.bank_pause()
        user = institution.find_user(username)
        if user is None or password != institution.PASSWORD:
            raise SandboxError(401, "INVALID_LOGIN", "The username or password is invalid")
        session = self.state.open_session(user, username, language, None)
        return await self.contact_bank(session, paused=True)

    async def contact_bank(self, session: Session, paused: bool = False) -> Response:
        """A live connection to the bank: its errors, its questions, or fresh data."""
        if not paused:
            await self.bank_pause()
        if session.user.bank_error:
            del self.state.sessions[session.request_id]
            raise SandboxError(401, session.user.bank_error, BANK_MESSAGES[session.user.bank_error],
                               session.request_id)
        if session.user.mfa:
            self.state.ask_questions(session)
            return self.challenge(session)
        self.state.record_login(session)
        self.state.authorize(session)
        return self.authorized(session)

    async def answer_challenges(self, body: dict) -> Response:
        session = self.state.find_session(body.get("RequestId"), authorized=False)
        if session.authorized:
            raise SandboxError(400, "ALREADY_AUTHORIZED", "This RequestId is already authorized",
                               session.request_id)
        responses = body.get("SecurityResponses")
        if not isinstance(responses, dict):
            raise SandboxError(400, "INVALID_REQUEST", "SecurityResponses must be an object", session.request_id)
        question = session.questions[0]
        asked = institution.prompt(question, session.language)
        unknown = [key for key in responses if key != asked]
        if unknown:
            raise SandboxError(401, "QUESTION_NOT_FOUND",
                               "The security responses do not match the questions asked", session.request_id)
        answers = responses.get(asked)
        if not answers:  # an empty answer list: the same question again
            return self.challenge(session)
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise SandboxError(400, "INVALID_REQUEST", "Each security response is a list of strings",
                               session.request_id)
        await self.bank_pause()
        if not institution.is_right_answer(question, answers[0]):
            session.wrong_answers += 1
            if session.wrong_answers >= institution.MAX_WRONG_ANSWERS:
                del self.state.sessions[session.request_id]
                raise SandboxError(401, "INVALID_SECURITY_RESPONSE_NO_RETRY",
                                   "Too many wrong answers: start again", session.request_id)
            raise SandboxError(401, "INVALID_SECURITY_RESPONSE", "The security response is invalid",
                               session.request_id)
        session.questions.pop(0)
        session.wrong_answers = 0
        if session.questions:
            return self.challenge(session)
        if session.cached:  # the cached data, as it was: its LastRefresh stays
            self.state.find_login(session.login_id)
        else:
            self.state.record_login(session)
        self.state.authorize(session)
        return self.authorized(session)

    def challenge(self, session: Session) -> Response:
        prompt = institution.prompt(session.questions[0], session.language)
        return flinks_json({
            "Links": links("Authorization"),
            "SecurityChallenges": [{"Type": "QuestionAndAnswer", "Prompt": prompt}],
            "Institution": INSTITUTION,
            "RequestId": session.request_id,
        }, 203)

    def authorized(self, session: Session) -> Response:
        return flinks_json({
            "Links": links("AccountsDetail", "AccountsSummary", "Statements"),
            "Login": self.login_json(session),
            "Institution": INSTITUTION,
            "InstitutionName": INSTITUTION,
            "InstitutionId": INSTITUTION_ID,
            "RequestId": session.request_id,
        })

    def login_json(self, session: Session) -> dict:
        login = self.state.find_login(session.login_id)
        return {"Username": login.username, "IsScheduledRefresh": False, "LastRefresh": login.last_refresh,
                "Type": "Personal", "Id": login.login_id}

    # /GetAccountsSummary, /GetAccountsDetail, /GetStatements and their Async forms
    async def data(self, request: Request, body: dict, endpoint: str) -> Response:
        self.check_api_key(request)
        session = self.state.find_session(body.get("RequestId"), authorized=True)
        self.validate_data_request(endpoint, body, session)
        op = self.state.start_operation(session, endpoint, body, pending_first=endpoint == "GetAccountsDetail")
        if op.in_progress:
            return pending_response(endpoint, op.code, session.request_id)
        return self.payload(session, endpoint, op.body)

    async def data_async(self, request: Request, endpoint: str, request_id: str) -> Response:
        self.check_api_key(request)
        session = self.state.find_session(request_id, authorized=True)
        op = self.state.poll(session, endpoint)
        if op.in_progress:
            return pending_response(endpoint, op.code, session.request_id)
        return self.payload(session, endpoint, op.body)

    def validate_data_request(self, endpoint: str, body: dict, session: Session) -> None:
        def bad(message: str) -> SandboxError:
            return SandboxError(400, "INVALID_REQUEST", message, session.request_id)

        days = body.get("DaysOfTransactions", "Days90")
        if endpoint == "GetAccountsDetail" and days not in DAYS:
            raise bad("DaysOfTransactions must be Days90 or Days365")
        number = body.get("NumberOfStatements", "MostRecent")
        if endpoint == "GetStatements" and number not in STATEMENT_MONTHS:
            raise bad("NumberOfStatements must be MostRecent, Months3 or Months12")
        accounts_filter = body.get("AccountsFilter")
        if accounts_filter is not None and (
            not isinstance(accounts_filter, list) or not all(isinstance(a, str) for a in accounts_filter)
        ):
            raise bad("AccountsFilter must be a list of account ids")

    def payload(self, session: Session, endpoint: str, body: dict) -> Response:
        dataset = build_dataset(session.username, self.as_of())
        wanted = body.get("AccountsFilter") or None
        accounts = [a for a in dataset.accounts() if wanted is None or a["Id"] in wanted]
        common = {"Login": self.login_json(session), "Institution": INSTITUTION,
                  "InstitutionName": INSTITUTION, "InstitutionId": INSTITUTION_ID,
                  "RequestId": session.request_id}
        if endpoint == "GetAccountsSummary":
            for account in accounts:
                account.update({"EftEligibleRatio": 1.0, "ETransferEligibleRatio": 1.0})
            return flinks_json({"Accounts": accounts, "Links": links("AccountsDetail", "Statements"), **common})
        if endpoint == "GetAccountsDetail":
            days = DAYS[body.get("DaysOfTransactions", "Days90")]
            for account in accounts:
                with_transactions = body.get("WithTransactions", True) is not False
                account["Transactions"] = dataset.transactions(account["Id"], days) if with_transactions else []
            return flinks_json({"Accounts": accounts, **common})
        months = STATEMENT_MONTHS[body.get("NumberOfStatements", "MostRecent")]
        by_account = [{"AccountNumber": a["AccountNumber"], "Statements": dataset.statements(a["Id"], months)}
                      for a in accounts]
        return flinks_json({"StatementsByAccount": by_account, **common})

    # /DeleteCard/{loginId}
    async def delete_card(self, request: Request, login_id: str) -> Response:
        self.check_api_key(request)
        login = self.state.delete_login(login_id)
        return flinks_json({"Message": f"All of the information about LoginId {login.login_id} has been removed"})


BANK_MESSAGES = {
    "DISABLED_LOGIN": "The account is disabled at the bank",
    "RETRY_LATER": "The institution could not be reached, please retry later",
}


# -- the Connect widget page -------------------------------------------------------------------
class ConnectPage:
    def __init__(self, config: SandboxConfig, state: SandboxState):
        self.config = config
        self.state = state

    async def index(self, request: Request) -> Response:
        html = (CONNECT_ASSETS / "index.html").read_text(encoding="utf-8")
        api_base = f"/v3/{self.config.customer_id}/BankingServices"
        return HTMLResponse(html.replace("__FLINKS_API_BASE__", api_base),
                            headers={"Cache-Control": "no-store"})

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        asset = CONNECT_ASSETS / name
        suffix = name[name.rfind("."):] if "." in name else ""
        if "/" in name or name.startswith(".") or suffix not in CONNECT_TYPES or not asset.is_file():
            raise HTTPException(404, "No such file")
        return Response(asset.read_bytes(), media_type=CONNECT_TYPES[suffix])

    async def accounts(self, request: Request) -> Response:
        """The account-selection step's list (the real widget reads it from Flinks' backend)."""
        body = await json_body(request)
        session = self.state.find_session(body.get("RequestId"), authorized=True)
        dataset = build_dataset(session.username, self.config.as_of or date.today())
        keys = ("Id", "Title", "AccountNumber", "Type", "Category", "Currency", "Balance")
        return flinks_json({"Accounts": [{k: a[k] for k in keys} for a in dataset.accounts()]})


# -- plumbing -----------------------------------------------------------------------------------
async def json_body(request: Request) -> dict:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
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


class RecordRequests:
    """ASGI middleware that reports each request (method, path, headers, body, status)."""

    def __init__(self, app, on_request: Callable):
        self.app = app
        self.on_request = on_request

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []

        async def receive_and_keep():
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        async def send_and_note(message):
            # Noted as the answer starts, so a client that got its answer finds its request recorded.
            if message["type"] == "http.response.start":
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
                query = scope["query_string"].decode("latin-1")
                path = scope["path"] + (f"?{query}" if query else "")
                self.on_request(RecordedRequest(scope["method"], path, headers, b"".join(chunks),
                                                message["status"]))
            await send(message)

        await self.app(scope, receive_and_keep, send_and_note)


def create_app(config: SandboxConfig | None = None, on_request: Callable | None = None) -> Starlette:
    """The sandbox as an ASGI app. `app.state.sandbox` is its SandboxState (tests move its clock)."""
    config = config or SandboxConfig()
    state = SandboxState(config)
    api = FlinksApi(config, state)
    connect = ConnectPage(config, state)

    def endpoint(handler, needs_body: bool = True):
        async def route(request: Request) -> Response:
            try:
                if request.path_params["customer_id"].lower() != config.customer_id.lower():
                    raise SandboxError(401, "UNAUTHORIZED", "The customer id is not valid for this instance")
                if needs_body:
                    return await handler(request, await json_body(request))
                return await handler(request)
            except SandboxError as error:
                return error_response(error)

        return route

    def data(name: str):
        return endpoint(lambda request, body: api.data(request, body, name))

    def data_async(name: str):
        return endpoint(lambda request: api.data_async(request, name, request.path_params["request_id"]),
                        needs_body=False)

    async def connect_accounts(request: Request) -> Response:
        try:
            return await connect.accounts(request)
        except SandboxError as error:
            return error_response(error)

    base = "/v3/{customer_id}/BankingServices"
    routes = [
        Route(f"{base}/GenerateAuthorizeToken", endpoint(api.generate_authorize_token), methods=["POST"]),
        Route(f"{base}/Authorize", endpoint(api.authorize), methods=["POST"]),
        Route(f"{base}/DeleteCard/{{login_id}}",
              endpoint(lambda r: api.delete_card(r, r.path_params["login_id"]), needs_body=False),
              methods=["DELETE"]),
        Route("/v2/", connect.index, methods=["GET"]),
        Route("/v2/session/accounts", connect_accounts, methods=["POST"]),
        Route("/v2/{name}", connect.asset, methods=["GET"]),
        Route("/", index_page, methods=["GET"]),
    ]
    for name in ("GetAccountsSummary", "GetAccountsDetail", "GetStatements"):
        routes.append(Route(f"{base}/{name}", data(name), methods=["POST"]))
        routes.append(Route(f"{base}/{name}Async/{{request_id}}", data_async(name), methods=["GET"]))

    middleware = [Middleware(RecordRequests, on_request=on_request)] if on_request else []
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={HTTPException: http_error})
    app.state.sandbox = state
    return app


async def http_error(request: Request, exc: HTTPException) -> Response:
    """Unknown paths and wrong methods answer in Flinks' error shape too."""
    return flinks_json({"Message": exc.detail, "FlinksCode": "INVALID_REQUEST"}, exc.status_code)


async def index_page(request: Request) -> Response:
    config: SandboxConfig = request.app.state.sandbox.config
    base = str(request.base_url).rstrip("/")
    return HTMLResponse(INDEX_HTML.format(base=base, customer=config.customer_id))


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
</ul></body></html>"""
