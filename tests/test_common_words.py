"""A login's common words: their day totals answer a search's count and totals, and are never older
than the rows. Real SQLite files written through the store; every answer is checked against a
brute-force sum of the rows the search returns.

The threshold (`COMMON_WORD_MATCHES`, 50,000 descriptions in the app) is lowered to 300 so that
the 4,000-row login of `test_store_reads` has common words: "metro" (every 7th description and a
fifth of the rest), "tim", "hortons", "saq", "payroll", "acme", "hydro", "quebec"; the other
words a search for the start of one may also start are read one by one up to 100 descriptions
(`OTHER_WORDS_AT_MOST`, 5,000 in the app).
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import Counter
from contextlib import closing
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store_reads import (
    ACCOUNTS,
    DRAWN_FILTERS,
    FILTERS,
    LATER,
    LOGIN,
    OTHER,
    account,
    brute_force,
    drawn_snapshot,
    drawn_write,
    result_of,
    saved,
    snapshot,
)

from flinks_desktop.core import store as store_module
from flinks_desktop.core.flinks.models import Transaction
from flinks_desktop.core.store import Store

THRESHOLD = 300
COMMON = ["acme", "hortons", "hydro", "metro", "payroll", "quebec", "saq", "tim"]


@pytest.fixture
def threshold(monkeypatch):
    monkeypatch.setattr(store_module, "COMMON_WORD_MATCHES", THRESHOLD)
    monkeypatch.setattr(store_module, "OTHER_WORDS_AT_MOST", 100)


@pytest.fixture
def store(tmp_path, threshold):
    with Store.open(tmp_path / "data" / "cache.db") as opened:
        saved(opened, snapshot(LOGIN, 4_000, seed=1))
        saved(opened, snapshot(OTHER, 250, seed=2))  # fewer rows than the threshold: nothing read
        yield opened


def common_words(store: Store) -> dict[str, dict[str, int]]:
    words: dict[str, dict[str, int]] = {}
    for login_id, word, _, matches in store._conn.execute("SELECT * FROM common_words WHERE word != '' ORDER BY 1, 2"):
        words.setdefault(login_id, {})[word] = matches
    return words


def assert_exact(store: Store, login_id: str, filters: dict) -> None:
    """`transaction_summary` and `count_transactions` are the sums of the rows `filters` select."""
    expected = brute_force(store, login_id, filters)
    summary = store.transaction_summary(login_id, **filters)
    assert {entry.currency: (entry.count, entry.debits, entry.credits) for entry in summary.currencies} == expected
    assert summary.count == store.count_transactions(login_id, **filters) == sum(n for n, _, _ in expected.values())
    order = list(dict.fromkeys(account.currency for account in store.accounts(login_id)))
    assert [entry.currency for entry in summary.currencies] == [c for c in order if c in expected]


def test_a_snapshot_makes_the_common_words_of_a_big_login_only(store):
    words = common_words(store)
    assert sorted(words) == [LOGIN]
    assert sorted(words[LOGIN]) == COMMON
    for word, matches in words[LOGIN].items():
        assert matches == len(store.transactions(LOGIN, search=word)) >= THRESHOLD
    with closing(sqlite3.connect(store.path)) as raw:  # one row per account and day that has the word
        days = raw.execute(
            "SELECT count(*), sum(count) FROM common_word_days WHERE word_key = "
            "(SELECT key FROM common_words WHERE login_id = ? AND word = 'metro')",
            [LOGIN],
        ).fetchone()
    assert days[1] == words[LOGIN]["metro"] and 500 < days[0] <= days[1]


COMMON_FILTERS = [
    *[f for f in FILTERS if (f.get("search") or "").strip()],
    {"search": "METRO"},
    {"search": "met"},  # the start of a common word
    {"search": "hyd", "since": date(2024, 2, 29), "until": date(2024, 3, 1)},
    {"search": "payroll", "account_id": "usd-account", "since": date(2023, 9, 1)},
    {"search": "tim", "until": date(2023, 6, 1)},  # the first day only
    {"search": "saq", "since": date(2030, 1, 1)},  # nothing after the last day
    {"search": "acme", "account_id": "no-such-account"},
]


@pytest.mark.parametrize("filters", COMMON_FILTERS, ids=[str(f) for f in COMMON_FILTERS])
def test_a_common_word_s_count_and_totals_are_the_sums_of_its_rows(store, filters):
    assert_exact(store, LOGIN, filters)
    words = filters["search"].split()
    common = len(words) == 1 and any(word.startswith(words[0].lower()) for word in COMMON)
    assert (store.common_word_summary(LOGIN, **filters) is not None) == common


def test_the_other_words_a_search_starts_are_read_one_by_one_and_never_counted_twice(tmp_path, threshold):
    """ "metro" is common; "metropolis" is rare, sometimes in the same description: "metr" is the
    common word's day totals plus the rare word's matches that lack it."""
    rows = []
    for n in range(900):
        words = "METRO" if n % 2 else "SAQ"
        if n % 50 == 3:
            words = "METROPOLIS"
        elif n % 50 == 5:
            words = "METRO METROPOLIS"
        rows.append(
            Transaction(
                id=f"t-{n}",
                date=date(2024, 1, 1) + timedelta(days=n // 3),
                description=f"{words} {n}",
                debit=Decimal(n + 1).scaleb(-2) if n % 3 else None,
                credit=None if n % 3 else Decimal(7 * n).scaleb(-2),
                balance=None,
                code=None,
            )
        )
    with Store.open(tmp_path / "cache.db") as store:
        accounts = [account("chq", 0, "CAD", rows[:600]), account("usd", 1, "USD", rows[600:])]
        saved(store, result_of(LOGIN, accounts))
        assert sorted(common_words(store)[LOGIN]) == ["metro", "saq"]
        for filters in (
            {"search": "metr"},
            {"search": "metro"},
            {"search": "metropolis"},
            {"search": "m"},
            {"search": "metr", "since": date(2024, 2, 1), "until": date(2024, 5, 1)},
            {"search": "metr", "account_id": "usd-account"},
        ):
            assert_exact(store, LOGIN, filters)
        assert store.common_word_summary(LOGIN, search="metr") is not None
        assert store.common_word_summary(LOGIN, search="metropolis") is None  # not common: read as before


def test_a_start_shared_by_several_common_words_is_read_from_the_rows(store):
    """ "h" starts "hortons" and "hydro", each in ~700 descriptions: one's day totals plus the
    other's matches one by one would be no faster, so the search is read as any other."""
    assert store.common_word_summary(LOGIN, search="h") is None
    assert_exact(store, LOGIN, {"search": "h"})


def test_text_the_index_splits_is_read_from_the_rows_and_accents_are_folded_as_the_index_does(store):
    for text in ("tim hortons", "hydro-québec", "quebec's", "straße"):
        assert store.common_word_summary(LOGIN, search=text) is None
        assert_exact(store, LOGIN, {"search": text})
    for text in ('"metro"', "Québec", "QUÉBEC", "québ", "hÿdro", "Hýdrô"):
        assert store.common_word_summary(LOGIN, search=text) is not None
        assert_exact(store, LOGIN, {"search": text})


def test_the_accents_folded_are_those_fts5_folds():
    """Every letter the store folds, asked of SQLite's own tokenizer: a word with it, lowercase and
    uppercase, is found by its folded form, and only by it."""
    letters = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE VIRTUAL TABLE words USING fts5(word)")  # the tokenizer sqlite-utils sets up
        for letter in letters + letters.upper():
            db.execute("INSERT INTO words (word) VALUES (?)", [f"x{letter}z"])
        db.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, 'words', 'row')")
        indexed = dict(db.execute("SELECT term, doc FROM temp.terms").fetchall())
    folded = Counter(f"x{letter}z".translate(store_module._FOLD_DIACRITICS) for letter in letters * 2)
    assert indexed == folded and sorted(folded) == [f"x{letter}z" for letter in "aceinouy"]


FIRST_METRO = "(SELECT min(seq) FROM transactions WHERE login_id = :login AND description LIKE 'METRO%')"
RAW_CHANGES = {
    "description": f"UPDATE transactions SET description = 'SAQ 1' WHERE seq = {FIRST_METRO}",
    "amount": f"UPDATE transactions SET debit = 123456, credit = NULL WHERE seq = {FIRST_METRO}",
    "date": f"UPDATE transactions SET date = '2023-06-01' WHERE seq = {FIRST_METRO}",
    "deleted": f"DELETE FROM transactions WHERE seq = {FIRST_METRO}",
    "added": "INSERT INTO transactions (login_id, account_id, id, date, description, debit) "
    "VALUES (:login, 'chq-account', 'new-1', '2024-05-05', 'METRO 99999', 4200)",
}


@pytest.mark.parametrize("change", RAW_CHANGES)
def test_any_change_to_a_login_s_rows_retires_its_common_words_until_they_are_made_again(store, change):
    with closing(sqlite3.connect(store.path)) as raw:  # written behind the store's back
        with raw:
            raw.execute(RAW_CHANGES[change], {"login": LOGIN})
    assert LOGIN not in common_words(store)
    assert store.common_word_summary(LOGIN, search="metro") is None
    filters = [{"search": "metro"}, {"search": "saq", "since": date(2023, 6, 1), "until": date(2023, 6, 30)}]
    for chosen in filters:
        assert_exact(store, LOGIN, chosen)  # read from the rows meanwhile
    assert store.index_common_words(LOGIN) == len(COMMON)
    for chosen in filters:
        assert store.common_word_summary(LOGIN, **chosen) is not None
        assert_exact(store, LOGIN, chosen)


def test_a_refresh_makes_them_again_and_another_login_s_changes_leave_them(store):
    saved(store, snapshot(OTHER, 250, seed=9), at=LATER)  # another login's refresh
    assert sorted(common_words(store)[LOGIN]) == COMMON
    saved(store, snapshot(LOGIN, 4_000, seed=1, drop=25), at=LATER)  # changed amounts, rows gone
    assert store.count_transactions(LOGIN) == 4_000 - len(ACCOUNTS) * 25
    assert sorted(common_words(store)[LOGIN]) == COMMON
    for filters in COMMON_FILTERS:
        assert_exact(store, LOGIN, filters)


def test_a_purge_leaves_nothing_of_the_login_s_words(store):
    with closing(sqlite3.connect(store.path)) as raw:  # stale day totals too, read by nobody
        raw.execute(
            "UPDATE transactions SET description = 'SAQ' WHERE seq = "
            "(SELECT max(seq) FROM transactions WHERE login_id = ?)",
            [LOGIN],
        )
        raw.commit()
    saved(store, snapshot(OTHER, 250, seed=4), at=LATER)  # another login: its sentinel row only
    store.purge_login(LOGIN, at=LATER)
    with closing(sqlite3.connect(store.path)) as raw:
        assert raw.execute("SELECT count(*) FROM common_word_days").fetchone() == (0,)
        assert raw.execute("SELECT login_id, word FROM common_words").fetchall() == [(OTHER, "")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=st.lists(drawn_write, min_size=1, max_size=5))
def test_any_writes_keep_every_common_word_search_exact(writes):
    """Snapshots that add, change, move and leave out transactions, and purges, over two logins,
    with a threshold of 4 descriptions: after each, every search (whole words, their starts, with
    dates and accounts) is the sum of its rows, however it was answered."""
    searches = [*DRAWN_FILTERS, {"search": "m"}, {"search": "t", "since": date(2025, 1, 15)}, {"search": "hortons"}]
    with (
        mock.patch.object(store_module, "COMMON_WORD_MATCHES", 4),
        mock.patch.object(store_module, "OTHER_WORDS_AT_MOST", 3),
        tempfile.TemporaryDirectory() as directory,
        Store.open(Path(directory) / "cache.db") as store,
    ):
        for kind, login_id, drawn in writes:
            if kind == "save":
                saved(store, drawn_snapshot(login_id, drawn), at=LATER)
            else:
                store.purge_login(login_id, at=LATER)
            for cached in {login.id for login in store.logins()}:
                for filters in searches:
                    assert_exact(store, cached, filters)


def test_a_refresh_that_changes_nothing_does_not_make_them_again(store):
    """Made again only when the rows changed: the day row taken away here comes back only then."""
    key = store._conn.execute(
        "SELECT account, word_key, day FROM common_word_days WHERE word_key = "
        "(SELECT key FROM common_words WHERE login_id = ? AND word = 'metro') ORDER BY day LIMIT 1",
        [LOGIN],
    ).fetchone()
    with closing(sqlite3.connect(store.path)) as raw, raw:
        raw.execute("DELETE FROM common_word_days WHERE (account, word_key, day) = (?, ?, ?)", key)

    def kept() -> bool:
        where = "(account, word_key, day) = (?, ?, ?)"
        return store._conn.execute(f"SELECT 1 FROM common_word_days WHERE {where}", key).fetchone() is not None

    saved(store, snapshot(LOGIN, 4_000, seed=1), at=LATER)  # the same rows
    assert not kept()
    saved(store, snapshot(LOGIN, 4_000, seed=1, drop=1), at=LATER)  # the newest row of each account gone
    assert kept()
    assert_exact(store, LOGIN, {"search": "metro"})


def test_a_cache_from_before_them_gets_them_once_for_every_login(store):
    with closing(sqlite3.connect(store.path)) as raw, raw:  # as the migration leaves an older cache
        raw.execute("DELETE FROM common_words")
    assert store.common_word_summary(LOGIN, search="metro") is None
    assert store.index_missing_common_words() == sorted([LOGIN, OTHER])
    assert sorted(common_words(store)[LOGIN]) == COMMON
    assert store.common_word_summary(LOGIN, search="metro") is not None
    assert_exact(store, LOGIN, {"search": "metro"})
    assert store.index_missing_common_words() == []  # made: nothing to do at the next start


def test_the_app_makes_them_after_it_starts(qtbot, tmp_path, qasync_loop, memory_keyring, threshold):
    """On the cache's writer thread, after the first paint: the window stays free meanwhile."""
    import asyncio

    from flinks_desktop.core.secret_store import SecretStore
    from flinks_desktop.core.settings import Settings
    from flinks_desktop.testing import close_window
    from flinks_desktop.ui.app import AppSession, index_missing_common_words
    from flinks_desktop.ui.main_window import MainWindow

    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    settings = Settings(data_dir)
    cache = settings.cache_path(settings.active)
    with Store.open(cache) as written:
        saved(written, snapshot(LOGIN, 4_000, seed=1))
    with closing(sqlite3.connect(cache)) as raw, raw:
        raw.execute("DELETE FROM common_words")
    session = AppSession(data_dir, settings, SecretStore(), sandbox_config={"bank_delay": 0.0}, poll_interval=0.01)
    window = MainWindow(session)
    try:
        task = window.run(index_missing_common_words(session))
        qtbot.waitUntil(task.done, timeout=20_000)
        with Store.open(cache) as reopened:
            assert sorted(common_words(reopened)[LOGIN]) == COMMON
    finally:
        close_window(qtbot, window)  # its work settled, then deleted
        done = asyncio.ensure_future(session.close())
        qtbot.waitUntil(done.done, timeout=10_000)
