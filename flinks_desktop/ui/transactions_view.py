"""The Transactions tab: one login's cached transactions, searched and filtered, straight from SQL.

    view = TransactionsView()
    view.set_login(store, login_id)     # the GUI thread's reader Store; None clears the view
    store.transactions(login_id, **view.filters().as_kwargs())   # what Export writes

Choices a reader should know about:

- **Never all rows in Python.** `TransactionsModel` knows only how many rows the filter selects
  (`Store.count_transactions`). `data()` asks for the page of `PAGE_SIZE` rows around the row Qt
  paints (`Store.transactions(limit, offset)`) and keeps the `MAX_PAGES` most recently used pages;
  a row is formatted once, when first painted, so painting a cell again is a lookup.
- **OFFSET, from the nearer end.** A page is fetched on the GUI thread, so it must be fast. SQLite
  walks the (login_id, date) index, whose entries end with the rowid the order also uses, without
  sorting anything, but it walks every row it skips: OFFSET 999,800 takes 60 ms. Row r of one
  order is row count-1-r of the other, so a page in the second half is read from the other end
  (`Store.transactions(oldest_first=...)`) and reversed: the last page (Ctrl+End) costs what the
  first does, the middle one half of the deepest. `benchmarks/big_connection.py` measures it.
- **Count and totals in one query.** `Store.transaction_summary` counts what the filter selects
  and adds it up per currency (the account's), and the label shows each currency on its own: a
  sum of CAD and USD would be a number that means nothing. Without search text it reads the
  store's per-day totals, a few milliseconds however big the connection.
- **Big searches are counted on threads.** With search text the count and totals read every
  match: 60 ms for 90,000 of them, more for a word in every other description, one lookup per
  match on one core. When the index has more than `BACKGROUND_AFTER` matches, threads with their
  own `Store` count and add up the matches in parts, side by side (`_Summaries`: the login's rows
  cut by rowid), while the GUI thread reads and shows the first page (its rows are known to be the
  first ones); the table grows to the count and the totals appear when the last part is done
  ("Counting…" meanwhile). The count starts at each keystroke (the count of the text before is
  interrupted), while the table waits for the typing to pause, so a common word is usually counted
  by then; the last few counts are kept. On Linux the threads run below the GUI thread's priority.
- **A common word is not counted at all.** A word in many of the login's descriptions ("montreal"
  in a quarter of a million) has its count and totals per account and day in the cache, made at
  each sync (`Store.common_word_summary`): a search for it, or for its start, is added up on the
  GUI thread in a few milliseconds and shown with its first page, typed or pasted. The threads
  count the searches it does not answer (two words, a word of the other logins).
- **Bank text is plain text.** Table cells are plain text already; tooltips would be read as HTML
  by Qt, so they are escaped; labels that repeat user or bank text are set to plain text.
- **Dates.** Each bound of the date range is either set (From / To edited, or a quick period such
  as "Last 90 days") or open. An open bound shows the login's oldest date (or its newest, or
  today) and filters nothing, so a refresh that brings newer transactions shows them without touching the filters.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
    QSignalBlocker,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core.money import money
from flinks_desktop.core.redact import mask_account_number
from flinks_desktop.core.store import (
    AccountRow,
    CacheError,
    Store,
    TransactionRow,
    TransactionSummary,
    fts_query,
    split_rowids,
    summary_of_parts,
    summary_of_rows,
)
from flinks_desktop.ui.formatting import plain_tooltip

log = logging.getLogger("flinks_desktop.ui")

#: Rows fetched per query, and how many fetched pages the model keeps (least recently used go).
PAGE_SIZE = 200
MAX_PAGES = 6
#: How long the search box waits after the last keystroke before it queries.
SEARCH_DELAY_MS = 250
#: A search whose words match more descriptions than this (in the whole cache) is counted and added
#: up on a thread: reading 20,000 matches takes about 15 ms, and the time grows with the matches.
BACKGROUND_AFTER = 20_000
#: At most this many threads count and add up a big search side by side (`_Summaries`).
SUMMARY_THREADS = 4
#: How many searches' counts and totals the view keeps (the same search again is not counted twice).
KEPT_SUMMARIES = 8
#: How much lower than the GUI thread the counting threads run (Linux "nice" steps).
BACKGROUND_NICENESS = 10

#: Muted red for a balance below zero, muted green for money coming in.
NEGATIVE_COLOR = QColor("#b23b3b")
CREDIT_COLOR = QColor("#12795b")

DATE, ACCOUNT, DESCRIPTION, DEBIT, CREDIT_COLUMN, BALANCE = range(6)
HEADERS = ("Date", "Account", "Description", "Debit", "Credit", "Balance")
MONEY_COLUMNS = frozenset({DEBIT, CREDIT_COLUMN, BALANCE})

#: Quick choices of the period box: label and (first day, last day) as a function of today.
PERIODS: dict[str, tuple[str, Callable[[date], tuple[date | None, date | None]]]] = {
    "all": ("All dates", lambda today: (None, None)),
    "30d": ("Last 30 days", lambda today: (today - timedelta(days=29), None)),
    "90d": ("Last 90 days", lambda today: (today - timedelta(days=89), None)),
    "12m": ("Last 12 months", lambda today: (_a_year_before(today) + timedelta(days=1), None)),
    "year": ("This year", lambda today: (date(today.year, 1, 1), None)),
}
CUSTOM_PERIOD = "custom"


#: A row of the transactions table as it is painted, formatted when first painted.
class _Row(NamedTuple):
    texts: tuple[str, ...]
    description: str
    account: str
    credit: bool
    negative_balance: bool
    transaction: TransactionRow


# -- what the view filters and adds up ------------------------------------------------------------------


@dataclass(frozen=True)
class TransactionFilter:
    """What the Transactions tab shows: the store's transaction filters, None meaning "any"."""

    account_id: str | None = None
    search: str | None = None
    since: date | None = None
    until: date | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `Store.transactions`, `count_transactions` and `transaction_summary`."""
        return {"account_id": self.account_id, "search": self.search, "since": self.since, "until": self.until}

    @property
    def is_empty(self) -> bool:
        return self == TransactionFilter()


@dataclass(frozen=True)
class CurrencyTotals:
    """The sums of the selected transactions in one currency (None: accounts with no currency)."""

    currency: str | None
    debits: Decimal
    credits: Decimal

    @property
    def net(self) -> Decimal:
        return self.credits - self.debits


def format_money(amount: Decimal | None, currency: str | None) -> str:
    """An amount as a cell or the totals line shows it: an empty cell, not a dash, for no amount
    (a credit has no debit)."""
    return money(amount, currency, missing="")


def account_label(account: AccountRow) -> str:
    """An account as the filter box lists it: its title and masked number."""
    number = account.account_number or account.last_four_digits
    parts = [account.title or "Account"]
    if number:
        parts.append(mask_account_number(number) if len(number) > 4 else f"•••{number}")
    return " ".join(parts)


def currency_totals(
    summary: TransactionSummary, accounts: Sequence[AccountRow], filters: TransactionFilter
) -> list[CurrencyTotals]:
    """The totals line's sums: one entry per currency of the selected accounts, in the accounts'
    order, from `Store.transaction_summary`. With several currencies, one whose selected
    transactions add up to nothing is left out (it adds only noise), unless all of them are."""
    selected = [a for a in accounts if filters.account_id in (None, a.id)]
    currencies = list(dict.fromkeys(a.currency for a in selected))
    found = {entry.currency: entry for entry in summary.currencies}
    currencies += [currency for currency in found if currency not in currencies]  # an unlisted account's
    totals = [
        CurrencyTotals(currency, found[currency].debits, found[currency].credits)
        if currency in found
        else CurrencyTotals(currency, Decimal(0), Decimal(0))
        for currency in currencies
    ] or [CurrencyTotals(None, Decimal(0), Decimal(0))]
    if len(totals) == 1:
        return totals
    return [t for t in totals if t.debits or t.credits] or totals[:1]


def totals_text(count: int, totals: Sequence[CurrencyTotals]) -> str:
    """ "1,234 transactions · Debits $12,345.67 · Credits $9,876.54 · Net -$2,469.13"; with several
    currencies each gets its own sums, named by its code, on a line of its own (the label wraps
    between currencies, never inside one's sums)."""
    noun = "transaction" if count == 1 else "transactions"
    parts = [f"{count:,} {noun}"]
    several = len(totals) > 1
    for total in totals:
        sums = (
            f"Debits {format_money(total.debits, total.currency)} · "
            f"Credits {format_money(total.credits, total.currency)} · "
            f"Net {format_money(total.net, total.currency)}"
        )
        parts.append(f"{total.currency or 'No currency'}: {sums}" if several else sums)
    return "\n".join([parts[0] + " · " + parts[1], *parts[2:]]) if several else " · ".join(parts)


def _a_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # February 29th
        return day.replace(year=day.year - 1, day=28)


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


_WHITESPACE = re.compile(r"\s+")
#: The narrowest the description and account columns get before the account one gives way.
_DESCRIPTION_ROOM = 240
_ACCOUNT_ROOM = 110


# -- the model -----------------------------------------------------------------------------------------


class TransactionsModel(QAbstractTableModel):
    """The transactions a filter selects, fetched from the store a page at a time as Qt paints them.

    Read-only. `failed` carries a sentence when the cache cannot be read; the rows then read empty.
    """

    failed = Signal(str)
    #: A money column (its number) was given a text longer than any it had: the view widens it.
    amountWidened = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._store: Store | None = None
        self._login_id: str | None = None
        self._filters = TransactionFilter()
        #: Per account id: its currency, its name in the table, its name in a tooltip.
        self._accounts: dict[str, tuple[str | None, str, str]] = {}
        self._count = 0
        #: False while `_count` is only the first page's rows and the real count is being made.
        self._counted = True
        self._order = Qt.SortOrder.DescendingOrder
        #: Page number -> its rows, each formatted when first painted (None: gone since the count).
        self._pages: OrderedDict[int, list[_Row | TransactionRow | None]] = OrderedDict()
        #: Pages queried since the last reset: tests and the benchmark read it.
        self.pages_fetched = 0
        #: Per money column, its longest text formatted since `forget_widths` (what it must fit).
        self.widest: dict[int, str] = {}

    # -- what it shows -------------------------------------------------------------------------

    def set_query(
        self,
        store: Store | None,
        login_id: str | None,
        filters: TransactionFilter,
        accounts: Sequence[AccountRow],
        count: int,
        *,
        first_page: Sequence[TransactionRow] | None = None,
    ) -> None:
        """Show the `count` transactions `filters` selects (the caller has counted them).

        With `first_page` (the first rows in the current order, already read), `count` is only how
        many of them there are, and `set_count` gives the real count when it is known: until then
        pages are read in the order shown, since the other end is not known yet.
        """
        self.beginResetModel()
        self._store, self._login_id, self._filters = store, login_id, filters
        self._accounts = {
            account.id: (
                account.currency,
                account.title or account_label(account),
                " · ".join(filter(None, (account_label(account), account.currency))),
            )
            for account in accounts
        }
        self._count = count if store is not None and login_id is not None else 0
        self._counted = first_page is None
        self._pages.clear()
        if first_page is not None and self._count:
            self._pages[0] = [*first_page[:PAGE_SIZE], *[None] * (min(PAGE_SIZE, self._count) - len(first_page))]
        self.pages_fetched = 0
        self.endResetModel()

    def set_count(self, count: int) -> None:
        """The real count of a query shown with its first page: the rows after it come (or go)."""
        self._counted = True
        if count > self._count:
            self.beginInsertRows(QModelIndex(), self._count, count - 1)
            self._count = count
            self.endInsertRows()
        elif count < self._count:  # the cache changed meanwhile; `set_login` follows
            self.beginRemoveRows(QModelIndex(), count, self._count - 1)
            self._count = count
            self._pages = OrderedDict((n, page) for n, page in self._pages.items() if n * PAGE_SIZE < count)
            self.endRemoveRows()

    @property
    def order(self) -> Qt.SortOrder:
        return self._order

    @property
    def filters(self) -> TransactionFilter:
        """The filter of the rows shown."""
        return self._filters

    @property
    def cached_pages(self) -> tuple[int, ...]:
        """The pages held in memory, least recently used first."""
        return tuple(self._pages)

    def transaction(self, row: int) -> TransactionRow | None:
        entry = self._row(row)
        return entry.transaction if entry is not None else None

    def forget_widths(self) -> None:
        """Start `widest` again (another connection: its amounts may be shorter)."""
        self.widest = {}

    def prepare(self, rows: int) -> None:
        """Read and format the first `rows` rows now, as the table's paint would: what the table is
        about to show, so that its money columns fit it before it is painted, not after."""
        for row in range(min(rows, self._count)):
            self._row(row)

    # -- QAbstractTableModel -----------------------------------------------------------------------

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(section)
        if role == Qt.ItemDataRole.ToolTipRole and section == DATE:
            return "Click to sort oldest or newest first"
        if role == Qt.ItemDataRole.ToolTipRole and section == BALANCE:
            return "The account's balance after the transaction"
        return None

    def flags(self, index):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        column = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(column)
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.ForegroundRole,
            Qt.ItemDataRole.UserRole,
        ):
            return None
        entry = self._row(index.row())
        if entry is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.texts[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == DESCRIPTION and entry.description:
                return plain_tooltip(entry.description)
            if column == ACCOUNT:
                return plain_tooltip(entry.account)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == BALANCE and entry.negative_balance:
                return NEGATIVE_COLOR
            if column == CREDIT_COLUMN and entry.credit:
                return CREDIT_COLOR
            return None
        return entry.transaction  # UserRole

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Only by date: newest first (the store's order) or oldest first."""
        if column != DATE or order == self._order:
            return
        self.beginResetModel()
        self._order = order
        self._pages.clear()
        self.endResetModel()

    # -- pages ---------------------------------------------------------------------------------

    def _row(self, row: int) -> _Row | None:
        if not 0 <= row < self._count:
            return None
        number = row // PAGE_SIZE
        page = self._pages.get(number)
        if page is None:
            page = self._fetch(number)
            self._pages[number] = page
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        entry = page[row - number * PAGE_SIZE]
        if isinstance(entry, TransactionRow):
            entry = page[row - number * PAGE_SIZE] = self._format(entry)
        return entry

    def _fetch(self, number: int) -> list[_Row | TransactionRow | None]:
        start = number * PAGE_SIZE
        size = min(PAGE_SIZE, self._count - start)
        oldest_first = self._order == Qt.SortOrder.AscendingOrder
        # Rows start..start+size of this order are rows count-start-size.. of the other: read the
        # page from the nearer end (module docstring), once the count says where the other end is.
        mirrored = self._counted and self._count - start - size < start
        offset = self._count - start - size if mirrored else start
        self.pages_fetched += 1
        try:
            rows = self._store.transactions(
                self._login_id,
                **self._filters.as_kwargs(),
                limit=size,
                offset=offset,
                oldest_first=oldest_first != mirrored,
            )
        except (CacheError, sqlite3.Error) as error:
            log.warning("transactions page %d could not be read: %s", number, error)
            self.failed.emit(_read_error(error))
            rows = []
        if mirrored:
            rows.reverse()
        # The cache changed since the count (a sync wrote meanwhile; `set_login` follows): pad.
        return [*rows, *[None] * (size - len(rows))]

    def _format(self, row: TransactionRow) -> _Row:
        currency, account, account_tooltip = self._accounts.get(row.account_id, (None, "", ""))
        description = row.description or ""
        texts = (
            row.date.isoformat(),
            account,
            _WHITESPACE.sub(" ", description).strip(),
            format_money(row.debit, currency),
            format_money(row.credit, currency),
            format_money(row.balance, currency),
        )
        for column in MONEY_COLUMNS:
            if len(texts[column]) > len(self.widest.get(column, "")):  # digits are all as wide
                self.widest[column] = texts[column]
                self.amountWidened.emit(column)
        return _Row(
            texts=texts,
            description=description,
            account=account_tooltip,
            credit=row.credit is not None and row.credit > 0,
            negative_balance=row.balance is not None and row.balance < 0,
            transaction=row,
        )


def _alignment(column: int):
    horizontal = Qt.AlignmentFlag.AlignRight if column in MONEY_COLUMNS else Qt.AlignmentFlag.AlignLeft
    return horizontal | Qt.AlignmentFlag.AlignVCenter


def _read_error(error: Exception) -> str:
    if isinstance(error, CacheError):
        return str(error)
    return (
        "The transactions could not be read from the cache. Close this connection's tab and "
        "open it again; if this keeps happening, restart Flinks Desktop."
    )


def _in_background() -> None:
    """Run this thread below the GUI thread's priority where the OS allows one thread's (Linux):
    on a machine with few cores, the counting threads then never slow the first page being read
    and painted, nor the keystrokes that start them; they take what the GUI thread leaves."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
        except OSError:  # not allowed here: the counts simply compete as equals
            pass


class _Summaries(QObject):
    """Counts and totals of searches, made on threads of their own (module docstring).

    A job is known by its key (the cache's file, its data_version, the login and the filters), and
    cut into parts by rowid (`split_rowids`), one per worker thread, each read with its own `Store`
    on the cache's file (a `Store` belongs to its thread) and closed when done, so nothing stays
    open when the view goes; `summary_of_parts` makes the parts one summary. A common word's
    matches cost one lookup each and the lookups of one query run on one core, so the parts run
    side by side. `ready` carries the job's key and its `TransactionSummary`, or the sentence saying
    why the cache could not be read; it is queued to the GUI thread. The last few answers are kept
    (`result`): the same search again, or in the other order, is not counted twice. Starting a job
    interrupts the parts of the one still running: only the newest one is wanted.
    """

    ready = Signal(object, object)

    def __init__(self, parent: QObject, *, workers: int | None = None) -> None:
        super().__init__(parent)
        #: Parts a job is cut into, one per thread: the GUI thread needs a core of its own too.
        self.workers = workers or max(2, min(SUMMARY_THREADS, (os.cpu_count() or 2) - 1))
        self._pool = ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="flinks-transactions-summary", initializer=_in_background
        )
        self._lock = threading.Lock()
        #: The job wanted (others are dropped), and whether its parts were started (its key, or None).
        self._wanted: Hashable = None
        self._started: Hashable = None
        self._running: set[Store] = set()
        #: The wanted job's parts: None until done, a summary, or the sentence of a failure.
        self._parts: list[object] = []
        self._results: OrderedDict[Hashable, TransactionSummary] = OrderedDict()

    def result(self, key: Hashable) -> TransactionSummary | None:
        """The `TransactionSummary` of job `key` if it is done (and kept)."""
        with self._lock:
            return self._results.get(key)

    def keep(self, key: Hashable, summary: TransactionSummary) -> None:
        """Keep `summary`, made elsewhere, as job `key`'s answer."""
        with self._lock:
            self._kept(key, summary)

    def _kept(self, key: Hashable, summary: TransactionSummary) -> None:
        """`keep`, the lock held: the oldest answer goes past `KEPT_SUMMARIES`."""
        self._results[key] = summary
        while len(self._results) > KEPT_SUMMARIES:
            self._results.popitem(last=False)

    def running(self, key: Hashable) -> bool:
        with self._lock:
            return key is not None and key == self._started and key not in self._results

    def start(
        self,
        key: Hashable,
        store: Store,
        login_id: str,
        filters: TransactionFilter,
        accounts: Sequence[AccountRow],
    ) -> None:
        """Count and add up what `filters` selects of `login_id`, as job `key`, unless that job is
        done or running. `store` (the GUI thread's) gives the cache's file and where the login's
        rows lie: a lookup or two."""
        if self.running(key) or self.result(key) is not None:
            return
        self.cancel(key)
        span = store.transaction_span(login_id, filters.account_id) or (0, 0)
        ranges = split_rowids(span, self.workers)
        with self._lock:
            self._parts = [None] * len(ranges)
            self._started = key
        for part, rowids in enumerate(ranges):
            self._pool.submit(self._run, key, part, store.path, login_id, filters, rowids, list(accounts))

    def cancel(self, key: Hashable = None) -> None:
        """Drop every job but `key` (none by default), interrupting the parts running."""
        with self._lock:
            if key == self._wanted:
                return
            self._wanted, self._started = key, None
            for store in self._running:
                store.interrupt()

    def close(self) -> None:
        self.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(
        self,
        key: Hashable,
        part: int,
        path,
        login_id: str,
        filters: TransactionFilter,
        rowids: tuple[int, int],
        accounts: list[AccountRow],
    ) -> None:
        try:
            with Store.open(path) as store:
                with self._lock:
                    if key != self._wanted:
                        return
                    self._running.add(store)
                try:
                    result: object = store.transaction_summary(login_id, **filters.as_kwargs(), rowids=rowids)
                finally:
                    with self._lock:
                        self._running.discard(store)
        except Exception as error:  # noqa: BLE001 — said in the view, never "Counting…" for ever
            if key != self._wanted:  # interrupted by a newer search: nobody waits for it
                return
            if isinstance(error, CacheError | sqlite3.Error):
                log.warning("transactions could not be counted: %s", error)
            else:
                log.exception("transactions could not be counted")
            result = _read_error(error)
        with self._lock:
            if key != self._wanted or self._parts[part] is not None:
                return
            self._parts[part] = result
            if any(done is None for done in self._parts):
                return  # the last part to finish says the job is done
            parts = list(self._parts)
            failures = [done for done in parts if isinstance(done, str)]
            answer = failures[0] if failures else summary_of_parts(parts, accounts)  # type: ignore[arg-type]
            if not failures:  # a failure is said once; the same search again tries again
                self._kept(key, answer)  # type: ignore[arg-type]
        try:
            self.ready.emit(key, answer)
        except RuntimeError:  # the view is gone
            pass


# -- the view ------------------------------------------------------------------------------------------


class TransactionsView(QWidget):
    """Search box, account and date filters, the table, and the totals of what the filter selects."""

    def __init__(self, parent=None, *, today: Callable[[], date] = date.today) -> None:
        super().__init__(parent)
        self.setObjectName("transactionsView")
        self._today = today
        self._store: Store | None = None
        self._login_id: str | None = None
        self._accounts: list[AccountRow] = []
        #: The date bounds the person chose (None: open) and the login's oldest and newest dates.
        self._since: date | None = None
        self._until: date | None = None
        self._everything = 0
        #: The whole login's count and totals (no filter), read with its accounts.
        self._overall = TransactionSummary(0, ())
        self._account_width = 160
        self._span: tuple[date, date] | None = None
        #: Why the cache could not be read, until the next `set_login`.
        self._failure: str | None = None
        #: A search's count and totals made on threads (`_Summaries`): the job the view waits for.
        self._job: Hashable = None
        #: Whether the count and totals on screen wait for that job ("Counting…").
        self.counting = False
        #: Searches with more matches than this in the whole cache are counted on a thread.
        self.background_after = BACKGROUND_AFTER

        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._requery)

        self.model = TransactionsModel(self)
        self.model.failed.connect(self._on_failed)
        # Queued: a row is formatted while the table paints; the column widens just after.
        self.model.amountWidened.connect(self._fit_amount, Qt.ConnectionType.QueuedConnection)
        self._summaries = _Summaries(self)
        self._summaries.ready.connect(self._on_summary)
        self.destroyed.connect(self._summaries.close)
        self._build()
        self.set_login(None, None)
        # Its minimum from the start that of two lines: a window laid out around the one-line
        # minimum keeps that minimum until something else asks for a new layout.
        self.ensurePolished()
        self._place_dates()

    # -- the API the main window uses ----------------------------------------------------------

    def set_login(self, store: Store | None, login_id: str | None) -> None:
        """Show `login_id`'s transactions from `store` (the GUI thread's reader), with no filter;
        None for either clears the view."""
        self._store, self._login_id = store, login_id
        self._search_timer.stop()
        with QSignalBlocker(self.search), QSignalBlocker(self.period):
            self.search.clear()
            self.period.setCurrentIndex(self.period.findData("all"))
        self._since = self._until = None
        self._failure = None
        self.model.sort(DATE, Qt.SortOrder.DescendingOrder)
        self.table.horizontalHeader().setSortIndicator(DATE, Qt.SortOrder.DescendingOrder)
        self._reset_amount_widths()
        self._load_login()
        self._requery()
        self.table.scrollToTop()

    def filters(self) -> TransactionFilter:
        """The filter on screen. Search text or a date still waiting for its debounce is applied
        first, so what the caller gets (and exports) is what the table shows."""
        if self._search_timer.isActive():
            self._requery_now()
        return self._chosen_filter()

    def shows_none(self) -> bool:
        """Whether the view says there is nothing to show (no transaction matches, none synced, no
        connection, or the cache could not be read) instead of the table."""
        if self._search_timer.isActive():
            self._requery_now()
        return self.stack.currentWidget() is self.empty

    def _chosen_filter(self) -> TransactionFilter:
        search = self.search.text().strip() or None
        return TransactionFilter(
            account_id=self.account_filter.currentData(), search=search, since=self._since, until=self._until
        )

    # -- building ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.search = QLineEdit(objectName="transactionSearch", accessibleName="Search transactions")
        self.search.setPlaceholderText("Search descriptions")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(160)
        self.search.setToolTip("Finds descriptions containing every word typed, ignoring case and accents")
        self.search.textChanged.connect(self._schedule_requery)
        self.search.textChanged.connect(self._count_ahead)
        self.search.returnPressed.connect(self._requery_now)
        QShortcut(
            QKeySequence.StandardKey.Find,
            self,
            self._focus_search,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )

        self.account_filter = QComboBox(objectName="transactionAccountFilter", accessibleName="Account")
        # As wide as its longest account name (up to a limit), narrower only in a narrow window.
        self.account_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.account_filter.setMinimumWidth(120)
        self.account_filter.setMaximumWidth(340)
        self.account_filter.currentIndexChanged.connect(self._requery)
        self.account_filter.currentTextChanged.connect(self.account_filter.setToolTip)  # if clipped

        self.period = QComboBox(objectName="transactionPeriod", accessibleName="Dates")
        for key, (label, _) in PERIODS.items():
            self.period.addItem(label, key)
        self.period.addItem("Custom range", CUSTOM_PERIOD)
        self.period.currentIndexChanged.connect(self._on_period)

        self.date_from = self._date_edit("transactionFrom", "First day shown")
        self.date_to = self._date_edit("transactionTo", "Last day shown")
        self.date_from.dateChanged.connect(lambda _: self._on_date_edited(self.date_from))
        self.date_to.dateChanged.connect(lambda _: self._on_date_edited(self.date_to))

        # The filters on one line; in a narrow view (half a small screen, a side list kept wide)
        # the dates go to a line of their own below, rather than squeeze the table's columns.
        self.date_range = QWidget(objectName="transactionDateRange")
        dates = QHBoxLayout(self.date_range)
        dates.setContentsMargins(4, 0, 0, 0)
        dates.setSpacing(6)
        dates.addWidget(QLabel("From", objectName="transactionDateLabel"))
        dates.addWidget(self.date_from)
        dates.addWidget(QLabel("to", objectName="transactionDateLabel"))
        dates.addWidget(self.date_to)
        self._bar = bar = QHBoxLayout()
        bar.setSpacing(6)
        bar.addWidget(self.search, 1)
        bar.addSpacing(4)
        bar.addWidget(self.account_filter)
        bar.addWidget(self.period)
        bar.addWidget(self.date_range)
        self._dates_line = QHBoxLayout()
        self._dates_line.addStretch(1)

        self.table = QTableView(objectName="transactionsTable", accessibleName="Transactions")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setTabKeyNavigation(False)  # arrows move in the table; Tab leaves it
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setCornerButtonEnabled(False)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no row is measured: 100,000 stay cheap
        rows.setDefaultSectionSize(self.fontMetrics().height() + 16)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(DATE, Qt.SortOrder.DescendingOrder)
        header.sortIndicatorChanged.connect(self._on_sort_indicator)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        # The date's width from the text it holds; the amounts' from the longest the rows shown so
        # far hold (`_fit_amount`: "$12.50" needs less room than "-US$88,888.88").
        metrics = self.fontMetrics()
        header.resizeSection(DATE, metrics.horizontalAdvance("2025-12-31") + 34)  # padding, a little air
        header.setMinimumSectionSize(60)
        self._reset_amount_widths()
        self.table.viewport().installEventFilter(self)  # the account column gives way when narrow

        self.empty = QFrame(objectName="transactionsEmptyState")
        self.empty_title = QLabel(objectName="transactionsEmptyTitle")
        self.empty_text = QLabel(objectName="transactionsEmptyText")
        for label in (self.empty_title, self.empty_text):
            label.setTextFormat(Qt.TextFormat.PlainText)  # the search text is repeated in it
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
        self.clear_button = QPushButton("Clear filters", objectName="clearFiltersButton")
        self.clear_button.clicked.connect(self.clear_filters)
        empty_layout = QVBoxLayout(self.empty)
        empty_layout.addStretch(2)
        empty_layout.addWidget(self.empty_title)
        empty_layout.addWidget(self.empty_text)
        empty_layout.addSpacing(10)
        empty_layout.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignHCenter)
        empty_layout.addStretch(3)

        self.stack = QStackedWidget(objectName="transactionsStack")
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)

        self.totals = QLabel(objectName="transactionTotals")
        self.totals.setTextFormat(Qt.TextFormat.PlainText)
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addLayout(bar)
        layout.addLayout(self._dates_line)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.totals)

    def _date_edit(self, name: str, tooltip: str) -> QDateEdit:
        edit = QDateEdit(objectName=name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setToolTip(tooltip)
        edit.setAccessibleName(tooltip)
        edit.setDateRange(QDate(1900, 1, 1), QDate(2999, 12, 31))
        return edit

    # -- filters -------------------------------------------------------------------------------

    @Slot()
    def clear_filters(self) -> None:
        """No search, all accounts, all dates."""
        self._search_timer.stop()
        with QSignalBlocker(self.search), QSignalBlocker(self.account_filter), QSignalBlocker(self.period):
            self.search.clear()
            self.account_filter.setCurrentIndex(0)
            self.period.setCurrentIndex(self.period.findData("all"))
        self._since = self._until = None
        self._requery()

    def _focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _load_login(self) -> None:
        """Read what the filters offer: the login's accounts ("All accounts" selected), how many
        transactions it has, their totals and the dates they span."""
        self._accounts, self._everything, self._span = [], 0, None
        self._overall = TransactionSummary(0, ())
        if self._store is not None and self._login_id is not None:
            try:
                self._accounts = self._store.accounts(self._login_id)
                self._overall = self._store.transaction_summary(self._login_id)
                self._everything = self._overall.count
                self._span = self._store.transaction_dates(self._login_id) if self._everything else None
            except (CacheError, sqlite3.Error) as error:
                log.warning("transactions could not be read: %s", error)
                self._failure = _read_error(error)
        several_currencies = len({a.currency for a in self._accounts}) > 1
        with QSignalBlocker(self.account_filter):
            self.account_filter.clear()
            self.account_filter.addItem("All accounts", None)
            for account in self._accounts:
                label = account_label(account)
                if several_currencies and account.currency:
                    label += f" · {account.currency}"
                if account.missing_since is not None:
                    label += " (no longer returned)"
                self.account_filter.addItem(label, account.id)
            self.account_filter.setCurrentIndex(0)
        # The account column as wide as the longest title, within reason (it elides beyond).
        widest = max(
            (self.fontMetrics().horizontalAdvance(a.title or account_label(a)) for a in self._accounts), default=120
        )
        self._account_width = min(max(widest, 90), 260) + 32
        self._fit_columns()

    def _amount_width(self, column: int) -> int:
        """What money column `column` needs: its heading, or its longest amount so far if wider
        (plus the cells' padding, 2 x (12 + 3) px, and a digit of slack: the longest text is
        chosen by its length)."""
        heading = QFont(self.table.horizontalHeader().font())
        heading.setWeight(QFont.Weight.DemiBold)  # as the style sheet draws it
        needed = QFontMetrics(heading).horizontalAdvance(HEADERS[column])
        widest = self.model.widest.get(column)
        if widest:
            metrics = self.table.fontMetrics()
            needed = max(needed, metrics.horizontalAdvance(widest) + metrics.horizontalAdvance("8"))
        return needed + 30

    def _reset_amount_widths(self) -> None:
        """Money columns as narrow as their headings, until rows are shown (another connection)."""
        self.model.forget_widths()
        header = self.table.horizontalHeader()
        for column in sorted(MONEY_COLUMNS):
            header.resizeSection(column, self._amount_width(column))

    @Slot(int)
    def _fit_amount(self, column: int) -> None:
        """Widen money column `column` to its longest amount so far; never narrows it (the widths
        stay put as the person scrolls or searches), nor undoes a width dragged wider."""
        header = self.table.horizontalHeader()
        width = self._amount_width(column)
        if width > header.sectionSize(column):
            header.resizeSection(column, width)
            self._fit_columns()

    def _prepare_rows(self) -> None:
        """Read and format the rows the table is about to show, so that it paints them with the
        money columns fitted (done by the paint otherwise, and fitted just after it)."""
        if not self.table.isVisible() or self.stack.currentWidget() is not self.table:
            return
        rows = self.table.viewport().height() // max(self.table.verticalHeader().defaultSectionSize(), 1) + 1
        self.model.prepare(rows)
        for column in sorted(MONEY_COLUMNS):
            self._fit_amount(column)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._place_dates()
        self._prepare_rows()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_dates()

    @property
    def dates_on_own_line(self) -> bool:
        """Whether the From/to dates are on a line of their own, below the other filters."""
        return self._dates_line.indexOf(self.date_range) >= 0

    def _place_dates(self) -> None:
        """The dates beside the other filters when they fit there, else on the line below. The
        view's minimum width is that of two lines: the window may be as narrow as that."""
        spacing, dates = self._bar.spacing(), self.date_range.minimumSizeHint().width()
        others = self._bar.minimumSize().width() - (0 if self.dates_on_own_line else spacing + dates)
        two_lines = max(others, dates)
        if self.minimumWidth() != two_lines:
            self.setMinimumWidth(two_lines)  # set, the layout's one-line minimum no longer applies
        on_own_line = self.width() < others + spacing + dates
        if on_own_line == self.dates_on_own_line:
            return
        if on_own_line:
            self._bar.removeWidget(self.date_range)
            self._dates_line.addWidget(self.date_range)
        else:
            self._dates_line.removeWidget(self.date_range)
            self._bar.addWidget(self.date_range)

    def _fit_columns(self) -> None:
        """Give the description room first: in a narrow table the account column gives way."""
        header = self.table.horizontalHeader()
        others = sum(header.sectionSize(c) for c in (DATE, DEBIT, CREDIT_COLUMN, BALANCE))
        room = self.table.viewport().width() - others - _DESCRIPTION_ROOM
        header.resizeSection(ACCOUNT, max(min(self._account_width, room), _ACCOUNT_ROOM))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return super().eventFilter(watched, event)

    @Slot(int)
    def _on_period(self, _index: int) -> None:
        key = self.period.currentData()
        if key == CUSTOM_PERIOD:
            return  # chosen by editing a date; choosing it by hand changes nothing
        self._since, self._until = PERIODS[key][1](self._today())
        self._requery()

    def _on_date_edited(self, edit: QDateEdit) -> None:
        day = edit.date().toPython()
        if edit is self.date_from:
            self._since = day
            if self._until is not None and self._until < day:
                self._until = day
        else:
            self._until = day
            if self._since is not None and self._since > day:
                self._since = day
        with QSignalBlocker(self.period):
            self.period.setCurrentIndex(self.period.findData(CUSTOM_PERIOD))
        self._schedule_requery()  # typing a date changes it at every digit: wait as for search

    @Slot(int, Qt.SortOrder)
    def _on_sort_indicator(self, section: int, order: Qt.SortOrder) -> None:
        if section != DATE:  # only the date sorts: put the arrow back where the order is
            self.table.horizontalHeader().setSortIndicator(DATE, self.model.order)
            return
        if order != self.model.order:
            self.model.sort(DATE, order)
            self.table.scrollToTop()

    # -- querying ------------------------------------------------------------------------------

    @Slot()
    def _schedule_requery(self) -> None:
        self._search_timer.start()

    @Slot()
    def _count_ahead(self) -> None:
        """As the search text is typed, its count and totals start on the threads at once, while the
        table waits for the typing to pause: by then a common word is often counted already. Each
        keystroke interrupts the count of the text before it."""
        if self._store is None or self._login_id is None or self._failure is not None or not self._everything:
            return
        filters = self._chosen_filter()
        if fts_query(filters.search) is None:  # no word to search for: nothing to count ahead
            return
        try:
            key = self._summary_key(filters)
            if self._summaries.result(key) is not None or self._common_word_summary(key, filters) is not None:
                self._summaries.cancel(key)  # answered: the count of the text before is not wanted
            else:
                self._summaries.start(key, self._store, self._login_id, filters, self._accounts)
        except (CacheError, sqlite3.Error) as error:  # the query itself says it, with the debounce
            log.warning("transactions could not be counted ahead: %s", error)

    def _common_word_summary(self, key: Hashable, filters: TransactionFilter) -> TransactionSummary | None:
        """The count and totals of a search for a common word, added up from its day totals in a
        few milliseconds (`Store.common_word_summary`), kept as a count the threads made is; None
        for any other search."""
        assert self._store is not None and self._login_id is not None
        summary = self._store.common_word_summary(self._login_id, **filters.as_kwargs())
        if summary is not None:
            self._summaries.keep(key, summary)
        return summary

    def _summary_key(self, filters: TransactionFilter) -> Hashable:
        """What a search's count and totals depend on: the file, its version, the login, the filters."""
        assert self._store is not None
        return (str(self._store.path), self._store.data_version(), self._login_id, filters)

    @Slot()
    def _requery_now(self) -> None:
        self._search_timer.stop()
        self._requery()

    @Slot()
    def _requery(self) -> None:
        """Count, total and show what the filter selects; the rows come as the table paints. A big
        search shows its first page at once, its count and totals when its thread has made them."""
        self._search_timer.stop()
        self._job = None
        self.counting = False
        filters = self._chosen_filter()
        has_login = self._store is not None and self._login_id is not None
        summary, first_page = TransactionSummary(0, ()), None
        if has_login and self._failure is None and self._everything:
            try:
                key = self._summary_key(filters) if fts_query(filters.search) is not None else None
                self._summaries.cancel(key)
                counted = self._summaries.result(key) if key is not None else None
                if filters.is_empty:
                    summary = self._overall
                elif isinstance(counted, TransactionSummary):  # counted ahead, as the text was typed
                    summary = counted
                elif key is not None and (common := self._common_word_summary(key, filters)) is not None:
                    summary = common
                elif key is not None and (
                    self._summaries.running(key)
                    or self._store.search_matches(filters.search, at_most=self.background_after) > self.background_after
                ):
                    # The threads count (or go on counting) while this one reads the first page.
                    self._summaries.start(key, self._store, self._login_id, filters, self._accounts)
                    self._job, self.counting = key, True
                    first_page = self._store.transactions(
                        self._login_id,
                        **filters.as_kwargs(),
                        limit=PAGE_SIZE,
                        oldest_first=self.model.order == Qt.SortOrder.AscendingOrder,
                    )
                    if len(first_page) < PAGE_SIZE:  # all there is: counted and added up here
                        self._job, self.counting = None, False
                        summary, first_page = summary_of_rows(first_page, self._accounts), None
                else:
                    summary = self._store.transaction_summary(self._login_id, **filters.as_kwargs())
            except (CacheError, sqlite3.Error) as error:
                log.warning("transactions could not be read: %s", error)
                self._failure = _read_error(error)
                self._summaries.cancel()
                summary, first_page, self.counting = TransactionSummary(0, ()), None, False
        count = len(first_page) if first_page is not None else summary.count
        self.model.set_query(self._store, self._login_id, filters, self._accounts, count, first_page=first_page)
        # One account shown (chosen, or the login's only one): the column would repeat it on each row.
        self.table.setColumnHidden(ACCOUNT, filters.account_id is not None or len(self._accounts) <= 1)
        self._show_dates()
        usable = has_login and self._everything > 0 and self._failure is None
        for widget in (self.search, self.account_filter, self.period, self.date_from, self.date_to):
            widget.setEnabled(usable)
        self._show_totals(count, summary, filters)
        self._show_state(has_login, count, filters)
        self._prepare_rows()

    @Slot(object, object)
    def _on_summary(self, job: Hashable, result: object) -> None:
        """A big search's count and totals, from its threads: the table grows to the count."""
        if job != self._job or not self.counting:
            return  # a search since replaced it
        self.counting = False
        filters = self.model.filters
        if isinstance(result, str):  # the cache could not be read
            self._failure = result
            self.model.set_query(self._store, self._login_id, filters, self._accounts, 0)
            self._show_totals(0, TransactionSummary(0, ()), filters)
            self._show_state(True, 0, filters)
            return
        assert isinstance(result, TransactionSummary)
        self.model.set_count(result.count)
        self._show_totals(result.count, result, filters)
        self._show_state(True, result.count, filters)

    def _show_totals(self, count: int, summary: TransactionSummary, filters: TransactionFilter) -> None:
        if self.counting:
            self.totals.setText("Counting the matching transactions…")
        else:
            self.totals.setText(totals_text(count, currency_totals(summary, self._accounts, filters)) if count else "")
        self.totals.setVisible(bool(count))

    def _show_dates(self) -> None:
        """Show the chosen bounds; an open bound shows the login's oldest or newest date."""
        today = self._today()
        oldest, newest = self._span if self._span is not None else (today, today)
        with QSignalBlocker(self.date_from), QSignalBlocker(self.date_to):
            self.date_from.setDate(_qdate(self._since if self._since is not None else min(oldest, newest)))
            self.date_to.setDate(_qdate(self._until if self._until is not None else max(newest, today)))

    def _show_state(self, has_login: bool, count: int, filters: TransactionFilter) -> None:
        if self._failure is not None:
            self._show_empty("The transactions could not be read", self._failure, clear=False)
        elif not has_login:
            self._show_empty("No connection selected", "Choose a connection to see its transactions.", clear=False)
        elif self._everything == 0 and self._accounts:
            self._show_empty(
                "No transactions",
                "No transactions are cached for this connection's accounts. If its last sync left "
                "some out, its Activity says why; Live refresh asks the bank again.",
                clear=False,
            )
        elif self._everything == 0:
            self._show_empty(
                "Nothing synced yet",
                "This connection has no transactions in the cache yet. "
                "Refresh it to fetch its accounts and transactions from Flinks.",
                clear=False,
            )
        elif count == 0:
            self._show_empty("No transactions match", self._no_match_text(filters), clear=True)
        else:
            self.stack.setCurrentWidget(self.table)

    def _show_empty(self, title: str, text: str, *, clear: bool) -> None:
        self.empty_title.setText(title)
        self.empty_text.setText(text)
        self.clear_button.setVisible(clear)
        self.stack.setCurrentWidget(self.empty)

    def _no_match_text(self, filters: TransactionFilter) -> str:
        """What was asked, in words: "No transaction in Savings •••4547 matches “tim”, dated …"."""
        account = self.account_filter.currentText() if filters.account_id is not None else None
        if filters.since is not None and filters.until is not None:
            when = f"between {filters.since.isoformat()} and {filters.until.isoformat()}"
        elif filters.since is not None:
            when = f"on or after {filters.since.isoformat()}"
        elif filters.until is not None:
            when = f"on or before {filters.until.isoformat()}"
        else:
            when = None
        where = f" in {account}" if account else ""
        if filters.search:
            shown = filters.search if len(filters.search) <= 60 else filters.search[:59] + "…"
            return f"No transaction{where} matches “{shown}”" + (f", dated {when}." if when else ".")
        if when:
            return f"No transaction{where} is dated {when}."
        return f"{account} has no transactions in the cache." if account else "No transaction matches."

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._failure is None:
            self._failure = message
            QTimer.singleShot(0, lambda: self._show_empty("The transactions could not be read", message, clear=False))
