"""The local cache, on real SQLite files: snapshots, money, search, purge, crashes, locks, damage.

The bank data comes from the offline sandbox through the real client (user greatday_nomfa: four
accounts, a year of transactions, PDF statements); a second login comes from Flinks' published
sample. Tests that look for bank data after a purge read the raw bytes of the database and its WAL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import unicodedata
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlite_utils import Database

from flinks_desktop.core.flinks import AccountsResult, Authorized, FlinksClient, StatementsResult
from flinks_desktop.core.flinks.models import loads, parse_accounts
from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.store import (
    MIGRATIONS,
    CacheCorrupt,
    CacheError,
    CacheLocked,
    CacheTooNew,
    Store,
    UnknownLogin,
    UnsupportedAmount,
)
from flinks_desktop.sandbox.server import SandboxConfig, SandboxServer

SAMPLES = Path(__file__).parent / "fixtures" / "flinks-samples"
#: The sandbox's "today": the same data on every run.
AS_OF = date(2025, 6, 15)
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
#: Short, so the lock tests are fast.
BUSY_TIMEOUT = 0.2


# -- data ------------------------------------------------------------------------------------------


def fetch_from_sandbox(api_url: str) -> tuple[AccountsResult, StatementsResult]:
    async def fetch() -> tuple[AccountsResult, StatementsResult]:
        async with FlinksClient(api_url, poll_interval=0.01) as flinks:
            authorized = await flinks.authorize_credentials("FlinksCapital", "greatday_nomfa", "Everyday")
            assert isinstance(authorized, Authorized)
            accounts = await flinks.get_accounts_detail(authorized.request_id, days_of_transactions="Days365")
            statements = await flinks.get_statements(authorized.request_id, number_of_statements="Months3")
            return accounts, statements

    return asyncio.run(fetch())


@pytest.fixture(scope="module")
def sandbox_data() -> tuple[AccountsResult, StatementsResult]:
    """Fetched once for the module (the results are immutable): starting a sandbox for each test,
    as the `flinks_sandbox` fixture does, would take most of this module's run time."""
    with SandboxServer(SandboxConfig(as_of=AS_OF)) as sandbox:
        return fetch_from_sandbox(sandbox.api_url)


@pytest.fixture
def snapshot(sandbox_data) -> AccountsResult:
    return sandbox_data[0]


@pytest.fixture
def sample_snapshot() -> AccountsResult:
    """Another login: Flinks' published GetAccountsDetail sample."""
    return parse_accounts(loads((SAMPLES / "get_accounts_detail_200.json").read_bytes()))


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "data" / "cache.db"


@pytest.fixture
def store(db_path):
    with Store.open(db_path, busy_timeout=BUSY_TIMEOUT) as store:
        yield store


def login_id_of(result: AccountsResult) -> str:
    assert result.login is not None
    return result.login.id


def saved(store: Store, result: AccountsResult, at: datetime = NOW):
    """Add the result's login to the store and save the result as its snapshot."""
    login_id = login_id_of(result)
    store.upsert_login(login_id, result.institution or "FlinksCapital", at=at)
    return store.save_snapshot(login_id, result, synced_at=at)


def all_transactions(result: AccountsResult):
    return [transaction for account in result.accounts for transaction in account.transactions]


def with_transaction_replaced(result: AccountsResult, account_index: int, transaction_index: int, **changes):
    """`result` with one transaction changed (dataclasses.replace all the way down)."""
    account = result.accounts[account_index]
    transactions = list(account.transactions)
    transactions[transaction_index] = dataclasses.replace(transactions[transaction_index], **changes)
    accounts = list(result.accounts)
    accounts[account_index] = dataclasses.replace(account, transactions=tuple(transactions))
    return dataclasses.replace(result, accounts=tuple(accounts))


def raw_connection(db_path: Path) -> closing[sqlite3.Connection]:
    """A plain sqlite3 connection, closed at the end of its `with` block."""
    return closing(sqlite3.connect(db_path, isolation_level=None))


def indexed_words(db_path: Path) -> set[str]:
    """The words in the full-text index of descriptions, as SQLite's fts5vocab lists them."""
    with raw_connection(db_path) as raw:
        raw.execute("CREATE VIRTUAL TABLE temp.vocabulary USING fts5vocab(main, transactions_fts, row)")
        return {term for (term,) in raw.execute("SELECT term FROM temp.vocabulary")}


def raw_bytes(db_path: Path) -> bytes:
    """Everything SQLite keeps on disk for the database: the file and its WAL."""
    wal = db_path.with_name(db_path.name + "-wal")
    return db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def words(text: str) -> list[str]:
    """Lowercase words without accents, as the full-text index sees them."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c if c.isalnum() else " " for c in plain.casefold()).split()


# -- opening: files, modes, migrations --------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_open_creates_an_owner_only_directory_and_file_in_wal_mode(store, db_path, snapshot):
    saved(store, snapshot)

    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    for suffix in ("-wal", "-shm"):
        side_file = db_path.with_name(f"cache.db{suffix}")
        assert side_file.exists() and stat.S_IMODE(side_file.stat().st_mode) == 0o600
    with raw_connection(db_path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_open_tightens_an_existing_file(db_path):
    Store.open(db_path).close()
    db_path.chmod(0o644)
    Store.open(db_path).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_a_new_cache_gets_the_whole_schema_and_its_version_and_an_empty_file_is_refused(db_path):
    Store.open(db_path).close()

    db = Database(db_path)
    assert [migration.name for migration in MIGRATIONS.applied(db)] == [
        "initial_schema",
        "login_tag",
        "pending_wipes",
        "transactions_keyed_by_account",
        "transaction_days",
        "transaction_amounts",
        "common_words",
    ]
    assert MIGRATIONS.pending(db) == []
    tables = {
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
        "common_words",
        "common_word_days",
    }
    assert tables <= set(db.table_names())
    db.close()
    Store.open(db_path).close()  # a second open has nothing to do
    assert len(MIGRATIONS.applied(Database(db_path))) == 7
    assert not [path for path in db_path.parent.iterdir() if ".new" in path.name]  # nothing left of the making

    empty = db_path.with_name("empty.db")  # no cache is ever empty: this one is not ours
    empty.touch()
    with pytest.raises(CacheCorrupt, match="is empty, so it is not a Flinks Desktop cache"):
        Store.open(empty)
    assert empty.stat().st_size == 0


def test_a_cache_of_the_first_release_gains_the_tag_and_keeps_its_data(db_path, snapshot):
    """A cache written before `login_tag` existed: opened by this version, migrated in place."""
    with Store.open(db_path) as store:
        saved(store, snapshot)
        login_id = login_id_of(snapshot)
        before = (store.accounts(login_id), store.count_transactions(login_id))
    with raw_connection(db_path) as first_release:  # back to the first release's schema
        first_release.execute("ALTER TABLE logins DROP COLUMN tag")
        first_release.execute("DELETE FROM _sqlite_migrations WHERE name = 'login_tag'")
    with Store.open(db_path) as store:
        assert store.login(login_id).tag is None
        assert (store.accounts(login_id), store.count_transactions(login_id)) == before
        store.upsert_login(login_id, "FlinksCapital", at=NOW, tag="ticket-4521")
        store.upsert_login(login_id, "FlinksCapital", at=NOW)  # no tag given: the one known stays
        assert store.login(login_id).tag == "ticket-4521"


def test_a_cache_from_a_newer_version_is_refused(db_path):
    Store.open(db_path).close()
    with raw_connection(db_path) as newer:
        newer.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            (MIGRATIONS.name, "a_migration_of_a_later_release", str(NOW)),
        )
    with pytest.raises(CacheTooNew, match="newer version of Flinks Desktop"):
        Store.open(db_path)


def test_a_file_that_is_not_a_database_is_corrupt(db_path):
    db_path.parent.mkdir()
    db_path.write_bytes(b"these are not the bytes of a SQLite database\n" * 200)
    with pytest.raises(CacheCorrupt) as caught:
        Store.open(db_path)
    message = str(caught.value)
    assert "is damaged" in message and str(db_path) in message and message.endswith(".")
    assert isinstance(caught.value, CacheError)


def test_a_database_with_damaged_pages_is_corrupt(db_path, snapshot):
    with Store.open(db_path) as store:
        saved(store, snapshot)
    data = bytearray(db_path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for page in range(2, len(data) // page_size, 2):  # every other page after the schema page
        data[page * page_size : page * page_size + 64] = b"\xa5" * 64
    db_path.write_bytes(bytes(data))
    with pytest.raises(CacheCorrupt, match="is damaged"):
        Store.open(db_path)


def test_a_locked_cache_fails_after_the_busy_timeout_and_reads_still_work(store, db_path, snapshot):
    saved(store, snapshot)
    login_id = login_id_of(snapshot)
    with raw_connection(db_path) as writer:  # closing it rolls its transaction back
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE logins SET username = 'being written'")
        started = time.monotonic()
        with pytest.raises(CacheLocked, match="is busy") as caught:
            store.set_status(login_id, "error", error_code="RETRY_LATER", at=LATER)
        assert BUSY_TIMEOUT <= time.monotonic() - started < 5
        assert str(db_path) in str(caught.value)
        # WAL: a reader is not blocked by the writer, and sees the last committed state.
        assert store.login(login_id).username == "greatday_nomfa"
        assert store.count_transactions(login_id) == len(all_transactions(snapshot))
    store.set_status(login_id, "error", error_code="RETRY_LATER", at=LATER)  # free again
    assert store.login(login_id).status == "error"


def test_a_writer_thread_with_its_own_store_while_the_gui_thread_reads(store, db_path, snapshot):
    login_id = login_id_of(snapshot)
    results: list[object] = []

    def sync() -> None:
        with Store.open(db_path) as writer:  # a Store belongs to the thread that opened it
            results.append(saved(writer, snapshot))

    worker = threading.Thread(target=sync)
    worker.start()
    while worker.is_alive():
        store.logins()  # reads on this thread go on meanwhile
    worker.join()
    assert results[0].new == store.count_transactions(login_id) == len(all_transactions(snapshot))

    def misuse() -> None:
        try:
            store.logins()
        except sqlite3.ProgrammingError as exc:
            results.append(exc)

    worker = threading.Thread(target=misuse)
    worker.start()
    worker.join()
    assert isinstance(results[-1], sqlite3.ProgrammingError)


# -- snapshots ------------------------------------------------------------------------------------


def test_saving_a_snapshot_twice_duplicates_nothing(store, snapshot):
    login_id = login_id_of(snapshot)
    count = len(all_transactions(snapshot))

    first = saved(store, snapshot)
    second = store.save_snapshot(login_id, snapshot, synced_at=LATER)

    assert (first.accounts, first.new, first.updated, first.unchanged, first.removed) == (4, count, 0, 0, 0)
    assert (second.accounts, second.new, second.updated, second.unchanged, second.removed) == (4, 0, 0, count, 0)
    assert store.count_transactions(login_id) == count
    assert len(store.transactions(login_id)) == count
    assert [row.id for row in store.accounts(login_id)] == [account.id for account in snapshot.accounts]
    login = store.login(login_id)
    assert login.synced_at == LATER and login.status == "ok"
    assert login.username == "greatday_nomfa" and login.last_refresh == snapshot.login.last_refresh


def test_a_transaction_changed_upstream_is_updated_in_place(store, snapshot):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    original = snapshot.accounts[0].transactions[5]
    changed = with_transaction_replaced(
        snapshot, 0, 5, description="CORRECTED BY THE BANK", debit=Decimal("12.34"), credit=None
    )

    stats = store.save_snapshot(login_id, changed, synced_at=LATER)

    assert (stats.new, stats.updated, stats.unchanged) == (0, 1, len(all_transactions(snapshot)) - 1)
    [row] = [row for row in store.transactions(login_id) if row.id == original.id]
    assert (row.description, row.debit, row.date) == ("CORRECTED BY THE BANK", Decimal("12.34"), original.date)
    assert store.count_transactions(login_id) == len(all_transactions(snapshot))
    assert store.transactions(login_id, search="corrected")[0].id == original.id


def test_transactions_come_back_newest_first_in_flinks_order(store, snapshot):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    for account in snapshot.accounts:
        rows = store.transactions(login_id, account_id=account.id)
        assert [row.id for row in rows] == [transaction.id for transaction in account.transactions]


def test_money_is_exact(store, snapshot):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    source = {transaction.id: transaction for transaction in all_transactions(snapshot)}

    for row in store.transactions(login_id):
        expected = source[row.id]
        assert (row.debit, row.credit, row.balance) == (expected.debit, expected.credit, expected.balance)
        assert row.debit is None or row.debit.as_tuple().exponent == -2  # always two places
    debits = sum((t.debit for t in source.values() if t.debit is not None), Decimal(0))
    credits = sum((t.credit for t in source.values() if t.credit is not None), Decimal(0))
    summary = store.transaction_summary(login_id)
    assert sum((c.debits for c in summary.currencies), Decimal(0)) == debits
    assert sum((c.credits for c in summary.currencies), Decimal(0)) == credits
    with raw_connection(store.path) as raw:
        cents = raw.execute("SELECT sum(debit), typeof(sum(debit)) FROM transactions").fetchone()
    assert cents == (int(debits * 100), "integer")
    for row, account in zip(store.accounts(login_id), snapshot.accounts, strict=True):
        assert row.balance == account.balance and row.overdraft_limit == account.overdraft_limit


@pytest.mark.parametrize("amount", [Decimal("1.005"), Decimal("0.001"), Decimal("1E+30"), Decimal("NaN")])
def test_an_amount_that_is_not_whole_cents_is_refused_and_nothing_is_written(store, snapshot, amount):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    before = store.transactions(login_id)

    bad = with_transaction_replaced(snapshot, 1, 0, debit=amount, description="NEVER STORED")
    with pytest.raises(UnsupportedAmount, match="not a whole number of cents") as caught:
        store.save_snapshot(login_id, bad, synced_at=LATER)

    assert mask_id(snapshot.accounts[1].transactions[0].id) in str(caught.value)
    assert store.transactions(login_id) == before
    assert store.login(login_id).synced_at == NOW


def test_an_account_gone_upstream_is_kept_and_marked_and_stale_transactions_go(store, snapshot):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    gone, kept = snapshot.accounts[3], snapshot.accounts[0]
    # For `kept`, Flinks now returns only 60 days, without one of its recent transactions.
    recent = kept.transactions[2]
    window = tuple(t for t in kept.transactions if t.date >= kept.transactions[0].date - timedelta(days=60))
    refreshed = dataclasses.replace(kept, transactions=tuple(t for t in window if t.id != recent.id))
    later = dataclasses.replace(snapshot, accounts=(refreshed, *snapshot.accounts[1:3]))

    stats = store.save_snapshot(login_id, later, synced_at=LATER)

    assert (stats.accounts, stats.accounts_missing, stats.removed) == (3, 1, 1)
    rows = store.accounts(login_id)
    assert [row.id for row in rows] == [a.id for a in snapshot.accounts]  # the missing one last
    assert rows[-1].missing_since == LATER and rows[-1].seen_at == NOW
    assert all(row.missing_since is None for row in rows[:-1])
    assert store.count_transactions(login_id, account_id=gone.id) == len(gone.transactions)
    cached_ids = {row.id for row in store.transactions(login_id, account_id=kept.id)}
    assert recent.id not in cached_ids
    assert cached_ids == {t.id for t in kept.transactions} - {recent.id}  # older history kept

    store.save_snapshot(login_id, snapshot, synced_at=LATER + timedelta(hours=1))
    assert all(row.missing_since is None for row in store.accounts(login_id))


def test_a_login_added_from_connect_then_described_by_authorize(store, snapshot):
    login_id = login_id_of(snapshot)
    store.upsert_login(login_id, "FlinksCapital", at=NOW, environment="Offline sandbox")
    added = store.login(login_id)
    assert (added.username, added.synced_at, added.status, added.environment, added.added_at) == (
        None,
        None,
        "ok",
        "Offline sandbox",
        NOW,
    )

    store.upsert_login(login_id, "FlinksCapital", at=LATER, details=snapshot.login)

    login = store.login(login_id)
    assert (login.username, login.type, login.is_scheduled_refresh, login.last_refresh) == (
        "greatday_nomfa",
        "Personal",
        False,
        snapshot.login.last_refresh,
    )
    assert (login.environment, login.added_at) == ("Offline sandbox", NOW)  # kept
    assert store.logins() == [login]
    with pytest.raises(ValueError, match="not"):
        store.upsert_login("5e115eac-1209-4f19-641c-08d6d484e2fe", "FlinksCapital", at=NOW, details=snapshot.login)


def test_a_snapshot_of_a_login_not_in_the_cache_is_refused(store, snapshot):
    with pytest.raises(UnknownLogin, match="no longer in the cache"):
        store.save_snapshot(login_id_of(snapshot), snapshot, synced_at=NOW)
    assert store.logins() == []


def test_a_snapshot_of_another_login_is_refused(store, snapshot, sample_snapshot):
    saved(store, sample_snapshot)
    with pytest.raises(ValueError, match="not"):
        store.save_snapshot(login_id_of(sample_snapshot), snapshot, synced_at=NOW)


def test_status(store, snapshot):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)

    store.set_status(login_id, "error", error_code="RETRY_LATER", error_message="The bank is down.", at=LATER)
    login = store.login(login_id)
    assert (login.status, login.error_code, login.error_message, login.status_at) == (
        "error",
        "RETRY_LATER",
        "The bank is down.",
        LATER,
    )
    store.save_snapshot(login_id, snapshot, synced_at=LATER + timedelta(minutes=5))
    assert (store.login(login_id).status, store.login(login_id).error_code) == ("ok", None)

    with pytest.raises(ValueError):
        store.set_status(login_id, "broken", at=LATER)  # type: ignore[arg-type]
    with pytest.raises(UnknownLogin):
        store.set_status("5e115eac-1209-4f19-641c-08d6d484e2fe", "deleted", at=LATER)
    with pytest.raises(ValueError, match="time zone"):
        store.set_status(login_id, "ok", at=datetime(2025, 1, 1))


# -- search and filters ------------------------------------------------------------------------------


def test_search_finds_words_by_prefix_ignoring_case_and_accents(store, snapshot):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    descriptions = [t.description or "" for t in all_transactions(snapshot)]

    for query in ("tim hortons", "TIM HORT", "cafe", "café olimp", "montreal"):
        query_words = words(query)
        expected = sum(
            all(any(word.startswith(q) for word in words(text)) for q in query_words) for text in descriptions
        )
        assert expected > 0, query
        rows = store.transactions(login_id, search=query)
        assert len(rows) == expected == store.count_transactions(login_id, search=query), query


HOSTILE_QUERIES = [
    '"',
    '""',
    "'",
    "*",
    "NEAR",
    "NEAR(tim hortons)",
    "tim OR x",
    "AND",
    "NOT tim",
    "-tim",
    "^tim",
    "description:tim",
    "(",
    ")",
    "{description}: x",
    "\x00",
    '"unbalanced',
    "it's",
    "日本語",
    "🙂",
    "Ünïcödé",
    "%_",
    "a" * 2000,
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_search_treats_any_text_as_text(store, snapshot, query):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    rows = store.transactions(login_id, search=query)
    assert len(rows) == store.count_transactions(login_id, search=query)
    assert store.transaction_summary(login_id, search=query).count == len(rows)


@pytest.mark.parametrize("query", ['"tim hortons', "tim* hortons", "(tim) hortons", "tim:hortons", "tim\0hortons"])
def test_search_syntax_in_the_text_is_only_punctuation(store, snapshot, query):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    expected = store.count_transactions(login_id, search="tim hortons")
    assert expected > 0 and store.count_transactions(login_id, search=query) == expected


def test_a_search_without_words_does_not_filter(store, snapshot):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    everything = store.count_transactions(login_id)
    for query in ("", "   ", '"', "*", "- ( ) ^"):
        assert store.count_transactions(login_id, search=query) == everything


def test_filters_pages_and_totals(store, snapshot):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    account = snapshot.accounts[0]
    until = account.transactions[0].date - timedelta(days=10)
    since = until - timedelta(days=40)
    expected = [t for t in account.transactions if since <= t.date <= until]
    assert 0 < len(expected) < len(account.transactions)

    filters = {"account_id": account.id, "since": since, "until": until}
    rows = store.transactions(login_id, **filters)
    assert [row.id for row in rows] == [t.id for t in expected]
    assert store.count_transactions(login_id, **filters) == len(expected)
    assert [(c.count, c.debits, c.credits) for c in store.transaction_summary(login_id, **filters).currencies] == [
        (
            len(expected),
            sum((t.debit for t in expected if t.debit), Decimal(0)),
            sum((t.credit for t in expected if t.credit), Decimal(0)),
        )
    ]
    everything_since = [t for t in all_transactions(snapshot) if t.date >= since]
    assert store.count_transactions(login_id, since=since) == len(everything_since)

    pages = [store.transactions(login_id, account_id=account.id, limit=25, offset=n) for n in (0, 25, 50)]
    assert [row.id for page in pages for row in page] == [t.id for t in account.transactions[:75]]
    nothing = store.transaction_summary(login_id, account_id="no such account")
    assert nothing.count == 0 and all(c.debits == c.credits == 0 for c in nothing.currencies)


# -- statements ---------------------------------------------------------------------------------------


def test_statements_are_stored_with_their_bytes(store, sandbox_data):
    snapshot, statements = sandbox_data
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    first = statements.accounts[0].statements[0]

    may = (date(2025, 5, 1), date(2025, 5, 31))
    stats = store.save_statements(login_id, statements, fetched_at=LATER, periods={first.unique_id: may})

    assert (stats.new, stats.updated, stats.unchanged) == (12, 0, 0)
    rows = store.statements(login_id)
    assert len(rows) == 12
    by_id = {row.unique_id: row for row in rows}
    assert (by_id[first.unique_id].period_start, by_id[first.unique_id].period_end) == may
    for group in statements.accounts:
        for position, statement in enumerate(group.statements):
            row = by_id[statement.unique_id]
            assert (row.account_number, row.position, row.file_type) == (group.account_number, position, "PDF")
            assert row.size == len(statement.content) and row.fetched_at == LATER
            assert store.statement_pdf(login_id, statement.unique_id) == statement.content
    assert store.statement_pdf(login_id, "no such statement") is None

    again = store.save_statements(login_id, statements, fetched_at=LATER + timedelta(hours=1))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 12)
    periods = {row.unique_id: (row.period_start, row.period_end) for row in store.statements(login_id)}
    assert periods[first.unique_id] == may  # a fetch that does not know the period keeps it


# -- crash mid-write -------------------------------------------------------------------------------------

#: Runs in a child process: saves the snapshot pickled in argv[2] and, once the transactions of two
#: of its accounts are written, says "partway" on stdout and waits to be killed.
CRASHING_WRITER = """
import pickle, sqlite3, sys, time
from datetime import UTC, datetime
from flinks_desktop.core.store import Store

db_path, snapshot_path, login_id = sys.argv[1:4]
batches = 0

def stop_halfway(sql):
    global batches
    if sql.startswith("INSERT INTO transactions "):  # one per account, its staged rows into the cache
        batches += 1
        if batches == 3:
            print("partway", flush=True)
            time.sleep(60)

real_connect = sqlite3.connect
def connect(*args, **kwargs):
    connection = real_connect(*args, **kwargs)
    connection.execute("PRAGMA cache_size = 1")  # spill uncommitted pages to the WAL early
    connection.set_trace_callback(stop_halfway)
    return connection
sqlite3.connect = connect

with open(snapshot_path, "rb") as file:
    snapshot = pickle.load(file)
store = Store.open(db_path)
store.save_snapshot(login_id, snapshot, synced_at=datetime.now(UTC))
print("finished", flush=True)
"""


def test_a_writer_killed_mid_snapshot_leaves_the_previous_snapshot_intact(db_path, tmp_path, snapshot):
    login_id = login_id_of(snapshot)
    with Store.open(db_path) as store:
        saved(store, snapshot)
        before = (store.login(login_id), store.accounts(login_id), store.transactions(login_id))
    rewritten = dataclasses.replace(
        snapshot,
        accounts=tuple(
            dataclasses.replace(
                account,
                transactions=tuple(
                    dataclasses.replace(t, description=f"REWRITTEN {t.description}") for t in account.transactions
                ),
            )
            for account in snapshot.accounts
        ),
    )
    snapshot_file = tmp_path / "snapshot.pickle"
    snapshot_file.write_bytes(pickle.dumps(rewritten))
    wal = db_path.with_name("cache.db-wal")
    wal_before = wal.stat().st_size if wal.exists() else 0

    writer = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(db_path), str(snapshot_file), login_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = writer.stdout.readline()
        assert line == "partway\n", writer.stderr.read() if line == "" else line
        assert wal.stat().st_size > wal_before  # uncommitted pages did reach the disk
    finally:
        writer.kill()  # SIGKILL: no cleanup, no rollback
        writer.wait()
        writer.stdout.close()
        writer.stderr.close()

    with Store.open(db_path) as store:
        assert (store.login(login_id), store.accounts(login_id), store.transactions(login_id)) == before
        assert store.count_transactions(login_id, search="rewritten") == 0
    with raw_connection(db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# -- audit --------------------------------------------------------------------------------------------------


def test_the_audit_keeps_masked_ids_only(store, db_path):
    login_id = "8b35f6c8-e7b6-41d3-98f8-08d68b7f8d31"
    request_id = "006fd2f3-055b-4ef6-a9fc-c1261cd76ec6"
    store.record_api_call(
        at=NOW,
        method="GET",
        endpoint=f"GetAccountsDetailAsync/{request_id}",
        status=202,
        flinks_code="OPERATION_PENDING",
        duration_ms=120,
        login_id=login_id,
        request_id=request_id,
    )
    store.record_api_call(
        at=NOW + timedelta(seconds=1),
        method="DELETE",
        endpoint=f"DeleteCard/{login_id}",
        status=None,
        flinks_code=None,
        duration_ms=10_000,
        login_id=login_id,
    )
    redirect = {
        "step": "REDIRECT",
        "institution": "FlinksCapital",
        "url": f"https://flinks-desktop.invalid/connected?loginId={login_id}&institution=FlinksCapital",
    }
    store.record_connect_event(redirect, at=NOW + timedelta(seconds=2), login_id=login_id)
    store.record_connect_event(
        {"flinksCode": "INVALID_LOGIN", "requestId": request_id, "institution": "FlinksCapital"},
        at=NOW + timedelta(seconds=3),
    )

    with raw_connection(db_path) as raw:
        audit = [*raw.execute("SELECT * FROM api_calls"), *raw.execute("SELECT * FROM events")]
    assert len(audit) == 4
    assert login_id not in repr(audit) and request_id not in repr(audit)
    assert mask_id(login_id) in repr(audit)
    raw_file = raw_bytes(db_path)
    assert login_id.encode() not in raw_file and request_id.encode() not in raw_file

    activity = store.activity()
    assert [(row.kind, row.name) for row in activity] == [
        ("connect", "INVALID_LOGIN"),
        ("connect", "REDIRECT"),
        ("api", f"DeleteCard/{mask_id(login_id)}"),
        ("api", f"GetAccountsDetailAsync/{mask_id(request_id)}"),
    ]
    assert activity[0].flinks_code == "INVALID_LOGIN" and activity[0].request == mask_id(request_id)
    assert activity[1].detail["url"] == redirect["url"].replace(login_id, mask_id(login_id))
    assert (activity[2].method, activity[2].status, activity[2].duration_ms) == ("DELETE", None, 10_000)
    assert [row.name for row in store.activity(login_id)] == [
        "REDIRECT",
        f"DeleteCard/{mask_id(login_id)}",
        f"GetAccountsDetailAsync/{mask_id(request_id)}",
    ]
    assert len(store.activity(limit=2)) == 2
    with pytest.raises(ValueError):
        store.record_connect_event({"institution": "FlinksCapital"}, at=NOW)


# -- purge ----------------------------------------------------------------------------------------------


def test_purge_leaves_no_bank_data_of_the_login_in_the_file_or_the_wal(store, db_path, sandbox_data, sample_snapshot):
    snapshot, statements = sandbox_data
    marker = "ZQXWV PURGE MARKER 4417"
    snapshot = with_transaction_replaced(snapshot, 2, 3, description=marker)
    login_id, other_id = login_id_of(snapshot), login_id_of(sample_snapshot)
    account_number = snapshot.accounts[0].account_number
    holder_name = snapshot.accounts[0].holder.name
    saved(store, snapshot)
    store.save_statements(login_id, statements, fetched_at=NOW)
    saved(store, sample_snapshot)
    store.record_api_call(
        at=LATER,
        method="DELETE",
        endpoint=f"DeleteCard/{login_id}",
        status=200,
        flinks_code=None,
        duration_ms=80,
        login_id=login_id,
    )
    secrets = [marker, account_number, holder_name, login_id, "%PDF"]
    assert [secret for secret in secrets if secret.encode() not in raw_bytes(db_path)] == []  # visible before
    assert "zqxwv" in indexed_words(db_path)

    stats = store.purge_login(login_id, at=LATER + timedelta(seconds=1), by="support agent")

    assert (stats.login, stats.accounts, stats.transactions, stats.statements) == (
        True,
        4,
        len(all_transactions(snapshot)),
        12,
    )
    after = raw_bytes(db_path)
    for secret in secrets:
        assert secret.encode() not in after, secret
    assert "zqxwv" not in indexed_words(db_path) and "payroll" in indexed_words(db_path)
    wal = db_path.with_name("cache.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    # The other login is untouched.
    assert sample_snapshot.accounts[0].account_number.encode() in after
    assert [login.id for login in store.logins()] == [other_id]
    assert store.count_transactions(other_id) == len(all_transactions(sample_snapshot))
    assert store.count_transactions(other_id, search="payroll") == 1
    # Nothing of the purged login remains to read; its audit does, masked.
    assert (store.login(login_id), store.accounts(login_id), store.statements(login_id)) == (None, [], [])
    assert store.transactions(login_id, search="zqxwv") == []
    assert [(row.kind, row.name) for row in store.activity(login_id)] == [
        ("app", "LOGIN_PURGED"),
        ("api", f"DeleteCard/{mask_id(login_id)}"),
    ]
    assert store.activity(login_id)[0].detail == {
        "accounts": 4,
        "statements": 12,
        "transactions": stats.transactions,
        "by": "support agent",
    }
    with pytest.raises(UnknownLogin):
        store.save_statements(login_id, statements, fetched_at=LATER)
    with raw_connection(db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        # FTS5's own check of the index against the table: raises if they disagree.
        raw.execute("INSERT INTO transactions_fts (transactions_fts, rank) VALUES ('integrity-check', 1)")

    again = store.purge_login(login_id, at=LATER)
    assert (again.login, again.accounts, again.transactions, again.statements) == (False, 0, 0, 0)


def test_purge_says_so_when_another_connection_keeps_the_wal(store, db_path, snapshot):
    login_id = login_id_of(snapshot)
    saved(store, snapshot)
    with raw_connection(db_path) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM transactions").fetchone()  # holds a read snapshot
        stats = store.purge_login(login_id, at=LATER)
        assert stats.login and not stats.wiped
        assert store.login(login_id) is None  # the rows are gone, and the wipe is pending
        assert store.pending_wipes() == 1
    with Store.open(db_path, finish_wipes=True) as writer:  # the next writer's open finishes the wipe
        assert writer.pending_wipes() == 0
    wal = db_path.with_name("cache.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert [row.name for row in store.activity()][:2] == ["WIPE_COMPLETED", "LOGIN_PURGED"]


def test_whether_flinks_deleted_a_card_is_read_from_its_newest_delete_call(store):
    login_id = "8b35f6c8-e7b6-41d3-98f8-08d68b7f8d31"
    assert store.deleted_at_flinks(login_id) is False  # never asked

    def delete_call(seconds: int, status: int | None, code: str | None = None) -> None:
        store.record_api_call(
            at=NOW + timedelta(seconds=seconds),
            method="DELETE",
            endpoint=f"DeleteCard/{login_id}",
            status=status,
            flinks_code=code,
            duration_ms=40,
            login_id=login_id,
        )

    delete_call(1, 409, "CARD_IN_USE")
    assert store.deleted_at_flinks(login_id) is False
    delete_call(2, None)  # no answer: not known to be deleted
    assert store.deleted_at_flinks(login_id) is False
    delete_call(3, 200)
    assert store.deleted_at_flinks(login_id) is True
    assert store.deleted_at_flinks("8b35f6c8-0000-4000-8000-000000000000") is False  # another login
