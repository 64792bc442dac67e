"""What the sandbox remembers: logins (loginIds), sessions (RequestIds) and authorize tokens.

The rules here follow the public Flinks documentation: a loginId is stable per user and never
expires unless its card is deleted; a RequestId lives 8 minutes idle while MFA is pending and 30
minutes once authorized; an authorize token is single-use and lives 30 minutes; detail and statement
data of a session is prepared asynchronously (202, then the Async endpoint).

Everything here is synchronous and runs on the server's event loop thread. Sessions (RequestIds) and
authorize tokens live in this process's memory. Logins (with the digests of their Enhanced MFA
answers, see answer_digest) and deleted cards live in the state file when there is one, and several
processes may share that file (the desktop app and the CLI each start their own sandbox on it):
every read of them first re-reads the file if it changed (a cheap stat), and every change is a
read-modify-write under an exclusive lock on `<state_file>.lock`, written atomically (a temporary
file, then os.replace), so no process loses another's logins, answers or deletions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flinks_desktop.sandbox import institution
from flinks_desktop.sandbox.config import SandboxConfig
from flinks_desktop.sandbox.institution import TestUser

#: The most sessions (RequestIds) kept at once: past it, the least recently used goes before its time
#: is up. The app's sandbox runs as long as the app, and each refresh opens a session.
MAX_SESSIONS = 200
#: The most authorize tokens kept at once: past it, the oldest goes (each is single-use anyway).
MAX_TOKENS = 500


class SandboxError(Exception):
    """A Flinks error answer: HTTP status, FlinksCode and Flinks' message."""

    def __init__(
        self, status: int, code: str, message: str, request_id: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.headers = headers or {}


class SandboxStateError(SandboxError, RuntimeError):
    """The state file cannot be read or written. At start the sandbox does not start (a RuntimeError
    with this sentence); while it runs, each request that needs the logins answers 500 with it, and
    the file is left as it is until someone fixes or removes it."""

    def __init__(self, path: str, reason: object, failed: str = "read"):
        super().__init__(500, "AGGREGATION_ERROR", f"the sandbox state file {path} cannot be {failed}: {reason}")
        self.path = path


def new_guid() -> str:
    """A GUID in Flinks' 8-4-4-4-12 form. Like Flinks' own ids, not an RFC 4122 UUID."""
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def stable_guid(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def flinks_timestamp(moment: datetime) -> str:
    """Flinks' LastRefresh form: UTC, no zone suffix, 7 fractional digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


@dataclass
class Login:
    login_id: str
    username: str  # as the user typed it the first time (Flinks echoes it)
    last_refresh: str
    language: str = "en"
    #: Enhanced MFA (AnswerMFAQuestions): the answers stored for the login, as digests (answer_digest),
    #: by question (institution.question_key). Never the answers themselves.
    mfa_answers: dict[str, str] = field(default_factory=dict)


def answer_digest(login_id: str, key: str, answer: str) -> str:
    """What the sandbox keeps of an answer stored with AnswerMFAQuestions: a SHA-256 digest of the
    answer folded as answers are compared (case, accents and surrounding spaces do not matter), bound
    to its login and its question. Enough to check it; the answer itself is never kept nor logged."""
    return hashlib.sha256("\0".join((login_id, key, institution.fold(answer))).encode("utf-8")).hexdigest()


@dataclass
class Operation:
    """A data request of a session being prepared: the Async endpoint answers 202 `polls_left` more
    times, then 200. It stays in progress (the card is in use) until its 200 has been sent."""

    code: str
    polls_left: int
    body: Any  # what was asked (the app's parsed request), handed back when the data is ready
    in_progress: bool = True


@dataclass
class Session:
    request_id: str
    user: TestUser
    username: str
    language: str
    login_id: str | None = None  # known once authorized (or for a live refresh of a known login)
    #: Pending MFA questions (indexes of institution.ALL_QUESTIONS), one tuple per 203: the first
    #: tuple is the one being asked, all its questions in the same 203.
    rounds: list[tuple[int, ...]] = field(default_factory=list)
    wrong_answers: int = 0
    authorized_at: float | None = None
    last_used: float = 0.0
    operations: dict[str, Operation] = field(default_factory=dict)
    cached: bool = False  # a cached /Authorize that the bank challenged: answering it refreshes nothing
    read_data: bool = False  # it has made a data call (the `session_expires` users expire at the first)

    @property
    def authorized(self) -> bool:
        return self.authorized_at is not None


class SandboxState:
    def __init__(self, config: SandboxConfig):
        self.config = config
        #: Logins and deleted cards as last read from the state file (the only copy without one).
        self.logins: dict[str, Login] = {}
        self.deleted: set[str] = set()
        self.sessions: dict[str, Session] = {}
        self.tokens: dict[str, float] = {}
        self.clock_offset = 0.0
        self._mfa_sessions = 0  # rotates the security question from one session to the next
        self._throttled: dict[tuple[str, str], int] = {}  # rate_limited users: calls per (user, endpoint)
        self._data_sessions: dict[str, int] = {}  # session_expires users: sessions that read data
        self._file_lock = threading.RLock()  # this process's threads; other processes: the lock file
        self._seen: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) of the file last read
        self._refresh()

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
        if len(self.tokens) > MAX_TOKENS:  # tokens asked for and never used: the oldest first
            del self.tokens[next(iter(self.tokens))]
        return token

    def consume_token(self, token: str | None) -> None:
        issued = self.tokens.pop(token or "", None)
        if issued is None or self.now() - issued > self.config.token_ttl:
            raise SandboxError(401, "UNAUTHORIZED", "You must provide a valid auth key")

    # -- logins -------------------------------------------------------------------------------
    def login_id_for(self, username: str) -> str:
        """The loginId of a user: the same every time, a new one once its card was deleted."""
        self._refresh()
        return self._login_id_for(username)

    def _login_id_for(self, username: str) -> str:
        generation = 0
        while True:
            login_id = stable_guid("login", username.lower(), str(generation))
            if login_id not in self.deleted:
                return login_id
            generation += 1

    def find_login(self, login_id: object) -> Login:
        self._refresh()
        login = self.logins.get(login_id.strip().lower()) if isinstance(login_id, str) else None
        if login is None:
            raise SandboxError(401, "INVALID_LOGIN", "LoginId not found or invalid")
        return login

    def record_login(self, session: Session) -> Login:
        with self._changing():
            if session.login_id is not None and session.login_id in self.deleted:
                # Its card was deleted (by another process sharing the state file) meanwhile.
                raise SandboxError(401, "INVALID_LOGIN", "LoginId not found or invalid", session.request_id)
            login_id = session.login_id or self._login_id_for(session.username)
            login = self.logins.get(login_id)
            stamp = flinks_timestamp(datetime.now(UTC))
            if login is None:
                login = Login(login_id, session.username, stamp, session.language)
                self.logins[login_id] = login
            else:
                login.last_refresh = stamp
        session.login_id = login_id
        return login

    def delete_login(self, login_id: str) -> Login:
        with self._changing():
            login = self.logins.get(login_id.strip().lower()) if isinstance(login_id, str) else None
            if login is None:
                raise SandboxError(401, "INVALID_LOGIN", "LoginId not found or invalid")
            if self._card_in_use(login.login_id):
                raise SandboxError(400, "CARD_IN_USE", "The card is currently in use, please try again later")
            del self.logins[login.login_id]
            self.deleted.add(login.login_id)
        for request_id in [r for r, s in self.sessions.items() if s.login_id == login.login_id]:
            del self.sessions[request_id]
        return login

    # -- Enhanced MFA: answers stored ahead of time ----------------------------------------------
    def store_mfa_answers(self, login_id: str, answers: dict[int, str]) -> None:
        """Store (or replace) the answers to some of a login's questions (indexes of
        institution.ALL_QUESTIONS); its other stored answers stay. A locked read-modify-write of the
        state file, like every change of the logins."""
        with self._changing():
            login = self.logins.get(login_id)
            if login is None:  # its card was deleted meanwhile (perhaps by another process)
                raise SandboxError(401, "INVALID_LOGIN", "LoginId not found or invalid")
            for index, answer in answers.items():
                key = institution.question_key(index)
                login.mfa_answers[key] = answer_digest(login.login_id, key, answer)

    def answer_stored_questions(self, session: Session) -> None:
        """The bank asked `session.rounds`: the questions whose stored answer is right are answered
        by Flinks itself and leave the rounds (a round left empty goes); what remains is asked of the
        person with a 203. A wrong stored answer answers nothing: the bank asks that question."""
        self._refresh()
        login = self.logins.get(session.login_id or self._login_id_for(session.username))
        if login is None or not login.mfa_answers:
            return

        def answered(index: int) -> bool:
            key = institution.question_key(index)
            stored = login.mfa_answers.get(key)
            return stored is not None and any(
                hmac.compare_digest(stored, answer_digest(login.login_id, key, right))
                for right in institution.ALL_QUESTIONS[index].answers
            )

        left = (tuple(index for index in round_ if not answered(index)) for round_ in session.rounds)
        session.rounds = [round_ for round_ in left if round_]

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
        while len(self.sessions) >= MAX_SESSIONS:
            del self.sessions[min(self.sessions, key=lambda request_id: self.sessions[request_id].last_used)]
        session = Session(new_guid(), user, username, language, login_id, last_used=self.now())
        self.sessions[session.request_id] = session
        return session

    def ask_questions(self, session: Session) -> None:
        if session.user.questions == "choice":
            session.rounds = [(institution.CHOICE,)]
            return
        count = len(institution.QUESTIONS)
        first = self._mfa_sessions % count
        self._mfa_sessions += 1
        if session.user.questions == "two":
            session.rounds = [(first, (first + 1) % count)]
        else:
            session.rounds = [((first + i) % count,) for i in range(max(1, self.config.mfa_rounds))]

    def authorize(self, session: Session) -> None:
        session.rounds = []
        session.authorized_at = self.now()
        session.last_used = self.now()

    def find_session(self, request_id: object, *, authorized: bool) -> Session:
        self._expire_sessions()
        session = self.sessions.get(request_id.strip().lower()) if isinstance(request_id, str) else None
        if session is not None and session.login_id is not None and self.config.state_file:
            self._refresh()
            if session.login_id in self.deleted:  # its card was deleted by another process
                del self.sessions[session.request_id]
                session = None
        if session is None:
            raise SandboxError(
                400,
                "SESSION_NONEXISTENT",
                "The RequestId is invalid or has expired",
                request_id if isinstance(request_id, str) else None,
            )
        if authorized and not session.authorized:
            raise SandboxError(
                401,
                "UNAUTHORIZED",
                "The session is not authorized: answer its security challenges first",
                session.request_id,
            )
        session.last_used = self.now()
        return session

    def _expire_sessions(self) -> None:
        now = self.now()
        for request_id, session in list(self.sessions.items()):
            if session.authorized_at is not None:  # session.authorized
                expired = now - session.authorized_at > self.config.data_ttl
            else:
                expired = now - session.last_used > self.config.authorize_ttl
            if expired:
                del self.sessions[request_id]

    def throttle(self, user: TestUser, username: str, endpoint: str) -> None:
        """A `rate_limited` user's every other call of `endpoint`: 429 TOO_MANY_REQUESTS."""
        if not user.rate_limited:
            return
        key = (username.strip().lower(), endpoint)
        self._throttled[key] = calls = self._throttled.get(key, 0) + 1
        if calls % 2 == 1:
            seconds = max(0, int(self.config.retry_after))
            raise SandboxError(
                429,
                "TOO_MANY_REQUESTS",
                f"Too many requests: retry after {seconds} second(s)",
                headers={"Retry-After": str(seconds)},
            )

    def note_data_call(self, session: Session) -> None:
        """The first data call of a session: for a `session_expires` user, every other such session
        expires here (SESSION_EXPIRED; the RequestId is gone, as after any expiry)."""
        if session.read_data:
            return
        session.read_data = True
        if not session.user.session_expires:
            return
        key = session.username.strip().lower()
        self._data_sessions[key] = count = self._data_sessions.get(key, 0) + 1
        if count % 2 == 1:
            self.sessions.pop(session.request_id, None)
            raise SandboxError(400, "SESSION_EXPIRED", "The session has expired: authorize again", session.request_id)

    def start_operation(self, session: Session, endpoint: str, body: Any, *, pending_first: bool) -> Operation:
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
            raise SandboxError(
                400, "INVALID_REQUEST", f"No {endpoint} operation is in progress for this RequestId", session.request_id
            )
        if op.polls_left > 0:
            op.polls_left -= 1
        else:
            op.in_progress = False
        return op

    # -- persistence (shared by every process on the same state file) --------------------------
    def _refresh(self) -> None:
        """Re-read the state file if it changed since it was last read (a stat when it did not)."""
        path = self.config.state_file
        if not path:
            return
        with self._file_lock:
            self._read(path, only_if_changed=True)

    def _read(self, path: str, *, only_if_changed: bool) -> None:
        if only_if_changed and self._seen is not None:
            try:
                info = os.stat(path)
            except OSError:
                pass  # gone or unreadable: the open below says which
            else:
                if (info.st_ino, info.st_size, info.st_mtime_ns) == self._seen:
                    return
        try:
            f = open(path, "rb")
        except FileNotFoundError:  # not written yet (or removed): no logins, no deleted cards
            self.logins, self.deleted, self._seen = {}, set(), None
            return
        except OSError as exc:
            raise SandboxStateError(path, exc.strerror or exc) from exc
        with f:
            try:
                info = os.fstat(f.fileno())  # of the very file read below, whatever replaces it meanwhile
                seen = (info.st_ino, info.st_size, info.st_mtime_ns)
                logins, deleted = parse_state(f.read())
            except OSError as exc:
                raise SandboxStateError(path, exc.strerror or exc) from exc
            except (ValueError, TypeError) as exc:
                raise SandboxStateError(path, exc) from exc
        self.logins, self.deleted, self._seen = logins, deleted, seen

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """A read-modify-write of logins and deleted cards: under the lock, the file read afresh, the
        body changes self.logins/self.deleted, and the result is written atomically. Nothing is
        written when the body raises."""
        path = self.config.state_file
        if not path:
            yield
            return
        with self._file_lock, self._locked(path):
            self._read(path, only_if_changed=False)
            previous = self._seen
            try:
                yield
            except BaseException:
                self._seen = None  # the body may have changed the memory copy: read it again next time
                raise
            self._write(path, previous)

    @contextmanager
    def _locked(self, path: str) -> Iterator[None]:
        """The exclusive lock on `<state_file>.lock`; a clear SandboxStateError if it cannot be taken."""
        stack = ExitStack()
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            stack.enter_context(locked(f"{path}.lock"))
        except OSError as exc:
            stack.close()
            raise SandboxStateError(path, f"{path}.lock: {exc.strerror or exc}", "locked") from exc
        with stack:
            yield

    def _write(self, path: str, previous: tuple[int, int, int] | None) -> None:
        data = {
            "logins": [login_record(login) for login in self.logins.values()],
            "deleted": sorted(self.deleted),
        }
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f, indent=1)
                # Each write's mtime is later than the last one's, even within the file system's clock
                # tick: other processes see the change with their (inode, size, mtime_ns) check.
                stamp = time.time_ns()
                if previous is not None:
                    stamp = max(stamp, previous[2] + 1_000)
                os.utime(tmp, ns=(stamp, stamp))
                replace(tmp, path)
            except BaseException:
                with suppress(OSError):
                    os.unlink(tmp)
                raise
            info = os.stat(path)  # still under the lock: this is the file just written
        except OSError as exc:
            self._seen = None
            raise SandboxStateError(path, exc.strerror or exc, "written") from exc
        self._seen = (info.st_ino, info.st_size, info.st_mtime_ns)


def login_record(login: Login) -> dict[str, Any]:
    """A login as the state file holds it (`mfa_answers` only when it has some)."""
    record = dict(vars(login))
    if not record["mfa_answers"]:
        del record["mfa_answers"]
    else:
        record["mfa_answers"] = dict(record["mfa_answers"])
    return record


def parse_state(raw: bytes) -> tuple[dict[str, Login], set[str]]:
    """The logins and deleted cards of a state file's bytes; ValueError/TypeError when malformed."""
    saved = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    if not isinstance(saved, dict):
        raise ValueError("it is not a JSON object")
    items, deleted = saved.get("logins", []), saved.get("deleted", [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError('"logins" is not a list of objects')
    if not isinstance(deleted, list) or not all(isinstance(d, str) for d in deleted):
        raise ValueError('"deleted" is not a list of loginIds')
    logins = {}
    for item in items:
        item = dict(item)
        answers = item.pop("mfa_answers", {})
        login = Login(**item)
        if not all(isinstance(v, str) for v in item.values()):
            raise ValueError("a login has a value that is not a string")
        if not isinstance(answers, dict) or not all(isinstance(v, str) for v in answers.values()):
            raise ValueError('a login\'s "mfa_answers" is not an object of strings')
        login.mfa_answers = dict(answers)
        logins[login.login_id] = login
    return logins, set(deleted)


if sys.platform == "win32":  # os.name == "nt", in the form type checkers understand
    import msvcrt

    @contextmanager
    def locked(lock_path: str) -> Iterator[None]:
        """An exclusive lock between processes: the first byte of the lock file (msvcrt.locking)."""
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for ~10 s itself, then OSError
                    break
                except OSError:
                    continue  # still held: another sandbox is writing, keep waiting
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.close(fd)

    def replace(tmp: str, path: str) -> None:
        # Windows refuses to replace a file another process is reading at that instant: retry briefly.
        for _ in range(50):
            try:
                os.replace(tmp, path)
                return
            except PermissionError:
                time.sleep(0.02)
        os.replace(tmp, path)

else:
    import fcntl

    @contextmanager
    def locked(lock_path: str) -> Iterator[None]:
        """An exclusive lock between processes (and between threads: each call opens its own file)."""
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield  # closing the file releases the lock
        finally:
            os.close(fd)

    replace = os.replace
