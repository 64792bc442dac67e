"""The use cases: link a loginId, refresh it (cached, or live with MFA), log in directly, refresh all
the logins, delete a card. The GUI and the CLI both drive these; neither talks to Flinks or writes
the cache any other way.

    sync = Sync(client, data_dir / "cache.db", environment=environment.name)
    result = await sync.link(login_id, "FlinksCapital", progress=show)      # after Connect
    result = await sync.refresh(login_id, live=True, mfa=ask_the_user)
    deleted = await sync.delete_card(login_id, by="support agent")
    await sync.close()

The refresh flow, as `_sync` and `_fetch_and_save` read top to bottom:

    loginId -> /Authorize (cached, or live) -> 203? ask `mfa`, answer; a wrong answer asks again
    -> RequestId -> /GetAccountsDetail (202: the client polls its Async form: stage "waiting")
    -> /GetStatements (when enabled) -> ONE write of the snapshot -> SyncResult

Decisions a reader should know:

- **Refused, or run.** A call refused before anything is sent raises: `ValueError` for a loginId
  that is not a GUID, `SyncInProgress`, `OtherEnvironment`, `UnknownLogin` (a refresh of a login
  that is not cached). Once started, a sync returns a `SyncResult` whatever Flinks or the cache
  did ("ok", "needs_mfa" or "error", with a sentence), and the login's status in the cache says
  the same: "error" with the FlinksCode and the sentence, or "deleted" when Flinks answers
  INVALID_LOGIN for the loginId (it no longer knows it). Only cancellation and bugs propagate.
- **One sync per login: a second one is refused, not joined.** A refresh, link or delete of a login
  with one running raises `SyncInProgress` at once. Joining would hand a live refresh's caller the
  result of a cached one, or one caller's MFA dialog the questions of another's sync. The UI
  disables its button while `is_busy(login_id)`; `refresh_all` reports such a login "skipped".
  This holds within one `Sync`: another process writing the same cache is not coordinated.
- **Delete refuses while a sync runs** (the same `SyncInProgress`) rather than cancelling it: the
  sync may be waiting for the user's MFA answer, and Flinks answers CARD_IN_USE while it prepares
  data anyway. Cancel the sync's task, then delete.
- **Cancellation tells the truth.** Cancelling the caller's task stops the HTTP call or the poll
  in flight, and the use case raises `SyncCancelled` (a `CancelledError`) saying what became of
  the data. Nothing is handed to the writer before all the data has arrived: cancelled until
  then, "nothing was saved". Once the snapshot is handed to the writer thread, it is saved whole
  (SQLite commits it whole or not at all) and the cancellation waits for it: "the new data was
  already being saved and is kept", with the result in `SyncCancelled.kept`. So the sentence a person reads
  after Cancel or Ctrl-C always matches the cache. A purge always completes once it is decided.
- **Whatever Flinks answers ends in a sentence.** An answer for another login (Login.Id is not the
  loginId asked for), text that is not Unicode (a lone surrogate, which SQLite cannot store) or
  an id with control characters fails the sync as a `ProtocolError` whose sentence names the
  field, recorded as the login's "error"; nothing of that answer is saved, and the next good
  refresh succeeds. Control characters in free text (a description) are kept as sent: the
  screens show them as plain text.
- **A deletion always finishes, or says what to do.** /DeleteCard refused: nothing changes. No
  answer after the request went out (a dropped connection, the deadline, a 5xx): whether Flinks
  deleted it is unknown, and the sentence says how to find out (a cached refresh: INVALID_LOGIN
  means it is gone). A purge whose wipe another process blocks is done all the same: the wipe is
  pending and finishes at the next open of the cache (`core.store`).
- **Statements are best effort.** GetStatements may be disabled for an instance, and failing a
  refresh over it would throw good account data away: the accounts are saved and the result says
  why the statements are missing (`statements_error`). A statement whose file is not Base64 is
  left out alone; one whose PDF cannot be read is kept, its period unknown (`statement_period`).
- **What cannot be read is left out, and said.** The client drops a field or a row Flinks sent
  in a shape no one has seen (`Dropped`), and the save drops an amount the cache cannot keep
  exactly (a fraction of a cent): the rest is saved, the result's message says how much was left
  out, and the login's Activity has one "DATA_DROPPED" line saying what and where (no values).
- **MFA wherever Flinks asks it**: the cached /Authorize of a link, an add or a refresh may be
  answered 203 like a live one, with several questions, over several rounds; each goes to `mfa`.
  A question a person cannot be asked here (an image...) ends the sync with `UnsupportedChallenge`,
  whose sentence sends the agent to Flinks Connect, before `mfa` is called. A 200 that answers
  MFA without `Login` goes on with the loginId already known.
- **Refresh all reports every login.** One login's failure, even an unexpected exception, is that
  login's "error" result: it never cancels the others.
- **Environments.** A loginId means nothing in another environment (Flinks answers INVALID_LOGIN):
  a refresh, or a deletion at Flinks, of a login cached for another environment is refused
  (`OtherEnvironment`), and `refresh_all` takes only this environment's logins.

**Threading.** The GUI runs the asyncio loop on the GUI thread (qasync), so nothing here may block
the loop on SQLite. Every cache access of a `Sync` (snapshots of tens of thousands of rows, purge
and VACUUM, statements, audit rows, the few reads it needs) runs on ONE writer thread (`CacheWriter`: a
one-worker thread pool) that opens its own `Store` on first use, as a sqlite3 connection belongs
to its thread. The loop awaits those jobs through `run_in_executor`; audit rows are queued without
waiting. One thread runs the jobs in the order they were queued, so two writes of this process never
contend for the file, and an API call's audit row is written before the purge that follows it. The
GUI and the CLI read the cache with their own `Store` (in WAL mode readers never wait for the
writer). `close()` writes what is queued, closes the writer's `Store` on its thread, and stops it.
The loop does no bulk work on the data either, and nothing holds a whole answer: the client writes
GetAccountsDetail's 200 to a temporary file as it arrives (`stream_accounts_detail`), and the
writer's job (`_SaveJob`) reads it from there a batch of transactions at a time and writes each
batch as it goes, in the snapshot's one SQLite transaction (`_write_snapshot`): a sync of a million
transactions needs tens of MB, not GB. The statements' answer (a few PDFs) is decoded and parsed
on the client's reader thread, and freed on the writer's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from flinks_desktop.core.audit import Audit, dropped_sentence, utc_now
from flinks_desktop.core.cache_writer import CacheWriter
from flinks_desktop.core.flinks import (
    Account,
    AccountsResult,
    Authorized,
    AuthorizeResult,
    Balance,
    DaysOfTransactions,
    Dropped,
    FlinksClient,
    FlinksError,
    Login,
    MfaRequired,
    NumberOfStatements,
    PollProgress,
    ProtocolError,
    SecurityChallenge,
    SecurityResponseRejected,
    StatementsResult,
    Transaction,
    TransportError,
    check_answerable,
)
from flinks_desktop.core.flinks.client import ApiCall, ApiCallObserver
from flinks_desktop.core.flinks.errors import valid_text
from flinks_desktop.core.flinks.models import AccountsStream, TransactionBatch
from flinks_desktop.core.redact import is_guid, mask_id, redact
from flinks_desktop.core.statement_period import period_from_pdf
from flinks_desktop.core.store import (
    NOT_WIPED,
    CacheError,
    LoginRow,
    PurgeStats,
    SnapshotStats,
    StatementStats,
    Status,
    Store,
    UnknownLogin,
    UnsupportedAmount,
    storable_amount,
    transaction_row,
)

log = logging.getLogger("flinks_desktop.sync")

Stage = Literal["authorize", "mfa", "accounts", "waiting", "statements", "saving", "done"]
Outcome = Literal["ok", "needs_mfa", "error", "skipped", "unknown"]

_NEEDS_MFA = (
    "The bank asked a security question that was not answered, so no data was fetched. "
    "Refresh it live to answer the question."
)
_LOGIN_NOT_ANSWERED = "The bank's security question was not answered, so the login was cancelled."
_NO_LOGIN_ID = (
    "Flinks signed in at the bank but did not say which connection (loginId) it made, so nothing "
    "was saved. Connect the account with Flinks Connect instead."
)
#: What a cancelled sync says when nothing was handed to the writer.
NOTHING_SAVED = "Cancelled: nothing more was sent to Flinks or saved."
#: ... and when its snapshot was already being saved: kept whole (the saved message follows).
ALREADY_SAVED = "Cancelled, but the new data was already being saved and is kept."
#: What `finish_pending_wipes` says when it finished a wipe a deletion had left pending.
WIPE_FINISHED = (
    "The data of a deleted connection, which another window or command had kept from being "
    "wiped, is now wiped from this computer (see All activity)."
)


# -- what the use cases take and give --------------------------------------------------------------


@dataclass(frozen=True)
class SyncProgress:
    """One step of a sync, for a progress indicator. `login_id` is whole: mask it to show it."""

    #: None during a direct login, until Flinks has given the loginId.
    login_id: str | None
    #: "authorize", "mfa", "accounts", "waiting" (Flinks answered 202: the client polls),
    #: "statements", "saving", and "done" (whatever the outcome, cancellation aside).
    stage: Stage
    #: "waiting" only: the endpoint being prepared, how many 202s so far, seconds since the request,
    #: and the most the client waits before it gives up (its poll_timeout), in seconds.
    endpoint: str | None = None
    attempt: int | None = None
    elapsed: float | None = None
    limit: float | None = None


@dataclass(frozen=True)
class MfaPrompt:
    """The bank's security questions, for the MFA dialog: answer each challenge by its exact prompt."""

    #: None during a direct login.
    login_id: str | None
    institution: str | None
    challenges: tuple[SecurityChallenge, ...]
    #: On a retry, why the last answer was refused, in the bank's words. Plain text, never HTML.
    retry_message: str | None = None


#: Returns {prompt: [answers]} for the challenges, or None to cancel.
MfaCallback = Callable[[MfaPrompt], Awaitable[Mapping[str, Sequence[str]] | None]]
Progress = Callable[[SyncProgress], None]


@dataclass(frozen=True)
class SyncResult:
    """How a sync ended. `message` is a sentence for the user, whatever the outcome."""

    #: None when a direct login ended before Flinks gave a loginId.
    login_id: str | None
    #: "ok" (saved), "needs_mfa" (questions unanswered: nothing saved), "error", "skipped"
    #: (`refresh_all` only: the login was busy or gone, nothing was done), or "unknown" (`add`
    #: only: Flinks does not know the loginId, nothing was added).
    outcome: Outcome
    message: str
    #: Why it failed or was skipped: a FlinksError, a CacheError, or the refusal.
    error: Exception | None = None
    snapshot: SnapshotStats | None = None
    statements: StatementStats | None = None
    #: Why an otherwise good sync saved no statements.
    statements_error: FlinksError | None = None
    #: What Flinks sent that could not be read or kept, and was left out (the rest was saved).
    dropped: tuple[Dropped, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def error_code(self) -> str | None:
        """The FlinksCode of the failure, if Flinks gave one."""
        return self.error.flinks_code if isinstance(self.error, FlinksError) else None


@dataclass(frozen=True)
class DeleteResult:
    """How a card deletion ended. `message` is a sentence for the user, whatever the outcome."""

    login_id: str
    #: Flinks confirmed the deletion (never with `local_only`).
    deleted_at_flinks: bool
    #: What left the cache; None when nothing was purged.
    purged: PurgeStats | None
    message: str
    error: FlinksError | CacheError | None = None
    #: The request reached Flinks (or may have) but no clear answer came back: whether Flinks
    #: deleted the card is unknown (the message says how to find out). Nothing was purged.
    outcome_unknown: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def wipe_pending(self) -> bool:
        """The rows are gone, but another process kept the file busy: the wipe finishes later."""
        return self.purged is not None and not self.purged.wiped


class SyncCancelled(asyncio.CancelledError):
    """A sync (or several) was cancelled. `message` is the sentence that says what became of the
    data; `kept` holds the results of the syncs whose new data was already being saved when the
    cancellation came, and is kept (empty: nothing was saved). It is a `CancelledError`: catching
    `CancelledError` still catches it, and the task ends cancelled. (On Python 3.11, bound a use
    case with `asyncio.wait_for`, not `asyncio.timeout`: the latter turns only the exact
    `CancelledError` into `TimeoutError`.)"""

    def __init__(self, message: str, kept: Sequence[SyncResult] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.kept = tuple(kept)

    @classmethod
    def of(cls, kept: Sequence[SyncResult]) -> SyncCancelled:
        """The cancellation of several syncs (`refresh_all`, `add_many`)."""
        if not kept:
            return cls(NOTHING_SAVED)
        which = "1 connection" if len(kept) == 1 else f"{len(kept):,} connections"
        return cls(
            f"Cancelled, but the new data of {which} was already being saved and is kept; nothing else was saved.", kept
        )


class SyncRefused(Exception):
    """A use case refused to start: nothing was sent or written. `str()` is a sentence for the user."""


class SyncInProgress(SyncRefused):
    """The login already has a sync or a deletion running."""

    def __init__(self, login_id: str, running: str) -> None:
        super().__init__(
            f"The connection {mask_id(login_id)} is {running} right now. "
            "Wait for that to finish, or cancel it, then try again."
        )
        self.login_id = login_id


class OtherEnvironment(SyncRefused):
    """The login belongs to another environment: its loginId means nothing to this one."""


# -- the use cases -------------------------------------------------------------------------------


class Sync:
    """The use cases over one Flinks environment (`client`) and the cache at `store_path`.

    `days` and `statements` say what every sync fetches (`statements=None`: no GetStatements).
    Every call `client` makes is audited: `Sync` sets `client.on_call` (an observer already set is
    still called, after the audit) and gives it back on `close()`. `audit` records Connect events.
    """

    def __init__(
        self,
        client: FlinksClient,
        store_path: str | os.PathLike[str],
        *,
        environment: str,
        days: DaysOfTransactions = "Days365",
        statements: NumberOfStatements | None = "Months3",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._client = client
        self._environment = environment
        self._days = days
        self._statements = statements
        self._clock = clock
        self._writer = CacheWriter(Path(store_path))
        #: loginId -> what runs for it ("being refreshed", "being deleted"). Loop thread only.
        self._busy: dict[str, str] = {}
        #: loginIds whose card Flinks deleted here, for the purge that finishes one (its audit
        #: record of the 200 may not be written: the cache that failed the purge may refuse it too).
        self._deleted_at_flinks: set[str] = set()
        self._closed = False
        self.audit = Audit(self._writer.submit, clock=clock)
        self._observer_before = client.on_call
        client.on_call = _chained(self.audit.record_api_call, client.on_call)

    def configure(self, *, days: DaysOfTransactions, statements: NumberOfStatements | None) -> None:
        """What the next syncs fetch (the environment's settings changed); running ones keep theirs."""
        self._days = days
        self._statements = statements

    @property
    def busy(self) -> bool:
        """Whether any sync or deletion runs now."""
        return bool(self._busy)

    def is_busy(self, login_id: str) -> bool:
        """Whether a sync or a deletion of `login_id` runs now (another would be refused)."""
        return login_id in self._busy

    async def link(
        self,
        login_id: str,
        institution: str = "",
        *,
        tag: str | None = None,
        mfa: MfaCallback | None = None,
        progress: Progress | None = None,
    ) -> SyncResult:
        """Add the login Flinks Connect just handed over, and fetch its data (a cached refresh).

        The login is cached before anything is asked of Flinks: a sync that fails leaves it listed
        with its error, ready for a retry, instead of losing a loginId the customer went through
        Connect for. `institution` is Connect's; when it has none, the first snapshot's is kept.
        `tag` is Connect's `tag`. Flinks may answer even a cached /Authorize with a security
        question: `mfa` answers it (without it the login ends "needs_mfa").
        """
        _require_guid(login_id)
        with self._exclusive(login_id, "being refreshed"), _said_if_cancelled():
            try:
                await self._writer.run(
                    lambda store: store.upsert_login(
                        login_id, institution, at=self._clock(), environment=self._environment, tag=tag
                    )
                )
            except CacheError as error:
                return SyncResult(login_id, "error", str(error), error=error)
            return await self._sync(login_id, institution, live=False, mfa=mfa, progress=progress)

    async def remember(self, login_id: str, institution: str = "", *, tag: str | None = None) -> None:
        """Cache a loginId Connect handed over, without syncing it yet (another sync runs; the app
        links it next): listed at once, never synced, and never lost if the app closes first."""
        _require_guid(login_id)
        self._check_open()
        await self._writer.run(
            lambda store: store.upsert_login(
                login_id, institution, at=self._clock(), environment=self._environment, tag=tag
            )
        )

    async def add(
        self, login_id: str, *, mfa: MfaCallback | None = None, progress: Progress | None = None
    ) -> SyncResult:
        """Open a loginId made elsewhere (on the customer's device; the support ticket names it).

        Flinks is asked first (a cached /Authorize, answering its questions through `mfa`), and
        the login is cached only once Flinks has shown it knows it: a loginId Flinks does not know
        ends "unknown", and one it could not check (network, RETRY_LATER...) "error", both adding
        nothing. Questions left unanswered add the login as "needs_mfa" (Flinks knows it; a refresh
        can answer them later). Once authorized, it is the same fetch and save as a refresh. A
        loginId already cached is refreshed from Flinks' cache instead.
        """
        _require_guid(login_id)
        with self._exclusive(login_id, "being added"), _said_if_cancelled():
            row = await self._writer.run(lambda store: store.login(login_id))
            if row is not None:
                self._require_environment(row)
                return await self._sync(login_id, row.institution, live=False, mfa=mfa, progress=progress)
            report = _Reporter(login_id, progress)
            report("authorize")
            try:
                first = await self._client.authorize_cached(login_id)
                authorized = await self._answer_challenges(first, login_id, first.institution, mfa, report)
            except FlinksError as error:
                if error.flinks_code == "INVALID_LOGIN":
                    message = (
                        f"Flinks does not know the loginId {login_id} in this environment, "
                        "so nothing was added. Check it, or the environment in use."
                    )
                    return report.finished(SyncResult(login_id, "unknown", message, error=error))
                message = f"{error.user_message} Nothing was added."
                return report.finished(SyncResult(login_id, "error", message, error=error))
            institution = (authorized.institution if authorized else None) or first.institution or ""
            try:
                _check_authorized(authorized, first, login_id)
                await self._writer.run(
                    lambda store: store.upsert_login(
                        login_id,
                        institution,
                        at=self._clock(),
                        environment=self._environment,
                        details=_details_of(authorized, login_id),
                    )
                )
                if authorized is None:
                    return report.finished(await self._unanswered(login_id))
                return await self._fetch_and_save(login_id, authorized, institution, report)
            except (FlinksError, CacheError) as error:
                return report.finished(await self._failed(login_id, error))

    async def refresh(
        self,
        login_id: str,
        *,
        live: bool = False,
        mfa: MfaCallback | None = None,
        progress: Progress | None = None,
    ) -> SyncResult:
        """Fetch a cached login's data again: what Flinks holds (`live=False`), or fresh from the
        bank (`live=True`), which may ask security questions through `mfa`. Without `mfa`, or when
        it returns None, the login ends "needs_mfa" and its cached data stays as it was."""
        _require_guid(login_id)
        with self._exclusive(login_id, "being refreshed"), _said_if_cancelled():
            row = await self._cached_login(login_id)
            return await self._sync(login_id, row.institution, live=live, mfa=mfa, progress=progress)

    async def login(
        self,
        institution: str,
        username: str,
        password: str,
        *,
        mfa: MfaCallback,
        language: str | None = None,
        progress: Progress | None = None,
    ) -> SyncResult:
        """Log in with the bank credentials (the CLI, the sandbox), then sync the new login.

        The password and the answers go to Flinks only. The login is cached as soon as Flinks gives
        its loginId, so a failure after that leaves it listed with its error, as `link` does. The
        one refusal that comes after Flinks was asked: `SyncInProgress` when that login turns out
        to be syncing already (Flinks logged in; nothing is written).
        """
        self._check_open()
        with _said_if_cancelled():
            return await self._login(institution, username, password, mfa=mfa, language=language, progress=progress)

    async def _login(
        self,
        institution: str,
        username: str,
        password: str,
        *,
        mfa: MfaCallback,
        language: str | None,
        progress: Progress | None,
    ) -> SyncResult:
        report = _Reporter(None, progress)
        report("authorize")
        try:
            first = await self._client.authorize_credentials(institution, username, password, language=language)
            authorized = await self._answer_challenges(first, None, institution, mfa, report)
            if authorized is not None and authorized.login is not None:
                _check_authorized(authorized, first, None)
        except FlinksError as error:
            return report.finished(SyncResult(None, "error", error.user_message, error=error))
        if authorized is None:
            return report.finished(SyncResult(None, "needs_mfa", _LOGIN_NOT_ANSWERED))
        if authorized.login is None:  # a 200 without Login: a direct login has no loginId to go on with
            no_login = ProtocolError(_NO_LOGIN_ID, http_status=200, detail="Authorize: no Login in the 200")
            return report.finished(SyncResult(None, "error", _NO_LOGIN_ID, error=no_login))
        login_id, institution = authorized.login.id, authorized.institution or institution
        with self._exclusive(login_id, "being refreshed"):
            report = _Reporter(login_id, progress)
            try:
                await self._writer.run(
                    lambda store: store.upsert_login(
                        login_id,
                        institution,
                        at=self._clock(),
                        details=authorized.login,
                        environment=self._environment,
                    )
                )
                return await self._fetch_and_save(login_id, authorized, institution, report)
            except (FlinksError, CacheError) as error:
                return report.finished(await self._failed(login_id, error))

    async def add_many(
        self,
        login_ids: Sequence[str],
        *,
        mfa: MfaCallback | None = None,
        concurrency: int = 3,
        progress: Progress | None = None,
        done: Callable[[SyncResult], None] | None = None,
    ) -> list[SyncResult]:
        """`add` each loginId (a morning's tickets), at most `concurrency` at a time; one result per
        loginId, in the order given, duplicates once. A loginId that is not a GUID ends "error" and
        one being synced already "skipped": neither stops the others. `done` hears each result as
        it comes (a progress bar). Cancelling the caller's task cancels those still running."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self._check_open()
        slots = asyncio.Semaphore(concurrency)
        kept: list[SyncResult] = []

        async def add_one(login_id: str) -> SyncResult:
            async with slots:
                try:
                    result = await self.add(login_id, mfa=mfa, progress=progress)
                except SyncCancelled as cancelled:
                    kept.extend(cancelled.kept)
                    raise
                except ValueError as invalid:
                    result = SyncResult(login_id, "error", f"“{login_id}” is not a loginId: {invalid}.", error=invalid)
                except SyncRefused as refused:
                    result = SyncResult(login_id, "skipped", str(refused), error=refused)
                except Exception as unexpected:  # a bug: this loginId's error, not the others' end
                    result = await self._unexpected(login_id, unexpected, "added")
            if done is not None:
                done(result)
            return result

        unique = list(dict.fromkeys(login_ids))
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(add_one(login_id)) for login_id in unique]
        except asyncio.CancelledError:
            raise SyncCancelled.of(kept) from None
        return [task.result() for task in tasks]

    async def refresh_all(
        self,
        *,
        live: bool = False,
        mfa: MfaCallback | None = None,
        concurrency: int = 3,
        progress: Progress | None = None,
        done: Callable[[SyncResult], None] | None = None,
    ) -> list[SyncResult]:
        """Refresh every login of this environment, at most `concurrency` at a time, in the order
        they were added. Without `mfa`, a live refresh that the bank questions ends "needs_mfa".
        `done` hears each result as it comes. Each login is reported on its own: one that fails in
        any way, even an unexpected exception, ends "error" and the others go on. Cancelling the
        caller's task cancels every refresh still running."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self._check_open()
        with _said_if_cancelled(several=True):
            logins = await self._writer.run(lambda store: store.logins())
        slots = asyncio.Semaphore(concurrency)
        kept: list[SyncResult] = []

        async def refresh_one(login_id: str) -> SyncResult:
            async with slots:
                try:
                    result = await self.refresh(login_id, live=live, mfa=mfa, progress=progress)
                except SyncCancelled as cancelled:
                    kept.extend(cancelled.kept)
                    raise
                except (SyncRefused, UnknownLogin) as refused:
                    result = SyncResult(login_id, "skipped", str(refused), error=refused)
                except Exception as unexpected:  # a bug: this login's error, not the others' end
                    result = await self._unexpected(login_id, unexpected, "refreshed")
            if done is not None:
                done(result)
            return result

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(refresh_one(row.id))
                    for row in logins
                    if row.environment in (None, self._environment)
                ]
        except asyncio.CancelledError:
            raise SyncCancelled.of(kept) from None
        return [task.result() for task in tasks]

    async def delete_card(self, login_id: str, *, local_only: bool = False, by: str | None = None) -> DeleteResult:
        """Delete the card at Flinks (/DeleteCard) and, only once Flinks confirms, purge every row
        and statement of the login from the cache in one transaction, then VACUUM, so none of its
        bank data stays in the file. `local_only` purges without asking Flinks. `by` (who asked) is
        kept in the audit's "LOGIN_PURGED" record, which outlives the login.

        When Flinks refuses or cannot be reached, nothing changes here, the login's status
        included, and the result says why. When the request went out but no clear answer came back
        (the connection broke, the deadline passed, a 5xx), whether Flinks deleted the card is
        unknown (`outcome_unknown`): nothing is purged, and the sentence says how to find out.
        When another process keeps the file busy, the rows are purged and the wipe is left pending
        (`wipe_pending`): it finishes at the next open of the cache, and the sentence says so.
        Cancelled once the purge has started: it completes, and `SyncCancelled` says so.
        """
        _require_guid(login_id)
        with self._exclusive(login_id, "being deleted"):
            if not local_only:
                row = await self._writer.run(lambda store: store.login(login_id))
                if row is not None:
                    self._require_environment(row)
                try:
                    await self._client.delete_card(login_id)
                    self._deleted_at_flinks.add(login_id)
                except FlinksError as error:
                    if _may_have_acted(error):
                        return DeleteResult(login_id, False, None, _delete_unknown(error), error, outcome_unknown=True)
                    message = f"Flinks did not delete the card, so nothing was removed: {error.user_message}"
                    return DeleteResult(login_id, False, None, message, error)
            # Whether Flinks deleted the card: asked now, or before (a local purge that finishes a
            # deletion Flinks confirmed, whose purge failed: the audit has its 200, and says so).
            at_flinks = not local_only or await self._flinks_deleted(login_id)
            # Decided: the purge completes even if the caller is cancelled while it runs.
            purge = self._writer.start(
                lambda store: store.purge_login(login_id, at=self._clock(), by=by, at_flinks=at_flinks)
            )
            try:
                purged = await asyncio.shield(purge)
            except CacheError as error:
                message = (
                    str(error)
                    if local_only
                    else (
                        f"Flinks deleted the card, but its data could not be removed from this computer: {error} "
                        "To finish, delete the connection again, from this computer only."
                    )
                )
                return DeleteResult(login_id, at_flinks, None, message, error)
            except asyncio.CancelledError:
                raise await _cancelled_purge(purge, local_only) from None
            return DeleteResult(login_id, at_flinks, purged, _deleted_message(purged, local_only=not at_flinks))

    async def _flinks_deleted(self, login_id: str) -> bool:
        """Whether Flinks deleted this card before (here, or as the audit recorded it)."""
        if login_id in self._deleted_at_flinks:
            return True
        try:
            return await self._writer.run(lambda store: store.deleted_at_flinks(login_id))
        except CacheError:  # the purge that follows says what is wrong with the cache
            return False

    async def finish_pending_wipes(self) -> str | None:
        """Finish the wipe a deletion left pending (another process kept the cache busy, or the app
        stopped first), on the writer thread: a sentence when one was finished now, else None.
        The app calls it at start-up; the writer's first open of the cache does it too."""
        self._check_open()
        done = await self._writer.run(lambda store: store.finish_pending_wipes(at=self._clock()))
        done, self._writer.wipe_finished = done or self._writer.wipe_finished, False
        return WIPE_FINISHED if done else None

    async def index_missing_common_words(self) -> int:
        """Make, on the writer thread, the common words of the logins that have none made
        (`Store.index_missing_common_words`: a cache from before them): how many logins."""
        self._check_open()
        return len(await self._writer.run(lambda store: store.index_missing_common_words()))

    async def close(self) -> None:
        """Write what the audit queued, close the cache, stop the writer thread; give the client its
        observer back. Cancel the running syncs first: a sync cannot write after this."""
        if self._closed:
            return
        self._closed = True
        self._client.on_call = self._observer_before
        await self._writer.close()

    # -- the refresh flow ----------------------------------------------------------------------

    async def _sync(
        self,
        login_id: str,
        institution: str,
        *,
        live: bool,
        mfa: MfaCallback | None,
        progress: Progress | None,
    ) -> SyncResult:
        """Authorize a cached login, answer the bank's questions, then fetch and save its data."""
        report = _Reporter(login_id, progress)
        try:
            report("authorize")
            if live:
                first = await self._client.authorize_live(login_id)
            else:
                first = await self._client.authorize_cached(login_id)
            authorized = await self._answer_challenges(first, login_id, institution, mfa, report)
            if authorized is None:
                return report.finished(await self._unanswered(login_id))
            return await self._fetch_and_save(login_id, authorized, institution, report)
        except (FlinksError, CacheError) as error:
            return report.finished(await self._failed(login_id, error))

    async def _answer_challenges(
        self,
        result: AuthorizeResult,
        login_id: str | None,
        institution: str | None,
        mfa: MfaCallback | None,
        report: _Reporter,
    ) -> Authorized | None:
        """Answer /Authorize's 203s through `mfa` until authorized; None when nobody answered.

        A wrong answer the bank lets the user retry asks the same questions again, with the bank's
        message; any other refusal (no more tries, answers that match no question) raises, and so
        does a question nobody can answer here (`UnsupportedChallenge`). Each round's 203 may ask
        several questions; another 203 is another round.
        """
        retry_message = None
        while isinstance(result, MfaRequired):
            check_answerable(result.challenges)  # an image...: UnsupportedChallenge, Connect's job
            if mfa is None:
                return None
            report("mfa")
            prompt = MfaPrompt(login_id, result.institution or institution, result.challenges, retry_message)
            answers = await mfa(prompt)
            if answers is None:
                return None
            try:
                result = await self._client.answer_mfa(result.request_id, answers)
                retry_message = None
            except SecurityResponseRejected as rejected:
                if not rejected.can_retry:
                    raise
                retry_message = valid_text(redact(rejected.server_message or rejected.user_message))
        return result

    async def _fetch_and_save(
        self, login_id: str, authorized: Authorized, institution: str | None, report: _Reporter
    ) -> SyncResult:
        """Fetch everything first, then write it (the snapshot in one SQLite transaction, read from
        the answer's file as it is written): a failure or a cancellation while fetching leaves the
        cache as it was."""
        request_id = authorized.request_id
        report("accounts")
        # The answer arrives on file, unread: the writer reads it as it writes it (`_write_snapshot`).
        accounts = await self._client.stream_accounts_detail(
            request_id, days_of_transactions=self._days, progress=report.waiting
        )
        statements, statements_error = None, None
        try:
            if self._statements is not None:
                report("statements")
                try:
                    statements = await self._client.get_statements(
                        request_id, number_of_statements=self._statements, progress=report.waiting
                    )
                except FlinksError as error:
                    statements_error = error
            report("saving")
            # The job takes the fetched data and the loop keeps no reference to it, so that what is
            # made of it is made, and freed, on the writer thread, not on the loop's.
            job = _SaveJob(login_id, institution, accounts, statements, self._clock())
            # Handed to the writer from here: it runs whole whatever happens to this task, and a
            # cancellation waits for it so that what it says matches the cache.
            saving = self._writer.start(job)
        except BaseException:  # cancelled (or the writer closed) before the writer had it: nothing saved
            accounts.close()
            raise
        del accounts, statements
        try:
            saved = await asyncio.shield(saving)
        except asyncio.CancelledError:
            raise await self._cancelled_while_saving(
                login_id, saving, job, authorized, statements_error, report
            ) from None
        return report.finished(self._saved_result(login_id, saved, authorized, statements_error))

    def _saved_result(
        self, login_id: str, saved: _Saved, authorized: Authorized, statements_error: FlinksError | None
    ) -> SyncResult:
        dropped = (*authorized.dropped, *saved.dropped)
        self.audit.record_dropped(login_id, dropped)
        message = _saved_message(saved.snapshot, saved.statements, statements_error, dropped)
        return SyncResult(
            login_id,
            "ok",
            message,
            snapshot=saved.snapshot,
            statements=saved.statements,
            statements_error=statements_error,
            dropped=dropped,
        )

    async def _cancelled_while_saving(
        self,
        login_id: str,
        saving: asyncio.Future[_Saved],
        job: _SaveJob,
        authorized: Authorized,
        statements_error: FlinksError | None,
        report: _Reporter,
    ) -> SyncCancelled:
        """The sync was cancelled after its save was handed to the writer: wait for the save (a
        second cancellation too: it cannot be stopped), then say what it did."""
        while not saving.done():
            try:
                await asyncio.shield(saving)
            except asyncio.CancelledError:
                continue
            except Exception:  # the save failed: read below
                break
        failure = saving.exception()
        report("done")
        if failure is None:
            result = self._saved_result(login_id, saving.result(), authorized, statements_error)
            return SyncCancelled(f"{ALREADY_SAVED} {result.message}", (result,))
        log.warning("the save of login %s, cancelled, failed: %s", mask_id(login_id), failure)
        why = failure.user_message if isinstance(failure, FlinksError) else str(failure)
        if job.snapshot is not None:  # the snapshot committed, then the statements failed
            result = SyncResult(login_id, "ok", _saved_message(job.snapshot, None, None), snapshot=job.snapshot)
            return SyncCancelled(
                f"{ALREADY_SAVED} The accounts and transactions were saved, but not the statements: {why}", (result,)
            )
        return SyncCancelled(f"Cancelled: the save had started but failed, so nothing was saved ({why})")

    async def _unanswered(self, login_id: str) -> SyncResult:
        """The bank's questions went unanswered: the login says so, its cached data stays as it was."""
        await self._writer.run(
            lambda store: store.set_status(login_id, "needs_mfa", at=self._clock(), error_message=_NEEDS_MFA)
        )
        return SyncResult(login_id, "needs_mfa", _NEEDS_MFA)

    async def _failed(self, login_id: str, error: FlinksError | CacheError) -> SyncResult:
        """Record the failure as the login's status, and return it as the result."""
        message = valid_text(error.user_message if isinstance(error, FlinksError) else str(error))
        code = error.flinks_code if isinstance(error, FlinksError) else None
        status: Status = "deleted" if code == "INVALID_LOGIN" else "error"
        try:
            await self._writer.run(
                lambda store: store.set_status(
                    login_id, status, at=self._clock(), error_code=code, error_message=message
                )
            )
        except CacheError as unrecorded:  # the cache may be what failed: the result still says why
            log.warning("the status of login %s was not recorded: %s", mask_id(login_id), unrecorded)
        return SyncResult(login_id, "error", message, error=error)

    async def _unexpected(self, login_id: str, error: Exception, doing: str) -> SyncResult:
        """A login of `refresh_all` or `add_many` failed with an exception nothing expected (a bug):
        logged whole, recorded as the login's "error" if it is cached, and returned as its result."""
        log.error("login %s could not be %s", mask_id(login_id), doing, exc_info=error)
        message = (
            f"Something unexpected went wrong ({type(error).__name__}), so this connection was not "
            f"{doing}; the others were not affected. Try again, and report it if it happens again."
        )
        try:
            if await self._writer.run(lambda store: store.login(login_id)) is not None:
                await self._writer.run(
                    lambda store: store.set_status(login_id, "error", at=self._clock(), error_message=message)
                )
        except (CacheError, RuntimeError) as unrecorded:
            log.warning("the status of login %s was not recorded: %s", mask_id(login_id), unrecorded)
        return SyncResult(login_id, "error", message, error=error)

    # -- shared checks ---------------------------------------------------------------------------

    @contextmanager
    def _exclusive(self, login_id: str, activity: str) -> Iterator[None]:
        """Hold `login_id` for one sync or deletion; a second one is refused (`SyncInProgress`).

        Checked and taken with no await in between, so two tasks cannot both get it.
        """
        self._check_open()
        if login_id in self._busy:
            raise SyncInProgress(login_id, self._busy[login_id])
        self._busy[login_id] = activity
        try:
            yield
        finally:
            del self._busy[login_id]

    async def _cached_login(self, login_id: str) -> LoginRow:
        row = await self._writer.run(lambda store: store.login(login_id))
        if row is None:
            raise UnknownLogin(
                f"The connection {mask_id(login_id)} is not in the cache. Connect the account again to add it."
            )
        self._require_environment(row)
        return row

    def _require_environment(self, row: LoginRow) -> None:
        if row.environment not in (None, self._environment):
            raise OtherEnvironment(
                f"The connection {mask_id(row.id)} belongs to the environment “{row.environment}”, "
                f"not “{self._environment}”. "
                "Switch to that environment to refresh it or delete it at Flinks."
            )

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Sync is closed")


# -- the writer's job -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Saved:
    snapshot: SnapshotStats
    statements: StatementStats | None
    #: What the client left out, and what the save left out on top.
    dropped: tuple[Dropped, ...]


def _save(
    store: Store,
    login_id: str,
    institution: str | None,
    accounts: AccountsStream,
    statements: StatementsResult | None,
    at: datetime,
    *,
    committed: Callable[[SnapshotStats], None] = lambda snapshot: None,
) -> _Saved:
    """Write a sync's data (on the writer thread): the snapshot, then the statements.

    The snapshot (login, accounts, transactions) is one transaction, written as the answer is read
    (`_write_snapshot`), and raises `UnknownLogin`, writing nothing, if the login was purged
    meanwhile. The statements are a second one, as the store has none spanning both: each is
    whole. An amount the cache cannot keep exactly and a statement whose file is not Base64 are
    left out, each on its own (`Dropped`), with what the client left out; a PDF whose period cannot
    be read is saved with an unknown period.
    """
    with accounts:
        snapshot, result, unstorable = _write_snapshot(store, login_id, accounts, statements, at)
    committed(snapshot)
    if not institution and result.institution:  # Connect did not name it: Flinks just did
        store.upsert_login(login_id, result.institution, at=at)
    dropped = (*result.dropped, *unstorable)
    if statements is None:
        return _Saved(snapshot, None, dropped)
    statements, files = _decodable(statements)
    periods = _statement_periods(store, login_id, statements)
    saved = store.save_statements(login_id, statements, fetched_at=at, periods=periods)
    return _Saved(snapshot, saved, (*dropped, *statements.dropped, *files))


def _write_snapshot(
    store: Store, login_id: str, stream: AccountsStream, statements: StatementsResult | None, at: datetime
) -> tuple[SnapshotStats, AccountsResult, list[Dropped]]:
    """Read GetAccountsDetail's answer from `stream` and write it as it comes, a batch of
    transactions at a time: the sync never holds the whole answer. One SQLite transaction
    (`Store.snapshot_writer`): whatever fails, the answer or the cache, nothing of it is written.

    What `_check_answer` refuses is found as the answer is read; from then on nothing more is
    written, the rest is read to its end (a refusal of the whole answer, such as another login's
    Login.Id, which Flinks sends after the accounts, is said first, as before), and the snapshot
    is rolled back. Returns the figures, the answer without its transactions, and the amounts left out.
    """
    unstorable: list[Dropped] = []
    #: Amounts left out of the account being read: its Id comes with its end.
    pending: list[Dropped] = []
    refused: ProtocolError | None = None  # in an account already read
    refused_here: ProtocolError | None = None  # in a transaction of the account being read
    with store.snapshot_writer(login_id, synced_at=at) as writer:
        for part in stream:
            if isinstance(part, TransactionBatch):
                if refused is None and refused_here is None:
                    rows, refused_here = _storable_rows(part, pending)
                    writer.add(part.account, rows)
                continue
            account = part.account
            if account is not None:  # an account left out takes its transactions' faults with it
                refused = refused or _account_refused(part.index, account) or refused_here
                account, dropped = _storable_account(account)
                unstorable += [*dropped, *(replace(item, account_id=account.id) for item in pending)]
            pending.clear()
            refused_here = None
            if refused is None:
                writer.account(part.index, account)
        result = stream.result
        _check_answer(login_id, result, statements, refused)
        snapshot = writer.finish(result.login, all_accounts_read=result.all_accounts_read)
    return snapshot, result, unstorable


# -- what the cache cannot keep: refused with a sentence naming the field ------------------------------

_OTHER_LOGIN = (
    "Flinks answered {endpoint} with the data of another connection (its Login.Id is not the loginId "
    "asked for), so nothing was saved and the connection keeps the data it had. Report this problem "
    "to your Flinks contact."
)
_UNSTORABLE = (
    "Flinks sent {reason} in {field}, which the cache cannot keep, so nothing was saved and the "
    "connection keeps the data it had. Report this problem to your Flinks contact."
)
_NOT_A_LOGIN_ID = (
    "Flinks answered the login with a loginId that is not one (Login.Id is not a GUID), so nothing "
    "was saved. Report this problem to your Flinks contact."
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _check_answer(
    login_id: str, accounts: AccountsResult, statements: StatementsResult | None, refused: ProtocolError | None
) -> None:
    """Raise `ProtocolError`, naming the field, when the answer is of another login or holds text the
    cache cannot keep. `accounts` is without its transactions: `refused` is what its accounts and
    transactions held (`_account_refused`, `_storable_rows`), said in its place among the others."""
    for result, endpoint in ((accounts, "GetAccountsDetail"), (statements, "GetStatements")):
        if result is not None and result.login is not None and result.login.id.casefold() != login_id.casefold():
            raise ProtocolError(
                _OTHER_LOGIN.format(endpoint=endpoint),
                http_status=200,
                detail=f"{endpoint}: Login.Id is another loginId",
            )
    _refuse(_head_texts(accounts, statements))
    if refused is not None:
        raise refused
    _refuse(_statement_texts(statements))


def _refuse(texts: Iterable[tuple[str, str | None, bool]]) -> None:
    """Raise the refusal of the first of `texts` the cache cannot keep."""
    for field, value, is_id in texts:
        reason = _unstorable(value, is_id=is_id)
        if reason is not None:
            raise _refusal(field, reason)


def _refusal(field: str, reason: str) -> ProtocolError:
    return ProtocolError(_UNSTORABLE.format(reason=reason, field=field), http_status=200, detail=f"{field}: {reason}")


def _check_authorized(authorized: Authorized | None, first: AuthorizeResult, login_id: str | None) -> None:
    """`_check_answer` for what /Authorize says that is cached: the institution, the login's details
    (of `login_id`; of the new login, whose Login.Id must then be a GUID, when None)."""
    texts = [("Institution", first.institution, False)]
    if authorized is not None:
        texts.append(("Institution", authorized.institution, False))
        login = authorized.login
        if login is not None and login_id is None and not is_guid(login.id):
            raise ProtocolError(_NOT_A_LOGIN_ID, http_status=200, detail="Authorize: Login.Id is not a GUID")
        if login is not None and (login_id is None or login.id.casefold() == login_id.casefold()):
            texts += [("Login.Username", login.username, False), ("Login.Type", login.type, False)]
    for field, value, is_id in texts:
        reason = _unstorable(value, is_id=is_id)
        if reason is not None:
            raise ProtocolError(
                _UNSTORABLE.format(reason=reason, field=f"/Authorize's {field}"),
                http_status=200,
                detail=f"Authorize {field}: {reason}",
            )


def _unstorable(value: str | None, *, is_id: bool) -> str | None:
    """Why the cache cannot keep `value` (a lone surrogate; a control character in an id), or None.
    Control characters in free text are kept: every screen shows them as plain text."""
    if value is None or (value.isascii() and not (is_id and _CONTROL.search(value))):
        return None
    if _LONE_SURROGATE.search(value):
        return "text that is not valid Unicode"
    if is_id and _CONTROL.search(value):
        return "an id with control characters"
    return None


def _head_texts(
    accounts: AccountsResult, statements: StatementsResult | None
) -> Iterator[tuple[str, str | None, bool]]:
    """(field, text, whether it is an id) for the strings of the answers that the cache keeps,
    outside their accounts and statements."""
    for name, result in (("", accounts), ("GetStatements: ", statements)):
        if result is None:
            continue
        yield f"{name}Institution", result.institution, False
        if result.login is not None:
            yield f"{name}Login.Username", result.login.username, False
            yield f"{name}Login.Type", result.login.type, False
    yield "InstitutionName", accounts.institution_name, False


def _account_texts(index: int, account: Account) -> Iterator[tuple[str, str | None, bool]]:
    """The same for one account, its transactions aside; `index` is its place in the answer."""
    where = f"Accounts[{index}]"
    yield f"{where}.Id", account.id, True
    yield f"{where}.AccountNumber", account.account_number, True
    for key, value in (
        ("Title", account.title),
        ("LastFourDigits", account.last_four_digits),
        ("TransitNumber", account.transit_number),
        ("InstitutionNumber", account.institution_number),
        ("Category", account.category),
        ("Type", account.type),
        ("Currency", account.currency),
        ("AccountType", account.account_type),
    ):
        yield f"{where}.{key}", value, False
    holder = account.holder
    if holder is not None:
        for key, value in (("Name", holder.name), ("Email", holder.email), ("PhoneNumber", holder.phone_number)):
            yield f"{where}.Holder.{key}", value, False
        address = holder.address
        if address is not None:
            for key, value in (
                ("CivicAddress", address.civic_address),
                ("City", address.city),
                ("Province", address.province),
                ("PostalCode", address.postal_code),
                ("POBox", address.po_box),
                ("Country", address.country),
            ):
                yield f"{where}.Holder.Address.{key}", value, False


def _statement_texts(statements: StatementsResult | None) -> Iterator[tuple[str, str | None, bool]]:
    for index, group in enumerate(statements.accounts if statements is not None else ()):
        where = f"StatementsByAccount[{index}]"
        yield f"{where}.AccountNumber", group.account_number, True
        for number, statement in enumerate(group.statements):
            yield f"{where}.Statements[{number}].UniqueId", statement.unique_id, True
            yield f"{where}.Statements[{number}].FileType", statement.file_type, False


def _account_refused(index: int, account: Account) -> ProtocolError | None:
    """The refusal of the first text of the account (transactions aside) the cache cannot keep."""
    try:
        _refuse(_account_texts(index, account))
    except ProtocolError as refusal:
        return refusal
    return None


def _storable_rows(
    batch: TransactionBatch, dropped: list[Dropped]
) -> tuple[list[tuple[Any, ...]], ProtocolError | None]:
    """The batch's transactions as the cache's rows (`transaction_row`), each amount the cache
    cannot keep exactly left out (a `Dropped`, whose account Id is not known yet); up to the first
    text it cannot keep at all, which is returned as the refusal. Runs for every transaction of a
    snapshot: the common case (ASCII text, two decimals) costs a few tests per row."""
    rows: list[tuple[Any, ...]] = []
    for position, transaction in zip(batch.positions, batch.transactions):
        identifier, description, code = transaction.id, transaction.description, transaction.code
        if not (
            identifier.isascii()
            and not _CONTROL.search(identifier)
            and (description is None or description.isascii())
            and (code is None or code.isascii())
        ):
            where = f"Accounts[{batch.account}].Transactions[{position}]"
            for key, value, is_id in (
                ("Id", identifier, True),
                ("Description", description, False),
                ("Code", code, False),
            ):
                reason = _unstorable(value, is_id=is_id)
                if reason is not None:
                    return rows, _refusal(f"{where}.{key}", reason)
        try:
            rows.append(transaction_row(transaction))
        except UnsupportedAmount:  # rare: checked here only once the row failed
            rows.append(transaction_row(_storable_transaction(transaction, None, dropped)))
    return rows, None


def _storable_account(account: Account) -> tuple[Account, list[Dropped]]:
    """`account` without the amounts the cache cannot keep exactly (each becomes None, and a
    `Dropped` names the field and the account)."""
    dropped: list[Dropped] = []
    balance = account.balance
    if not all(map(_fits, (account.overdraft_limit, balance.available, balance.current, balance.limit))):
        account = replace(
            account,
            overdraft_limit=_kept(account.overdraft_limit, "Account.OverdraftLimit", account.id, None, dropped),
            balance=Balance(
                *(
                    _kept(getattr(balance, name), f"Account.Balance.{key}", account.id, None, dropped)
                    for name, key in (("available", "Available"), ("current", "Current"), ("limit", "Limit"))
                )
            ),
        )
    return account, dropped


def _storable_transaction(transaction: Transaction, account_id: str | None, dropped: list[Dropped]) -> Transaction:
    return replace(
        transaction,
        debit=_kept(transaction.debit, "Transaction.Debit", account_id, transaction.id, dropped),
        credit=_kept(transaction.credit, "Transaction.Credit", account_id, transaction.id, dropped),
        balance=_kept(transaction.balance, "Transaction.Balance", account_id, transaction.id, dropped),
    )


def _fits(amount: Decimal | None) -> bool:
    """Whether the cache keeps `amount` exactly; the common case (two decimals at most) without
    arithmetic, as it runs for every amount of a snapshot."""
    if amount is None:
        return True
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2 and amount.adjusted() < 16:
        return True
    return storable_amount(amount)


def _kept(
    amount: Decimal | None, where: str, account_id: str | None, item_id: str | None, dropped: list[Dropped]
) -> Decimal | None:
    if _fits(amount):
        return amount
    dropped.append(
        Dropped("field", where, "not a whole number of cents the cache can keep exactly", item_id, account_id)
    )
    return None


def _decodable(statements: StatementsResult) -> tuple[StatementsResult, list[Dropped]]:
    """`statements` without those whose file is not Base64 (each a `Dropped` statement)."""
    dropped: list[Dropped] = []
    groups = []
    for index, group in enumerate(statements.accounts):
        kept = []
        for number, statement in enumerate(group.statements):
            try:
                statement.content  # noqa: B018 - decoding is the check
            except ProtocolError:
                dropped.append(
                    Dropped(
                        "statement",
                        f"StatementsByAccount[{index}].Statements[{number}].Base64Bytes",
                        "not Base64",
                        statement.unique_id,
                    )
                )
            else:
                kept.append(statement)
        groups.append(replace(group, statements=tuple(kept)))
    return (replace(statements, accounts=tuple(groups)) if dropped else statements), dropped


def _statement_periods(store: Store, login_id: str, statements: StatementsResult) -> dict[str, tuple[date, date]]:
    """The period printed on each statement whose period the cache does not know yet (Flinks does
    not send it); read here, on the writer thread, as reading a PDF takes tens of milliseconds.
    A PDF that cannot be read has no period (`period_from_pdf` never raises): it is saved all the same."""
    known = {row.unique_id for row in store.statements(login_id) if row.period_start is not None}
    periods = {}
    for group in statements.accounts:
        for statement in group.statements:
            if statement.unique_id not in known and (period := period_from_pdf(statement.content)):
                periods[statement.unique_id] = period
    return periods


class _SaveJob:
    """`_save` as a writer job that owns the sync's data and lets go of it as it runs: the answer is
    read, and what is made of it freed, on the writer thread, never on the loop's (the GUI's)."""

    def __init__(
        self,
        login_id: str,
        institution: str | None,
        accounts: AccountsStream,
        statements: StatementsResult | None,
        at: datetime,
    ) -> None:
        self._arguments: tuple[str, str | None, AccountsStream, StatementsResult | None, datetime] | None = (
            login_id,
            institution,
            accounts,
            statements,
            at,
        )
        #: Set once the snapshot is committed (the statements are a second transaction).
        self.snapshot: SnapshotStats | None = None

    def __call__(self, store: Store) -> _Saved:
        arguments, self._arguments = self._arguments, None
        if arguments is None:
            raise RuntimeError("a save job runs once")
        return _save(store, *arguments, committed=self._committed)

    def _committed(self, snapshot: SnapshotStats) -> None:
        self.snapshot = snapshot


# -- small helpers ----------------------------------------------------------------------------------


class _Reporter:
    """Tells the caller's progress callback, if any, which stage a sync of one login is at."""

    def __init__(self, login_id: str | None, progress: Progress | None) -> None:
        self._login_id = login_id
        self._progress = progress

    def __call__(self, stage: Stage) -> None:
        if self._progress is not None:
            self._progress(SyncProgress(self._login_id, stage))

    def waiting(self, poll: PollProgress) -> None:
        """The client's poll callback: Flinks answered 202 and the client will ask again."""
        if self._progress is not None:
            self._progress(
                SyncProgress(
                    self._login_id,
                    "waiting",
                    endpoint=poll.endpoint,
                    attempt=poll.attempt,
                    elapsed=poll.elapsed,
                    limit=poll.limit,
                )
            )

    def finished(self, result: SyncResult) -> SyncResult:
        self("done")
        return result


def _chained(first: ApiCallObserver, then: ApiCallObserver | None) -> ApiCallObserver:
    if then is None:
        return first

    def both(call: ApiCall) -> None:
        first(call)
        then(call)

    return both


def _details_of(authorized: Authorized | None, login_id: str) -> Login | None:
    """What /Authorize said of the login, when it said it of this one (it may leave Login out)."""
    login = authorized.login if authorized is not None else None
    return login if login is not None and login.id == login_id else None


@contextmanager
def _said_if_cancelled(*, several: bool = False) -> Iterator[None]:
    """A cancellation that comes through here leaves as `SyncCancelled`: "nothing was saved", unless
    a save already running said otherwise (a `SyncCancelled` of its own passes unchanged)."""
    try:
        yield
    except SyncCancelled:
        raise
    except asyncio.CancelledError:
        raise (SyncCancelled.of(()) if several else SyncCancelled(NOTHING_SAVED)) from None


def _may_have_acted(error: FlinksError) -> bool:
    """Whether Flinks may have done what was asked although the call failed: the request went out
    and no clear answer came back (the connection broke or the deadline passed after sending, a 5xx
    from Flinks or a proxy, a 2xx that could not be read)."""
    if isinstance(error, TransportError):
        return error.sent
    status = error.http_status
    return status is not None and (status >= 500 or (200 <= status < 300 and isinstance(error, ProtocolError)))


def _delete_unknown(error: FlinksError) -> str:
    return (
        f"Flinks may or may not have deleted the card: the request was sent, but no clear answer came back "
        f"({error}). Nothing was removed from this computer. To find out, refresh the connection (a cached "
        "refresh): if Flinks answers INVALID_LOGIN, the card is gone and you can remove it from this "
        "computer only; if the refresh works, delete the card again."
    )


def _deleted_message(purged: PurgeStats, local_only: bool) -> str:
    if local_only:
        message = "The connection's data was removed from this computer. Flinks still holds the card."
    else:
        message = "The card was deleted at Flinks and its data removed from this computer."
    return message if purged.wiped else f"{message} {NOT_WIPED}"


async def _cancelled_purge(purge: asyncio.Future[PurgeStats], local_only: bool) -> SyncCancelled:
    """A deletion cancelled once its purge had started: the purge goes on to its end; say how it ended."""
    while not purge.done():
        try:
            await asyncio.shield(purge)
        except asyncio.CancelledError:
            continue
        except Exception:  # read below
            break
    failure = purge.exception()
    if failure is not None:
        at_flinks = "" if local_only else " The card was deleted at Flinks."
        return SyncCancelled(
            f"Cancelled while the data was being removed, which failed: {failure}{at_flinks} "
            "The connection is still listed: remove it from this computer only to finish."
        )
    finished = _deleted_message(purge.result(), local_only)
    return SyncCancelled(f"Cancelled, but the removal had started and finished: {finished}")


def _require_guid(login_id: str) -> None:
    if not is_guid(login_id):
        raise ValueError("a loginId is a GUID (8-4-4-4-12 hexadecimal digits)")


def _saved_message(
    snapshot: SnapshotStats,
    statements: StatementStats | None,
    statements_error: FlinksError | None,
    dropped: Sequence[Dropped] = (),
) -> str:
    parts = [
        _count(snapshot.accounts, "account"),
        f"{_count(snapshot.new, 'new transaction')}, {snapshot.updated:,} updated",
    ]
    if statements is not None:
        parts.append(_count(statements.new, "new statement"))
    message = f"Saved {', '.join(parts)}."
    if statements_error is not None:
        message += f" The statements could not be downloaded: {statements_error.user_message}"
    if dropped:
        message += f" {dropped_sentence(dropped, rest_saved=False)} See Activity."
    return message


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
