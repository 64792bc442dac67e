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
- **Cancellation** of the caller's task stops the HTTP call or the poll in flight. Nothing is
  written before all the data has arrived, so the cache and the login's status stay as they were.
  A write already handed to the writer thread either completes or, still queued, never starts:
  SQLite commits it whole or not at all. A purge always completes once it is decided.
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
and VACUUM, statements, audit rows, the few reads it needs) runs on ONE writer thread (`_Writer`: a
one-worker thread pool) that opens its own `Store` on first use, as a sqlite3 connection belongs
to its thread. The loop awaits those jobs through `run_in_executor`; audit rows are queued without
waiting. One thread runs the jobs in the order they were queued, so two writes of this process never
contend for the file, and an API call's audit row is written before the purge that follows it. The
GUI and the CLI read the cache with their own `Store` (in WAL mode readers never wait for the
writer). `close()` writes what is queued, closes the writer's `Store` on its thread, and stops it.
The loop does no bulk work on the data either: the client decodes and parses big answers on its
reader thread, and the snapshot it returns is handed over to the writer's job (`_SaveJob`), whose
thread then frees it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal, TypeVar

from flinks_desktop.core.audit import Audit, StoreJob, dropped_sentence, utc_now
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
    check_answerable,
)
from flinks_desktop.core.flinks.client import ApiCall, ApiCallObserver
from flinks_desktop.core.redact import is_guid, mask_id, redact
from flinks_desktop.core.statement_period import period_from_pdf
from flinks_desktop.core.store import (
    CacheError,
    LoginRow,
    PurgeStats,
    SnapshotStats,
    StatementStats,
    Store,
    UnknownLogin,
    storable_amount,
)

log = logging.getLogger("flinks_desktop.sync")

T = TypeVar("T")

Stage = Literal["authorize", "mfa", "accounts", "waiting", "statements", "saving", "done"]
Outcome = Literal["ok", "needs_mfa", "error", "skipped", "unknown"]

_NEEDS_MFA = (
    "The bank asked a security question that was not answered, so nothing was refreshed. "
    "Refresh it live to answer the question."
)
_LOGIN_NOT_ANSWERED = "The bank's security question was not answered, so the login was cancelled."
_NO_LOGIN_ID = (
    "Flinks signed in at the bank but did not say which connection (loginId) it made, so nothing "
    "was saved. Connect the account with Flinks Connect instead."
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
    #: "waiting" only: the endpoint being prepared, how many 202s so far, seconds since the request.
    endpoint: str | None = None
    attempt: int | None = None
    elapsed: float | None = None


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

    @property
    def ok(self) -> bool:
        return self.error is None


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
        self._writer = _Writer(Path(store_path))
        #: loginId -> what runs for it ("being refreshed", "being deleted"). Loop thread only.
        self._busy: dict[str, str] = {}
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
        with self._exclusive(login_id, "being refreshed"):
            try:
                await self._writer.run(lambda store: store.upsert_login(
                    login_id, institution, at=self._clock(), environment=self._environment, tag=tag
                ))
            except CacheError as error:
                return SyncResult(login_id, "error", str(error), error=error)
            return await self._sync(login_id, institution, live=False, mfa=mfa, progress=progress)

    async def remember(self, login_id: str, institution: str = "", *, tag: str | None = None) -> None:
        """Cache a loginId Connect handed over, without syncing it yet (another sync runs; the app
        links it next): listed at once, never synced, and never lost if the app closes first."""
        _require_guid(login_id)
        self._check_open()
        await self._writer.run(lambda store: store.upsert_login(
            login_id, institution, at=self._clock(), environment=self._environment, tag=tag
        ))

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
        with self._exclusive(login_id, "being added"):
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
                    message = (f"Flinks does not know the loginId {login_id} in this environment, "
                               "so nothing was added. Check it, or the environment in use.")
                    return report.finished(SyncResult(login_id, "unknown", message, error=error))
                message = f"{error.user_message} Nothing was added."
                return report.finished(SyncResult(login_id, "error", message, error=error))
            institution = (authorized.institution if authorized else None) or first.institution or ""
            try:
                await self._writer.run(lambda store: store.upsert_login(
                    login_id, institution, at=self._clock(), environment=self._environment,
                    details=_details_of(authorized, login_id),
                ))
                if authorized is None:
                    await self._writer.run(lambda store: store.set_status(
                        login_id, "needs_mfa", at=self._clock(), error_message=_NEEDS_MFA
                    ))
                    return report.finished(SyncResult(login_id, "needs_mfa", _NEEDS_MFA))
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
        with self._exclusive(login_id, "being refreshed"):
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
        report = _Reporter(None, progress)
        report("authorize")
        try:
            first = await self._client.authorize_credentials(
                institution, username, password, language=language
            )
            authorized = await self._answer_challenges(first, None, institution, mfa, report)
        except FlinksError as error:
            return report.finished(SyncResult(None, "error", error.user_message, error=error))
        if authorized is None:
            return report.finished(SyncResult(None, "needs_mfa", _LOGIN_NOT_ANSWERED))
        if authorized.login is None:  # a 200 without Login: a direct login has no loginId to go on with
            error = ProtocolError(_NO_LOGIN_ID, http_status=200, detail="Authorize: no Login in the 200")
            return report.finished(SyncResult(None, "error", _NO_LOGIN_ID, error=error))
        login_id, institution = authorized.login.id, authorized.institution or institution
        with self._exclusive(login_id, "being refreshed"):
            report = _Reporter(login_id, progress)
            try:
                await self._writer.run(lambda store: store.upsert_login(
                    login_id,
                    institution,
                    at=self._clock(),
                    details=authorized.login,
                    environment=self._environment,
                ))
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

        async def add_one(login_id: str) -> SyncResult:
            async with slots:
                try:
                    result = await self.add(login_id, mfa=mfa, progress=progress)
                except ValueError as invalid:
                    result = SyncResult(login_id, "error", f"“{login_id}” is not a loginId: {invalid}.",
                                        error=invalid)
                except SyncRefused as refused:
                    result = SyncResult(login_id, "skipped", str(refused), error=refused)
                except Exception as unexpected:  # a bug: this loginId's error, not the others' end
                    result = await self._unexpected(login_id, unexpected, "added")
            if done is not None:
                done(result)
            return result

        unique = list(dict.fromkeys(login_ids))
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(add_one(login_id)) for login_id in unique]
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
        logins = await self._writer.run(lambda store: store.logins())
        slots = asyncio.Semaphore(concurrency)

        async def refresh_one(login_id: str) -> SyncResult:
            async with slots:
                try:
                    result = await self.refresh(login_id, live=live, mfa=mfa, progress=progress)
                except (SyncRefused, UnknownLogin) as refused:
                    result = SyncResult(login_id, "skipped", str(refused), error=refused)
                except Exception as unexpected:  # a bug: this login's error, not the others' end
                    result = await self._unexpected(login_id, unexpected, "refreshed")
            if done is not None:
                done(result)
            return result

        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(refresh_one(row.id))
                for row in logins
                if row.environment in (None, self._environment)
            ]
        return [task.result() for task in tasks]

    async def delete_card(
        self, login_id: str, *, local_only: bool = False, by: str | None = None
    ) -> DeleteResult:
        """Delete the card at Flinks (/DeleteCard) and, only once Flinks confirms, purge every row
        and statement of the login from the cache in one transaction, then VACUUM, so none of its
        bank data stays in the file. `local_only` purges without asking Flinks. `by` (who asked) is
        kept in the audit's "LOGIN_PURGED" record, which outlives the login.

        When Flinks refuses or cannot be reached, nothing changes here, the login's status
        included, and the result says why.
        """
        _require_guid(login_id)
        with self._exclusive(login_id, "being deleted"):
            if not local_only:
                row = await self._writer.run(lambda store: store.login(login_id))
                if row is not None:
                    self._require_environment(row)
                try:
                    await self._client.delete_card(login_id)
                except FlinksError as error:
                    message = f"Flinks did not delete the card, so nothing was removed: {error.user_message}"
                    return DeleteResult(login_id, False, None, message, error)
            # Decided: the purge completes even if the caller is cancelled while it runs.
            purge = self._writer.run(lambda store: store.purge_login(login_id, at=self._clock(), by=by))
            try:
                purged = await asyncio.shield(purge)
            except CacheError as error:
                message = str(error) if local_only else (
                    f"Flinks deleted the card, but its data could not be removed from this computer: {error} "
                    "To finish, delete the connection again, from this computer only."
                )
                return DeleteResult(login_id, not local_only, None, message, error)
            if local_only:
                message = "The connection's data was removed from this computer. Flinks still holds the card."
            else:
                message = "The card was deleted at Flinks and its data removed from this computer."
            return DeleteResult(login_id, not local_only, purged, message)

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
                await self._writer.run(lambda store: store.set_status(
                    login_id, "needs_mfa", at=self._clock(), error_message=_NEEDS_MFA
                ))
                return report.finished(SyncResult(login_id, "needs_mfa", _NEEDS_MFA))
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
                retry_message = redact(rejected.server_message or rejected.user_message)
        return result

    async def _fetch_and_save(
        self, login_id: str, authorized: Authorized, institution: str | None, report: _Reporter
    ) -> SyncResult:
        """Fetch everything first, then write it at once: a failure or a cancellation while
        fetching leaves the cache as it was."""
        request_id = authorized.request_id
        report("accounts")
        accounts = await self._client.get_accounts_detail(
            request_id, days_of_transactions=self._days, progress=report.waiting
        )
        statements, statements_error = None, None
        if self._statements is not None:
            report("statements")
            try:
                statements = await self._client.get_statements(
                    request_id, number_of_statements=self._statements, progress=report.waiting
                )
            except FlinksError as error:
                statements_error = error
        report("saving")
        # The job takes the fetched data and the loop keeps no reference to it, so that its tens of
        # thousands of objects are freed on the writer thread when the job ends, not on the loop's.
        job = _SaveJob(login_id, institution, accounts, statements, self._clock())
        del accounts, statements
        saved = await self._writer.run(job)
        dropped = (*authorized.dropped, *saved.dropped)
        self.audit.record_dropped(login_id, dropped)
        message = _saved_message(saved.snapshot, saved.statements, statements_error, dropped)
        return report.finished(SyncResult(
            login_id, "ok", message, snapshot=saved.snapshot, statements=saved.statements,
            statements_error=statements_error, dropped=dropped,
        ))

    async def _failed(self, login_id: str, error: FlinksError | CacheError) -> SyncResult:
        """Record the failure as the login's status, and return it as the result."""
        message = error.user_message if isinstance(error, FlinksError) else str(error)
        code = error.flinks_code if isinstance(error, FlinksError) else None
        status = "deleted" if code == "INVALID_LOGIN" else "error"
        try:
            await self._writer.run(lambda store: store.set_status(
                login_id, status, at=self._clock(), error_code=code, error_message=message
            ))
        except CacheError as unrecorded:  # the cache may be what failed: the result still says why
            log.warning("the status of login %s was not recorded: %s", mask_id(login_id), unrecorded)
        return SyncResult(login_id, "error", message, error=error)

    async def _unexpected(self, login_id: str, error: Exception, doing: str) -> SyncResult:
        """A login of `refresh_all` or `add_many` failed with an exception nothing expected (a bug):
        logged whole, recorded as the login's "error" if it is cached, and returned as its result."""
        log.error("login %s could not be %s", mask_id(login_id), doing, exc_info=error)
        message = (f"Something unexpected went wrong ({type(error).__name__}), so this connection was not "
                   f"{doing}; the others were not affected. Try again, and report it if it happens again.")
        try:
            if await self._writer.run(lambda store: store.login(login_id)) is not None:
                await self._writer.run(lambda store: store.set_status(
                    login_id, "error", at=self._clock(), error_message=message
                ))
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
                f"The connection {mask_id(login_id)} is not in the cache. "
                "Connect the account again to add it."
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
    accounts: AccountsResult,
    statements: StatementsResult | None,
    at: datetime,
) -> _Saved:
    """Write a sync's data (on the writer thread): the snapshot, then the statements.

    The snapshot (login, accounts, transactions) is one transaction and raises `UnknownLogin`,
    writing nothing, if the login was purged meanwhile. The statements are a second one, as the
    store has none spanning both: each is whole. An amount the cache cannot keep exactly and a
    statement whose file is not Base64 are left out, each on its own (`Dropped`), with what the
    client left out; a PDF whose period cannot be read is saved with an unknown period.
    """
    accounts, unstorable = _storable(accounts)
    snapshot = store.save_snapshot(login_id, accounts, synced_at=at)
    if not institution and accounts.institution:  # Connect did not name it: Flinks just did
        store.upsert_login(login_id, accounts.institution, at=at)
    dropped = (*accounts.dropped, *unstorable)
    if statements is None:
        return _Saved(snapshot, None, dropped)
    statements, files = _decodable(statements)
    periods = _statement_periods(store, login_id, statements)
    saved = store.save_statements(login_id, statements, fetched_at=at, periods=periods)
    return _Saved(snapshot, saved, (*dropped, *statements.dropped, *files))


def _storable(accounts: AccountsResult) -> tuple[AccountsResult, list[Dropped]]:
    """`accounts` without the amounts the cache cannot keep exactly (a fraction of a cent, too large):
    each becomes None, and a `Dropped` names the field and its row's ids (indices would be those of
    the rows read, not Flinks'). The same object when every amount is fine."""
    dropped: list[Dropped] = []
    kept: list[Account] = []
    for account in accounts.accounts:
        balance = account.balance
        if not all(map(_fits, (account.overdraft_limit, balance.available, balance.current, balance.limit))):
            account = replace(
                account,
                overdraft_limit=_kept(account.overdraft_limit, "Account.OverdraftLimit", account.id, None, dropped),
                balance=Balance(*(
                    _kept(getattr(balance, name), f"Account.Balance.{key}", account.id, None, dropped)
                    for name, key in (("available", "Available"), ("current", "Current"), ("limit", "Limit"))
                )),
            )
        if not all(_fits(t.debit) and _fits(t.credit) and _fits(t.balance) for t in account.transactions):
            account = replace(account, transactions=tuple(
                _storable_transaction(transaction, account.id, dropped) for transaction in account.transactions
            ))
        kept.append(account)
    return (replace(accounts, accounts=tuple(kept)) if dropped else accounts), dropped


def _storable_transaction(transaction: Transaction, account_id: str, dropped: list[Dropped]) -> Transaction:
    return replace(transaction, **{
        name: _kept(getattr(transaction, name), f"Transaction.{key}", account_id, transaction.id, dropped)
        for name, key in (("debit", "Debit"), ("credit", "Credit"), ("balance", "Balance"))
    })


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
    amount: Decimal | None, where: str, account_id: str, item_id: str | None, dropped: list[Dropped]
) -> Decimal | None:
    if _fits(amount):
        return amount
    dropped.append(Dropped("field", where, "not a whole number of cents the cache can keep exactly",
                           item_id, account_id))
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
                dropped.append(Dropped("statement", f"StatementsByAccount[{index}].Statements[{number}].Base64Bytes",
                                       "not Base64", statement.unique_id))
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
    """`_save` as a writer job that owns the sync's data and lets go of it as it runs: the last
    reference then dies on the writer thread, and the data is freed there (freeing 50,000
    transactions holds the thread for about 10 ms, which the loop's thread, the GUI's, must not)."""

    def __init__(
        self,
        login_id: str,
        institution: str | None,
        accounts: AccountsResult,
        statements: StatementsResult | None,
        at: datetime,
    ) -> None:
        self._arguments: tuple | None = (login_id, institution, accounts, statements, at)

    def __call__(self, store: Store) -> _Saved:
        arguments, self._arguments = self._arguments, None
        if arguments is None:
            raise RuntimeError("a save job runs once")
        return _save(store, *arguments)


class _Writer:
    """The one thread that touches the cache for a `Sync`, with its own `Store` (module docstring)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flinks-cache-writer")
        #: Opened by the first job; used, and closed, on the writer thread only.
        self._store: Store | None = None
        self._closing = False

    async def run(self, job: Callable[[Store], T]) -> T:
        """Run `job` on the writer thread, after the jobs queued before it; the loop runs meanwhile."""
        if self._closing:
            raise RuntimeError("the cache writer is closed")
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._call, job)

    def submit(self, job: StoreJob) -> None:
        """Queue `job` without waiting (audit rows): a failure is logged; after `close`, dropped."""
        if self._closing:
            log.debug("the cache writer is closed: an audit record was dropped")
            return
        self._thread.submit(self._call, job).add_done_callback(_log_failure)

    async def close(self) -> None:
        self._closing = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close_store)
        self._thread.shutdown()  # nothing is queued after the close: the thread ends at once

    def _call(self, job: Callable[[Store], T]) -> T:
        if self._store is None:
            self._store = Store.open(self._path)
        return job(self._store)

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _log_failure(future: Future[object]) -> None:
    error = None if future.cancelled() else future.exception()
    if isinstance(error, CacheError):
        log.warning("an audit record was not written: %s", error)
    elif error is not None:
        log.error("an audit record was not written", exc_info=error)


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
            self._progress(SyncProgress(
                self._login_id, "waiting", endpoint=poll.endpoint, attempt=poll.attempt, elapsed=poll.elapsed
            ))

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
