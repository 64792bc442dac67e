"""The Transactions tab on a search too big to count on the GUI thread: its first page at once, its
count and totals from a thread, and the end of the table read from the other end.

The view's threshold (`background_after`, 20,000 matches in the app) is lowered so that a cache of a
few thousand rows takes that path; everything else is the real view on a real cache.
"""

from __future__ import annotations

import sys
from datetime import date

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLabel
from test_store_reads import LOGIN, brute_force, saved, snapshot

from flinks_desktop.core import store as store_module
from flinks_desktop.core.store import Store
from flinks_desktop.ui.transactions_view import (
    BACKGROUND_NICENESS,
    PAGE_SIZE,
    TransactionFilter,
    TransactionsView,
    currency_totals,
    totals_text,
)

AS_OF = date(2025, 6, 15)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("counting") / "data" / "cache.db"
    with Store.open(path) as store:
        saved(store, snapshot(LOGIN, 6_000, seed=5))
    return path


@pytest.fixture
def view(qtbot, cache):
    yield from open_view(qtbot, cache)


@pytest.fixture(scope="module")
def common_cache(tmp_path_factory):
    """The same rows, written with a threshold of 300 descriptions for a common word (50,000 in
    the app): "metro", "saq", "tim" and the others have their day totals."""
    path = tmp_path_factory.mktemp("common") / "data" / "cache.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store_module, "COMMON_WORD_MATCHES", 300)
        with Store.open(path) as store:
            saved(store, snapshot(LOGIN, 6_000, seed=5))
    return path


@pytest.fixture
def common_view(qtbot, common_cache):
    yield from open_view(qtbot, common_cache)


def open_view(qtbot, path):
    store = Store.open(path)
    view = TransactionsView(today=lambda: AS_OF)
    qtbot.addWidget(view)
    view.resize(1100, 650)
    view.show()
    qtbot.waitExposed(view)
    view.background_after = 100  # "metro" (every 7th row: 857) is then counted on the thread
    view.set_login(store, LOGIN)
    yield view, store
    store.close()


def search(view, words: str) -> None:
    view.search.setText(words)
    view._requery_now()  # what the debounce calls


def expected_line(store: Store, filters: TransactionFilter) -> str:
    """The totals line from a brute-force sum of every row the filter selects."""
    from flinks_desktop.core.store import CurrencySums, TransactionSummary

    sums = brute_force(store, LOGIN, filters.as_kwargs())
    summary = TransactionSummary(
        sum(n for n, _, _ in sums.values()), tuple(CurrencySums(c, n, d, k) for c, (n, d, k) in sums.items())
    )
    return totals_text(summary.count, currency_totals(summary, store.accounts(LOGIN), filters))


def test_a_big_search_shows_its_first_page_then_its_count_and_totals(qtbot, view):
    view, store = view
    search(view, "metro")
    everything = store.transactions(LOGIN, search="metro")
    assert view.counting and view.totals.text() == "Counting the matching transactions…"
    assert view.model.rowCount() == PAGE_SIZE  # the first page, known to be the first rows
    assert view.model.transaction(0) == everything[0]
    qtbot.waitUntil(lambda: not view.counting, timeout=10_000)
    assert view.model.rowCount() == len(everything) == store.count_transactions(LOGIN, search="metro")
    assert view.totals.text() == expected_line(store, view.filters())
    assert [view.model.transaction(row) for row in range(len(everything))] == everything


def test_a_big_search_is_counted_in_parts_side_by_side(qtbot, view):
    view, store = view
    view._summaries.workers = 3  # three parts, each a third of the login's rows by rowid
    search(view, "metro")
    assert view.counting and len(view._summaries._parts) == 3
    qtbot.waitUntil(lambda: not view.counting, timeout=10_000)
    assert view.model.rowCount() == store.count_transactions(LOGIN, search="metro")
    assert view.totals.text() == expected_line(store, view.filters())
    view.account_filter.setCurrentIndex(view.account_filter.findData("usd-account"))
    search(view, "metro")  # one account: cut where that account's rows lie
    qtbot.waitUntil(lambda: not view.counting, timeout=10_000)
    assert view.model.rowCount() == store.count_transactions(LOGIN, account_id="usd-account", search="metro")
    assert view.totals.text() == expected_line(store, view.filters())


def test_a_word_is_counted_as_it_is_typed_and_shown_when_the_typing_pauses(qtbot, view):
    view, store = view
    filters = TransactionFilter(search="metro")
    view.search.setText("me")  # each keystroke starts its own count, the one before interrupted
    view.search.setText("metro")
    key = view._summary_key(filters)
    qtbot.waitUntil(lambda: view._summaries.result(key) is not None, timeout=10_000)
    assert view.model.filters.search is None  # the table still waits for the typing to pause
    qtbot.waitUntil(lambda: view.model.filters.search == "metro", timeout=5_000)  # the debounce
    assert not view.counting  # counted already: shown with the first page
    assert view.model.rowCount() == store.count_transactions(LOGIN, search="metro")
    assert view.totals.text() == expected_line(store, view.filters())
    view.model.sort(0, Qt.SortOrder.AscendingOrder)  # the same search in the other order: not counted again
    view._requery_now()
    assert not view.counting and view.totals.text() == expected_line(store, view.filters())


def test_a_common_word_is_shown_with_its_count_and_totals_at_once_without_a_thread(qtbot, common_view):
    view, store = common_view
    for words in ("metro", "met", "TIM"):  # pasted: no head start
        search(view, words)
        assert not view.counting and not view._summaries._parts  # no thread was asked to count
        assert view.model.rowCount() == store.count_transactions(LOGIN, search=words) > view.background_after
        assert view.totals.text() == expected_line(store, view.filters())
    view.account_filter.setCurrentIndex(view.account_filter.findData("usd-account"))
    search(view, "metro")
    assert not view.counting and view.totals.text() == expected_line(store, view.filters())
    view.account_filter.setCurrentIndex(0)
    for typed in ("s", "sa", "saq"):  # typed: each keystroke answered at once, nothing left to count
        view.search.setText(typed)
    assert view._summaries.result(view._summary_key(TransactionFilter(search="saq"))) is not None
    assert not view._summaries._parts
    qtbot.waitUntil(lambda: view.model.filters.search == "saq", timeout=5_000)  # the debounce
    assert not view.counting and view.totals.text() == expected_line(store, view.filters())
    search(view, "tim hortons")  # two words: counted on the threads, as before
    assert view.counting
    qtbot.waitUntil(lambda: not view.counting, timeout=10_000)
    assert view.totals.text() == expected_line(store, view.filters())
    view.search.setText("payroll acme")  # counted ahead, on the threads
    assert view._summaries._wanted == view._summary_key(TransactionFilter(search="payroll acme"))
    view.search.setText("payroll")  # answered at once: the count of the text before is dropped
    assert view._summaries._wanted == view._summary_key(TransactionFilter(search="payroll"))


def test_a_count_that_fails_on_its_thread_says_so_instead_of_counting_for_ever(qtbot, view, tmp_path):
    view, store = view
    copy = tmp_path / "copy" / "cache.db"
    copy.parent.mkdir()
    with Store.open(copy) as writer:
        saved(writer, snapshot(LOGIN, 2_000, seed=7))
    reader = Store.open(copy)
    try:
        view.set_login(reader, LOGIN)
        # Nothing counted ahead (a count made before the damage would be kept and shown): the
        # text is set without the box's signals, so the threads open the file after the damage.
        view.search.blockSignals(True)
        view.search.setText("metro")
        view.search.blockSignals(False)
        # The view's own Store still reads the file it opened; what the threads open is not a cache.
        copy.rename(copy.with_name("moved.db"))
        copy.write_bytes(b"not a database, not any more" * 200)
        view._requery_now()
        assert view.counting and view.model.rowCount() == PAGE_SIZE  # the first page, read
        qtbot.waitUntil(lambda: not view.counting, timeout=10_000)
        assert "could not be read" in view.findChild(QLabel, "transactionsEmptyTitle").text()
        # Said once, not kept: the same search, once the file is back, is counted again.
        assert view._summaries.result(view._summary_key(TransactionFilter(search="metro"))) is None
    finally:
        view.set_login(None, None)
        reader.close()


def test_a_newer_search_replaces_one_still_counting(qtbot, view):
    view, store = view
    search(view, "metro")
    assert view.counting
    search(view, "payroll")  # typed before "metro" was counted: its count must never show
    qtbot.waitUntil(lambda: not view.counting, timeout=10_000)
    qtbot.wait(100)  # a late answer for "metro" would arrive now
    assert view.model.rowCount() == store.count_transactions(LOGIN, search="payroll")
    assert view.totals.text() == expected_line(store, view.filters())
    search(view, "zanzibar")  # few matches: counted at once, on the GUI thread
    assert not view.counting and view.totals.text() == expected_line(store, view.filters())


def test_oldest_first_and_the_end_of_a_big_table(qtbot, view):
    view, store = view
    view.model.sort(0, Qt.SortOrder.AscendingOrder)
    search(view, "metro")
    everything = store.transactions(LOGIN, search="metro")
    assert view.model.transaction(0) == everything[-1]  # oldest first, before the count is known
    qtbot.waitUntil(lambda: not view.counting, timeout=10_000)
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(0, 0))
    QApplication.sendEvent(
        view.table, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    )
    last = view.model.rowCount() - 1
    assert view.table.currentIndex().row() == last
    assert view.model.transaction(last) == everything[0]  # read newest first from the other end
    assert [view.model.transaction(row) for row in range(last + 1)] == everything[::-1]


def test_without_search_the_whole_connection_is_counted_from_the_day_totals(qtbot, view):
    view, store = view
    assert not view.counting
    assert view.model.rowCount() == 6_000
    assert view.totals.text() == expected_line(store, TransactionFilter())
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(0, 0))
    QApplication.sendEvent(
        view.table, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    )
    assert view.model.transaction(5_999) == store.transactions(LOGIN, limit=1, oldest_first=True)[0]
    assert view.model.pages_fetched <= 3  # the first page and the last: nothing in between


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own priority is a Linux thing")
def test_the_counting_threads_run_below_the_gui_thread(view):
    view, _ = view
    import os
    import threading

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    gui = niceness()
    counted = view._summaries._pool.submit(niceness).result(timeout=10)
    assert counted == min(gui + BACKGROUND_NICENESS, 19)
    assert niceness() == gui  # the GUI thread's own is untouched
