"""The store's write of a snapshot as it is read (`Store.snapshot_writer`): whole or not at all, the
same rows as `save_snapshot` of the same answer, each transaction once, in time order, and only what
Flinks no longer returns deleted. Real SQLite files in a temporary directory."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from flinks_desktop.core.flinks.models import Account, AccountsResult, Login, Transaction
from flinks_desktop.core.flinks.values import Balance
from flinks_desktop.core.store import SnapshotStats, Store, UnknownLogin, UnsupportedAmount, transaction_row

LOGIN_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
CHEQUING = "27a9ffa0-c6b9-4cc6-9eaa-aa9efa07a889"
SAVINGS = "5c1d3ad2-7a3e-4bb5-9c44-0a6f7e0c9d11"
NOW = datetime(2025, 6, 15, 12, tzinfo=UTC)
LAST_DAY = date(2025, 6, 15)


def transaction(number: int, day: int, description: str | None = None) -> Transaction:
    """Transaction `number`, dated `day` days before the last day."""
    return Transaction(
        f"t-{number:05d}",
        LAST_DAY - timedelta(days=day),
        description or f"PAYMENT {number}",
        Decimal(f"{number}.25"),
        None,
        Decimal("1000.00"),
        None,
    )


def account(identifier: str, transactions: list[Transaction], **changes) -> Account:
    return Account(
        identifier,
        "Account",
        "7641238",
        None,
        None,
        None,
        None,
        Balance(None, Decimal("1.00"), None),
        "Operations",
        "Chequing",
        "CAD",
        None,
        "Personal",
        transactions=tuple(transactions),
        **changes,
    )


def answer(*accounts: Account) -> AccountsResult:
    return AccountsResult("r", Login(LOGIN_ID, "camille", False, None, "Personal"), "FlinksCapital", tuple(accounts))


#: Newest first, as Flinks lists them: three a day.
CHEQUING_ROWS = [transaction(number, number // 3) for number in range(30)]
SAVINGS_ROWS = [transaction(100 + number, number) for number in range(10)]


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data" / "cache.db") as opened:
        opened.upsert_login(LOGIN_ID, "FlinksCapital", at=NOW)
        yield opened


def written(store: Store, result: AccountsResult, batch: int = 4) -> SnapshotStats:
    """`result` written the streaming way, `batch` transactions at a time."""
    with store.snapshot_writer(LOGIN_ID, synced_at=NOW) as writer:
        for index, item in enumerate(result.accounts):
            rows = [transaction_row(t) for t in item.transactions]
            for first in range(0, len(rows), batch):
                writer.add(index, rows[first : first + batch])
            writer.account(index, item)
        return writer.finish(result.login, all_accounts_read=result.all_accounts_read)


def rows(store: Store) -> list[tuple]:
    """Every data row, the search index checked against them."""
    with closing(sqlite3.connect(store.path)) as db:
        db.execute("INSERT INTO transactions_fts (transactions_fts, rank) VALUES ('integrity-check', 1)")
        return db.execute(
            "SELECT account_id, id, date, description, debit, credit, balance, code "
            "FROM transactions ORDER BY account_id, id"
        ).fetchall()


def test_batches_write_what_save_snapshot_writes_in_time_order(store, tmp_path) -> None:
    result = answer(account(CHEQUING, CHEQUING_ROWS), account(SAVINGS, SAVINGS_ROWS))
    stats = written(store, result, batch=7)
    assert stats == SnapshotStats(accounts=2, accounts_missing=0, new=40, updated=0, unchanged=0, removed=0)
    with Store.open(tmp_path / "other" / "cache.db") as other:
        other.upsert_login(LOGIN_ID, "FlinksCapital", at=NOW)
        other.save_snapshot(LOGIN_ID, result, synced_at=NOW)
        assert rows(other) == rows(store)
    # Newest first within a day too: the order Flinks listed them in, across batches.
    assert [t.id for t in store.transactions(LOGIN_ID, account_id=CHEQUING)] == [t.id for t in CHEQUING_ROWS]
    assert store.count_transactions(LOGIN_ID, search="payment 17") == 1
    assert store.login(LOGIN_ID).synced_at == NOW


def test_a_snapshot_not_finished_or_failing_writes_nothing(store) -> None:
    written(store, answer(account(CHEQUING, CHEQUING_ROWS)))
    before = rows(store)
    changed = [replace(t, description="CHANGED") for t in CHEQUING_ROWS]
    with pytest.raises(RuntimeError, match="finish"), store.snapshot_writer(LOGIN_ID, synced_at=NOW) as writer:
        writer.add(0, [transaction_row(t) for t in changed])
        writer.account(0, account(CHEQUING, changed))
    assert rows(store) == before
    with pytest.raises(ValueError, match="half-way"), store.snapshot_writer(LOGIN_ID, synced_at=NOW) as writer:
        writer.add(0, [transaction_row(t) for t in changed])
        writer.account(0, account(CHEQUING, changed))
        raise ValueError("half-way")
    assert rows(store) == before and store.count_transactions(LOGIN_ID, search="changed") == 0
    # Nothing was left staged: the next snapshot is what it says.
    assert written(store, answer(account(CHEQUING, CHEQUING_ROWS[:3]))).removed == 0


def test_an_amount_the_cache_cannot_keep_writes_nothing(store) -> None:
    written(store, answer(account(CHEQUING, CHEQUING_ROWS)))
    before = rows(store)
    odd = [*CHEQUING_ROWS[:20], replace(CHEQUING_ROWS[20], debit=Decimal("1.005"))]
    with pytest.raises(UnsupportedAmount, match="Debit of transaction"):
        store.save_snapshot(LOGIN_ID, answer(account(CHEQUING, odd)), synced_at=NOW)
    assert rows(store) == before


def test_a_snapshot_of_a_purged_login_writes_nothing(store) -> None:
    store.purge_login(LOGIN_ID, at=NOW)
    with pytest.raises(UnknownLogin), store.snapshot_writer(LOGIN_ID, synced_at=NOW):
        pass
    assert rows(store) == []


def test_an_id_twice_in_an_account_is_one_row_the_first_flinks_lists(store) -> None:
    twice = [transaction(1, 0, "FIRST"), transaction(2, 0), transaction(1, 1, "SECOND")]
    stats = written(store, answer(account(CHEQUING, twice)), batch=1)
    assert (stats.new, stats.updated, stats.unchanged) == (2, 0, 0)
    assert [(row[1], row[3]) for row in rows(store)] == [("t-00001", "FIRST"), ("t-00002", "PAYMENT 2")]
    assert written(store, answer(account(CHEQUING, twice))).unchanged == 2


def test_an_account_left_out_takes_its_staged_transactions_with_it(store) -> None:
    with store.snapshot_writer(LOGIN_ID, synced_at=NOW) as writer:
        writer.add(0, [transaction_row(t) for t in CHEQUING_ROWS])
        writer.account(0, None)  # its Id could not be read, after its transactions came
        writer.add(1, [transaction_row(t) for t in SAVINGS_ROWS])
        writer.account(1, account(SAVINGS, SAVINGS_ROWS))
        stats = writer.finish(None, all_accounts_read=False)
    assert {row[0] for row in rows(store)} == {SAVINGS} and stats.new == len(SAVINGS_ROWS)


def test_only_what_flinks_no_longer_returns_within_the_period_goes(store) -> None:
    written(store, answer(account(CHEQUING, CHEQUING_ROWS), account(SAVINGS, SAVINGS_ROWS)))
    # The next answer: 90 days would be days 0-4 here; t-00004 (day 1) is gone (a pending one
    # posted under another Id, t-00999), t-00001 changed; the older days are not in it at all.
    recent = [t for t in CHEQUING_ROWS if t.date >= LAST_DAY - timedelta(days=4) and t.id != "t-00004"]
    recent = [replace(t, description="POSTED") if t.id == "t-00001" else t for t in recent]
    recent.insert(0, transaction(999, 0))
    stats = written(store, answer(account(CHEQUING, recent), account(SAVINGS, SAVINGS_ROWS)))
    assert stats == SnapshotStats(
        accounts=2, accounts_missing=0, new=1, updated=1, unchanged=len(recent) - 2 + len(SAVINGS_ROWS), removed=1
    )
    kept = {row[1] for row in rows(store) if row[0] == CHEQUING}
    assert "t-00004" not in kept and "t-00999" in kept and "t-00029" in kept  # older history stays


def test_an_account_with_a_transaction_left_out_or_none_deletes_nothing(store) -> None:
    written(store, answer(account(CHEQUING, CHEQUING_ROWS)))
    before = rows(store)
    assert written(store, answer(account(CHEQUING, CHEQUING_ROWS[5:], unread_transactions=1))).removed == 0
    assert written(store, answer(account(CHEQUING, []))).removed == 0
    assert rows(store) == before


def test_an_account_sent_twice_keeps_the_transactions_of_both(store) -> None:
    written(store, answer(account(CHEQUING, CHEQUING_ROWS)))
    stats = written(store, answer(account(CHEQUING, CHEQUING_ROWS[:15]), account(CHEQUING, CHEQUING_ROWS[15:])))
    assert stats.removed == 0 and len(rows(store)) == len(CHEQUING_ROWS)


def test_a_batch_of_any_size_is_staged(store) -> None:
    """More rows in one `add` than SQLite takes parameters in one statement (32,766: 9 a row)."""
    many = [transaction(number, number // 500) for number in range(5_000)]
    assert written(store, answer(account(CHEQUING, many)), batch=5_000).new == 5_000
