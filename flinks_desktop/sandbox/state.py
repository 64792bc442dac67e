"""What the sandbox remembers: logins (loginIds), sessions (RequestIds) and authorize tokens.

The rules here follow the public Flinks documentation: a loginId is stable per user and never
expires unless its card is deleted; a RequestId lives 8 minutes idle while MFA is pending and 30
minutes once authorized; an authorize token is single-use and lives 30 minutes; detail and statement
data of a session is prepared asynchronously (202, then the Async endpoint).

Everything here is synchronous and runs on the server's event loop thread, so no locking is needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flinks_desktop.sandbox import institution
from flinks_desktop.sandbox.config import SandboxConfig
from flinks_desktop.sandbox.institution import TestUser


class SandboxError(Exception):
    """A Flinks error answer: HTTP status, FlinksCode and Flinks' message."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id


def new_guid() -> str:
    """A GUID in Flinks' 8-4-4-4-12 form. Like Flinks' own ids, not an RFC 4122 UUID."""
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def stable_guid(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def flinks_timestamp(moment: datetime) -> str:
    """Flinks' LastRefresh form: UTC, no zone suffix, 7 fractional digits."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


@dataclass
class Login:
    login_id: str
    username: str  # as the user typed it the first time (Flinks echoes it)
    last_refresh: str
    language: str = "en"


@dataclass
class Operation:
    """A data request of a session being prepared: the Async endpoint answers 202 `polls_left` more
    times, then 200. It stays in progress (the card is in use) until its 200 has been sent."""

    code: str
    polls_left: int
    body: dict
    in_progress: bool = True


@dataclass
class Session:
    request_id: str
    user: TestUser
    username: str
    language: str
    login_id: str | None = None  # known once authorized (or for a live refresh of a known login)
    questions: list[int] = field(default_factory=list)  # pending MFA questions, first is asked
    wrong_answers: int = 0
    authorized_at: float | None = None
    last_used: float = 0.0
    operations: dict[str, Operation] = field(default_factory=dict)

    @property
    def authorized(self) -> bool:
        return self.authorized_at is not None


class SandboxState:
    def __init__(self, config: SandboxConfig):
        self.config = config
        self.logins: dict[str, Login] = {}
        self.deleted: set[str] = set()
        self.sessions: dict[str, Session] = {}
        self.tokens: dict[str, float] = {}
        self.clock_offset = 0.0
        self._mfa_sessions = 0  # rotates the security question from one session to the next
        self._load()

    # -- time -------------------------------------------------------------------------------
    def now(self) -> float:
        return time.monotonic() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's clock forward (tests of expiry, without waiting)."""
        self.clock_offset += seconds

    # -- authorize tokens ---------------------------------------------------------------------
    def issue_token(self) -> str:
        token = new_guid()
        self.tokens[token] = self.now()
        return token

    def consume_token(self, token: str | None) -> None:
        issued = self.tokens.pop(token or "", None)
        if issued is None or self.now() - issued > self.config.token_ttl:
            raise SandboxError(401, "UNAUTHORIZED", "You must provide a valid auth key")

    # -- logins -------------------------------------------------------------------------------
    def login_id_for(self, username: str) -> str:
        """The loginId of a user: the same every time, a new one once its card was deleted."""
        generation = 0
        while True:
            login_id = stable_guid("login", username.lower(), str(generation))
            if login_id not in self.deleted:
                return login_id
            generation += 1

    def find_login(self, login_id: str) -> Login:
        login = self.logins.get(login_id.strip().lower()) if isinstance(login_id, str) else None
        if login is None:
            raise SandboxError(401, "INVALID_LOGIN", "LoginId not found or invalid")
        return login

    def record_login(self, session: Session) -> Login:
        login_id = session.login_id or self.login_id_for(session.username)
        login = self.logins.get(login_id)
        stamp = flinks_timestamp(datetime.now(timezone.utc))
        if login is None:
            login = Login(login_id, session.username, stamp, session.language)
            self.logins[login_id] = login
        else:
            login.last_refresh = stamp
        session.login_id = login_id
        self._save()
        return login

    def delete_login(self, login_id: str) -> Login:
        login = self.find_login(login_id)
        if self._card_in_use(login.login_id):
            raise SandboxError(400, "CARD_IN_USE", "The card is currently in use, please try again later")
        del self.logins[login.login_id]
        self.deleted.add(login.login_id)
        for request_id in [r for r, s in self.sessions.items() if s.login_id == login.login_id]:
            del self.sessions[request_id]
        self._save()
        return login

    def _card_in_use(self, login_id: str) -> bool:
        for session in self.sessions.values():
            if session.login_id != login_id:
                continue
            if any(op.in_progress for op in session.operations.values()):
                return True
            since = None if session.authorized_at is None else self.now() - session.authorized_at
            if since is not None and since < self.config.card_in_use_seconds:
                return True
        return False

    # -- sessions -----------------------------------------------------------------------------
    def open_session(self, user: TestUser, username: str, language: str, login_id: str | None) -> Session:
        self._expire_sessions()
        session = Session(new_guid(), user, username, language, login_id, last_used=self.now())
        self.sessions[session.request_id] = session
        return session

    def ask_questions(self, session: Session) -> None:
        count = len(institution.QUESTIONS)
        first = self._mfa_sessions % count
        self._mfa_sessions += 1
        session.questions = [(first + i) % count for i in range(max(1, self.config.mfa_rounds))]

    def authorize(self, session: Session) -> None:
        session.questions = []
        session.authorized_at = self.now()
        session.last_used = self.now()

    def find_session(self, request_id: object, *, authorized: bool) -> Session:
        self._expire_sessions()
        session = self.sessions.get(request_id.strip().lower()) if isinstance(request_id, str) else None
        if session is None:
            raise SandboxError(400, "SESSION_NONEXISTENT", "The RequestId is invalid or has expired",
                               request_id if isinstance(request_id, str) else None)
        if authorized and not session.authorized:
            raise SandboxError(401, "UNAUTHORIZED",
                               "The session is not authorized: answer its security challenges first",
                               session.request_id)
        session.last_used = self.now()
        return session

    def _expire_sessions(self) -> None:
        now = self.now()
        for request_id, session in list(self.sessions.items()):
            if session.authorized:
                expired = now - session.authorized_at > self.config.data_ttl
            else:
                expired = now - session.last_used > self.config.authorize_ttl
            if expired:
                del self.sessions[request_id]

    def start_operation(self, session: Session, endpoint: str, body: dict, *, pending_first: bool) -> Operation:
        """Start (or look up) a data request. Returns the operation; answer 202 while in progress.

        `pending_first`: the first call of the session answers 202 whatever the user (detail data).
        """
        op = session.operations.get(endpoint)
        if op is not None and op.in_progress:
            return op
        slow = session.user.slow_code
        if slow:
            op = Operation(slow, self.config.slow_pending_polls, body)
        elif pending_first and op is None:
            op = Operation("OPERATION_PENDING", self.config.pending_polls, body)
        else:
            op = Operation("", 0, body, in_progress=False)
        session.operations[endpoint] = op
        return op

    def poll(self, session: Session, endpoint: str) -> Operation:
        """An Async call: the operation, still in progress or (now) ready."""
        op = session.operations.get(endpoint)
        if op is None:
            raise SandboxError(400, "INVALID_REQUEST",
                               f"No {endpoint} operation is in progress for this RequestId",
                               session.request_id)
        if op.polls_left > 0:
            op.polls_left -= 1
        else:
            op.in_progress = False
        return op

    # -- persistence --------------------------------------------------------------------------
    def _load(self) -> None:
        path = self.config.state_file
        if not path or not os.path.exists(path):
            return
        try:
            with open(path, encoding="utf-8") as f:
                saved = json.load(f)
            self.deleted = set(saved.get("deleted", []))
            for item in saved.get("logins", []):
                login = Login(**item)
                self.logins[login.login_id] = login
        except (OSError, ValueError, TypeError) as exc:
            raise RuntimeError(f"the sandbox state file {path} cannot be read: {exc}") from exc

    def _save(self) -> None:
        path = self.config.state_file
        if not path:
            return
        data = {
            "logins": [vars(login) for login in self.logins.values()],
            "deleted": sorted(self.deleted),
        }
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
