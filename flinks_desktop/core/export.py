"""Cached data for other programs and for tickets: logins, accounts and transactions as CSV or JSON,
exactly as the cache holds them, and statement files saved under readable names.

    job = export.TransactionsExport(cache_path, login_id, path, since=start)   # the GUI's Export action
    count = await asyncio.to_thread(job.run)        # job.written / job.total meanwhile; job.cancel()
    export.write_json(store.accounts(login_id), sys.stdout, AccountRow)     # the CLI
    name = export.statement_file_name(statement, account)
    export.save_file(folder / name, store.statement_pdf(login_id, statement.unique_id))

Decisions a reader should know:

- **Exact.** Amounts are decimal strings with at least two places ("1234.50", "-3.10"), in CSV and
  in JSON alike, never JSON numbers: most JSON readers (JavaScript, spreadsheets, Python's `json`
  without `parse_float`) turn numbers into binary floats, where 0.1 + 0.2 != 0.3. A string is read
  exactly by everyone; `Decimal(value)` gives the cached amount back. No amount is rounded: one with
  more places keeps them.
- **One shape.** CSV and JSON have the same columns, under the same names, in the same order: a
  CSV header is a JSON key. A missing value is an empty cell in CSV and `null` in JSON. Dates are
  ISO ("2025-01-31"), timestamps ISO 8601 in UTC as the cache stores them
  ("2025-01-31T14:05:00.000000+00:00"), booleans `true`/`false`.
- **Readable on its own.** A transaction's row names its account (`account`, the title) and its
  `currency`, read from the login's accounts (`accounts=`): a CSV for a ticket mixes CAD and USD
  rows, and an account id alone means nothing to a person.
- **Nothing masked.** An export is the user's own data for a program or a ticket, so loginIds and
  account numbers are whole (screens and logs mask them). Nested values are flattened
  (`balance_current`, `holder_city`), so both formats stay one flat row per item.
- **CSV**: a header row, commas, the csv module's minimal quoting (a description with a comma, a
  quote or a line break stays one cell), "\\n" line ends. Text streams: the caller opens files with
  `encoding="utf-8", newline=""`. `spreadsheet_safe=True` (for a person who will open the file in
  a spreadsheet) prefixes text cells that a spreadsheet would run as a formula ("=", "+", "-", "@",
  tab, carriage return first) with an apostrophe; amounts and dates are never touched. It is off by
  default, as it changes the text.
- **JSON**: one array of objects, UTF-8 text (`ensure_ascii=False`), two-space indent, a final line break.
- **Streamed.** Both writers take any iterable and write each row as it comes, so an export of a
  million transactions (`Store.iter_transactions`) never holds them all. The JSON is written item
  by item, byte for byte what `json.dump(items, indent=2)` writes.
- **Export files are whole or absent.** `write_file` writes into a temporary file beside the
  target (owner-only, as the data is the user's bank data) and moves it over the target once it
  is complete and on disk: a failure, a cancel or a crash halfway leaves whatever was there
  before, and no partial file under the final name. `TransactionsExport` is one such export made
  to run on a worker thread (the GUI's event loop keeps running), with a count to show progress
  and a cancel.
- **Statement files** are named from what a person recognises: the account title and last four
  digits, the statement's period end (else the day it was fetched), and the start of its UniqueId,
  which keeps names unique ("Everyday-Chequing-2087_2025-01-31_D6EABD8B.pdf"). `save_file` writes
  owner-only (0600), as the file is bank data; an existing identical file is left alone, and a
  different one is replaced only when asked.
"""

from __future__ import annotations

import csv
import json
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any, Generic, TypedDict, TypeVar

from flinks_desktop.core.atomic_file import atomic_write
from flinks_desktop.core.store import AccountRow, LoginRow, StatementRow, Store, TransactionRow

Row = TypeVar("Row", TransactionRow, AccountRow, LoginRow)
#: Any row an export is defined for.
AnyRow = TransactionRow | AccountRow | LoginRow
Value = str | bool | None

#: Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NAME_WORDS = re.compile(r"[A-Za-z0-9]+")
_TITLE_LENGTH = 40
_UNIQUE_ID_LENGTH = 8


class ExportError(Exception):
    """A file could not be written; `str()` is a sentence for the user."""


class ExportConflict(ExportError):
    """A file with other content is where a file was to be saved: it was left as it is."""


class _Filters(TypedDict):
    """The filters of a transaction export, as `Store.iter_transactions` takes them."""

    account_id: str | None
    search: str | None
    since: date | None
    until: date | None


class ExportCancelled(ExportError):
    """The export was cancelled before it was complete: no file was written or replaced."""


# -- columns ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column(Generic[Row]):
    name: str
    value: Callable[[Row], Value]
    #: Free text (from the bank or the user): the only cells `spreadsheet_safe` may change.
    text: bool = False
    #: Read from the row's account instead of the row (a transaction's account title and currency):
    #: empty when the account is not known.
    from_account: Callable[[AccountRow], Value] | None = None


def _amount(value: Decimal | None) -> str | None:
    """ "1234.50": at least two places, never rounded, never in exponent form."""
    if value is None:
        return None
    if value.as_tuple().exponent > -2:  # type: ignore[operator]  # finite amounts only
        value = value.quantize(Decimal("0.01"))  # adds zeros: exact
    return format(value, "f")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _moment(value: datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value is not None else None


def _holder(field: str) -> Callable[[AccountRow], Value]:
    def value(row: AccountRow) -> Value:
        return getattr(row.holder, field) if row.holder is not None else None

    return value


def _address(field: str) -> Callable[[AccountRow], Value]:
    def value(row: AccountRow) -> Value:
        address = row.holder.address if row.holder is not None else None
        return getattr(address, field) if address is not None else None

    return value


def _of_account(row: object) -> Value:
    return None  # a column read from the row's account (`Column.from_account`)


TRANSACTION_COLUMNS: tuple[Column[TransactionRow], ...] = (
    Column("date", lambda row: _day(row.date)),
    Column("description", lambda row: row.description, text=True),
    Column("debit", lambda row: _amount(row.debit)),
    Column("credit", lambda row: _amount(row.credit)),
    Column("balance", lambda row: _amount(row.balance)),
    Column("code", lambda row: row.code, text=True),
    Column("account_id", lambda row: row.account_id),
    Column("id", lambda row: row.id),
    Column("login_id", lambda row: row.login_id),
    # Added in 0.2: at the end, so that a reader of the earlier columns by position still reads them.
    Column("account", _of_account, text=True, from_account=lambda account: account.title),
    Column("currency", _of_account, text=True, from_account=lambda account: account.currency),
)

ACCOUNT_COLUMNS: tuple[Column[AccountRow], ...] = (
    Column("id", lambda row: row.id),
    Column("title", lambda row: row.title, text=True),
    Column("account_number", lambda row: row.account_number, text=True),
    Column("last_four_digits", lambda row: row.last_four_digits, text=True),
    Column("transit_number", lambda row: row.transit_number, text=True),
    Column("institution_number", lambda row: row.institution_number, text=True),
    Column("category", lambda row: row.category, text=True),
    Column("type", lambda row: row.type, text=True),
    Column("account_type", lambda row: row.account_type, text=True),
    Column("currency", lambda row: row.currency, text=True),
    Column("balance_current", lambda row: _amount(row.balance.current)),
    Column("balance_available", lambda row: _amount(row.balance.available)),
    Column("balance_limit", lambda row: _amount(row.balance.limit)),
    Column("overdraft_limit", lambda row: _amount(row.overdraft_limit)),
    Column(
        "eft_eligible_ratio",
        lambda row: format(row.eft_eligible_ratio, "f") if row.eft_eligible_ratio is not None else None,
    ),
    Column("holder_name", _holder("name"), text=True),
    Column("holder_email", _holder("email"), text=True),
    Column("holder_phone_number", _holder("phone_number"), text=True),
    Column("holder_civic_address", _address("civic_address"), text=True),
    Column("holder_city", _address("city"), text=True),
    Column("holder_province", _address("province"), text=True),
    Column("holder_postal_code", _address("postal_code"), text=True),
    Column("holder_po_box", _address("po_box"), text=True),
    Column("holder_country", _address("country"), text=True),
    Column("seen_at", lambda row: _moment(row.seen_at)),
    Column("missing_since", lambda row: _moment(row.missing_since)),
    Column("login_id", lambda row: row.login_id),
)

LOGIN_COLUMNS: tuple[Column[LoginRow], ...] = (
    Column("id", lambda row: row.id),
    Column("institution", lambda row: row.institution, text=True),
    Column("username", lambda row: row.username, text=True),
    Column("type", lambda row: row.type, text=True),
    Column("status", lambda row: row.status),
    Column("status_at", lambda row: _moment(row.status_at)),
    Column("error_code", lambda row: row.error_code, text=True),
    Column("error_message", lambda row: row.error_message, text=True),
    Column("synced_at", lambda row: _moment(row.synced_at)),
    Column("last_refresh", lambda row: _moment(row.last_refresh)),
    Column("is_scheduled_refresh", lambda row: row.is_scheduled_refresh),
    Column("added_at", lambda row: _moment(row.added_at)),
    Column("environment", lambda row: row.environment),
)

_COLUMNS: dict[type, Sequence[Column[Any]]] = {
    TransactionRow: TRANSACTION_COLUMNS,
    AccountRow: ACCOUNT_COLUMNS,
    LoginRow: LOGIN_COLUMNS,
}


def columns(kind: type[Row]) -> Sequence[Column[Row]]:
    """The columns of an export of `kind` rows (TransactionRow, AccountRow or LoginRow)."""
    return _columns(kind)


def _columns(kind: type[AnyRow]) -> Sequence[Column[Any]]:
    try:
        return _COLUMNS[kind]
    except KeyError:
        raise TypeError(f"no export is defined for {kind.__name__}") from None


#: A login's accounts by id, which name a transaction's account and currency.
Accounts = Mapping[str, AccountRow]


def accounts_by_id(accounts: Iterable[AccountRow]) -> Accounts:
    """`Store.accounts(login_id)` as the `accounts=` of a transaction export."""
    return {account.id: account for account in accounts}


def records(
    rows: Iterable[AnyRow], kind: type[AnyRow] = TransactionRow, *, accounts: Accounts | None = None
) -> list[dict[str, Value]]:
    """The rows as flat dicts, column name -> exact value (a str, a bool or None). A transaction's
    `account` and `currency` come from `accounts` (empty without it)."""
    return list(_records(rows, kind, accounts))


def _records(rows: Iterable[AnyRow], kind: type[AnyRow], accounts: Accounts | None) -> Iterator[dict[str, Value]]:
    chosen = _columns(kind)
    for row in rows:
        if not isinstance(row, kind):
            raise TypeError(f"expected {kind.__name__} rows, got a {type(row).__name__}")
        account = accounts.get(row.account_id) if accounts and isinstance(row, TransactionRow) else None
        yield {
            column.name: column.value(row)
            if column.from_account is None
            else (column.from_account(account) if account is not None else None)
            for column in chosen
        }


# -- writers -----------------------------------------------------------------------------------------


def write_csv(
    rows: Iterable[AnyRow],
    stream: IO[str],
    kind: type[AnyRow] = TransactionRow,
    *,
    spreadsheet_safe: bool = False,
    accounts: Accounts | None = None,
) -> int:
    """Write a header row and one row per item to `stream`, as they come; return how many items
    were written. `accounts`: see `records`."""
    chosen = _columns(kind)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([column.name for column in chosen])
    count = 0
    for item in _records(rows, kind, accounts):
        writer.writerow([_csv_cell(item[column.name], guard=spreadsheet_safe and column.text) for column in chosen])
        count += 1
    return count


def write_json(
    rows: Iterable[AnyRow], stream: IO[str], kind: type[AnyRow] = TransactionRow, *, accounts: Accounts | None = None
) -> int:
    """Write the items as one JSON array of objects to `stream`, one item at a time (exactly what
    `json.dump(items, stream, ensure_ascii=False, indent=2)` writes, then a line break); return how
    many were written. `accounts`: see `records`."""
    _columns(kind)  # an unknown kind fails before anything is written
    count = 0
    for item in _records(rows, kind, accounts):
        # An item at the array's depth: its own lines indented once more (a value holds no raw line break).
        stream.write("[\n  " if count == 0 else ",\n  ")
        stream.write(json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n  "))
        count += 1
    stream.write("\n]\n" if count else "[]\n")
    return count


def write_file(
    path: Path,
    rows: Iterable[AnyRow],
    kind: type[AnyRow] = TransactionRow,
    *,
    as_json: bool = False,
    spreadsheet_safe: bool = False,
    accounts: Accounts | None = None,
) -> int:
    """Write `rows` to `path` as JSON or CSV (`write_json`, `write_csv`), whole or not at all: into a
    temporary file beside it (owner-only), flushed to disk, then moved over `path`. When anything
    fails halfway (the disk, the cache, an `ExportCancelled` raised by `rows`) the temporary file
    goes and whatever was at `path` stays as it was. Raises `ExportError` with a sentence for a
    file that cannot be written; returns how many rows were written."""
    path = Path(path)
    try:
        with atomic_write(path, "w", encoding="utf-8", newline="") as stream:
            if as_json:
                count = write_json(rows, stream, kind, accounts=accounts)
            else:
                count = write_csv(rows, stream, kind, spreadsheet_safe=spreadsheet_safe, accounts=accounts)
    except OSError as error:
        raise ExportError(_NOT_WRITTEN.format(path=path, reason=error.strerror or error)) from error
    return count


_NOT_WRITTEN = "{path} could not be written ({reason}); nothing was written there."


class TransactionsExport:
    """One export of a login's transactions to a file, made to run on a worker thread (`run`) while
    the GUI thread shows `written` of `total` and may `cancel` it.

    `run` opens its own `Store` on `cache` (a Store belongs to the thread that opened it), reads
    the transactions the filters select newest first, a page at a time from one read of the cache
    (`Store.iter_transactions`), and writes them with `write_file`. It returns how many were
    written; raises `ExportCancelled` after `cancel`, `ExportError` or `CacheError` with a sentence
    otherwise; in every failure the file at `path` is as it was.
    """

    def __init__(
        self,
        cache: Path,
        login_id: str,
        path: Path,
        *,
        account_id: str | None = None,
        search: str | None = None,
        since: date | None = None,
        until: date | None = None,
        as_json: bool = False,
        spreadsheet_safe: bool = False,
    ) -> None:
        self.cache = Path(cache)
        self.login_id = login_id
        self.path = Path(path)
        self.filters: _Filters = {"account_id": account_id, "search": search, "since": since, "until": until}
        self.as_json = as_json
        self.spreadsheet_safe = spreadsheet_safe
        #: How many transactions the filters select (None until `run` has counted them).
        self.total: int | None = None
        #: How many have been written so far (read from any thread: an int, replaced whole).
        self.written = 0
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Stop at the next row: the file is not written (from any thread)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self) -> int:
        with Store.open(self.cache) as store:
            self.total = store.count_transactions(self.login_id, **self.filters)
            return write_file(
                self.path,
                self._rows(store),
                accounts=accounts_by_id(store.accounts(self.login_id)),
                as_json=self.as_json,
                spreadsheet_safe=self.spreadsheet_safe and not self.as_json,
            )

    def _rows(self, store: Store) -> Iterator[TransactionRow]:
        for row in store.iter_transactions(self.login_id, **self.filters):
            if self._cancelled.is_set():
                raise ExportCancelled(f"The export was cancelled, so {self.path} was not written.")
            yield row
            self.written += 1
        if self._cancelled.is_set():  # cancelled after the last row: still nothing written
            raise ExportCancelled(f"The export was cancelled, so {self.path} was not written.")


def _csv_cell(value: Value, *, guard: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if guard and value.startswith(_FORMULA_START):
        return "'" + value
    return value


# -- statement files -----------------------------------------------------------------------------------


class Saved(Enum):
    NEW = "saved"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"


def statement_file_name(statement: StatementRow, account: AccountRow | None = None) -> str:
    """A file name a person recognises, safe on every file system (ASCII letters, digits, - and _).

    `account` is the cached account whose number the statement names, when there is one.
    """
    title = _name_words(account.title if account is not None and account.title else "") or "Statement"
    number = _name_words(statement.account_number or "")
    parts = [f"{title}-{number[-4:]}" if len(number) > 4 else title]
    day = statement.period_end or statement.fetched_at.astimezone().date()
    parts.append(day.isoformat())
    parts.append(_name_words(statement.unique_id)[:_UNIQUE_ID_LENGTH] or "statement")
    extension = _name_words(statement.file_type or "").lower() or "pdf"
    return f"{'_'.join(parts)}.{extension}"


def save_file(path: Path, content: bytes, *, overwrite: bool = False) -> Saved:
    """Write `content` to `path` (owner-only), creating its folder if needed.

    An existing file with the same bytes is left as it is (UNCHANGED). One with other bytes raises
    ExportConflict unless `overwrite`; then it is replaced atomically (a crash leaves one or the
    other). Any other failure raises ExportError.
    """
    try:
        existing = path.read_bytes() if path.exists() else None
        if existing == content:
            return Saved.UNCHANGED
        if existing is not None and not overwrite:
            raise ExportConflict(f"{path} already exists with other content, so it was left as it is.")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as file:
            file.write(content)
    except OSError as error:
        raise ExportError(f"{path} could not be written ({error.strerror or error}).") from error
    return Saved.NEW if existing is None else Saved.REPLACED


def _name_words(text: str) -> str:
    """ "Compte Épargne (USD)" -> "Compte-Epargne-USD": letters and digits, joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "-".join(_NAME_WORDS.findall(ascii_text))[:_TITLE_LENGTH].strip("-")
