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
  as it was (SQLite ignores a WAL tail without a commit record). `snapshot_writer` does the same
  for a snapshot written as it is read, a batch at a time (a million transactions are never held
  in memory): staged in a temporary table, moved into the cache account by account, oldest first
  (`SnapshotWriter`); `save_snapshot` is written with it.
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
  never query syntax, and each of its words matches as a prefix. Which side a search reads from
  is chosen per query (`_selection`): a rare word is read from the index (each match is one
  lookup by rowid, then the few are sorted), a common word by walking the date index and keeping
  the rows the index matched (the first page is found after a few hundred rows, `_walk_window`).
  SQLite's planner alone always walks the date index: a word with 20 matches in a million rows
  took 100 ms. A count or totals with search text read every match from the index.
- **Counts and totals without search text** add up `transaction_days`: per login, account and
  day, how many transactions and the sums of their debits and credits, kept by triggers in the
  same transaction as the rows themselves (so they can never disagree with them). A million
  transactions over ten years are about 15,000 such rows: the whole login's count and totals per
  currency take a few milliseconds instead of reading every row (half a second). With search
  text the matches themselves are read, from the index, in one query for count and totals, each
  match's account, day and amounts from `transaction_amounts` (keyed by `seq`, kept by triggers
  like the day totals): its rows are a sixth the size of a transaction's, so a common word's
  90,000 matches take half the time they took read from `transactions`.
- **Common words** (in `COMMON_WORD_MATCHES` of a login's descriptions or more: "montreal" in a
  quarter of them) have their matches' count and sums per account and day in `common_word_days`,
  made by the snapshot's writer once the rows are in: a search for one, or for its start, is added
  up from those (`common_word_summary`: 3 ms where its 270,000 matches took 100 ms on one core).
  A trigger cannot split a description into words, so any change to a login's transactions
  retires its common words in the same transaction (they are made again at the end of the next
  snapshot that changes them): they are never older than the rows, and a purge takes them too.
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
- **Opening is cheap; the full check runs when it is due.** Every open reads the schema (which
  reads the header and the first pages: a file that is not SQLite fails there) and the applied
  migrations, and that is all. The full check (`PRAGMA quick_check`, which reads every page: 0.3 s
  at 400 MB, seconds when the file is not in the OS's cache) runs when the cache was not closed
  cleanly: a small lock file beside it (`<name>-lock`, no data in it) tells who has it open and
  how the last session ended (`_Sessions`); the first to open it after a process or the machine
  stopped with it open checks it before anything reads it. `Store.check` (and `flinks-desktop
  check`) runs the complete check on demand. A damaged page the open did not read fails the read
  that reaches it, with the same sentence (`CacheCorrupt`), and nothing is written over it.
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
  migration this version does not know was written by a newer version: `CacheTooNew`. sqlite-utils
  is imported only when a migration or a write needs it (`migrations()`, `Store._db`): reading an
  up-to-date cache never does, which keeps 40 ms of imports out of the app's start-up.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import math
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Context, Decimal, Inexact, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Self, get_args, overload

try:
    import fcntl
except ImportError:  # Windows: no flock; every open gets the full check (`_Sessions`)
    fcntl = None  # type: ignore[assignment]

from flinks_desktop.core.redact import mask_id, redact

if TYPE_CHECKING:  # imported at run time only by migrations and writes (module docstring)
    from sqlite_utils import Database, Migrations

    # The response types: a write names them; reading the cache builds none of them.
    from flinks_desktop.core.flinks.models import Account, AccountsResult, Login, StatementsResult, Transaction
    from flinks_desktop.core.flinks.values import Balance, Holder

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
_SMALLEST_INTEGER, _LARGEST_INTEGER = -(2**63), 2**63 - 1

#: A phrase of `_quote_fts`'s output.
_QUOTED_PHRASE = re.compile(r'"[^"]*"')
#: How `_quote_fts` splits text: sqlite-utils' `Database.quote_fts`, whose output the search keeps.
_FTS_SPLIT = re.compile(r'\s+|(".*?")')
#: A search word whose form in the full-text index is known without asking SQLite: ASCII letters and
#: digits are the whole of a word for FTS5's tokenizer (unicode61), which only lowercases them.
_PLAIN_WORD = re.compile(r"[a-z0-9]+")
#: The lowercase Latin-1 letters with one diacritic, and the letter FTS5's tokenizer makes of each
#: (`remove_diacritics`): "Montréal" is the index's "montreal" (`test_common_words` asks SQLite).
_FOLD_DIACRITICS = str.maketrans("àáâãäåçèéêëìíîïñòóôõöùúûüýÿ", "aaaaaaceeeeiiiinooooouuuuyy")
#: The full-text index's words (SQLite's fts5vocab, one row per word), on a connection: made when
#: first asked for (`_index_words`).
_INDEX_WORDS = "temp.transactions_fts_words"
_INDEX_WORDS_MODULE = "fts5vocab(main, 'transactions_fts', 'row')"

#: The lock file beside the cache (`_Sessions`): "<cache name>-lock", as SQLite's -wal and -shm.
_LOCK_SUFFIX = "-lock"
#: How long an open waits for another one to finish checking the cache (a full check of a big file
#: read cold from the disk takes seconds) before it says the cache is busy.
_SESSION_WAIT = 60.0
#: The tables of an up-to-date cache: one missing after every migration ran means a damaged file.
_TABLES = frozenset(
    {
        "logins",
        "accounts",
        "transactions",
        "transactions_fts",
        "statements",
        "api_calls",
        "events",
        "pending_wipes",
        "transaction_days",
        "account_keys",
        "transaction_amounts",
    }
)


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


class LoginRow(NamedTuple):
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


class AccountRow(NamedTuple):
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


class TransactionRow(NamedTuple):
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


class StatementRow(NamedTuple):
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


class ActivityRow(NamedTuple):
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


class SnapshotStats(NamedTuple):
    accounts: int
    #: Cached accounts of the login that the snapshot did not contain (kept, marked missing).
    accounts_missing: int
    new: int
    updated: int
    unchanged: int
    #: Cached transactions in the period the snapshot covers that Flinks no longer returns.
    removed: int


class StatementStats(NamedTuple):
    new: int
    updated: int
    unchanged: int


class PurgeStats(NamedTuple):
    #: Whether the login was in the cache at all.
    login: bool
    accounts: int
    transactions: int
    statements: int
    #: Whether the freed space was wiped (VACUUM, WAL truncated). False: another connection kept the
    #: file busy; the rows are gone and the wipe is pending, finished by the next writer's open.
    wiped: bool = True


class CurrencySums(NamedTuple):
    """The selected transactions of the accounts in one currency (None: accounts without one)."""

    currency: str | None
    count: int  # type: ignore[assignment]  # a field named like tuple.count, which mypy sees as overridden
    debits: Decimal
    credits: Decimal


class TransactionSummary(NamedTuple):
    """What `Store.transaction_summary` returns: the count, and the sums per currency."""

    count: int  # type: ignore[assignment]  # a field named like tuple.count, which mypy sees as overridden
    #: One entry per currency that has selected transactions, in the order of the login's accounts
    #: (`Store.accounts`); empty when nothing is selected.
    currencies: tuple[CurrencySums, ...]


def summary_of_rows(rows: Sequence[TransactionRow], accounts: Sequence[AccountRow]) -> TransactionSummary:
    """`Store.transaction_summary` of exactly these rows (already read: a search whose first page is
    all it has), in the order of `accounts`, so the view never adds amounts up itself."""
    currency_of = {account.id: account.currency for account in accounts}
    sums: dict[str | None, list[Any]] = {currency: [0, Decimal(0), Decimal(0)] for currency in currency_of.values()}
    for row in rows:
        entry = sums.setdefault(currency_of.get(row.account_id), [0, Decimal(0), Decimal(0)])
        entry[0] += 1
        entry[1] += row.debit or 0
        entry[2] += row.credit or 0
    currencies = tuple(CurrencySums(c, n, d, k) for c, (n, d, k) in sums.items() if n)
    return TransactionSummary(len(rows), currencies)


def summary_of_parts(parts: Sequence[TransactionSummary], accounts: Sequence[AccountRow]) -> TransactionSummary:
    """One `TransactionSummary` of several made over parts of the same selection (a search's
    matches read in rowid ranges, `split_rowids`), its currencies in the order of `accounts`
    as `Store.transaction_summary` gives them."""
    sums: dict[str | None, list[Any]] = {account.currency: [0, Decimal(0), Decimal(0)] for account in accounts}
    for part in parts:
        for entry in part.currencies:
            total = sums.setdefault(entry.currency, [0, Decimal(0), Decimal(0)])
            total[0] += entry.count
            total[1] += entry.debits
            total[2] += entry.credits
    currencies = tuple(CurrencySums(c, n, d, k) for c, (n, d, k) in sums.items() if n)
    return TransactionSummary(sum(part.count for part in parts), currencies)


#: The smallest and the largest rowid SQLite can give a row.
ROWIDS = (-(2**63), 2**63 - 1)


def split_rowids(span: tuple[int, int], parts: int) -> list[tuple[int, int]]:
    """Every rowid, in at most `parts` consecutive ranges (first, last; both included), cut at
    points evenly spaced within `span`: where the rows to share out mostly lie
    (`Store.transaction_span`). However wrong `span` is, the ranges cover every row once."""
    first, last = span
    width = (last - first + 1) / max(parts, 1)
    cuts = sorted({first + round(width * step) for step in range(1, max(parts, 1))} - {ROWIDS[0]})
    starts = [ROWIDS[0], *cuts]
    return [(start, end - 1) for start, end in zip(starts, [*cuts, ROWIDS[1] + 1], strict=True)]


class CheckResult(NamedTuple):
    """What `Store.check` found in a healthy cache."""

    pages: int
    size: int


# -- schema ------------------------------------------------------------------------------------

#: The migration set's name in sqlite-utils' `_sqlite_migrations` table.
_MIGRATION_SET = "flinks_desktop.cache"
#: Every migration, oldest first, as (name, step). Append only: a released migration never changes.
_MIGRATION_STEPS: list[tuple[str, Callable[[Database], None]]] = []
#: Every migration's name, oldest first.
_MIGRATION_NAMES: list[str] = []


def _migration(step: Callable[[Database], None]) -> Callable[[Database], None]:
    """Register `step` as the next migration, under its function name."""
    _MIGRATION_NAMES.append(step.__name__)
    _MIGRATION_STEPS.append((step.__name__, step))
    return step


@functools.cache
def migrations() -> Migrations:
    """The migrations as sqlite-utils' `Migrations` (also `store.MIGRATIONS`), built on first use:
    importing sqlite-utils costs 40 ms, and only a cache that needs migrating needs it."""
    from sqlite_utils import Migrations

    built = Migrations(_MIGRATION_SET)
    for name, step in _MIGRATION_STEPS:
        built(name=name)(step)
    return built


def __getattr__(name: str) -> Any:
    """`MIGRATIONS`, built when first asked for (PEP 562), so that importing this module does not
    import sqlite-utils."""
    if name == "MIGRATIONS":
        return migrations()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    db.table("transactions").enable_fts(["description"], create_triggers=True)


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
    db.table("transactions").disable_fts()
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
    db.table("transactions").enable_fts(["description"], create_triggers=True)


#: `transaction_days` takes a transaction in (new.*) or out (old.*) of its day's row.
_DAY_IN = """
    INSERT INTO transaction_days (login_id, account_id, date, count, debits, credits)
    VALUES (new.login_id, new.account_id, new.date, 1, coalesce(new.debit, 0), coalesce(new.credit, 0))
    ON CONFLICT (login_id, account_id, date) DO UPDATE
    SET count = count + 1, debits = debits + excluded.debits, credits = credits + excluded.credits;
"""
_DAY_OUT = """
    UPDATE transaction_days
    SET count = count - 1, debits = debits - coalesce(old.debit, 0), credits = credits - coalesce(old.credit, 0)
    WHERE login_id = old.login_id AND account_id = old.account_id AND date = old.date;
    DELETE FROM transaction_days
    WHERE login_id = old.login_id AND account_id = old.account_id AND date = old.date AND count <= 0;
"""


@_migration
def transaction_days(db: Database) -> None:
    """Per login, account and day: the number of transactions and the sums of their debits and
    credits (module docstring), filled from the rows already cached, then kept by triggers. A day
    whose last transaction goes loses its row, so no empty day (and no purged login) stays.
    Statement by statement (not `executescript`, which would commit the migration's transaction)."""
    for statement in (
        """
        CREATE TABLE transaction_days (
            login_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            date TEXT NOT NULL,
            count INTEGER NOT NULL,
            debits INTEGER NOT NULL,
            credits INTEGER NOT NULL,
            PRIMARY KEY (login_id, account_id, date)
        ) STRICT, WITHOUT ROWID
        """,
        """
        INSERT INTO transaction_days (login_id, account_id, date, count, debits, credits)
        SELECT login_id, account_id, date, count(*), coalesce(sum(debit), 0), coalesce(sum(credit), 0)
        FROM transactions GROUP BY login_id, account_id, date
        """,
        f"CREATE TRIGGER transaction_days_ai AFTER INSERT ON transactions BEGIN {_DAY_IN} END",
        f"CREATE TRIGGER transaction_days_ad AFTER DELETE ON transactions BEGIN {_DAY_OUT} END",
        "CREATE TRIGGER transaction_days_au AFTER UPDATE OF login_id, account_id, date, debit, credit "
        f"ON transactions BEGIN {_DAY_OUT} {_DAY_IN} END",
    ):
        db.execute(statement)


#: `transaction_amounts` takes a transaction in: its account's key (made with the account's first
#: transaction), its date as a number (20250131) and its amounts. Not INSERT OR IGNORE: in a trigger
#: the policy of the statement that fired it wins, and an upsert's is ABORT.
_AMOUNT_IN = """
    INSERT INTO account_keys (login_id, account_id)
    SELECT new.login_id, new.account_id
    WHERE NOT EXISTS (SELECT 1 FROM account_keys WHERE login_id = new.login_id AND account_id = new.account_id);
    INSERT INTO transaction_amounts (seq, account, day, debit, credit)
    VALUES (
        new.seq,
        (SELECT key FROM account_keys WHERE login_id = new.login_id AND account_id = new.account_id),
        CAST(replace(new.date, '-', '') AS INTEGER),
        new.debit,
        new.credit
    );
"""


@_migration
def transaction_amounts(db: Database) -> None:
    """Each transaction's account, day and amounts again, in a table of small numbers keyed by its
    `seq` (module docstring): a search's count and totals read one row of it per match instead of
    one of `transactions` (a sixth of the bytes: half the time). Accounts get a number of their own
    in `account_keys` (an INTEGER PRIMARY KEY, which VACUUM keeps), made when their first
    transaction arrives and dropped with the account. Filled from the rows already cached, then
    kept by triggers in the same transaction as the rows. Statement by statement, as
    `transaction_days`."""
    for statement in (
        """
        CREATE TABLE account_keys (
            key INTEGER PRIMARY KEY,
            login_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            UNIQUE (login_id, account_id)
        ) STRICT
        """,
        """
        CREATE TABLE transaction_amounts (
            seq INTEGER PRIMARY KEY,
            account INTEGER NOT NULL,
            day INTEGER NOT NULL,
            debit INTEGER,
            credit INTEGER
        ) STRICT
        """,
        """
        INSERT INTO account_keys (login_id, account_id)
        SELECT DISTINCT login_id, account_id FROM transactions ORDER BY login_id, account_id
        """,
        """
        INSERT INTO transaction_amounts (seq, account, day, debit, credit)
        SELECT t.seq, k.key, CAST(replace(t.date, '-', '') AS INTEGER), t.debit, t.credit
        FROM transactions AS t JOIN account_keys AS k ON k.login_id = t.login_id AND k.account_id = t.account_id
        """,
        f"CREATE TRIGGER transaction_amounts_ai AFTER INSERT ON transactions BEGIN {_AMOUNT_IN} END",
        "CREATE TRIGGER transaction_amounts_ad AFTER DELETE ON transactions BEGIN "
        "DELETE FROM transaction_amounts WHERE seq = old.seq; END",
        "CREATE TRIGGER transaction_amounts_au AFTER UPDATE OF seq, login_id, account_id, date, debit, credit "
        f"ON transactions BEGIN DELETE FROM transaction_amounts WHERE seq = old.seq; {_AMOUNT_IN} END",
        # The foreign key keeps an account while it has transactions: its key goes with it.
        "CREATE TRIGGER account_keys_ad AFTER DELETE ON accounts BEGIN "
        "DELETE FROM account_keys WHERE login_id = old.login_id AND account_id = old.id "
        "AND NOT EXISTS (SELECT 1 FROM transactions WHERE login_id = old.login_id AND account_id = old.id); END",
    ):
        db.execute(statement)


#: A word of the full-text index is a login's common word, with its matches added up per account
#: and day (`common_word_days`), when it is in at least this many of the login's descriptions.
#: Fewer are read one by one, on two threads beside the first page (`ui.transactions_view`): 50,000
#: take ~25 ms with it on two cores, 90,000 ~40 ms. Each common word costs its sync ~0.1 s per
#: 100,000 matches and ~24 bytes per account and day that has it.
COMMON_WORD_MATCHES = 50_000
#: A search for the start of a common word is answered from its day totals when the other words it
#: starts are in this many descriptions or fewer (of every login), read one by one: ~2 ms.
OTHER_WORDS_AT_MOST = 5_000


@_migration
def common_words(db: Database) -> None:
    """The words in many of a login's descriptions (`COMMON_WORD_MATCHES`), and per word, account
    and day the count and sums of the transactions whose description has it: a search for such a
    word is counted and added up from a few thousand rows instead of its matches, which cost one
    lookup each (a word in a quarter of a million descriptions: 80 ms on two cores, 3 ms here).

    Made by the snapshot's writer once its rows are in (`_index_common_words`), unless nothing
    changed: a trigger cannot split a description into words. Any change to a login's
    transactions deletes the login's rows of `common_words`, in the same transaction, so a search
    never reads totals older than the rows (their `common_word_days`, keyed by the login's
    accounts, stay until the next index replaces them, read by nobody). A purge deletes both. An
    existing cache gets them once the app has started (`Store.index_missing_common_words`)."""
    for statement in (
        """
        CREATE TABLE common_words (  -- and the word "" once they are made
            login_id TEXT NOT NULL,
            word TEXT NOT NULL,
            key INTEGER NOT NULL,  -- its number in common_word_days, within the login
            matches INTEGER NOT NULL,
            PRIMARY KEY (login_id, word)
        ) STRICT, WITHOUT ROWID
        """,
        # Small numbers only (the account's key, the word's, the day as 20250131): ~25 bytes a row.
        """
        CREATE TABLE common_word_days (
            account INTEGER NOT NULL,
            word_key INTEGER NOT NULL,
            day INTEGER NOT NULL,
            count INTEGER NOT NULL,
            debits INTEGER NOT NULL,
            credits INTEGER NOT NULL,
            PRIMARY KEY (account, word_key, day)
        ) STRICT, WITHOUT ROWID
        """,
        "CREATE TRIGGER common_words_ai AFTER INSERT ON transactions BEGIN "
        "DELETE FROM common_words WHERE login_id = new.login_id; END",
        "CREATE TRIGGER common_words_ad AFTER DELETE ON transactions BEGIN "
        "DELETE FROM common_words WHERE login_id = old.login_id; END",
        "CREATE TRIGGER common_words_au AFTER UPDATE OF seq, login_id, account_id, date, description, debit, credit "
        "ON transactions BEGIN DELETE FROM common_words WHERE login_id IN (old.login_id, new.login_id); END",
    ):
        db.execute(statement)


# -- the store -----------------------------------------------------------------------------------


class Store:
    """The cache in one SQLite file. Open with `Store.open`; one instance per thread."""

    def __init__(self, conn: sqlite3.Connection, path: Path, sessions: _Sessions | None = None) -> None:
        """Use `Store.open`, which prepares the file and the connection this expects."""
        self._conn = conn
        self.path = path
        self._sessions = sessions
        self._database: Database | None = None
        #: The last `_rows_within` answer, keyed by its filters and the file's data_version.
        self._within: tuple[tuple[Any, ...], int] | None = None

    @property
    def _db(self) -> Database:
        """sqlite-utils' view of the connection, for the writes written with it: made (and
        sqlite-utils imported) on first use, so that reading never pays for it."""
        if self._database is None:
            self._database = _database(self._conn)
        return self._database

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
        Raises `CacheCorrupt` if the file is empty, not a SQLite database, or damaged where the open
        reads (its schema; every page when the last session did not close it, see the module
        docstring), `CacheForeign` if it is another program's database, `CacheTooNew` if a newer
        version wrote it, `CacheError` if it cannot be created or opened; the file is left as it is.
        `finish_wipes` (a writer's open, never the GUI thread's: VACUUM takes a while) finishes a
        purge's pending wipe (`finish_pending_wipes`); one still blocked stays pending, silently.
        """
        path = Path(path)
        with _translated_errors(path):
            _prepare_directory(path)
            sessions = _Sessions.join(path, max(busy_timeout, _SESSION_WAIT))
        try:
            with _translated_errors(path):
                created = not path.exists()
                if created:
                    _create_cache(path, busy_timeout)
                _tighten(path)
                conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
            store = cls(conn, path, sessions)
            try:
                # Nobody else has it open and its last session did not close it: check every page
                # before anything reads it. A cache made just now needs no check.
                store._prepare(full_check=sessions.unclean and not created)
                with _translated_errors(path):
                    sessions.opened()
            except BaseException:
                conn.close()
                raise
        except BaseException:
            sessions.leave(clean=False)
            raise
        if finish_wipes:
            try:
                store.finish_pending_wipes(at=datetime.now(UTC))
            except CacheError as error:  # the cache is usable; the wipe is tried again next time
                _log.warning("a pending wipe of %s could not be finished: %s", path, error)
        return store

    def close(self) -> None:
        """Close the connection; the last `Store` of the file to close marks it closed cleanly."""
        self._conn.close()
        if self._sessions is not None:
            self._sessions.leave(clean=True)
            self._sessions = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _prepare(self, *, full_check: bool) -> None:
        if self.path.stat().st_size == 0:  # not a cache: ours are created with their schema
            raise CacheCorrupt(_EMPTY.format(path=self.path))
        with self._errors():
            # Explicit, whatever SQLite was compiled with: freed pages are zeroed at once, so
            # deleted bank data does not wait for VACUUM to leave the file.
            self._conn.execute("PRAGMA secure_delete = ON")
            self._conn.execute("PRAGMA foreign_keys = ON")
            # As sqlite-utils' Database sets it, whether or not one is ever made on this connection:
            # a REPLACE then fires the delete triggers (search index, day totals) of the row it replaces.
            self._conn.execute("PRAGMA recursive_triggers = ON")
            # The header and the schema's pages: a file that is not SQLite, or whose schema is
            # damaged, fails here (SQLITE_NOTADB, SQLITE_CORRUPT).
            tables = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            problems = [row[0] for row in self._conn.execute("PRAGMA quick_check")] if full_check else ["ok"]
        if problems != ["ok"]:
            raise CacheCorrupt(_CORRUPT.format(path=self.path))
        applied = self._applied_migrations(tables)
        if not applied and tables:  # somebody else's database: never migrated into a cache
            raise CacheForeign(_FOREIGN.format(path=self.path))
        with self._errors():
            if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self._conn.execute("PRAGMA journal_mode = WAL")
        if not applied <= set(_MIGRATION_NAMES):
            raise CacheTooNew(_TOO_NEW.format(path=self.path))
        if len(applied) < len(_MIGRATION_NAMES):
            with self._transaction():  # IMMEDIATE: two first starts cannot both create the schema
                migrations().apply(self._db)
            with self._errors():
                tables = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not _TABLES <= tables:  # every migration ran, yet a table is gone: not a file to write into
            raise CacheCorrupt(_CORRUPT.format(path=self.path))

    def _applied_migrations(self, tables: set[str]) -> set[str]:
        """The names of our migrations the file has had (sqlite-utils' table, read with plain SQL)."""
        if "_sqlite_migrations" not in tables:
            return set()
        with self._errors():
            rows = self._conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [_MIGRATION_SET]
            ).fetchall()
        return {row[0] for row in rows}

    def check(self) -> CheckResult:
        """Read every page of the file and check it all: SQLite's `integrity_check` (the b-trees,
        every index against its table, the constraints) and the full-text index against the rows.

        Takes 0.6 s on a cache of 200,000 transactions (78 MB), seconds on a big one: a command or a
        background thread, never the GUI thread. Raises `CacheCorrupt` with the usual sentence when
        anything is wrong, after logging what SQLite found. Changes nothing (FTS5's check is an
        INSERT that writes nothing, so it waits for a sync that is writing, as a write would:
        `CacheLocked` after the timeout).
        """
        with self._errors():
            problems = [row[0] for row in self._conn.execute("PRAGMA integrity_check")]
            if problems == ["ok"]:
                # FTS5's check of an external-content index: its entries against the rows. The rank
                # of 1 is what makes it read the rows: without it, only the index's own structure
                # is checked, and an index that no longer matches its rows passes.
                try:
                    self._conn.execute(
                        "INSERT INTO transactions_fts (transactions_fts, rank) VALUES ('integrity-check', 1)"
                    )
                except sqlite3.DatabaseError as error:
                    if getattr(error, "sqlite_errorcode", 0) & 0xFF != _SQLITE_CORRUPT:
                        raise
                    problems = [f"full-text index: {error}"]  # SQLITE_CORRUPT_VTAB: they disagree
            pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
            page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        if problems != ["ok"]:
            _log.error("the cache %s failed its integrity check: %s", self.path, "; ".join(problems[:20]))
            raise CacheCorrupt(_CORRUPT.format(path=self.path))
        return CheckResult(pages=pages, size=pages * page_size)

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
            logins = self._db.table("logins")
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
        or marked missing on their account). Raises `UnsupportedAmount`, and writes nothing, if an
        amount is not a whole number of cents (`storable_amount` tells beforehand).

        The snapshot written whole from memory: `snapshot_writer` writes one as it is read.
        """
        if result.login is not None and not _same_id(result.login.id, login_id):
            raise ValueError(f"the snapshot is of login {mask_id(result.login.id)}, not {mask_id(login_id)}")
        with self.snapshot_writer(login_id, synced_at=synced_at) as writer:
            for index, account in enumerate(result.accounts):
                writer.add(index, [transaction_row(t) for t in account.transactions])
                writer.account(index, account)
            return writer.finish(result.login, all_accounts_read=result.all_accounts_read)

    @contextmanager
    def snapshot_writer(self, login_id: str, *, synced_at: datetime) -> Iterator[SnapshotWriter]:
        """Write a snapshot as it is read, without ever holding it whole (a million transactions).

            with store.snapshot_writer(login_id, synced_at=now) as writer:
                writer.add(0, rows)                 # the transactions of the answer's first account...
                writer.account(0, account)          # ...then that account, once all of it was read
                stats = writer.finish(login, all_accounts_read=True)

        One `BEGIN IMMEDIATE ... COMMIT`, as `save_snapshot`: the block's end commits the snapshot
        whole; an exception, or a block left without `finish`, rolls it back (nothing written). The
        transactions wait in a temporary table of this connection (`SnapshotWriter`), on disk past
        a few MB, and go into the cache account by account. Raises `UnknownLogin` as `save_snapshot`.
        """
        seen_at = _timestamp(synced_at)
        with self._transaction():
            self._require_login(login_id)
            writer = SnapshotWriter(self._conn, self._db, login_id, seen_at)
            yield writer
            if not writer.finished:
                raise RuntimeError("a snapshot must end with finish(): nothing of it was written")

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
            cached = {
                row["unique_id"]: (row["account_number"], row["content"])
                for row in self._db.query(
                    "SELECT unique_id, account_number, content FROM statements WHERE login_id = ?", [login_id]
                )
            }
            self._db.table("statements").upsert_all(incoming.values(), pk=("login_id", "unique_id"))
            for unique_id, period in known_periods.items():
                self._db.table("statements").update((login_id, unique_id), period)
        new = sum(1 for unique_id in incoming if unique_id not in cached)
        unchanged = sum(
            1
            for unique_id, record in incoming.items()
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
            self._db.table("logins").update(login_id, fields)

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
            self._db.table("api_calls").insert(
                {
                    "at": _timestamp(at),
                    "method": method,
                    "endpoint": redact(endpoint),
                    "status": status,
                    "flinks_code": flinks_code,
                    "duration_ms": duration_ms,
                    "login": _masked(login_id),
                    "request": _masked(request_id),
                }
            )

    def record_connect_event(self, event: Mapping[str, Any], *, at: datetime, login_id: str | None = None) -> None:
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

    def purge_login(
        self, login_id: str, *, at: datetime, by: str | None = None, at_flinks: bool | None = None
    ) -> PurgeStats:
        """Delete every row of a login, then make sure none of its bank data remains on disk.

        One transaction deletes its transactions (and their full-text entries), statements,
        accounts and login row, and records a "LOGIN_PURGED" app event (`at`, the masked id, the
        counts, `by`, who asked, and `at_flinks`, whether Flinks deleted the card first, if given);
        the audit of its API calls and Connect events stays.
        Then VACUUM rewrites the file without the freed pages and the WAL is truncated.

        The same transaction writes a "wipe pending" mark, removed once the wipe is done. When
        another connection keeps the file busy, the rows are gone, the mark stays and `wiped` is
        False: the next `finish_pending_wipes` (the next writer's `open`) finishes it. Raises
        `CacheLocked` (nothing deleted) when another writer keeps the file busy past the timeout.
        """
        with self._transaction():
            existed = self.login(login_id) is not None
            self._db.table("pending_wipes").insert({"since": _timestamp(at), "login": mask_id(login_id)})
            # The words and sums of its descriptions, while its accounts' keys are there to find them.
            self._conn.execute(
                "DELETE FROM common_word_days WHERE account IN (SELECT key FROM account_keys WHERE login_id = ?)",
                [login_id],
            )
            self._conn.execute("DELETE FROM common_words WHERE login_id = ?", [login_id])
            deleted = {
                table: self._conn.execute(f"DELETE FROM {table} WHERE login_id = ?", [login_id]).rowcount
                for table in ("transactions", "statements", "accounts")
            }
            self._conn.execute("DELETE FROM logins WHERE id = ?", [login_id])
            # FTS5 records deletions as new index segments; merging them drops the deleted words.
            self._conn.execute("INSERT INTO transactions_fts (transactions_fts) VALUES ('optimize')")
            if existed:
                self._record_event(
                    at=at,
                    source="app",
                    name="LOGIN_PURGED",
                    login_id=login_id,
                    detail={**deleted, "by": by, **({} if at_flinks is None else {"at_flinks": at_flinks})},
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
        count: int = self._query("SELECT count(*) AS n FROM pending_wipes")[0]["n"]
        return count

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
                    at=at,
                    source="app",
                    name="WIPE_COMPLETED",
                    login_id=None,
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
            version: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
            return version

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
        oldest_first: bool = False,
    ) -> list[TransactionRow]:
        """The login's transactions, newest first (oldest first if `oldest_first`), filtered.

        `since` and `until` are inclusive. `search` finds descriptions containing every word of it
        as a word or the start of one, ignoring case and accents ("tim hort" finds "TIM HORTONS
        #2417"); it is never parsed as a query, so any text is safe, and text without a letter or
        digit does not filter at all. A page deep in one order is a page near the start of the
        other: reading it that way skips fewer rows (`TransactionsModel` does).
        """
        selection = self._selection(
            login_id, account_id, search, since, until, reach=None if limit is None else offset + limit
        )
        if selection is None:
            return []
        order = "ASC" if oldest_first else "DESC"
        where, params = selection.where, selection.params
        if selection.walk is not None:
            assert limit is not None  # `_selection` walks only for a page
            window = self._walk_window(selection, order, limit, offset)
            if window is not None:
                return window
            where, params = f"{where} AND {_WALK_MATCH.format(range='')}", [*params, selection.walk]
        with self._errors():
            rows = self._conn.execute(
                f"SELECT {_TRANSACTION_SELECT} FROM {selection.source} WHERE {where} "
                f"ORDER BY t.date {order}, t.seq {order} LIMIT ? OFFSET ?",
                [*params, -1 if limit is None else limit, offset],  # LIMIT -1: no limit
            ).fetchall()
        return [_transaction_from_tuple(row) for row in rows]

    def _walk_window(self, selection: _Selection, order: str, limit: int, offset: int) -> list[TransactionRow] | None:
        """A page of a common word's matches, read among the first rows of the walk only.

        Gathering the rowids of every match costs as much as there are (50 ms for 270,000), yet the
        first page of a common word lies among the first few hundred rows of the walk. So: take the
        first `window` rows in the page's order (the date index alone), and keep those the index
        matched within their rowids' range (`rowid BETWEEN`: the index reads only that range).
        Every row before the page is in the window, so a full page read this way is the exact page.
        A window without enough matches grows fourfold; None (read the usual way) once it would be
        half of the rows, or when the window's rowids are spread too widely to gain anything (rows
        cached in an order far from their dates')."""
        # The window: rows from the start of the order down to its last row (rowids are unique).
        bound = ">=" if order == "DESC" else "<="
        window = 16 * (offset + limit)  # a word in one row of 16: one window (each costs a read of the index)
        while window * 2 < selection.within:
            with self._errors():
                last = self._conn.execute(
                    f"SELECT t.date, t.seq FROM transactions AS t WHERE {selection.where} "
                    f"ORDER BY t.date {order}, t.seq {order} LIMIT 1 OFFSET ?",
                    [*selection.params, window - 1],
                ).fetchone()
                if last is None:
                    return None
                inside = f"{selection.where} AND t.date {bound} ? AND (t.date, t.seq) {bound} (?, ?)"
                low, high = self._conn.execute(
                    f"SELECT min(t.seq), max(t.seq) FROM transactions AS t WHERE {inside}",
                    [*selection.params, last[0], *last],
                ).fetchone()
            if high - low > 16 * window:
                return None
            with self._errors():
                rows = self._conn.execute(
                    f"SELECT {_TRANSACTION_SELECT} FROM transactions AS t "
                    f"WHERE {inside} AND {_WALK_MATCH.format(range=' AND rowid BETWEEN ? AND ?')} "
                    f"ORDER BY t.date {order}, t.seq {order} LIMIT ? OFFSET ?",
                    [*selection.params, last[0], *last, selection.walk, low, high, limit, offset],
                ).fetchall()
            if len(rows) == limit:
                return [_transaction_from_tuple(row) for row in rows]
            window *= 4
        return None

    def iter_transactions(
        self,
        login_id: str,
        *,
        account_id: str | None = None,
        search: str | None = None,
        since: date | None = None,
        until: date | None = None,
        batch: int = 1000,
    ) -> Iterator[TransactionRow]:
        """Every transaction `transactions` returns with the same filters, newest first, fetched
        `batch` rows at a time from one statement: a million rows never sit in memory together, and
        however slowly the caller goes, it reads one state of the cache (a sync that commits
        meanwhile is not half seen). For an export, on a thread with its own `Store`."""
        selection = self._selection(login_id, account_id, search, since, until, reach=None)
        if selection is None:
            return
        with self._errors():
            cursor = self._conn.execute(
                f"SELECT {_TRANSACTION_SELECT} FROM {selection.source} WHERE {selection.where} "
                "ORDER BY t.date DESC, t.seq DESC",
                selection.params,
            )
        try:
            while True:
                with self._errors():
                    rows = cursor.fetchmany(batch)
                if not rows:
                    return
                for row in rows:
                    yield _transaction_from_tuple(row)
        finally:
            # A caller that stops early ends the read at once; a generator finished only after its
            # store was closed (left to the garbage collector) has nothing left to end.
            with suppress(sqlite3.ProgrammingError):
                cursor.close()

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
        if fts_query(search) is None:
            where, params = _day_filter(login_id, account_id, since, until)
            return self._count(f"SELECT coalesce(sum(count), 0) FROM transaction_days WHERE {where}", params)
        if (
            common := self.common_word_summary(login_id, account_id=account_id, search=search, since=since, until=until)
        ) is not None:
            return common.count
        matched = self._matched_amounts(login_id, account_id, search, since, until)
        if matched is None:
            return 0
        selection, _ = matched
        return self._count(f"SELECT count(*) FROM {selection.source} WHERE {selection.where}", selection.params)

    def transaction_summary(
        self,
        login_id: str,
        *,
        account_id: str | None = None,
        search: str | None = None,
        since: date | None = None,
        until: date | None = None,
        rowids: tuple[int, int] | None = None,
    ) -> TransactionSummary:
        """How many transactions the filters select, and the exact sums of their debits and credits
        per currency (their account's): what the Transactions tab shows under its table.

        One query: without search text over `transaction_days` (a few thousand rows however many
        transactions there are), with search text over the matches, read from the full-text index
        and `transaction_amounts` (one small row per match), each currency's sums kept apart by a
        FILTER clause (a GROUP BY would sort every match).

        `rowids` (first, last; search text only): only the matches whose rowid is within them. A
        common word's matches cost one lookup each, so its summary can be made in parts, each on a
        thread with its own `Store` (`transaction_span`, `split_rowids`, `summary_of_parts`).
        """
        if rowids is not None and fts_query(search) is None:
            raise ValueError("a summary by rowids needs search text")
        if (
            rowids is None
            and (
                common := self.common_word_summary(
                    login_id, account_id=account_id, search=search, since=since, until=until
                )
            )
            is not None
        ):
            return common
        currency_of = self._currencies(login_id)
        #: Per currency, in the accounts' order: [count, debits, credits] in cents.
        sums: dict[str | None, list[int]] = {currency: [0, 0, 0] for currency in currency_of.values()}
        if fts_query(search) is None:
            where, params = _day_filter(login_id, account_id, since, until)
            with self._errors():
                rows = self._conn.execute(
                    "SELECT account_id, sum(count), sum(debits), sum(credits) FROM transaction_days "
                    f"WHERE {where} GROUP BY account_id",  # in the key's order: nothing to sort
                    params,
                ).fetchall()
            for account, count, debits, credits in rows:
                entry = sums.setdefault(currency_of.get(account), [0, 0, 0])
                entry[0] += count
                entry[1] += debits
                entry[2] += credits
        elif (matched := self._matched_amounts(login_id, account_id, search, since, until, rowids=rowids)) is not None:
            selection, account_of = matched
            groups: dict[str | None, list[int]] = {}
            for key, account in account_of.items():
                groups.setdefault(currency_of.get(account), []).append(key)
            # The WHERE keeps the listed accounts' rows only, so the currency with the most accounts
            # gets what the others do not claim: one FILTER fewer, each costs every match.
            rest = max(groups, key=lambda currency: len(groups[currency]))
            columns, filter_params = [], []
            for currency, keys in groups.items():
                if currency == rest:
                    continue
                chosen = (
                    "FILTER (WHERE t.account = ?)"
                    if len(keys) == 1
                    else f"FILTER (WHERE t.account IN ({', '.join('?' * len(keys))}))"
                )
                columns += [
                    f"count(*) {chosen}",
                    f"coalesce(sum(t.debit) {chosen}, 0)",
                    f"coalesce(sum(t.credit) {chosen}, 0)",
                ]
                filter_params += keys * 3
            columns += ["count(*)", "coalesce(sum(t.debit), 0)", "coalesce(sum(t.credit), 0)"]
            with self._errors():
                row = self._conn.execute(
                    f"SELECT {', '.join(columns)} FROM {selection.source} WHERE {selection.where}",
                    [*filter_params, *selection.params],
                ).fetchone()
            values = iter(row[:-3])
            for currency in groups:
                if currency != rest:
                    sums[currency] = [next(values), next(values), next(values)]
            sums.setdefault(rest, [0, 0, 0])
            sums[rest] = [
                whole - sum(entry[index] for key, entry in sums.items() if key != rest)
                for index, whole in enumerate(row[-3:])
            ]
        return _summary_of_sums(sums)

    def common_word_summary(
        self,
        login_id: str,
        *,
        account_id: str | None = None,
        search: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> TransactionSummary | None:
        """`transaction_summary` of a search for one of the login's common words, or for the start
        of one (`common_words`), added up from the word's day totals: a few milliseconds, however
        many descriptions have it. The other words the text starts (a rare "montrealer" beside
        "montreal") are read as any search is: their matches that lack the common word, one by one.

        None when the text is not one word of letters and digits as the index has them once
        lowercased and rid of their accents ("Québec" is, "hydro-québec" is two words), no common
        word of the login starts with it, or the login's common words were not made since its
        transactions last changed: `transaction_summary` then reads the matches. A few tenths of a
        millisecond then."""
        phrases = _search_phrases(search)
        prefix = phrases[0][1:-1].lower().translate(_FOLD_DIACRITICS) if len(phrases) == 1 else ""
        if not _PLAIN_WORD.fullmatch(prefix):  # the word as the index has it, or not known here
            return None
        end = prefix + "\U0010ffff"  # after every word that starts with it
        with self._read_snapshot():
            found = self._conn.execute(
                "SELECT word, key FROM common_words WHERE login_id = ? AND word >= ? AND word < ? "
                "ORDER BY matches DESC LIMIT 1",
                [login_id, prefix, end],
            ).fetchone()
            if found is None:
                return None
            word, word_key = found
            currency_of = self._currencies(login_id)
            account_of = self._account_keys(login_id, account_id)
            self._conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {_INDEX_WORDS} USING {_INDEX_WORDS_MODULE}")
            # The other words the text starts: how many descriptions have them, at most (of every
            # login). Many ("2" of "2417" and a thousand numbers): read as any search is.
            others = 0
            for low, high in ((prefix, word), (word + "\x01", end)):  # every word but `word`
                if low < high:
                    for (matches,) in self._conn.execute(
                        f"SELECT doc FROM {_INDEX_WORDS} WHERE term >= ? AND term < ?", [low, high]
                    ):
                        others += matches
                        if others > OTHER_WORDS_AT_MOST:
                            return None
            rest = f"{phrases[0]}* NOT {_phrase(word)}"
            clauses = [f"account IN ({', '.join('?' * len(account_of))})", "word_key = ?"]
            values: list[Any] = [*account_of, word_key]
            if since is not None:
                clauses.append("day >= ?")
                values.append(_day_number(since))
            if until is not None:
                clauses.append("day <= ?")
                values.append(_day_number(until))
            rows = self._conn.execute(
                "SELECT account, sum(count), sum(debits), sum(credits) FROM common_word_days "
                f"WHERE {' AND '.join(clauses)} GROUP BY account",
                values,
            ).fetchall()
            if others and (matched := self._matched_amounts(login_id, account_id, search, since, until, match=rest)):
                selection, _ = matched
                rows += self._conn.execute(
                    "SELECT t.account, count(*), coalesce(sum(t.debit), 0), coalesce(sum(t.credit), 0) "
                    f"FROM {selection.source} WHERE {selection.where} GROUP BY t.account",
                    selection.params,
                ).fetchall()
        sums: dict[str | None, list[int]] = {currency: [0, 0, 0] for currency in currency_of.values()}
        for key, count, debits, credits in rows:
            entry = sums.setdefault(currency_of.get(account_of[key]), [0, 0, 0])
            entry[0] += count
            entry[1] += debits
            entry[2] += credits
        return _summary_of_sums(sums)

    def index_common_words(self, login_id: str) -> int:
        """Make the login's common words and their day totals again (`common_words`), as the end of
        a snapshot does; how many words are common. For a cache written without a snapshot."""
        with self._transaction():
            return _index_common_words(self._conn, login_id, again=True) or 0

    def index_missing_common_words(self) -> list[str]:
        """Make the common words of every login that has none made (`common_words`): a cache
        written by a version without them, whose logins would otherwise get them at their next
        sync. One transaction per login, so that no other writer waits long. The logins indexed."""
        logins = self._query(
            "SELECT id FROM logins WHERE id NOT IN (SELECT login_id FROM common_words WHERE word = '') ORDER BY id"
        )
        for login in logins:
            with self._transaction():
                _index_common_words(self._conn, login["id"])
        return [login["id"] for login in logins]

    def transaction_dates(self, login_id: str) -> tuple[date, date] | None:
        """The dates of the login's oldest and newest transactions; None when it has none. Two
        lookups in the (login, date) index, whatever the number of transactions."""
        with self._errors():
            oldest, newest = self._conn.execute(
                "SELECT (SELECT min(date) FROM transactions WHERE login_id = ?), "
                "(SELECT max(date) FROM transactions WHERE login_id = ?)",
                [login_id, login_id],
            ).fetchone()
        return (date.fromisoformat(oldest), date.fromisoformat(newest)) if oldest is not None else None

    def search_matches(self, search: str, *, at_most: int) -> int:
        """How many descriptions of the whole cache (every login) `search` matches, counting no
        further than `at_most` + 1: a bound on what a count of that search will read, read from the
        full-text index alone (a few milliseconds even for a word in a quarter of a million
        descriptions, whose list the index still merges). 0 for text without a word."""
        match = fts_query(search)
        if match is None:
            return 0
        return self._count(
            "SELECT count(*) FROM (SELECT 1 FROM transactions_fts WHERE transactions_fts MATCH ? LIMIT ?)",
            [match, at_most + 1],
        )

    def transaction_span(self, login_id: str, account_id: str | None = None) -> tuple[int, int] | None:
        """The smallest and the largest rowid among the oldest and newest transactions of each of
        the login's accounts (or of `account_id`): where its rows lie, since a sync writes each
        account's oldest first. Two lookups per account in the (login, account, date) index: what a
        read in parts cuts at (`split_rowids`). None when there are no transactions."""
        with self._errors():
            first, last = self._conn.execute(
                "SELECT min(first), max(last) FROM (SELECT "
                "(SELECT seq FROM transactions WHERE login_id = :login AND account_id = a.id ORDER BY date, seq "
                "LIMIT 1) AS first, (SELECT seq FROM transactions WHERE login_id = :login AND account_id = a.id "
                "ORDER BY date DESC, seq DESC LIMIT 1) AS last FROM accounts AS a WHERE a.login_id = :login "
                "AND (:account IS NULL OR a.id = :account))",
                {"login": login_id, "account": account_id},
            ).fetchone()
        return None if first is None else (min(first, last), max(first, last))

    def interrupt(self) -> None:
        """Stop the query this Store runs now, from any thread (the one call that may cross them):
        it fails with SQLite's "interrupted" error. A read counting for a search nobody waits for
        any more ends at once instead of holding its thread."""
        self._conn.interrupt()

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
                **{
                    **row,
                    "fetched_at": _moment(row["fetched_at"]),
                    "period_start": _day(row["period_start"]),
                    "period_end": _day(row["period_end"]),
                }
            )
            for row in rows
        ]

    def statement_pdf(self, login_id: str, unique_id: str) -> bytes | None:
        """The file of a cached statement; None if it is not (or no longer) cached."""
        rows = self._query("SELECT content FROM statements WHERE login_id = ? AND unique_id = ?", [login_id, unique_id])
        return rows[0]["content"] if rows else None

    def deleted_at_flinks(self, login_id: str) -> bool:
        """Whether the newest /DeleteCard call recorded for `login_id` was answered 2xx: Flinks
        deleted the card (a purge of what is left here then says so)."""
        row = self._conn.execute(
            "SELECT status FROM api_calls WHERE login = ? "
            "AND (endpoint = 'DeleteCard' OR endpoint LIKE 'DeleteCard/%') ORDER BY at DESC LIMIT 1",
            [mask_id(login_id)],
        ).fetchone()
        return row is not None and row[0] is not None and 200 <= row[0] < 300

    def activity(self, login_id: str | None = None, *, limit: int = DEFAULT_ACTIVITY_LIMIT) -> list[ActivityRow]:
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
            ActivityRow(
                **{
                    **row,
                    "at": _moment(row["at"]),
                    "detail": json.loads(row["detail"]) if row["detail"] is not None else None,
                }
            )
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

    @contextmanager
    def _read_snapshot(self) -> Iterator[None]:
        """Reads that must see the file as it was at one moment (the writer thread may commit
        between two of them): one read transaction, unless one is open already."""
        with self._errors():
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                if self._conn.in_transaction:  # an interrupted read may have ended it
                    self._conn.execute("COMMIT")

    def _errors(self) -> AbstractContextManager[None]:
        return _translated_errors(self.path)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._errors():
            cursor = self._conn.execute(sql, params)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor]

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._errors():
            return self._conn.execute(sql, params).fetchone()[0]

    def _count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """`_scalar` of a query whose one value is a count (`count(*)`, `coalesce(sum(...), 0)`)."""
        count: int = self._scalar(sql, params)
        return count

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
        self._db.table("events").insert(
            {
                "at": _timestamp(at),
                "source": source,
                "name": name,
                "flinks_code": flinks_code,
                "institution": institution,
                "login": _masked(login_id),
                "request": _masked(request_id),
                "detail": redact(json.dumps(detail, ensure_ascii=False, sort_keys=True)),
            }
        )

    def _selection(
        self,
        login_id: str,
        account_id: str | None,
        search: str | None,
        since: date | None,
        until: date | None,
        *,
        reach: int | None,
    ) -> _Selection | None:
        """The FROM and WHERE clauses (rows as `t`) shared by the transaction reads; None when the
        search text matches no description at all.

        Search text is read one of two ways, whichever reads fewer rows (module docstring): from
        the full-text index (`f`), one lookup by rowid per match, or down the date index keeping
        the rows whose rowid the index matched. `reach` is how far into the order a page read goes
        (offset + limit); None when every selected row is read (a count, totals, an export), which
        the index always does best.
        """
        clauses, params = _filter_clauses(login_id, account_id, since, until, table="t.")
        match = fts_query(search)
        if match is None:
            return _Selection("transactions AS t", " AND ".join(clauses), params)
        from_index = True
        if reach is not None:
            # Walking `within` rows finds the page after about reach × within / matches of them; a
            # lookup by rowid costs about four steps of the walk, and the matches are sorted after.
            within = self._rows_within(login_id, account_id, since, until)
            enough = math.isqrt(reach * within // 4) + 1
            with self._errors():
                matches = self._conn.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM transactions_fts WHERE transactions_fts MATCH ? LIMIT ?)",
                    [match, enough + 1],
                ).fetchone()[0]
            if not matches:
                return None
            from_index = matches <= enough
        if from_index:
            return _Selection(
                "transactions_fts AS f CROSS JOIN transactions AS t ON t.seq = f.rowid",  # CROSS: f first
                " AND ".join(["f.transactions_fts MATCH ?", *clauses]),
                [match, *params],
            )
        return _Selection("transactions AS t", " AND ".join(clauses), params, walk=match, within=within)

    def _matched_amounts(
        self,
        login_id: str,
        account_id: str | None,
        search: str | None,
        since: date | None,
        until: date | None,
        *,
        rowids: tuple[int, int] | None = None,
        match: str | None = None,
    ) -> tuple[_Selection, dict[int, str]] | None:
        """The FROM and WHERE clauses that select the search's matches as rows of
        `transaction_amounts` (`t`: account, day, debit, credit), the filters applied to them, and
        the key of each account they can belong to (its id); None when no account the filters
        select has a transaction. What a count or totals read: one small row per match.

        The parameters are the WHERE's only: a caller's FILTER parameters go before them. `match`:
        a full-text query of its own instead of `search`'s."""
        match = match or fts_query(search)
        assert match is not None, "a read of the matches needs search text"
        account_of = self._account_keys(login_id, account_id)
        if not account_of:
            return None
        clauses = ["f.transactions_fts MATCH ?"]
        values: list[Any] = [match]
        if rowids is not None:
            clauses.append("f.rowid BETWEEN ? AND ?")
            values += rowids
        keys = list(account_of)
        clauses.append("t.account = ?" if len(keys) == 1 else f"t.account IN ({', '.join('?' * len(keys))})")
        values += keys
        if since is not None:
            clauses.append("t.day >= ?")
            values.append(_day_number(since))
        if until is not None:
            clauses.append("t.day <= ?")
            values.append(_day_number(until))
        source = "transactions_fts AS f CROSS JOIN transaction_amounts AS t ON t.seq = f.rowid"  # CROSS: f first
        return _Selection(source, " AND ".join(clauses), values), account_of

    def _currencies(self, login_id: str) -> dict[str, str | None]:
        """The currency of each of the login's accounts, in `accounts`' order."""
        with self._errors():
            return dict(
                self._conn.execute(
                    "SELECT id, currency FROM accounts WHERE login_id = ? ORDER BY missing_since IS NOT NULL, position",
                    [login_id],
                ).fetchall()
            )

    def _account_keys(self, login_id: str, account_id: str | None) -> dict[int, str]:
        """The key (`account_keys`) of each of the login's accounts that has transactions (or of
        `account_id` alone), and its id."""
        sql, params = "SELECT key, account_id FROM account_keys WHERE login_id = ?", [login_id]
        if account_id is not None:
            sql, params = f"{sql} AND account_id = ?", [*params, account_id]
        with self._errors():
            return dict(self._conn.execute(sql, params).fetchall())

    def _rows_within(self, login_id: str, account_id: str | None, since: date | None, until: date | None) -> int:
        """How many transactions the filters other than search select (from `transaction_days`),
        remembered until the file changes: successive pages of one search ask the same."""
        key = (login_id, account_id, since, until)
        version = self.data_version()
        if self._within is not None and self._within[0] == (key, version):
            return self._within[1]
        where, params = _day_filter(login_id, account_id, since, until)
        within = self._count(f"SELECT coalesce(sum(count), 0) FROM transaction_days WHERE {where}", params)
        self._within = ((key, version), within)
        return within

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


# -- a snapshot written as it is read -------------------------------------------------------------------

#: Transactions per multi-row INSERT into the staging table (8 values each: well under SQLite's limit).
_STAGED_PER_INSERT = 500
#: The columns a transaction's values are written to, after login_id and account_id.
_VALUE_COLUMNS = ("id", "date", "description", "debit", "credit", "balance", "code")
_CHANGED_VALUES = ", ".join(_VALUE_COLUMNS[1:])
_NEW_VALUES = ", ".join(f"excluded.{column}" for column in _VALUE_COLUMNS[1:])


class SnapshotWriter:
    """A snapshot being written (`Store.snapshot_writer`), one account of the answer at a time.

    `add` stages an account's transactions, in Flinks' order (newest first), in a temporary table
    of the connection (`temp.snapshot_rows`: one row per account and Id, the first Flinks lists;
    SQLite keeps it in memory up to its cache size, then in an unnamed temporary file). `account`
    then writes the account and moves its transactions into the cache with one INSERT ... SELECT,
    oldest first (so that `seq`, the full-text index's rowid, follows time within a day too, and
    FTS5 gets rising rowids, which it needs to stay fast): an upsert that changes only the rows
    whose values differ, so an unchanged transaction costs neither its search index nor its day
    totals an update. `finish` updates the login, marks the accounts the snapshot no longer holds,
    and deletes what Flinks no longer returns (module docstring), all in the same transaction.
    """

    def __init__(self, conn: sqlite3.Connection, db: Database, login_id: str, seen_at: str) -> None:
        self._conn = conn
        self._db = db
        self._login_id = login_id
        self._seen_at = seen_at
        self.finished = False
        #: The next staged row's place: an account's rows take one range of them.
        self._next = 1
        #: Per place in the answer: (first staged place, rows staged, oldest date), while being read.
        self._staging: dict[int, tuple[int, int, str | None]] = {}
        #: Per account Id written: its places in the answer, rows staged, oldest date, all read.
        self._written: dict[str, tuple[list[int], int, str | None, bool]] = {}
        self._records: list[dict[str, Any]] = []
        self._changes = 0
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS snapshot_rows (place INTEGER PRIMARY KEY, account INTEGER NOT NULL, "
            "id TEXT NOT NULL, date TEXT NOT NULL, description TEXT, debit INTEGER, credit INTEGER, "
            "balance INTEGER, code TEXT, UNIQUE (account, id)) STRICT"
        )
        conn.execute("DELETE FROM temp.snapshot_rows")
        #: Rows above this `seq` were added by this snapshot.
        self._last_seq = conn.execute("SELECT coalesce(max(seq), 0) FROM transactions").fetchone()[0]

    def add(self, account: int, rows: Sequence[tuple[Any, ...]]) -> None:
        """Stage transactions of the account at place `account` of the answer, as `transaction_row`
        makes them; a repeated Id of the same account is left out (the first one stays)."""
        if not rows:
            return
        first, staged, oldest = self._staging.get(account, (self._next, 0, None))
        for start in range(0, len(rows), _STAGED_PER_INSERT):  # within SQLite's limit of parameters
            chunk = rows[start : start + _STAGED_PER_INSERT]
            place = self._next
            values: list[Any] = []
            for row in chunk:
                values.append(place)
                values.append(account)
                values.extend(row)
                place += 1
            self._next = place
            staged += self._conn.execute(
                "INSERT OR IGNORE INTO temp.snapshot_rows VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk)),
                values,
            ).rowcount
        batch_oldest = min(row[1] for row in rows)
        self._staging[account] = (first, staged, batch_oldest if oldest is None else min(oldest, batch_oldest))

    def account(self, index: int, account: Account | None) -> None:
        """The account at place `index` of the answer has all been read: write it and its staged
        transactions. None: it was left out, and its transactions with it."""
        first, staged, oldest = self._staging.pop(index, (self._next, 0, None))
        if account is None:
            self._conn.execute("DELETE FROM temp.snapshot_rows WHERE place BETWEEN ? AND ?", [first, self._next])
            return
        record = _account_record(self._login_id, len(self._records), account, self._seen_at)
        self._records.append(record)
        self._db.table("accounts").upsert_all([record], pk=("login_id", "id"))
        if staged:
            self._changes += self._conn.execute(
                "INSERT INTO transactions (login_id, account_id, id, date, description, debit, credit, balance, code) "
                "SELECT ?, ?, id, date, description, debit, credit, balance, code FROM temp.snapshot_rows "
                "WHERE place BETWEEN ? AND ? ORDER BY place DESC "
                f"ON CONFLICT (login_id, account_id, id) DO UPDATE SET ({_CHANGED_VALUES}) = ({_NEW_VALUES}) "
                f"WHERE ({_CHANGED_VALUES}) IS NOT ({_NEW_VALUES})",
                [self._login_id, account.id, first, self._next],
            ).rowcount
        places, count, earliest, whole = self._written.get(account.id, ([], 0, None, True))
        if oldest is not None:
            earliest = oldest if earliest is None else min(earliest, oldest)
        self._written[account.id] = (
            [*places, index],
            count + staged,
            earliest,
            whole and not account.unread_transactions,
        )

    def finish(self, login: Login | None, *, all_accounts_read: bool) -> SnapshotStats:
        """The login's details and status, the accounts gone from the answer marked missing, the
        transactions Flinks no longer returns deleted; the snapshot's figures."""
        conn, login_id, seen_at = self._conn, self._login_id, self._seen_at
        fields = {"synced_at": seen_at, **_status_fields("ok", seen_at)}
        if login is not None:
            fields.update(_login_details(login))
        self._db.table("logins").update(login_id, fields)
        ids = list(self._written)
        missing = (
            0
            if not all_accounts_read
            else conn.execute(
                "UPDATE accounts SET missing_since = coalesce(missing_since, ?) "
                f"WHERE login_id = ? AND id NOT IN ({', '.join('?' * len(ids))})",
                [seen_at, login_id, *ids],
            ).rowcount
        )
        new = conn.execute("SELECT count(*) FROM transactions WHERE seq > ?", [self._last_seq]).fetchone()[0]
        removed = sum(self._remove_stale(account_id, *written) for account_id, written in self._written.items())
        conn.execute("DELETE FROM temp.snapshot_rows")
        _index_common_words(conn, login_id)
        staged = sum(written[1] for written in self._written.values())
        self.finished = True
        return SnapshotStats(
            accounts=len(self._records),
            accounts_missing=missing,
            new=new,
            updated=self._changes - new,
            unchanged=max(0, staged - self._changes),
            removed=removed,
        )

    def _remove_stale(self, account_id: str, places: list[int], staged: int, oldest: str | None, whole: bool) -> int:
        """Delete the account's cached transactions, dated within the period the snapshot returned
        for it, that the snapshot does not hold. None when a transaction of it could not be read
        (it may be one of those), nor when it returned none (no period). Counted first: every row
        the snapshot holds is within the period, so more rows there than it holds means some go."""
        if not whole or oldest is None:
            return 0
        conn = self._conn
        within = conn.execute(
            "SELECT count(*) FROM transactions WHERE login_id = ? AND account_id = ? AND date >= ?",
            [self._login_id, account_id, oldest],
        ).fetchone()[0]
        marks = ", ".join("?" * len(places))
        if len(places) > 1:  # the account came twice: its rows are counted once
            staged = conn.execute(
                f"SELECT count(DISTINCT id) FROM temp.snapshot_rows WHERE account IN ({marks})", places
            ).fetchone()[0]
        if within <= staged:
            return 0
        return conn.execute(
            "DELETE FROM transactions WHERE login_id = ? AND account_id = ? AND date >= ? AND NOT EXISTS "
            f"(SELECT 1 FROM temp.snapshot_rows AS s WHERE s.account IN ({marks}) AND s.id = transactions.id)",
            [self._login_id, account_id, oldest, *places],
        ).rowcount


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
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) or _no_room(path):
            raise CacheError(_DISK_FULL.format(path=path)) from exc
        raise CacheError(_UNREACHABLE.format(path=path, reason=exc.strerror or exc)) from exc


def _no_room(path: Path) -> bool:
    """Whether the disk holding `path` is full: SQLite then fails to open or read a cache with a
    plain I/O error (its shared-memory file cannot be made), which is not the directory's fault."""
    import shutil  # only when something failed

    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free < _ROOM_NEEDED
    except OSError:
        return False


#: Less free space than this is a full disk, for a cache: a page and its journal's need.
_ROOM_NEEDED = 64 * 1024


def _cache_error(exc: sqlite3.Error, path: Path) -> CacheError | None:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return CacheLocked(_LOCKED.format(path=path))
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return CacheCorrupt(_CORRUPT.format(path=path))
    if code == _SQLITE_FULL or (code in (_SQLITE_IOERR, _SQLITE_CANTOPEN) and _no_room(path)):
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


class _Sessions:
    """Who has a cache open, and whether the last one to have it open closed it: the lock file
    beside it (`<name>-lock`), which every open `Store` holds a lock on, and whose few bytes say
    "clean" once the last of them closed normally, "open" while any has it open.

    The locks are `flock` locks, one per open file description: two Stores of one process (the
    window's reader, the sync's writer) count as two, and they are not the POSIX locks SQLite
    takes on the database, which closing any other descriptor of the database would drop.

    - Opening: an exclusive lock granted means nobody else has the cache open. That opener reads
      the mark: anything but "clean" (a process killed, or the machine stopped, while it had the
      cache open; or a cache from before this file existed) means the full check is due
      (`unclean`). Once its open succeeded it writes "open", durably, then keeps a shared lock.
      When the exclusive lock is refused, a shared one means others have it open and checked it.
      When both are refused, someone holds the exclusive lock: an opener checking the cache, or
      the last one closing it; the open waits for it (polling: `flock` has no timeout).
    - Closing: an exclusive lock granted means this was the last one: it writes "clean".

    A process killed while others keep the cache open is not noticed: its unfinished transaction
    is one SQLite's write-ahead log already ignores, and the last to close writes "clean". What the
    check is for is the machine stopping with the cache open (power, a crash of the system), when a
    disk that reorders writes may leave a damaged page: then no process is left to write "clean".
    Without `flock` (Windows) nobody can tell: every open is `unclean`, as every open was before.
    """

    CLEAN = b"clean\n"
    OPEN = b"open\n"

    def __init__(self, descriptor: int | None, *, first: bool, unclean: bool) -> None:
        self._descriptor = descriptor
        #: Whether this open was the only one (it holds the exclusive lock until `opened`).
        self.first = first
        #: Whether the full check is due before the cache is used.
        self.unclean = unclean

    @classmethod
    def join(cls, cache: Path, wait: float) -> _Sessions:
        """Take a lock on the cache's lock file (created if missing); `CacheLocked` after `wait`
        seconds of another open or close holding it exclusively (a long check)."""
        if fcntl is None:
            return cls(None, first=False, unclean=True)
        lock = cache.with_name(cache.name + _LOCK_SUFFIX)
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        try:
            deadline = time.monotonic() + wait
            while True:
                for mode, first in ((fcntl.LOCK_EX, True), (fcntl.LOCK_SH, False)):
                    try:
                        fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue
                    unclean = first and os.pread(descriptor, 64, 0) != cls.CLEAN
                    return cls(descriptor, first=first, unclean=unclean)
                if time.monotonic() >= deadline:
                    raise CacheLocked(_LOCKED.format(path=cache))
                time.sleep(0.01)
        except BaseException:
            os.close(descriptor)
            raise

    def opened(self) -> None:
        """The open succeeded: mark the cache open (durably, before anything can write to it) and
        let others in."""
        if self._descriptor is None or not self.first:
            return
        self._write(self.OPEN, durable=True, descriptor=self._descriptor)
        fcntl.flock(self._descriptor, fcntl.LOCK_SH)
        self.first = False

    def leave(self, *, clean: bool) -> None:
        """Let go of the lock; the last one out of a `clean` session marks the cache closed cleanly.
        A failed open leaves the mark as it found it: a refused file stays refused, a cache whose
        check failed is checked again."""
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is None:
            return
        try:
            if clean:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass  # others still have it open: the last of them marks it
                else:
                    self._write(self.CLEAN, durable=False, descriptor=descriptor)  # lost: one more check
        except OSError as error:
            _log.warning("the cache's lock file could not be marked closed: %s", error)
        finally:
            os.close(descriptor)

    def _write(self, mark: bytes, *, durable: bool, descriptor: int) -> None:
        os.pwrite(descriptor, mark, 0)
        os.ftruncate(descriptor, len(mark))
        if durable:
            os.fsync(descriptor)

    def __del__(self) -> None:  # a Store never closed: its lock goes with it, the mark stays "open"
        if self._descriptor is not None:
            os.close(self._descriptor)


def _database(conn: sqlite3.Connection) -> Database:
    """sqlite-utils' `Database` over `conn` (imported here: only migrations and writes use it)."""
    from sqlite_utils import Database

    return Database(conn, execute_plugins=False)


def _create_cache(path: Path, busy_timeout: float) -> None:
    """A new cache at `path`: built whole (WAL mode, every migration) under a temporary name beside
    it, owner-only from the start, then linked into place. A crash leaves no half-made file at the
    cache's path, and a cache another process linked there meanwhile is kept, not replaced."""
    import tempfile  # only for a new cache: not on every start

    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)  # 0600
    os.close(handle)
    building = Path(name)
    try:
        conn = sqlite3.connect(building, timeout=busy_timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            migrations().apply(_database(conn))
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
    "login_id",
    "account_id",
    "id",
    "date",
    "description",
    "debit",
    "credit",
    "balance",
    "code",
)
#: The same columns of the transactions a read selects (`_Selection`: the rows are `t`).
_TRANSACTION_SELECT = ", ".join(f"t.{column}" for column in _TRANSACTION_COLUMNS)


class _Selection(NamedTuple):
    """A transaction read's FROM and WHERE clauses (the rows as `t`), and the WHERE's parameters."""

    source: str
    where: str
    params: list[Any]
    #: A search read down the date index: its full-text query, which `Store.transactions` adds
    #: (`_WALK_MATCH`), and how many rows the other filters select. None when read otherwise.
    walk: str | None = None
    within: int = 0


#: How a search read down the date index keeps the rows the full-text index matched: the unary +
#: keeps the planner from reading the matches by rowid instead of walking the date index.
_WALK_MATCH = "+t.seq IN (SELECT rowid FROM transactions_fts WHERE transactions_fts MATCH ?{range})"


def _filter_clauses(
    login_id: str, account_id: str | None, since: date | None, until: date | None, *, table: str = ""
) -> tuple[list[str], list[Any]]:
    """The conditions (and their parameters) of the filters other than search, on the columns
    login_id, account_id and date of `table` ("t." for an alias; "" for the only table)."""
    clauses, params = [f"{table}login_id = ?"], [login_id]
    if account_id is not None:
        clauses.append(f"{table}account_id = ?")
        params.append(account_id)
    if since is not None:
        clauses.append(f"{table}date >= ?")
        params.append(since.isoformat())
    if until is not None:
        clauses.append(f"{table}date <= ?")
        params.append(until.isoformat())
    return clauses, params


def _day_number(day: date) -> int:
    """`day` as `transaction_amounts` keeps it: 2025-01-31 is 20250131."""
    return day.year * 10_000 + day.month * 100 + day.day


def _day_filter(login_id: str, account_id: str | None, since: date | None, until: date | None) -> tuple[str, list[Any]]:
    """The WHERE clause over `transaction_days` that selects the days of the transactions the
    filters (other than search) select."""
    clauses, params = _filter_clauses(login_id, account_id, since, until)
    return " AND ".join(clauses), params


def fts_query(text: str | None) -> str | None:
    """`text` as an FTS5 query matching every word of it as a prefix; None if it has no words.

    `_quote_fts` makes each word a quoted phrase, so FTS5 syntax (quotes, NEAR, AND, *, ^,
    column:) in the text is only text; a NUL would end the string early, so it goes.
    """
    words = _search_phrases(text)
    return " ".join(f"{phrase}*" for phrase in words) if words else None


def _search_phrases(text: str | None) -> list[str]:
    """The quoted phrases `fts_query` makes of `text`, each matched as a prefix; none without words."""
    if text is None:
        return []
    phrases = _QUOTED_PHRASE.findall(_quote_fts(text.replace("\x00", " ")))
    return [phrase for phrase in phrases if any(character.isalnum() for character in phrase)]


def _phrase(word: str) -> str:
    """A word of the full-text index as an FTS5 query that matches it alone."""
    return '"' + word.replace('"', '""') + '"'


def _summary_of_sums(sums: Mapping[str | None, Sequence[int]]) -> TransactionSummary:
    """A `TransactionSummary` of [count, debits, credits] in cents per currency, in their order."""
    currencies = tuple(
        CurrencySums(currency, count, _decimal(debits), _decimal(credits))
        for currency, (count, debits, credits) in sums.items()
        if count
    )
    return TransactionSummary(sum(entry.count for entry in currencies), currencies)


def _index_common_words(conn: sqlite3.Connection, login_id: str, *, again: bool = False) -> int | None:
    """The login's common words and their day totals (`common_words`), made again from its rows
    in the full-text index: how many words are common. Within the caller's write transaction.
    None when they were already made since the login's transactions last changed (a refresh that
    changed nothing), unless `again`: the row of the word "" (no word of the index) says so.

    The candidates are the index's words in `COMMON_WORD_MATCHES` descriptions or more (of every
    login: reading the index's word list takes ~0.1 s per million descriptions); each one's
    matches of this login are added up per account and day, and kept if there are enough. Nothing
    is read for a login with fewer transactions than that."""
    made = conn.execute("SELECT 1 FROM common_words WHERE login_id = ? AND word = ''", [login_id]).fetchone()
    if made and not again:
        return None
    keys = [key for (key,) in conn.execute("SELECT key FROM account_keys WHERE login_id = ?", [login_id])]
    accounts = f"account IN ({', '.join('?' * len(keys))})"
    conn.execute("DELETE FROM common_words WHERE login_id = ?", [login_id])
    conn.execute(f"DELETE FROM common_word_days WHERE {accounts}", keys)
    conn.execute("INSERT INTO common_words (login_id, word, key, matches) VALUES (?, '', 0, 0)", [login_id])
    total = conn.execute(
        "SELECT coalesce(sum(count), 0) FROM transaction_days WHERE login_id = ?", [login_id]
    ).fetchone()[0]
    if total < COMMON_WORD_MATCHES:
        return 0
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {_INDEX_WORDS} USING {_INDEX_WORDS_MODULE}")
    candidates = [
        word for (word,) in conn.execute(f"SELECT term FROM {_INDEX_WORDS} WHERE doc >= ?", [COMMON_WORD_MATCHES])
    ]
    common = 0
    for key, word in enumerate(candidates, start=1):
        conn.execute(
            "INSERT INTO common_word_days (account, word_key, day, count, debits, credits) "
            "SELECT t.account, ?, t.day, count(*), coalesce(sum(t.debit), 0), coalesce(sum(t.credit), 0) "
            "FROM transactions_fts AS f CROSS JOIN transaction_amounts AS t ON t.seq = f.rowid "  # CROSS: f first
            f"WHERE f.transactions_fts MATCH ? AND t.{accounts} GROUP BY t.account, t.day",
            [key, _phrase(word), *keys],
        )
        matches = conn.execute(
            f"SELECT coalesce(sum(count), 0) FROM common_word_days WHERE {accounts} AND word_key = ?", [*keys, key]
        ).fetchone()[0]
        if matches >= COMMON_WORD_MATCHES:
            conn.execute(
                "INSERT INTO common_words (login_id, word, key, matches) VALUES (?, ?, ?, ?)",
                [login_id, word, key, matches],
            )
            common += 1
        else:
            conn.execute(f"DELETE FROM common_word_days WHERE {accounts} AND word_key = ?", [*keys, key])
    return common


def _quote_fts(text: str) -> str:
    """Every word of `text` as a quoted FTS5 phrase: sqlite-utils' `Database.quote_fts`, which the
    search has always used, so that importing sqlite-utils is not needed to read."""
    if text.count('"') % 2:
        text += '"'
    bits = [bit for bit in _FTS_SPLIT.split(text) if bit and bit != '""']
    return " ".join(f'"{bit}"' if not bit.startswith('"') else bit for bit in bits)


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


def transaction_row(transaction: Transaction) -> tuple[Any, ...]:
    """A transaction as `SnapshotWriter.add` takes it: (Id, ISO date, description, debit, credit,
    balance, code), amounts in cents. Raises `UnsupportedAmount` for an amount that is not a whole
    number of cents (`storable_amount`). Runs for every transaction of a snapshot."""
    debit, credit, balance = transaction.debit, transaction.credit, transaction.balance
    try:
        return (
            transaction.id,
            transaction.date.isoformat(),
            transaction.description,
            None if debit is None else _whole_cents(debit),
            None if credit is None else _whole_cents(credit),
            None if balance is None else _whole_cents(balance),
            transaction.code,
        )
    except (ArithmeticError, ValueError):  # which one: said with its name
        for amount, field in ((debit, "Debit"), (credit, "Credit"), (balance, "Balance")):
            _cents(amount, f"{field} of transaction {mask_id(transaction.id)}")
        raise


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
    return LoginRow(
        **{
            **row,
            "is_scheduled_refresh": bool(scheduled) if scheduled is not None else None,
            "last_refresh": _moment(row["last_refresh"]),
            "synced_at": _moment(row["synced_at"]),
            "status_at": _moment(row["status_at"]),
            "added_at": _moment(row["added_at"]),
        }
    )


def _account_row(row: Mapping[str, Any]) -> AccountRow:
    # Not imported with the store: the window paints its list of connections without an account.
    from flinks_desktop.core.flinks.values import Address, Balance, Holder

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


def _transaction_from_tuple(row: Sequence[Any]) -> TransactionRow:
    """A row of `_TRANSACTION_SELECT` as a TransactionRow (no dict in between: exports read millions)."""
    login_id, account_id, id_, day, description, debit, credit, balance, code = row
    return TransactionRow(
        login_id,
        account_id,
        id_,
        date.fromisoformat(day),
        description,
        _decimal(debit),
        _decimal(credit),
        _decimal(balance),
        code,
    )


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
    cents = _exact_cents(amount)
    if cents is None:
        raise _unsupported(amount, where)
    return cents


def _exact_cents(amount: Decimal) -> int | None:
    """`amount` in cents, or None when that is not a whole number the cache can keep."""
    try:
        return _whole_cents(amount)
    except (ArithmeticError, ValueError):  # a fraction of a cent, more digits than kept, NaN, infinity
        return None


def _whole_cents(amount: Decimal) -> int:
    """`amount` in cents; ArithmeticError (or ValueError) when that is not a whole number the cache can keep."""
    cents = int(_EXACT.to_integral_exact(_EXACT.multiply(amount, 100)))
    if not _SMALLEST_INTEGER <= cents <= _LARGEST_INTEGER:
        raise OverflowError("beyond SQLite's integers")
    return cents


def _unsupported(amount: Decimal, where: str) -> UnsupportedAmount:
    return UnsupportedAmount(
        f"Flinks sent {amount} as the {where}, which is not a whole number of cents the cache can "
        "store exactly, so this refresh was not saved. Report it to your Flinks contact."
    )


@overload
def _decimal(cents: int) -> Decimal: ...
@overload
def _decimal(cents: None) -> None: ...
@overload
def _decimal(cents: int | None) -> Decimal | None: ...
def _decimal(cents: int | None) -> Decimal | None:
    """Cents as a Decimal with two places: 150025 -> Decimal("1500.25"). Exact (19 digits at most)."""
    return Decimal(cents).scaleb(-2) if cents is not None else None


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone: the cache stores UTC and will not guess")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@overload
def _moment(text: str) -> datetime: ...
@overload
def _moment(text: None) -> None: ...
@overload
def _moment(text: str | None) -> datetime | None: ...
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
