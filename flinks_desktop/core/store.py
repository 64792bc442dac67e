"""The local cache: one SQLite file in the data directory holding what Flinks last sent, and the audit.

    with Store.open(data_dir / "cache.db") as store:
        store.upsert_login(login_id, "FlinksCapital", at=now)
        stats = store.save_snapshot(login_id, accounts_result, synced_at=now)
        rows = store.transactions(login_id, search="tim hortons", since=date(2025, 1, 1))

Read top to bottom: errors, the rows the reads return, the schema (as migrations), then `Store`:
opening, writes, reads, and the few private helpers they share.

Choices a reader should know about:

- **Keys.** Rows are keyed by Flinks ids within their login: accounts by (login_id, Id),
  transactions by (login_id, account Id, Id), statements by (login_id, UniqueId). A refresh
  upserts on those keys, so it never duplicates a row, and two logins can never overwrite each
  other's rows. Flinks does not promise a transaction Id unique across accounts (the first release
  keyed by (login_id, Id), and one Id in two accounts kept only one of them: migration
  `transactions_keyed_by_account`).
  Transactions also have `seq`, an INTEGER PRIMARY KEY, because FTS5 indexes rows by rowid and
  VACUUM may renumber the rowids of a table without one.
- **One transaction per snapshot.** `save_snapshot` writes the login, its accounts and its
  transactions in one `BEGIN IMMEDIATE ... COMMIT`: a crash mid-write leaves the previous snapshot
  as it was (SQLite ignores a WAL tail without a commit record).
- **Money** is INTEGER cents in STRICT tables, so SQL sums are exact integer sums and SQLite itself
  refuses a float. Converting refuses, loudly (`UnsupportedAmount`), any amount that is not a whole
  number of cents, rather than rounding it. Decimal text was the alternative: exact too, but SQL
  could not add it up.
- **Dates** are ISO text ("2025-01-31"); **timestamps** are UTC ISO text with microseconds
  ("2025-01-31T14:05:00.000000+00:00"), which sorts as it reads.
- **A snapshot is the truth for what it covers.** A returned account's cached transactions dated
  on or after the oldest transaction returned for it, which Flinks no longer returns, are deleted
  (a pending transaction replaced by its posted form, a reversal); older ones are kept, so a
  90-day refresh does not erase a year of history. An account that a snapshot no longer contains
  is kept with `missing_since` set rather than deleted: Flinks may have lost sight of it for a
  while, and its history is still what a support agent needs. It is cleared when the account
  comes back. `purge_login` is how a login's data leaves the cache. What Flinks sent but the
  client could not read (`AccountsResult.dropped`) is not "no longer returned": when an account
  was left out, no account is marked missing by that snapshot, and an account with a transaction
  left out has none of its cached transactions deleted by it.
- **Statements** are BLOBs in the database, not files beside it: one transaction stores or purges
  a statement with its row (no orphan file after a crash, no file left behind by a purge), the
  file's owner-only mode covers them, and VACUUM wipes them. Flinks sends no period with a
  statement: `period_start`/`period_end` stay NULL unless the caller knows them, `position` keeps
  Flinks' order within the account, and `fetched_at` says when it arrived. A statements fetch only
  adds and replaces: "MostRecent" after "Months12" must not delete eleven statements.
- **Search** is FTS5 over descriptions (sqlite-utils' `enable_fts(..., create_triggers=True)`, so
  the index follows every insert, update and delete). User text goes through `quote_fts`, so it is
  never query syntax, and each of its words matches as a prefix.
- **Audit.** API calls and Connect events keep masked ids only (`core.redact`), never a body or a
  secret. They survive `purge_login`: they hold no bank data, and "this card was deleted then"
  must stay on record (the purge itself is audited as an "app" event).
- **Purge** deletes every row of a login in one transaction, merges the full-text index so its
  words leave the index, then VACUUMs and truncates the WAL, so no byte of that login's bank data
  remains in the database file or in the WAL. Every connection sets `secure_delete`, so the pages
  a deletion frees are zeroed even before VACUUM runs. The purge's transaction also writes a
  "wipe pending" row (`pending_wipes`), removed only once VACUUM and the WAL truncation are done:
  a wipe that another connection blocks (a reader holding the WAL) or that a crash interrupts is
  finished by the next `Store.open(..., finish_wipes=True)` (the sync's writer, every command of
  the command line), which says so in the activity log ("WIPE_COMPLETED").
- **What is refused.** `open` never turns a file it did not create into a cache: a zero-length
  file (a cache cannot be one: SQLite writes its header with the schema), a file that is not
  SQLite, or a SQLite database of something else (tables, but not our migrations) are refused
  with a sentence (`CacheCorrupt`, `CacheForeign`) and left as they are. A new cache is built
  under a temporary name and linked into place whole, so the file at the cache's path is always
  a cache with its schema.
- **Threads.** A `Store` is one SQLite connection and belongs to the thread that opened it
  (sqlite3 enforces this): a background writer opens its own `Store` on the same file. In WAL mode
  readers never wait for the writer; a second writer waits up to `busy_timeout`, then gets
  `CacheLocked`.
- **Files.** The data directory is created owner-only (0700) and the database file is 0600;
  SQLite gives its -wal and -shm files the database file's mode.
- **Migrations** are sqlite-utils `Migrations`, from the first release on. A database that has a
  migration this version does not know was written by a newer version: `CacheTooNew`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Context, Decimal, Inexact, InvalidOperation
from pathlib import Path
from typing import Any, Literal, NamedTuple, Self, get_args

from sqlite_utils import Database, Migrations

from flinks_desktop.core.flinks.models import (
    Account,
    AccountsResult,
    Address,
    Balance,
    Holder,
    Login,
    StatementsResult,
    Transaction,
)
from flinks_desktop.core.redact import mask_id, redact

_log = logging.getLogger("flinks_desktop.store")

Status = Literal["ok", "needs_mfa", "error", "deleted"]
ActivityKind = Literal["api", "connect", "app"]

DEFAULT_BUSY_TIMEOUT = 5.0
DEFAULT_ACTIVITY_LIMIT = 500

_DIRECTORY_MODE = 0o700
_FILE_MODE = 0o600
_SQLITE_SIDE_FILES = ("-wal", "-shm")

#: Amounts are converted in a context that raises instead of rounding.
_EXACT = Context(traps=[Inexact, InvalidOperation])
_SQLITE_INTEGER_RANGE = range(-(2**63), 2**63)

#: A phrase of `Database.quote_fts`'s output.
_QUOTED_PHRASE = re.compile(r'"[^"]*"')


# -- errors ------------------------------------------------------------------------------------


class CacheError(Exception):
    """Anything that stops the cache from being read or written. `str()` is a sentence for the user."""


class CacheLocked(CacheError):
    """Another connection kept the cache busy for longer than the busy timeout."""


class CacheCorrupt(CacheError):
    """The file is not a SQLite database, or its integrity check fails."""


class CacheTooNew(CacheError):
    """The database has migrations this version does not know: a newer version wrote it."""


class CacheForeign(CacheError):
    """The file is a SQLite database, but not a Flinks Desktop cache: it holds other tables."""


class UnstorableText(CacheError):
    """Text that is not valid Unicode (a lone surrogate) reached the cache: SQLite keeps UTF-8 only."""


class UnknownLogin(CacheError):
    """A write named a login that is not in the cache (it was never added, or was purged since)."""


class UnsupportedAmount(CacheError):
    """Flinks sent an amount the cache cannot store exactly: a fraction of a cent, or too large."""


# -- what the reads return ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoginRow:
    id: str
    institution: str
    #: The environment the loginId belongs to (a loginId means nothing elsewhere); None if unknown.
    environment: str | None
    username: str | None
    #: "Personal" or "Business", when Flinks says.
    type: str | None
    is_scheduled_refresh: bool | None
    #: When Flinks last refreshed the login from the bank (Flinks' LastRefresh).
    last_refresh: datetime | None
    #: When a snapshot was last saved here; None until the first one.
    synced_at: datetime | None
    #: "ok" means no known problem: a new login is "ok" until something fails.
    status: Status
    status_at: datetime | None
    #: The FlinksCode of the last failure (None when status is "ok").
    error_code: str | None
    error_message: str | None
    added_at: datetime
    #: Connect's `tag` parameter, as its REDIRECT gave it (the integrator's own reference).
    tag: str | None = None


@dataclass(frozen=True)
class AccountRow:
    login_id: str
    id: str
    title: str | None
    account_number: str | None
    last_four_digits: str | None
    transit_number: str | None
    institution_number: str | None
    category: str | None
    type: str | None
    account_type: str | None
    currency: str | None
    overdraft_limit: Decimal | None
    balance: Balance
    holder: Holder | None
    eft_eligible_ratio: Decimal | None
    #: The synced_at of the latest snapshot that contained this account.
    seen_at: datetime
    #: The synced_at of the first snapshot that no longer contained it; None while Flinks returns it.
    missing_since: datetime | None


@dataclass(frozen=True)
class TransactionRow:
    login_id: str
    account_id: str
    id: str
    date: date
    description: str | None
    debit: Decimal | None
    credit: Decimal | None
    #: The account balance after this transaction.
    balance: Decimal | None
    code: str | None


@dataclass(frozen=True)
class StatementRow:
    """A cached statement without its bytes (`Store.statement_pdf` has them)."""

    login_id: str
    unique_id: str
    account_number: str | None
    file_type: str | None
    #: Its place in Flinks' list for its account, 0 first.
    position: int
    size: int
    fetched_at: datetime
    period_start: date | None
    period_end: date | None


@dataclass(frozen=True)
class ActivityRow:
    """One API call ("api"), Connect event ("connect") or local action ("app"). Ids are masked."""

    at: datetime
    kind: ActivityKind
    #: The endpoint of an API call (ids in it masked), a Connect step or FlinksCode, or an app event.
    name: str
    #: API calls only: the HTTP method, status (None if no response came) and duration.
    method: str | None
    status: int | None
    duration_ms: int | None
    flinks_code: str | None
    login: str | None
    request: str | None
    institution: str | None
    #: Connect and app events: the event itself, ids masked.
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class SnapshotStats:
    accounts: int
    #: Cached accounts of the login that the snapshot did not contain (kept, marked missing).
    accounts_missing: int
    new: int
    updated: int
    unchanged: int
    #: Cached transactions in the period the snapshot covers that Flinks no longer returns.
    removed: int


@dataclass(frozen=True)
class StatementStats:
    new: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class PurgeStats:
    #: Whether the login was in the cache at all.
    login: bool
    accounts: int
    transactions: int
    statements: int
    #: Whether the freed space was wiped (VACUUM, WAL truncated). False: another connection kept the
    #: file busy; the rows are gone and the wipe is pending, finished by the next writer's open.
    wiped: bool = True


class Totals(NamedTuple):
    """Sums of the transactions a filter selects, exact. Mixed currencies are added as they are."""

    debits: Decimal
    credits: Decimal


# -- schema ------------------------------------------------------------------------------------

MIGRATIONS = Migrations("flinks_desktop.cache")
#: Every migration's name, oldest first. Append only: a released migration never changes.
_MIGRATION_NAMES: list[str] = []


def _migration(step: Callable[[Database], None]) -> Callable[[Database], None]:
    """Register `step` as the next migration, under its function name."""
    _MIGRATION_NAMES.append(step.__name__)
    return MIGRATIONS(name=step.__name__)(step)


@_migration
def initial_schema(db: Database) -> None:
    db.executescript("""
        CREATE TABLE logins (
            id TEXT PRIMARY KEY,
            institution TEXT NOT NULL,
            environment TEXT,
            username TEXT,
            type TEXT,
            is_scheduled_refresh INTEGER,
            last_refresh TEXT,
            synced_at TEXT,
            status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'needs_mfa', 'error', 'deleted')),
            status_at TEXT,
            error_code TEXT,
            error_message TEXT,
            added_at TEXT NOT NULL
        ) STRICT;

        CREATE TABLE accounts (
            login_id TEXT NOT NULL REFERENCES logins (id),
            id TEXT NOT NULL,
            position INTEGER NOT NULL,
            title TEXT,
            account_number TEXT,
            last_four_digits TEXT,
            transit_number TEXT,
            institution_number TEXT,
            category TEXT,
            type TEXT,
            account_type TEXT,
            currency TEXT,
            overdraft_limit INTEGER,
            balance_available INTEGER,
            balance_current INTEGER,
            balance_limit INTEGER,
            eft_eligible_ratio TEXT,
            holder TEXT,
            seen_at TEXT NOT NULL,
            missing_since TEXT,
            PRIMARY KEY (login_id, id)
        ) STRICT;

        CREATE TABLE transactions (
            seq INTEGER PRIMARY KEY,
            login_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            id TEXT NOT NULL,
            date TEXT NOT NULL,
            description TEXT,
            debit INTEGER,
            credit INTEGER,
            balance INTEGER,
            code TEXT,
            UNIQUE (login_id, id),
            FOREIGN KEY (login_id, account_id) REFERENCES accounts (login_id, id)
        ) STRICT;
        CREATE INDEX transactions_by_account ON transactions (login_id, account_id, date);
        CREATE INDEX transactions_by_date ON transactions (login_id, date);

        CREATE TABLE statements (
            login_id TEXT NOT NULL REFERENCES logins (id),
            unique_id TEXT NOT NULL,
            account_number TEXT,
            file_type TEXT,
            position INTEGER NOT NULL,
            content BLOB NOT NULL,
            fetched_at TEXT NOT NULL,
            period_start TEXT,
            period_end TEXT,
            PRIMARY KEY (login_id, unique_id)
        ) STRICT;

        CREATE TABLE api_calls (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            method TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            status INTEGER,
            flinks_code TEXT,
            duration_ms INTEGER,
            login TEXT,
            request TEXT
        ) STRICT;
        CREATE INDEX api_calls_by_time ON api_calls (at);
        CREATE INDEX api_calls_by_login ON api_calls (login, at);

        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('connect', 'app')),
            name TEXT NOT NULL,
            flinks_code TEXT,
            institution TEXT,
            login TEXT,
            request TEXT,
            detail TEXT
        ) STRICT;
        CREATE INDEX events_by_time ON events (at);
        CREATE INDEX events_by_login ON events (login, at);
    """)
    db["transactions"].enable_fts(["description"], create_triggers=True)


@_migration
def login_tag(db: Database) -> None:
    """Connect's `tag` (the integrator's reference for the customer), shown and searched."""
    db.execute("ALTER TABLE logins ADD COLUMN tag TEXT")


@_migration
def pending_wipes(db: Database) -> None:
    """A purge's durable "wipe pending" mark (module docstring): no bank data, a masked loginId."""
    db.execute("""
        CREATE TABLE pending_wipes (
            id INTEGER PRIMARY KEY,
            since TEXT NOT NULL,
            login TEXT
        ) STRICT
    """)


@_migration
def transactions_keyed_by_account(db: Database) -> None:
    """Transactions unique by (login_id, account_id, id), not (login_id, id): one Id in two accounts
    keeps both. SQLite cannot change a UNIQUE constraint in place: the table is rebuilt with its
    rows (and their `seq`, the full-text index's rowid), then the index and its triggers are made
    again, so search finds the same rows."""
    db["transactions"].disable_fts()
    db.executescript("""
        CREATE TABLE transactions_rebuilt (
            seq INTEGER PRIMARY KEY,
            login_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            id TEXT NOT NULL,
            date TEXT NOT NULL,
            description TEXT,
            debit INTEGER,
            credit INTEGER,
            balance INTEGER,
            code TEXT,
            UNIQUE (login_id, account_id, id),
            FOREIGN KEY (login_id, account_id) REFERENCES accounts (login_id, id)
        ) STRICT;
        INSERT INTO transactions_rebuilt
            SELECT seq, login_id, account_id, id, date, description, debit, credit, balance, code
            FROM transactions;
        DROP TABLE transactions;
        ALTER TABLE transactions_rebuilt RENAME TO transactions;
        CREATE INDEX transactions_by_account ON transactions (login_id, account_id, date);
        CREATE INDEX transactions_by_date ON transactions (login_id, date);
    """)
    db["transactions"].enable_fts(["description"], create_triggers=True)


# -- the store -----------------------------------------------------------------------------------


class Store:
    """The cache in one SQLite file. Open with `Store.open`; one instance per thread."""

    def __init__(self, db: Database, path: Path) -> None:
        """Use `Store.open`, which prepares the file and the connection this expects."""
        self._db = db
        self._conn = db.conn
        self.path = path

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        finish_wipes: bool = False,
    ) -> Self:
        """Open the cache at `path`, creating it (and its directory) if needed, and migrate it.

        `busy_timeout` is how many seconds a write waits for another writer before `CacheLocked`.
        Raises `CacheCorrupt` if the file is empty or not a healthy SQLite database (`PRAGMA
        quick_check`), `CacheForeign` if it is another program's database, `CacheTooNew` if a newer
        version wrote it, `CacheError` if it cannot be created or opened; the file is left as it is.
        `finish_wipes` (a writer's open, never the GUI thread's: VACUUM takes a while) finishes a
        purge's pending wipe (`finish_pending_wipes`); one still blocked stays pending, silently.
        """
        path = Path(path)
        with _translated_errors(path):
            _prepare_directory(path)
            if not path.exists():
                _create_cache(path, busy_timeout)
            _tighten(path)
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        store = cls(Database(conn, execute_plugins=False), path)
        try:
            store._prepare()
        except BaseException:
            conn.close()
            raise
        if finish_wipes:
            try:
                store.finish_pending_wipes(at=datetime.now(UTC))
            except CacheError as error:  # the cache is usable; the wipe is tried again next time
                _log.warning("a pending wipe of %s could not be finished: %s", path, error)
        return store

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _prepare(self) -> None:
        if self.path.stat().st_size == 0:  # not a cache: ours are created with their schema
            raise CacheCorrupt(_EMPTY.format(path=self.path))
        with self._errors():
            # Explicit, whatever SQLite was compiled with: freed pages are zeroed at once, so
            # deleted bank data does not wait for VACUUM to leave the file.
            self._conn.execute("PRAGMA secure_delete = ON")
            self._conn.execute("PRAGMA foreign_keys = ON")
            problems = [row[0] for row in self._conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise CacheCorrupt(_CORRUPT.format(path=self.path))
        with self._errors():
            applied = {migration.name for migration in MIGRATIONS.applied(self._db)}
            tables = self._db.table_names()
        if not applied and tables:  # somebody else's database: never migrated into a cache
            raise CacheForeign(_FOREIGN.format(path=self.path))
        with self._errors():
            self._conn.execute("PRAGMA journal_mode = WAL")
        if not applied <= set(_MIGRATION_NAMES):
            raise CacheTooNew(_TOO_NEW.format(path=self.path))
        if len(applied) < len(_MIGRATION_NAMES):
            with self._transaction():  # IMMEDIATE: two first starts cannot both create the schema
                MIGRATIONS.apply(self._db)

    # -- writes ----------------------------------------------------------------------------------

    def upsert_login(
        self,
        login_id: str,
        institution: str,
        *,
        at: datetime,
        details: Login | None = None,
        environment: str | None = None,
        tag: str | None = None,
    ) -> None:
        """Add a login (`at` is when) or update one, leaving its status and data as they are.

        Connect's REDIRECT gives only the loginId, the institution and its `tag`; `details`, from
        /Authorize, replace the cached ones when given. A None `environment` or `tag` keeps the
        cached one.
        """
        if details is not None and not _same_id(details.id, login_id):
            raise ValueError(f"the details are of login {mask_id(details.id)}, not {mask_id(login_id)}")
        fields: dict[str, Any] = {"institution": institution}
        if environment is not None:
            fields["environment"] = environment
        if tag:
            fields["tag"] = tag
        if details is not None:
            fields.update(_login_details(details))
        with self._transaction():
            logins = self._db["logins"]
            added = {"id": login_id, "institution": institution, "added_at": _timestamp(at)}
            logins.insert(added, ignore=True)  # a login already cached keeps its added_at
            logins.update(login_id, fields)

    def save_snapshot(self, login_id: str, result: AccountsResult, *, synced_at: datetime) -> SnapshotStats:
        """Store what GetAccountsDetail (or GetAccountsSummary) returned, in one transaction.

        The login must be in the cache (`upsert_login`): a snapshot that arrives after its login
        was purged raises `UnknownLogin` instead of bringing the login back. The login's details are
        updated from `result.login`, `synced_at` recorded, and its status set to "ok". Accounts and
        transactions are upserted by Flinks id; see the module docstring for what happens to those
        the snapshot no longer contains (and for rows the client could not read: nothing is deleted
        or marked missing on their account). Raises `UnsupportedAmount` before writing anything if
        an amount is not a whole number of cents (`storable_amount` tells beforehand).
        """
        if result.login is not None and not _same_id(result.login.id, login_id):
            raise ValueError(f"the snapshot is of login {mask_id(result.login.id)}, not {mask_id(login_id)}")
        seen_at = _timestamp(synced_at)
        accounts = [_account_record(login_id, position, account, seen_at)
                    for position, account in enumerate(result.accounts)]
        # Oldest first, so that `seq` follows time within a day too (Flinks lists newest first).
        incoming = {
            (account.id, transaction.id): _transaction_record(login_id, account.id, transaction)
            for account in result.accounts
            for transaction in reversed(account.transactions)
        }
        login = {"synced_at": seen_at, **_status_fields("ok", seen_at)}
        if result.login is not None:
            login.update(_login_details(result.login))
        with self._transaction():
            self._require_login(login_id)
            self._db["logins"].update(login_id, login)
            self._db["accounts"].upsert_all(accounts, pk=("login_id", "id"))
            missing = 0 if not result.all_accounts_read else self._conn.execute(
                "UPDATE accounts SET missing_since = coalesce(missing_since, ?) "
                f"WHERE login_id = ? AND id NOT IN ({', '.join('?' * len(accounts))})",
                [seen_at, login_id, *(record["id"] for record in accounts)],
            ).rowcount
            cached = {(row["account_id"], row["id"]): row for row in self._db.query(
                f"SELECT {', '.join(_TRANSACTION_COLUMNS)} FROM transactions WHERE login_id = ?", [login_id]
            )}
            changed = [record for key, record in incoming.items() if cached.get(key) != record]
            self._db["transactions"].upsert_all(changed, pk=("login_id", "account_id", "id"))
            stale = _stale_transactions(result, cached, incoming)
            self._conn.executemany(
                "DELETE FROM transactions WHERE login_id = ? AND account_id = ? AND id = ?",
                [(login_id, account_id, id_) for account_id, id_ in stale],
            )
        new = sum(1 for key in incoming if key not in cached)
        return SnapshotStats(
            accounts=len(accounts),
            accounts_missing=missing,
            new=new,
            updated=len(changed) - new,
            unchanged=len(incoming) - len(changed),
            removed=len(stale),
        )

    def save_statements(
        self,
        login_id: str,
        result: StatementsResult,
        *,
        fetched_at: datetime,
        periods: Mapping[str, tuple[date, date]] | None = None,
    ) -> StatementStats:
        """Store the statements GetStatements returned, in one transaction, keyed by UniqueId.

        `periods` maps a UniqueId to its (first, last) day when the caller knows it; a known period
        is never erased by a later fetch that does not know it. Statements are only added or
        replaced, never removed. Every file is decoded before anything is written: one that is not
        Base64 raises `ProtocolError` and nothing is stored. Raises `UnknownLogin` as `save_snapshot`.
        """
        fetched = _timestamp(fetched_at)
        incoming = {
            statement.unique_id: {
                "login_id": login_id,
                "unique_id": statement.unique_id,
                "account_number": group.account_number,
                "file_type": statement.file_type,
                "position": position,
                "content": statement.content,
                "fetched_at": fetched,
            }
            for group in result.accounts
            for position, statement in enumerate(group.statements)
        }
        known_periods = {
            unique_id: {"period_start": first.isoformat(), "period_end": last.isoformat()}
            for unique_id, (first, last) in (periods or {}).items()
            if unique_id in incoming
        }
        with self._transaction():
            self._require_login(login_id)
            cached = {row["unique_id"]: (row["account_number"], row["content"]) for row in self._db.query(
                "SELECT unique_id, account_number, content FROM statements WHERE login_id = ?", [login_id]
            )}
            self._db["statements"].upsert_all(incoming.values(), pk=("login_id", "unique_id"))
            for unique_id, period in known_periods.items():
                self._db["statements"].update((login_id, unique_id), period)
        new = sum(1 for unique_id in incoming if unique_id not in cached)
        unchanged = sum(
            1 for unique_id, record in incoming.items()
            if cached.get(unique_id) == (record["account_number"], record["content"])
        )
        return StatementStats(new=new, updated=len(incoming) - new - unchanged, unchanged=unchanged)

    def set_status(
        self,
        login_id: str,
        status: Status,
        *,
        at: datetime,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """Record how the login is: "ok", "needs_mfa" (a live refresh waits for answers), "error"
        (with the FlinksCode and message), or "deleted" (Flinks no longer knows it; the cached data
        stays until `purge_login`). Raises `UnknownLogin` for a login that is not cached."""
        if status not in get_args(Status):
            raise ValueError(f"unknown status {status!r}")
        fields = _status_fields(status, _timestamp(at), error_code=error_code, error_message=error_message)
        with self._transaction():
            self._require_login(login_id)
            self._db["logins"].update(login_id, fields)

    def record_api_call(
        self,
        *,
        at: datetime,
        method: str,
        endpoint: str,
        status: int | None,
        flinks_code: str | None,
        duration_ms: int,
        login_id: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Audit one HTTP call to Flinks. `endpoint` may contain ids ("DeleteCard/{loginId}"):
        they are masked, as are `login_id` and `request_id`. `status` is None when no response came."""
        with self._transaction():
            self._db["api_calls"].insert({
                "at": _timestamp(at),
                "method": method,
                "endpoint": redact(endpoint),
                "status": status,
                "flinks_code": flinks_code,
                "duration_ms": duration_ms,
                "login": _masked(login_id),
                "request": _masked(request_id),
            })

    def record_connect_event(
        self, event: Mapping[str, Any], *, at: datetime, login_id: str | None = None
    ) -> None:
        """Audit one Flinks Connect event, as `core.connect_events.parse_connect_event` returns it.

        Its step (or, for an error event, its flinksCode) names it; the whole event is kept as
        detail with every GUID in it masked. `login_id` is the login it concerns, if known.
        """
        flinks_code = _text(event, "flinksCode")
        name = _text(event, "step") or flinks_code
        if name is None:
            raise ValueError("a Connect event has a step or a flinksCode")
        with self._transaction():
            self._record_event(
                at=at,
                source="connect",
                name=name,
                flinks_code=flinks_code,
                institution=_text(event, "institution"),
                login_id=login_id,
                request_id=_text(event, "requestId"),
                detail=dict(event),
            )

    def record_app_event(
        self, name: str, *, at: datetime, login_id: str | None = None, detail: Mapping[str, Any] | None = None
    ) -> None:
        """Audit something the app did or found ("DATA_DROPPED"), under `login_id` when it concerns
        one. `detail` is kept as JSON with every GUID in it masked: never put bank data in it."""
        with self._transaction():
            self._record_event(at=at, source="app", name=name, login_id=login_id, detail=dict(detail or {}))

    def purge_login(self, login_id: str, *, at: datetime, by: str | None = None) -> PurgeStats:
        """Delete every row of a login, then make sure none of its bank data remains on disk.

        One transaction deletes its transactions (and their full-text entries), statements,
        accounts and login row, and records a "LOGIN_PURGED" app event (`at`, the masked id, the
        counts, and `by`, who asked, if given); the audit of its API calls and Connect events stays.
        Then VACUUM rewrites the file without the freed pages and the WAL is truncated.

        The same transaction writes a "wipe pending" mark, removed once the wipe is done. When
        another connection keeps the file busy, the rows are gone, the mark stays and `wiped` is
        False: the next `finish_pending_wipes` (the next writer's `open`) finishes it. Raises
        `CacheLocked` (nothing deleted) when another writer keeps the file busy past the timeout.
        """
        with self._transaction():
            existed = self.login(login_id) is not None
            self._db["pending_wipes"].insert({"since": _timestamp(at), "login": mask_id(login_id)})
            deleted = {
                table: self._conn.execute(f"DELETE FROM {table} WHERE login_id = ?", [login_id]).rowcount
                for table in ("transactions", "statements", "accounts")
            }
            self._conn.execute("DELETE FROM logins WHERE id = ?", [login_id])
            # FTS5 records deletions as new index segments; merging them drops the deleted words.
            self._conn.execute("INSERT INTO transactions_fts (transactions_fts) VALUES ('optimize')")
            if existed:
                self._record_event(
                    at=at, source="app", name="LOGIN_PURGED", login_id=login_id, detail={**deleted, "by": by}
                )
        wiped = self.finish_pending_wipes(at=at, recorded=False) is not False
        return PurgeStats(
            login=existed,
            accounts=deleted["accounts"],
            transactions=deleted["transactions"],
            statements=deleted["statements"],
            wiped=wiped,
        )

    def pending_wipes(self) -> int:
        """How many purges wait for their wipe (another connection kept the file busy, or a crash)."""
        return self._query("SELECT count(*) AS n FROM pending_wipes")[0]["n"]

    def finish_pending_wipes(self, *, at: datetime, recorded: bool = True) -> bool | None:
        """Wipe the free space purges left (VACUUM, then the WAL truncated) and clear their marks.

        None when no wipe is pending; True when it is done now, with a "WIPE_COMPLETED" line in
        the activity log (unless not `recorded`: the purge that asked says so itself); False when
        another connection still keeps the file busy: the marks stay for the next try.
        """
        marks = self._query("SELECT since, login FROM pending_wipes ORDER BY id")
        if not marks:
            return None
        if not self._wipe_free_space():
            return False
        with self._transaction():
            self._conn.execute("DELETE FROM pending_wipes")
            if recorded:
                self._record_event(
                    at=at, source="app", name="WIPE_COMPLETED", login_id=None,
                    detail={"since": marks[0]["since"], "logins": [mark["login"] for mark in marks]},
                )
        with self._errors():  # the few pages the mark's removal wrote: nothing of the deleted data
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return True

    # -- reads -----------------------------------------------------------------------------------

    def data_version(self) -> int:
        """A number that changes when another connection commits to the file (another process, or
        this process's writer thread): polling it tells a reader cheaply when to read again."""
        with self._errors():
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def logins(self) -> list[LoginRow]:
        """Every cached login, in the order they were added."""
        return [_login_row(row) for row in self._query("SELECT * FROM logins ORDER BY added_at, id")]

    def login(self, login_id: str) -> LoginRow | None:
        rows = self._query("SELECT * FROM logins WHERE id = ?", [login_id])
        return _login_row(rows[0]) if rows else None

    def accounts(self, login_id: str) -> list[AccountRow]:
        """The login's accounts in Flinks' order, those missing from the last snapshot last."""
        rows = self._query(
            "SELECT * FROM accounts WHERE login_id = ? ORDER BY missing_since IS NOT NULL, position",
            [login_id],
        )
        return [_account_row(row) for row in rows]

    def transactions(
        self,
        login_id: str,
        *,
        account_id: str | None = None,
        search: str | None = None,
        since: date | None = None,
        until: date | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[TransactionRow]:
        """The login's transactions, newest first, filtered.

        `since` and `until` are inclusive. `search` finds descriptions containing every word of it
        as a word or the start of one, ignoring case and accents ("tim hort" finds "TIM HORTONS
        #2417"); it is never parsed as a query, so any text is safe, and text without a letter or
        digit does not filter at all.
        """
        where, params = self._transaction_filter(login_id, account_id, search, since, until)
        rows = self._query(
            f"SELECT {', '.join(_TRANSACTION_COLUMNS)} FROM transactions WHERE {where} "
            "ORDER BY date DESC, seq DESC LIMIT ? OFFSET ?",
            [*params, -1 if limit is None else limit, offset],  # LIMIT -1: no limit
        )
        return [_transaction_row(row) for row in rows]

    def count_transactions(
        self,
        login_id: str,
        *,
        account_id: str | None = None,
        search: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> int:
        """How many transactions `transactions` would return with the same filters and no limit."""
        where, params = self._transaction_filter(login_id, account_id, search, since, until)
        return self._query(f"SELECT count(*) AS n FROM transactions WHERE {where}", params)[0]["n"]

    def totals(
        self,
        login_id: str,
        *,
        account_id: str | None = None,
        search: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> Totals:
        """The exact sums of the debits and credits of the transactions the filters select."""
        where, params = self._transaction_filter(login_id, account_id, search, since, until)
        row = self._query(
            f"SELECT coalesce(sum(debit), 0) AS debits, coalesce(sum(credit), 0) AS credits "
            f"FROM transactions WHERE {where}",
            params,
        )[0]
        return Totals(_decimal(row["debits"]), _decimal(row["credits"]))

    def statements(self, login_id: str) -> list[StatementRow]:
        """The login's statements by account number, each account's in Flinks' order."""
        rows = self._query(
            "SELECT login_id, unique_id, account_number, file_type, position, length(content) AS size, "
            "fetched_at, period_start, period_end FROM statements WHERE login_id = ? "
            "ORDER BY account_number, position",
            [login_id],
        )
        return [
            StatementRow(
                **{**row, "fetched_at": _moment(row["fetched_at"]),
                   "period_start": _day(row["period_start"]), "period_end": _day(row["period_end"])}
            )
            for row in rows
        ]

    def statement_pdf(self, login_id: str, unique_id: str) -> bytes | None:
        """The file of a cached statement; None if it is not (or no longer) cached."""
        rows = self._query(
            "SELECT content FROM statements WHERE login_id = ? AND unique_id = ?", [login_id, unique_id]
        )
        return rows[0]["content"] if rows else None

    def activity(
        self, login_id: str | None = None, *, limit: int = DEFAULT_ACTIVITY_LIMIT
    ) -> list[ActivityRow]:
        """API calls and events, newest first; only those naming `login_id` if given.

        Only masked ids are stored, so a login's activity is found by its mask: another login with
        the same first and last 4 characters would show up too (about 1 chance in 4 billion).
        """
        where, params = ("WHERE login = ?", [mask_id(login_id)]) if login_id is not None else ("", [])
        rows = self._query(
            f"""
            SELECT at, 'api' AS kind, endpoint AS name, method, status, duration_ms, flinks_code,
                   login, request, NULL AS institution, NULL AS detail
            FROM api_calls {where}
            UNION ALL
            SELECT at, source, name, NULL, NULL, NULL, flinks_code, login, request, institution, detail
            FROM events {where}
            ORDER BY at DESC
            LIMIT ?
            """,
            [*params, *params, limit],
        )
        return [
            ActivityRow(**{**row, "at": _moment(row["at"]),
                           "detail": json.loads(row["detail"]) if row["detail"] is not None else None})
            for row in rows
        ]

    # -- shared by the writes and reads ------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction. IMMEDIATE takes the write lock first, so a busy cache fails
        (after `busy_timeout`) before any work is done, never halfway."""
        with self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _errors(self) -> AbstractContextManager[None]:
        return _translated_errors(self.path)

    def _query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with self._errors():
            return list(self._db.query(sql, params or []))

    def _require_login(self, login_id: str) -> None:
        if self._conn.execute("SELECT 1 FROM logins WHERE id = ?", [login_id]).fetchone() is None:
            raise UnknownLogin(_UNKNOWN_LOGIN.format(login=mask_id(login_id)))

    def _record_event(
        self,
        *,
        at: datetime,
        source: Literal["connect", "app"],
        name: str,
        login_id: str | None,
        detail: dict[str, Any],
        flinks_code: str | None = None,
        institution: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self._db["events"].insert({
            "at": _timestamp(at),
            "source": source,
            "name": name,
            "flinks_code": flinks_code,
            "institution": institution,
            "login": _masked(login_id),
            "request": _masked(request_id),
            "detail": redact(json.dumps(detail, ensure_ascii=False, sort_keys=True)),
        })

    def _transaction_filter(
        self,
        login_id: str,
        account_id: str | None,
        search: str | None,
        since: date | None,
        until: date | None,
    ) -> tuple[str, list[Any]]:
        """The WHERE clause (and its parameters) shared by the transaction reads."""
        clauses, params = ["login_id = ?"], [login_id]
        if account_id is not None:
            clauses.append("account_id = ?")
            params.append(account_id)
        if since is not None:
            clauses.append("date >= ?")
            params.append(since.isoformat())
        if until is not None:
            clauses.append("date <= ?")
            params.append(until.isoformat())
        match = self._fts_query(search) if search is not None else None
        if match is not None:
            clauses.append("seq IN (SELECT rowid FROM transactions_fts WHERE transactions_fts MATCH ?)")
            params.append(match)
        return " AND ".join(clauses), params

    def _fts_query(self, text: str) -> str | None:
        """`text` as an FTS5 query matching every word of it as a prefix; None if it has no words.

        `quote_fts` makes each word a quoted phrase, so FTS5 syntax (quotes, NEAR, AND, *, ^,
        column:) in the text is only text; a NUL would end the string early, so it goes.
        """
        phrases = _QUOTED_PHRASE.findall(self._db.quote_fts(text.replace("\x00", " ")))
        words = [phrase for phrase in phrases if any(character.isalnum() for character in phrase)]
        return " ".join(f"{phrase}*" for phrase in words) if words else None

    def _wipe_free_space(self) -> bool:
        """VACUUM (rewrite the file without free pages), then copy the WAL into the file and
        truncate it to zero bytes: deleted rows then exist nowhere on disk. False when another
        connection kept the file busy (a reader holding the WAL), so it could not be done."""
        try:
            with self._errors():
                self._conn.execute("VACUUM")
                busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except CacheLocked:
            return False
        return not busy


# -- errors: SQLite's, in words ------------------------------------------------------------------------

_LOCKED = (
    "The cache {path} is busy: another Flinks Desktop window or sync is writing to it. "
    "Wait a moment and try again; if it stays busy, close the other Flinks Desktop windows."
)
_CORRUPT = (
    "The cache {path} is damaged and cannot be read. Quit Flinks Desktop, move that file elsewhere "
    "(it only holds copies of what Flinks keeps), then start again and refresh your connections."
)
_TOO_NEW = (
    "The cache {path} was written by a newer version of Flinks Desktop. "
    "Use that version, or start this one with another data directory."
)
_DISK_FULL = "The cache {path} could not be written because the disk is full. Free some space and try again."
_UNREACHABLE = (
    "The cache {path} could not be opened or written ({reason}). "
    "Check that the data directory exists, belongs to you and is writable, then try again."
)
#: What a person reads when a purge's wipe waits (`PurgeStats.wiped` False): something they can do.
NOT_WIPED = (
    "Its rows are deleted, but another Flinks Desktop window or command is still reading the cache, "
    "so the deleted data could not be wiped from the file yet. That finishes by itself the next "
    "time Flinks Desktop or a flinks-desktop command opens this cache; closing the other windows "
    "lets it finish now."
)
_EMPTY = (
    "The file {path} is empty, so it is not a Flinks Desktop cache (one is never empty), and it was "
    "left as it is. Move it elsewhere or delete it, then start again: a new cache is made, and "
    "refreshing your connections fills it."
)
_FOREIGN = (
    "The file {path} is a database of another program, not a Flinks Desktop cache, so it was left "
    "as it is. Move it elsewhere, or start Flinks Desktop with another data directory."
)
_UNSTORABLE_TEXT = (
    "Text that is not valid Unicode could not be saved in the cache {path}, so nothing of it was "
    "written. Report this problem to support."
)
_UNKNOWN_LOGIN = (
    "The connection {login} is no longer in the cache: it may have been deleted meanwhile. "
    "Add it again if you still need it."
)

_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26


@contextmanager
def _translated_errors(path: Path) -> Iterator[None]:
    """Turn the SQLite errors a user can meet, and `OSError`s of the files, into `CacheError`s.

    Any other SQLite error (a constraint a bug violated, bad SQL) passes unchanged.
    """
    try:
        yield
    except sqlite3.Error as exc:
        error = _cache_error(exc, path)
        if error is None:
            raise
        raise error from exc
    except UnicodeEncodeError as exc:  # sqlite3 binds str as UTF-8: a lone surrogate cannot be
        raise UnstorableText(_UNSTORABLE_TEXT.format(path=path)) from exc
    except OSError as exc:
        raise CacheError(_UNREACHABLE.format(path=path, reason=exc.strerror or exc)) from exc


def _cache_error(exc: sqlite3.Error, path: Path) -> CacheError | None:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return CacheLocked(_LOCKED.format(path=path))
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return CacheCorrupt(_CORRUPT.format(path=path))
    if code == _SQLITE_FULL:
        return CacheError(_DISK_FULL.format(path=path))
    if code in (_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN):
        return CacheError(_UNREACHABLE.format(path=path, reason=exc))
    return None


# -- files ---------------------------------------------------------------------------------------


def _prepare_directory(path: Path) -> None:
    """Create the database's directory (0700) if missing."""
    directory = path.parent
    if not directory.exists():
        directory.mkdir(parents=True, mode=_DIRECTORY_MODE)
        directory.chmod(_DIRECTORY_MODE)  # mkdir's mode is filtered by the umask


def _tighten(path: Path) -> None:
    """Tighten the database file and its WAL and shared-memory files to 0600."""
    for file in (path, *(path.with_name(path.name + suffix) for suffix in _SQLITE_SIDE_FILES)):
        if file.exists():
            file.chmod(_FILE_MODE)


def _create_cache(path: Path, busy_timeout: float) -> None:
    """A new cache at `path`: built whole (WAL mode, every migration) under a temporary name beside
    it, owner-only from the start, then linked into place. A crash leaves no half-made file at the
    cache's path, and a cache another process linked there meanwhile is kept, not replaced."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)  # 0600
    os.close(handle)
    building = Path(name)
    try:
        conn = sqlite3.connect(building, timeout=busy_timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            MIGRATIONS.apply(Database(conn, execute_plugins=False))
            conn.execute("COMMIT")
        finally:
            conn.close()  # the last connection: its WAL is written into the file and removed
        try:
            os.link(building, path)
        except FileExistsError:
            pass  # another process made the cache first: use that one
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(building, path)
    finally:
        for file in (building, *(building.with_name(building.name + suffix) for suffix in _SQLITE_SIDE_FILES)):
            file.unlink(missing_ok=True)


# -- rows <-> records ------------------------------------------------------------------------------

#: The columns compared to tell an unchanged transaction from an updated one (and read back).
_TRANSACTION_COLUMNS = (
    "login_id", "account_id", "id", "date", "description", "debit", "credit", "balance", "code",
)


def _account_record(login_id: str, position: int, account: Account, seen_at: str) -> dict[str, Any]:
    def cents(amount: Decimal | None, field: str) -> int | None:
        return _cents(amount, f"{field} of account {mask_id(account.id)}")

    ratio = account.eft_eligible_ratio
    return {
        "login_id": login_id,
        "id": account.id,
        "position": position,
        "title": account.title,
        "account_number": account.account_number,
        "last_four_digits": account.last_four_digits,
        "transit_number": account.transit_number,
        "institution_number": account.institution_number,
        "category": account.category,
        "type": account.type,
        "account_type": account.account_type,
        "currency": account.currency,
        "overdraft_limit": cents(account.overdraft_limit, "OverdraftLimit"),
        "balance_available": cents(account.balance.available, "Balance.Available"),
        "balance_current": cents(account.balance.current, "Balance.Current"),
        "balance_limit": cents(account.balance.limit, "Balance.Limit"),
        "eft_eligible_ratio": str(ratio) if ratio is not None else None,  # a ratio, not money: exact text
        "holder": json.dumps(asdict(account.holder), ensure_ascii=False) if account.holder else None,
        "seen_at": seen_at,
        "missing_since": None,
    }


def _transaction_record(login_id: str, account_id: str, transaction: Transaction) -> dict[str, Any]:
    def cents(amount: Decimal | None, field: str) -> int | None:
        return _cents(amount, f"{field} of transaction {mask_id(transaction.id)}")

    return {
        "login_id": login_id,
        "account_id": account_id,
        "id": transaction.id,
        "date": transaction.date.isoformat(),
        "description": transaction.description,
        "debit": cents(transaction.debit, "Debit"),
        "credit": cents(transaction.credit, "Credit"),
        "balance": cents(transaction.balance, "Balance"),
        "code": transaction.code,
    }


def _stale_transactions(
    result: AccountsResult,
    cached: Mapping[tuple[str, str], Mapping[str, Any]],
    incoming: Mapping[tuple[str, str], Any],
) -> list[tuple[str, str]]:
    """(account Id, Id) of cached transactions that Flinks no longer returns within the period it
    returned. None of an account with a transaction the client could not read: it may be one of those."""
    oldest = {
        account.id: min(transaction.date for transaction in account.transactions).isoformat()
        for account in result.accounts
        if account.transactions and not account.unread_transactions
    }
    return [
        key for key, row in cached.items()
        if key not in incoming and row["account_id"] in oldest and row["date"] >= oldest[row["account_id"]]
    ]


def _login_details(login: Login) -> dict[str, Any]:
    """What /Authorize and the data endpoints say about a login, as `logins` columns."""
    return {
        "username": login.username,
        "type": login.type,
        "is_scheduled_refresh": int(login.is_scheduled_refresh),
        "last_refresh": _timestamp(login.last_refresh) if login.last_refresh is not None else None,
    }


def _status_fields(
    status: Status, at: str, *, error_code: str | None = None, error_message: str | None = None
) -> dict[str, Any]:
    return {"status": status, "status_at": at, "error_code": error_code, "error_message": error_message}


def _login_row(row: Mapping[str, Any]) -> LoginRow:
    scheduled = row["is_scheduled_refresh"]
    return LoginRow(**{
        **row,
        "is_scheduled_refresh": bool(scheduled) if scheduled is not None else None,
        "last_refresh": _moment(row["last_refresh"]),
        "synced_at": _moment(row["synced_at"]),
        "status_at": _moment(row["status_at"]),
        "added_at": _moment(row["added_at"]),
    })


def _account_row(row: Mapping[str, Any]) -> AccountRow:
    holder = json.loads(row["holder"]) if row["holder"] is not None else None
    ratio = row["eft_eligible_ratio"]
    if holder is not None:
        address = holder.pop("address")
        holder = Holder(**holder, address=Address(**address) if address is not None else None)
    return AccountRow(
        login_id=row["login_id"],
        id=row["id"],
        title=row["title"],
        account_number=row["account_number"],
        last_four_digits=row["last_four_digits"],
        transit_number=row["transit_number"],
        institution_number=row["institution_number"],
        category=row["category"],
        type=row["type"],
        account_type=row["account_type"],
        currency=row["currency"],
        overdraft_limit=_decimal(row["overdraft_limit"]),
        balance=Balance(
            available=_decimal(row["balance_available"]),
            current=_decimal(row["balance_current"]),
            limit=_decimal(row["balance_limit"]),
        ),
        holder=holder,
        eft_eligible_ratio=Decimal(ratio) if ratio is not None else None,
        seen_at=_moment(row["seen_at"]),
        missing_since=_moment(row["missing_since"]),
    )


def _transaction_row(row: Mapping[str, Any]) -> TransactionRow:
    return TransactionRow(**{
        **row,
        "date": date.fromisoformat(row["date"]),
        "debit": _decimal(row["debit"]),
        "credit": _decimal(row["credit"]),
        "balance": _decimal(row["balance"]),
    })


# -- values --------------------------------------------------------------------------------------


def storable_amount(amount: Decimal) -> bool:
    """Whether the cache can keep `amount` exactly: a whole number of cents, within SQLite's range."""
    try:
        _cents(amount, "amount")
    except UnsupportedAmount:
        return False
    return True


def _cents(amount: Decimal | None, where: str) -> int | None:
    """`amount` as a whole number of cents; raises `UnsupportedAmount` rather than round it."""
    if amount is None:
        return None
    try:
        cents = int(_EXACT.to_integral_exact(_EXACT.multiply(amount, 100)))
    except (ArithmeticError, ValueError):  # a fraction of a cent, more digits than kept, NaN, infinity
        cents = None
    if cents is None or cents not in _SQLITE_INTEGER_RANGE:
        raise UnsupportedAmount(
            f"Flinks sent {amount} as the {where}, which is not a whole number of cents the cache can "
            "store exactly, so this refresh was not saved. Report it to your Flinks contact."
        )
    return cents


def _decimal(cents: int | None) -> Decimal | None:
    """Cents as a Decimal with two places: 150025 -> Decimal("1500.25"). Exact (19 digits at most)."""
    return Decimal(cents).scaleb(-2) if cents is not None else None


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone: the cache stores UTC and will not guess")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text is not None else None


def _same_id(one: str, other: str) -> bool:
    """Whether two Flinks ids are the same: GUIDs, which Flinks may write in either case."""
    return one == other or one.casefold() == other.casefold()


def _masked(value: str | None) -> str | None:
    return mask_id(value) if value is not None else None


def _text(event: Mapping[str, Any], key: str) -> str | None:
    """A non-empty string field of a Connect event, else None."""
    value = event.get(key)
    return value if isinstance(value, str) and value else None
