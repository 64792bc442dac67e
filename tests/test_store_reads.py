"""The cache's read side on real SQLite files: count and totals per currency against a brute-force
sum in Python, the per-day totals and the amounts table the triggers keep (through the store's own
writes, and any drawn sequence of snapshots and purges), the two ways a search is read, pages from
either end, and the streamed read an export uses.

Data goes in through `Store.upsert_login` and `Store.save_snapshot`, as a sync writes it.
"""

from __future__ import annotations

import dataclasses
import random
import sqlite3
import tempfile
from collections import defaultdict
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from flinks_desktop.core.flinks.models import Account, AccountsResult, Login, Transaction
from flinks_desktop.core.flinks.values import Balance
from flinks_desktop.core.store import (
    MIGRATIONS,
    ROWIDS,
    CacheCorrupt,
    Store,
    TransactionRow,
    split_rowids,
    summary_of_parts,
)

NOW = datetime(2025, 6, 15, 12, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
LOGIN = "6f7e1c52-0c54-4c8a-9d1e-8f1f1c2b3a4d"
OTHER = "a1b2c3d4-1111-4222-8333-944455556666"
#: Key, currency: three CAD accounts, one USD, one without a currency.
ACCOUNTS = [("chq", "CAD"), ("sav", "CAD"), ("loc", "CAD"), ("usd", "USD"), ("old", None)]
WORDS = ["TIM HORTONS", "METRO", "SAQ", "PAYROLL ACME", "HYDRO QUEBEC", "ZANZIBAR"]


def snapshot(login_id: str, count: int, seed: int, *, drop: int = 0) -> AccountsResult:
    """`count` transactions over the five accounts and two years. Every 7th description is "METRO"
    (common), one in 400 "ZANZIBAR" (rare). `drop` leaves out the newest few of each account, as a
    refresh that no longer returns them, and changes the amounts of some others."""
    rnd = random.Random(seed)
    accounts = []
    for index, (key, currency) in enumerate(ACCOUNTS):
        size = count // len(ACCOUNTS)
        transactions = []
        for n in range(size):
            amount = Decimal(rnd.randint(1, 90_000)).scaleb(-2)
            if drop and n % 13 == 0:
                amount += Decimal("1.01")  # an updated amount
            debit = n % 3 != 0
            word = "ZANZIBAR" if n % 400 == 17 else "METRO" if n % 7 == 0 else rnd.choice(WORDS[:-1])
            transactions.append(
                Transaction(
                    id=f"{key}-{n:05d}",
                    date=date(2023, 6, 1) + timedelta(days=n * 730 // size),
                    description=f"{word} {n}",
                    debit=amount if debit else None,
                    credit=None if debit else amount,
                    balance=Decimal(n),
                    code=None,
                )
            )
        if drop:
            transactions = transactions[:-drop]
        accounts.append(account(key, index, currency, transactions))
    return result_of(login_id, accounts)


def account(key: str, index: int, currency: str | None, transactions: list[Transaction]) -> Account:
    """Account `key` ("chq"), oldest transaction first in `transactions`."""
    return Account(
        id=f"{key}-account",
        title=key.upper(),
        account_number=f"55{index}0001",
        last_four_digits=None,
        transit_number=None,
        institution_number=None,
        overdraft_limit=None,
        balance=Balance(available=None, current=Decimal(1), limit=None),
        category="Operations",
        type="Chequing",
        currency=currency,
        holder=None,
        account_type="Personal",
        transactions=tuple(reversed(transactions)),  # Flinks lists newest first
    )


def result_of(login_id: str, accounts: list[Account]) -> AccountsResult:
    login = Login(id=login_id, username="reads", is_scheduled_refresh=False, last_refresh=None, type=None)
    return AccountsResult(request_id="reads", login=login, institution="FlinksCapital", accounts=tuple(accounts))


def saved(store: Store, result: AccountsResult, at: datetime = NOW) -> None:
    store.upsert_login(result.login.id, "FlinksCapital", at=at)
    store.save_snapshot(result.login.id, result, synced_at=at)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data" / "cache.db") as opened:
        saved(opened, snapshot(LOGIN, 4_000, seed=1))
        saved(opened, snapshot(OTHER, 1_000, seed=2))  # another login's rows never count
        yield opened


FILTERS = [
    {},
    {"search": "metro"},
    {"search": "zanzibar"},
    {"search": "tim hort"},
    {"search": "qwertyuiop"},
    {"search": "   "},  # no word: no filter
    {"since": date(2024, 1, 1)},
    {"until": date(2023, 12, 31), "search": "metro"},
    {"since": date(2024, 3, 1), "until": date(2024, 9, 30)},
    {"account_id": "usd-account"},
    {"account_id": "old-account", "search": "metro"},
    {"account_id": "sav-account", "since": date(2025, 1, 1), "search": "saq"},
    {"account_id": "no-such-account"},
]


def brute_force(store: Store, login_id: str, filters: dict) -> dict[str | None, tuple[int, Decimal, Decimal]]:
    """Count and sums per currency, added up here from every row `transactions` returns."""
    currency = {account.id: account.currency for account in store.accounts(login_id)}
    sums: dict[str | None, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for row in store.transactions(login_id, **filters):
        entry = sums[currency[row.account_id]]
        entry[0] += 1
        entry[1] += row.debit or 0
        entry[2] += row.credit or 0
    return {key: tuple(value) for key, value in sums.items()}


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_count_and_totals_per_currency_are_the_sums_of_the_rows(store, filters):
    expected = brute_force(store, LOGIN, filters)
    summary = store.transaction_summary(LOGIN, **filters)
    assert {entry.currency: (entry.count, entry.debits, entry.credits) for entry in summary.currencies} == expected
    assert summary.count == sum(count for count, _, _ in expected.values())
    assert summary.count == store.count_transactions(LOGIN, **filters)
    # Currencies come in the order of the login's accounts.
    order = list(dict.fromkeys(account.currency for account in store.accounts(LOGIN)))
    assert [entry.currency for entry in summary.currencies] == [c for c in order if c in expected]


SEARCHES = [f for f in FILTERS if (f.get("search") or "").strip()]


@pytest.mark.parametrize("filters", SEARCHES, ids=[str(f) for f in SEARCHES])
@pytest.mark.parametrize("parts", [2, 3, 7])
def test_a_search_summary_made_in_parts_is_the_whole_one(store, filters, parts):
    # The cut is where the login's rows lie; OTHER's rows are in the same file, saved after them.
    span = store.transaction_span(LOGIN, filters.get("account_id"))
    ranges = split_rowids(span or (0, 0), parts)
    pieces = [store.transaction_summary(LOGIN, **filters, rowids=rowids) for rowids in ranges]
    assert summary_of_parts(pieces, store.accounts(LOGIN)) == store.transaction_summary(LOGIN, **filters)
    if filters["search"] == "metro":  # the cuts share the matches out, not all to one part
        assert all(piece.count for piece in pieces) and len(pieces) == parts


def test_parts_cover_every_rowid_once_whatever_the_span():
    for span, parts in [((1, 1_000_000), 2), ((5, 5), 3), ((1, 10), 4), ((-3, 2), 5), ((0, 0), 1), ((7, 9), 10)]:
        ranges = split_rowids(span, parts)
        assert 1 <= len(ranges) <= parts
        assert ranges[0][0] == ROWIDS[0] and ranges[-1][1] == ROWIDS[1]
        assert all(first <= last for first, last in ranges)
        assert all(ranges[n][1] + 1 == ranges[n + 1][0] for n in range(len(ranges) - 1))


def test_the_span_of_a_login_and_a_summary_by_rowids_needs_search_text(store):
    seqs = [row[0] for row in store._conn.execute("SELECT seq FROM transactions WHERE login_id = ?", [LOGIN])]
    assert store.transaction_span(LOGIN) == (min(seqs), max(seqs))  # each account: oldest first
    usd = [
        row[0]
        for row in store._conn.execute(
            "SELECT seq FROM transactions WHERE login_id = ? AND account_id = 'usd-account'", [LOGIN]
        )
    ]
    assert store.transaction_span(LOGIN, "usd-account") == (min(usd), max(usd))
    assert store.transaction_span("no-such-login") is None
    assert store.transaction_span(LOGIN, "no-such-account") is None
    with pytest.raises(ValueError, match="search text"):
        store.transaction_summary(LOGIN, rowids=(1, 10))


def test_several_currencies_are_never_added_together(store):
    summary = store.transaction_summary(LOGIN)
    assert [entry.currency for entry in summary.currencies] == ["CAD", "USD", None]
    assert summary.currencies[0].count == 3 * 800 and summary.currencies[1].count == 800
    assert store.transaction_summary(LOGIN, account_id="usd-account").currencies[0].currency == "USD"
    assert store.transaction_summary(LOGIN, search="qwertyuiop") == (0, ())


def kept_and_truth(path, kept: str, truth: str) -> tuple[list, list]:
    """A table the triggers keep, as it is (`kept`) and as the transactions say it should be (`truth`)."""
    with closing(sqlite3.connect(path)) as raw:
        return raw.execute(kept).fetchall(), raw.execute(truth).fetchall()


def day_totals(path) -> tuple[list, list]:
    """The per-day table, and a GROUP BY over the transactions."""
    return kept_and_truth(
        path,
        "SELECT * FROM transaction_days ORDER BY 1, 2, 3",
        "SELECT login_id, account_id, date, count(*), coalesce(sum(debit), 0), coalesce(sum(credit), 0) "
        "FROM transactions GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )


def test_the_day_totals_follow_every_write_of_the_store(store):
    kept, truth = day_totals(store.path)
    assert kept == truth and len(kept) > 1_000
    # A refresh that updates amounts and no longer returns the newest rows (deleted), then a login purged.
    saved(store, snapshot(LOGIN, 4_000, seed=1, drop=25), at=LATER)
    assert store.count_transactions(LOGIN) == 4_000 - 5 * 25
    kept, truth = day_totals(store.path)
    assert kept == truth
    store.purge_login(OTHER, at=LATER)
    kept, truth = day_totals(store.path)
    assert kept == truth and not [row for row in kept if row[0] == OTHER]
    for filters in FILTERS:
        assert store.count_transactions(LOGIN, **filters) == len(store.transactions(LOGIN, **filters))


def test_a_cache_from_before_the_day_totals_gets_them_from_its_rows(tmp_path):
    path = tmp_path / "data" / "cache.db"
    with Store.open(path) as store:
        saved(store, snapshot(LOGIN, 1_000, seed=3))
        expected = [store.transaction_summary(LOGIN, **filters) for filters in FILTERS]
    with closing(sqlite3.connect(path)) as raw:  # back to the release before them
        for trigger in ("transaction_days_ai", "transaction_days_ad", "transaction_days_au"):
            raw.execute(f"DROP TRIGGER {trigger}")
        raw.execute("DROP TABLE transaction_days")
        raw.execute("DELETE FROM _sqlite_migrations WHERE name = 'transaction_days'")
        raw.commit()
    db = Database(path)
    assert "transaction_days" not in [migration.name for migration in MIGRATIONS.applied(db)]
    db.close()
    with Store.open(path) as store:
        assert [store.transaction_summary(LOGIN, **filters) for filters in FILTERS] == expected
    kept, truth = day_totals(path)
    assert kept == truth


def amounts(path) -> tuple[list, list]:
    """`transaction_amounts` (with its accounts' ids), and each transaction's own values."""
    return kept_and_truth(
        path,
        "SELECT a.seq, k.login_id, k.account_id, a.day, a.debit, a.credit "
        "FROM transaction_amounts AS a LEFT JOIN account_keys AS k ON k.key = a.account ORDER BY a.seq",
        "SELECT seq, login_id, account_id, CAST(replace(date, '-', '') AS INTEGER), debit, credit "
        "FROM transactions ORDER BY seq",
    )


def test_the_amounts_follow_every_write_and_a_purge_leaves_no_key(store):
    kept, truth = amounts(store.path)
    assert kept == truth and len(kept) == 5_000
    saved(store, snapshot(LOGIN, 4_000, seed=1, drop=25), at=LATER)  # amounts changed, rows deleted
    kept, truth = amounts(store.path)
    assert kept == truth and len(kept) == 5_000 - 5 * 25
    # Writes from outside the store: a row moved to another account and day, an amount changed.
    with closing(sqlite3.connect(store.path)) as raw, raw:
        raw.execute(
            "UPDATE transactions SET account_id = 'usd-account', date = '2024-02-29', debit = 12345 "
            "WHERE login_id = ? AND id = 'chq-00001'",
            [LOGIN],
        )
    kept, truth = amounts(store.path)
    assert kept == truth
    for filters in SEARCHES:
        summary = store.transaction_summary(LOGIN, **filters)
        expected = brute_force(store, LOGIN, filters)
        assert {entry.currency: (entry.count, entry.debits, entry.credits) for entry in summary.currencies} == expected
    store.purge_login(OTHER, at=LATER)
    kept, truth = amounts(store.path)
    assert kept == truth
    with closing(sqlite3.connect(store.path)) as raw:
        logins = {row[0] for row in raw.execute("SELECT login_id FROM account_keys")}
    assert logins == {LOGIN}


#: Key, account position, currency of the accounts a drawn snapshot picks from.
DRAWN_ACCOUNTS = {"chq": (0, "CAD"), "usd": (1, "USD"), "sav": (2, "CAD")}
#: A drawn transaction: (number, day, cents, a debit?, word).
drawn_transaction = st.tuples(
    st.integers(0, 15),
    st.integers(0, 40),
    st.integers(1, 99_999),
    st.booleans(),
    st.sampled_from(["METRO", "SAQ", "TIM HORTONS"]),
)
drawn_write = st.one_of(
    st.tuples(
        st.just("save"),
        st.sampled_from([LOGIN, OTHER]),
        st.dictionaries(st.sampled_from(sorted(DRAWN_ACCOUNTS)), st.lists(drawn_transaction, max_size=12), min_size=1),
    ),
    st.tuples(st.just("purge"), st.sampled_from([LOGIN, OTHER]), st.none()),
)
DRAWN_FILTERS = [
    {},
    {"search": "metro"},
    {"search": "tim"},
    {"search": "saq", "account_id": "usd-account"},
    {"search": "metro", "since": date(2025, 1, 20)},
    {"search": "hort", "until": date(2025, 1, 10)},
]


def drawn_snapshot(login_id: str, drawn: dict[str, list[tuple]]) -> AccountsResult:
    accounts = []
    for key, rows in drawn.items():
        index, currency = DRAWN_ACCOUNTS[key]
        unique = {number: (day, cents, debit, word) for number, day, cents, debit, word in rows}
        transactions = [
            Transaction(
                id=f"{key}-{number}",
                date=date(2025, 1, 1) + timedelta(days=day),
                description=f"{word} {number}",
                debit=Decimal(cents).scaleb(-2) if debit else None,
                credit=None if debit else Decimal(cents).scaleb(-2),
                balance=None,
                code=None,
            )
            for number, (day, cents, debit, word) in sorted(unique.items(), key=lambda item: item[1][0])
        ]
        accounts.append(account(key, index, currency, transactions))
    return result_of(login_id, accounts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=st.lists(drawn_write, min_size=1, max_size=6))
def test_any_writes_keep_the_amounts_and_day_totals_equal_to_the_rows(writes):
    """Snapshots that add, change, move out of their window and leave out transactions, and purges,
    in any order over two logins: after each, the tables the triggers keep hold what the rows say,
    and every count and total (whole, or in parts) is the sum of the rows."""
    with tempfile.TemporaryDirectory() as directory, Store.open(Path(directory) / "cache.db") as store:
        for kind, login_id, drawn in writes:
            if kind == "save":
                saved(store, drawn_snapshot(login_id, drawn), at=LATER)
            else:
                store.purge_login(login_id, at=LATER)
            for kept, truth in (amounts(store.path), day_totals(store.path)):
                assert kept == truth
            for cached in {login.id for login in store.logins()}:
                for filters in DRAWN_FILTERS:
                    summary = store.transaction_summary(cached, **filters)
                    sums = {entry.currency: (entry.count, entry.debits, entry.credits) for entry in summary.currencies}
                    assert sums == brute_force(store, cached, filters)
                    assert summary.count == store.count_transactions(cached, **filters)
                    if filters.get("search"):
                        span = store.transaction_span(cached, filters.get("account_id"))
                        parts = [
                            store.transaction_summary(cached, **filters, rowids=rowids)
                            for rowids in split_rowids(span or (0, 0), 3)
                        ]
                        assert summary_of_parts(parts, store.accounts(cached)) == summary


def test_a_cache_from_before_the_amounts_table_gets_it_from_its_rows(tmp_path):
    path = tmp_path / "data" / "cache.db"
    with Store.open(path) as store:
        saved(store, snapshot(LOGIN, 1_000, seed=3))
        saved(store, snapshot(OTHER, 500, seed=4))
        expected = [store.transaction_summary(LOGIN, **filters) for filters in FILTERS]
    with closing(sqlite3.connect(path)) as raw:  # back to the release before it
        for trigger in (
            "transaction_amounts_ai",
            "transaction_amounts_ad",
            "transaction_amounts_au",
            "account_keys_ad",
        ):
            raw.execute(f"DROP TRIGGER {trigger}")
        raw.execute("DROP TABLE transaction_amounts")
        raw.execute("DROP TABLE account_keys")
        raw.execute("DELETE FROM _sqlite_migrations WHERE name = 'transaction_amounts'")
        raw.commit()
    with Store.open(path) as store:
        assert [store.transaction_summary(LOGIN, **filters) for filters in FILTERS] == expected
    kept, truth = amounts(path)
    assert kept == truth and len(kept) == 1_500


def test_a_cache_whose_amounts_table_is_gone_after_its_migration_is_refused_as_it_is(tmp_path):
    path = tmp_path / "data" / "cache.db"
    with Store.open(path) as store:
        saved(store, snapshot(LOGIN, 500, seed=5))
    with closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("DROP TABLE transaction_amounts")  # the migration's mark stays
    before = path.read_bytes()
    with pytest.raises(CacheCorrupt, match="damaged"):
        Store.open(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("words", ["metro", "zanzibar", "tim hort", "payroll"])
def test_a_search_reads_the_same_rows_whichever_way_it_is_read(store, words):
    """Every match (one read of the index) against pages of 50 from either end, which read common
    words down the date index and rare ones from the full-text index."""
    everything = store.transactions(LOGIN, search=words)
    assert everything and all(words.split()[0] in (row.description or "").lower() for row in everything)
    assert everything == sorted(everything, key=lambda row: row.date, reverse=True)
    pages = [
        store.transactions(LOGIN, search=words, limit=50, offset=offset) for offset in range(0, len(everything), 50)
    ]
    assert [row for page in pages for row in page] == everything
    oldest_first = [
        store.transactions(LOGIN, search=words, limit=50, offset=offset, oldest_first=True)
        for offset in range(0, len(everything), 50)
    ]
    assert [row for page in oldest_first for row in page] == everything[::-1]
    assert list(store.iter_transactions(LOGIN, search=words, batch=7)) == everything


def test_a_rare_word_is_read_from_the_index_and_a_common_one_down_the_dates(store):
    rare = store._selection(LOGIN, None, "zanzibar", None, None, reach=200)
    common = store._selection(LOGIN, None, "metro", None, None, reach=200)
    assert "transactions_fts AS f" in rare.source and rare.walk is None
    assert common.source == "transactions AS t" and common.walk == '"metro"*' and common.within == 4_000
    assert store._selection(LOGIN, None, "qwertyuiop", None, None, reach=200) is None  # nothing to read
    with closing(sqlite3.connect(store.path)) as raw:
        for selection, uses in ((rare, "VIRTUAL TABLE"), (common, "transactions_by_date")):
            plan = " / ".join(
                row[3]
                for row in raw.execute(
                    f"EXPLAIN QUERY PLAN SELECT t.seq FROM {selection.source} WHERE {selection.where} "
                    "ORDER BY t.date DESC, t.seq DESC LIMIT 200",
                    selection.params,
                )
            )
            assert uses in plan.split(" / ")[0], plan


def test_a_common_word_s_page_is_exact_whatever_order_the_rows_were_cached_in(tmp_path):
    """The first pages of a common word are read among the first rows of the date order, by the
    range of their rowids: exact when rowids follow the dates (as a sync writes them), and when
    they do not: here a refresh brings an older year after the newer rows were cached."""
    with Store.open(tmp_path / "cache.db") as store:
        first = snapshot(LOGIN, 4_000, seed=1)
        saved(store, first)
        older = snapshot(LOGIN, 4_000, seed=9)
        accounts = tuple(
            dataclasses.replace(
                account,
                transactions=account.transactions
                + tuple(
                    dataclasses.replace(t, id="older-" + t.id, date=t.date - timedelta(days=800))
                    for t in by_id[account.id].transactions
                ),
            )
            for by_id in [{a.id: a for a in older.accounts}]
            for account in first.accounts
        )
        saved(store, dataclasses.replace(first, accounts=accounts), at=LATER)
        assert store.count_transactions(LOGIN) == 8_000
        for words in ("metro", "tim", "payroll"):
            everything = store.transactions(LOGIN, search=words)
            for oldest_first in (False, True):
                expected = everything[::-1] if oldest_first else everything
                for offset in (0, 50, 400, len(everything) - 30):
                    page = store.transactions(LOGIN, search=words, limit=50, offset=offset, oldest_first=oldest_first)
                    assert page == expected[offset : offset + 50], (words, oldest_first, offset)


def test_pages_from_either_end_and_the_date_span(store):
    everything = store.transactions(LOGIN)
    assert len(everything) == 4_000
    assert store.transactions(LOGIN, limit=30, offset=3_970) == everything[-30:]
    assert store.transactions(LOGIN, limit=30, oldest_first=True) == everything[-30:][::-1]
    assert (
        store.transactions(LOGIN, account_id="usd-account", limit=5, oldest_first=True)
        == [row for row in everything if row.account_id == "usd-account"][::-1][:5]
    )
    assert store.transaction_dates(LOGIN) == (everything[-1].date, everything[0].date)
    assert store.transaction_dates("no-such-login") is None
    streamed = store.iter_transactions(LOGIN, since=date(2024, 1, 1), batch=100)
    assert all(isinstance(row, TransactionRow) for row in streamed)
    assert list(store.iter_transactions(LOGIN, batch=333)) == everything
