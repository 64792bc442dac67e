"""Typed results of the Flinks API, read liberally from the JSON Flinks really sends, kept exactly.

Flinks' responses vary by institution, by the age of the data and by API version; real instances
are looser than the published samples, and the real service sends more than it documents. The same
rules apply to every field, so a reader can predict them (docs/flinks-compatibility.md lists each
tolerance with its public source):

- unknown fields are ignored;
- a field that is absent or null is None (an empty tuple for a list);
- a field is read in every shape public clients have seen: a text field may come as a JSON number
  (transaction `Code` is "number, null" in Flinks' help centre; `TransitNumber` is `int?` in Flinks'
  C# SDK) and is kept as the number's text; an amount may come as a numeric string ("1500.25");
  a flag as "true"/"false"; `Holder` (and its `Address`) as one string. The session ids a call
  sends back (RequestId, Login.Id) must be strings: a number can never be one;
- what still cannot be read is **dropped, never the whole answer**: a field in a shape no one has
  seen becomes None, and a row (one account, one transaction, one statement) whose own key or
  date cannot be read is left out, as is a transaction whose debit or credit cannot be read (kept
  without its amount, it would change totals and exports without a word). Each drop is a
  `Dropped` in the result's `dropped`, naming where and why, never the value, so the sync can
  tell the person (the login's Activity). Only an
  answer that has nothing to keep raises `ProtocolError`: a body that is not an object, no
  RequestId, a 203 without challenges, an account list that is not a list;
- money is `Decimal`, exactly as written in the JSON (`loads` never makes a float);
- ids are opaque strings, not validated: the public samples hold placeholders ("xxxx-xxxx-...");
- dates come as "2025-01-31", "2019/05/09" or "2025-01-31T00:00:00"; timestamps have no zone
  suffix (they are UTC) and up to 7 fractional digits, which `datetime.fromisoformat` rejects on
  Python 3.11, hence `_DATETIME`;
- a security challenge is never dropped (answers must cover every prompt): one this app cannot put
  to a person (an image, choices it cannot read, a kind it does not know) is kept with
  `unsupported` saying why, and `check_answerable` turns it into `UnsupportedChallenge`.

Statement contents are decoded lazily (`Statement.content`): a response holding several PDFs stays
usable when one of them is damaged, and the error arrives when that one file is opened or saved.
"""

from __future__ import annotations

import base64
import codecs
import functools
import json
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import IO, Any, Literal, NoReturn, TypeVar

from flinks_desktop.core.flinks.errors import ProtocolError, UnsupportedChallenge

# The parts of an account that a cached row holds too (in their own module, so that reading the
# cache, the window's first paint, does not build every type of this one).
from flinks_desktop.core.flinks.values import Address, Balance, Holder

T = TypeVar("T")


_DATETIME = re.compile(
    r"(?P<year>\d{4})(?P<sep>[-/])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?",
    re.ASCII,
)
#: An amount written as text: "1500.25", "-12", ".5", " 7.00 ". No thousands separator, no currency,
#: no exponent: "1,234" or "1 234,56" depends on a locale, and guessing it would invent money.
_AMOUNT_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_INTEGER_TEXT = re.compile(r"[+-]?\d{1,18}", re.ASCII)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_MFA_STATUS = 203

#: Challenge types, lower-cased: a free-text answer, or one option (several) out of `Iterables`.
_TEXT_CHALLENGES = {"", "questionandanswer", "textonly"}
_CHOICE_CHALLENGES = {"multiplechoice", "multiplechoicemultipleanswers"}
_SEVERAL_ANSWERS = "multiplechoicemultipleanswers"
_CHALLENGE_TYPE_SHOWN = re.compile(r"[A-Za-z][A-Za-z0-9_ ]{0,39}")


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dropped:
    """Something Flinks sent that could not be read and was left out. Never holds the value itself.

    `what` is "field" (that field is None in the result) or the row left out whole: "account",
    "transaction", "statement". `path` is where the unreadable value was ("Accounts[0].Transactions
    [3].Date"); `reason` why ("not a date", "missing", "expected a number, got bool"). `item_id` is
    the Id of the row concerned and `account_id` that of its account, when they could be read:
    whole here, masked before they are stored.
    """

    what: Literal["field", "account", "transaction", "statement"]
    path: str
    reason: str
    item_id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class Token:
    """A single-use authorize token (30 minutes). Kept out of `repr` so it never reaches a log."""

    value: str = field(repr=False)


@dataclass(frozen=True)
class Login:
    id: str
    username: str | None
    is_scheduled_refresh: bool
    #: UTC, timezone-aware.
    last_refresh: datetime | None
    #: "Personal" or "Business"; often absent.
    type: str | None


@dataclass(frozen=True)
class SecurityChallenge:
    """One MFA question. Answers are keyed by the exact `prompt`.

    "QuestionAndAnswer", "TextOnly" (or no type) take a free-text answer; "MultipleChoice" one of
    `options` (Flinks' `Iterables`), "MultipleChoiceMultipleAnswers" any of them. `unsupported` says
    why a person cannot be asked this one here ("an image to choose from"), None when they can.
    """

    type: str | None
    prompt: str
    options: tuple[str, ...] = ()
    unsupported: str | None = None

    @property
    def several_answers(self) -> bool:
        """Whether several of `options` may be chosen together."""
        return (self.type or "").lower() == _SEVERAL_ANSWERS


@dataclass(frozen=True)
class Authorized:
    """/Authorize answered 200: `request_id` opens the data endpoints for this session.

    `login` is None when Flinks left it out, as a real instance does in the 200 that answers MFA:
    the caller goes on with the loginId it already knows.
    """

    request_id: str
    login: Login | None
    institution: str | None
    institution_name: str | None = None
    institution_id: int | None = None
    dropped: tuple[Dropped, ...] = ()


@dataclass(frozen=True)
class MfaRequired:
    """/Authorize answered 203: answer `challenges` with `FlinksClient.answer_mfa(request_id, ...)`."""

    request_id: str
    institution: str | None
    challenges: tuple[SecurityChallenge, ...]
    dropped: tuple[Dropped, ...] = ()


AuthorizeResult = Authorized | MfaRequired


@dataclass(frozen=True)
class Transaction:
    id: str
    date: date
    description: str | None
    debit: Decimal | None
    credit: Decimal | None
    #: The account balance after this transaction.
    balance: Decimal | None
    #: Deprecated by Flinks. Text, also when Flinks sends a number.
    code: str | None


@dataclass(frozen=True)
class Account:
    id: str
    title: str | None
    account_number: str | None
    last_four_digits: str | None
    transit_number: str | None
    institution_number: str | None
    overdraft_limit: Decimal | None
    balance: Balance
    #: "Operations", "Credits", "Products", "Other".
    category: str | None
    #: "Chequing", "Savings", "CreditCard", "LineOfCredit", "RRSP", ...
    type: str | None
    currency: str | None
    holder: Holder | None
    account_type: str | None
    transactions: tuple[Transaction, ...] = ()
    #: Sent by GetAccountsSummary only.
    eft_eligible_ratio: Decimal | None = None
    #: Transactions Flinks sent for this account that could not be read (left out, see `dropped`):
    #: `transactions` is then not all Flinks holds for the period.
    unread_transactions: int = 0


@dataclass(frozen=True)
class AccountsResult:
    """The 200 of GetAccountsSummary or GetAccountsDetail."""

    request_id: str
    login: Login | None
    institution: str | None
    accounts: tuple[Account, ...]
    institution_name: str | None = None
    institution_id: int | None = None
    dropped: tuple[Dropped, ...] = ()

    @property
    def all_accounts_read(self) -> bool:
        """False when an account Flinks sent could not be read: `accounts` is then not all of them."""
        return not any(item.what == "account" for item in self.dropped)


@dataclass(frozen=True)
class Statement:
    unique_id: str
    #: "PDF" in practice.
    file_type: str | None
    #: The file as Flinks sent it; `content` decodes it.
    base64_bytes: str = field(repr=False)

    @property
    def content(self) -> bytes:
        """The file's bytes. Raises ProtocolError when Flinks sent something that is not Base64."""
        try:
            return base64.b64decode("".join(self.base64_bytes.split()), validate=True)
        except ValueError as exc:  # binascii.Error, or text that is not ASCII at all
            raise ProtocolError(detail=f"statement {self.unique_id}: Base64Bytes is not Base64") from exc


@dataclass(frozen=True)
class AccountStatements:
    account_number: str | None
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class StatementsResult:
    """The 200 of GetStatements: statements grouped per account number."""

    request_id: str
    login: Login | None
    institution: str | None
    accounts: tuple[AccountStatements, ...]
    dropped: tuple[Dropped, ...] = ()


# -- parsing entry points --------------------------------------------------------------------


def loads(data: bytes | str) -> object:
    """Decode a JSON body exactly: a number with a fraction or an exponent becomes a Decimal.

    Raises ProtocolError for anything that is not strict JSON (NaN and Infinity included).
    """
    try:
        return json.loads(data, parse_float=_decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(detail=f"body is not JSON ({type(exc).__name__})") from exc


def _decimal(text: str) -> Decimal:
    """`Decimal(text)`, as a Python function on purpose: json's C decoder calls it for every amount,
    and each call into Python code lets another thread take the GIL. Given `Decimal` itself, the
    decoder never leaves C, and decoding a body of 50,000 transactions holds the GIL for about
    100 ms: the GUI thread stops for as long, even though the decoding runs on another thread."""
    return Decimal(text)


def _whole_answer(parse: Callable[..., T]) -> Callable[..., T]:
    """An entry point: what its answer cannot exist without fails it as a plain `ProtocolError`."""

    @functools.wraps(parse)
    def read(*args: object, **kwargs: object) -> T:
        try:
            return parse(*args, **kwargs)
        except _Unreadable as unreadable:
            raise ProtocolError(detail=unreadable.detail) from None

    return read


@_whole_answer
def parse_token(body: object) -> Token:
    fields = _Fields.of_body(body)
    return Token(fields.need("Token", _as_text))


@_whole_answer
def parse_authorize(http_status: int, body: object, *, request_id: str | None = None) -> AuthorizeResult:
    """The 200 (authorized) or 203 (MFA needed) of /Authorize.

    `request_id` is the session's RequestId when the caller already knows it (it is answering that
    session's questions): an answer that leaves it out goes on with it. A 200 without `Login` is
    `Authorized` with `login=None` (real instances answer MFA that way).
    """
    fields = _Fields.of_body(body)
    session = fields.get("RequestId", _as_session_id) or request_id
    if session is None:
        session = fields.need("RequestId", _as_session_id)  # raises: "RequestId: missing" or its wrong type
    institution = fields.get("Institution", _as_text)
    if http_status == _MFA_STATUS:
        challenges = fields.challenges("SecurityChallenges")
        if not challenges:
            _fail("SecurityChallenges", "missing")
        return MfaRequired(session, institution, challenges, fields.dropped())
    return Authorized(
        request_id=session,
        login=fields.record("Login", _login),
        institution=institution,
        institution_name=fields.get("InstitutionName", _as_text),
        institution_id=fields.get("InstitutionId", _as_integer),
        dropped=fields.dropped(),
    )


@_whole_answer
def parse_accounts(body: object) -> AccountsResult:
    """The 200 of GetAccountsSummary or GetAccountsDetail (and of their Async forms)."""
    fields = _Fields.of_body(body)
    request_id = fields.need("RequestId", _as_session_id)
    accounts, _ = fields.rows("Accounts", _account, "account", required_list=True)
    return AccountsResult(
        request_id=request_id,
        login=fields.record("Login", _login),
        institution=fields.get("Institution", _as_text),
        accounts=accounts,
        institution_name=fields.get("InstitutionName", _as_text),
        institution_id=fields.get("InstitutionId", _as_integer),
        dropped=fields.dropped(),
    )


@_whole_answer
def parse_statements(body: object) -> StatementsResult:
    """The 200 of GetStatements (and of GetStatementsAsync)."""
    fields = _Fields.of_body(body)
    request_id = fields.need("RequestId", _as_session_id)
    groups, _ = fields.rows("StatementsByAccount", _account_statements, None, required_list=True)
    return StatementsResult(
        request_id=request_id,
        login=fields.record("Login", _login),
        institution=fields.get("Institution", _as_text),
        accounts=groups,
        dropped=fields.dropped(),
    )


def check_answerable(challenges: Sequence[SecurityChallenge]) -> None:
    """Raise `UnsupportedChallenge` when a person cannot be asked one of `challenges` here."""
    reasons = list(dict.fromkeys(c.unsupported for c in challenges if c.unsupported is not None))
    if reasons:
        raise UnsupportedChallenge(
            f"The bank asks a security question this app cannot show ({'; '.join(reasons)}). "
            "Use Flinks Connect for this connection: it shows every kind of question.",
            detail=f"unsupported challenge: {'; '.join(reasons)}",
        )


# -- one reader per JSON object --------------------------------------------------------------


def _login(fields: _Fields) -> Login:
    return Login(
        id=fields.need("Id", _as_session_id),
        username=fields.get("Username", _as_text),
        is_scheduled_refresh=fields.get("IsScheduledRefresh", _as_flag) or False,
        last_refresh=fields.get("LastRefresh", _as_moment),
        type=fields.get("Type", _as_text),
    )


def _challenge(fields: _Fields) -> SecurityChallenge:
    kind = fields.get("Type", _as_text)
    prompt = fields.get("Prompt", _as_text) or ""
    options, readable = fields.options("Iterables")
    return SecurityChallenge(kind, prompt, options, _why_unsupported(kind, prompt, options, readable))


def _why_unsupported(kind: str | None, prompt: str, options: tuple[str, ...], readable: bool) -> str | None:
    """Why a person cannot answer this challenge here, in a few words; None when they can."""
    folded = (kind or "").strip().lower()
    if "image" in folded or "picture" in folded:
        return "an image to choose from"
    if not prompt.strip():
        return "a question without text"
    if not readable:
        return "choices this app cannot read"
    if folded in _CHOICE_CHALLENGES and not options:
        return "a choice without options"
    if folded in _TEXT_CHALLENGES or folded in _CHOICE_CHALLENGES:
        return None
    shown = kind.strip() if kind and _CHALLENGE_TYPE_SHOWN.fullmatch(kind.strip()) else "unnamed"
    return f"a kind of question this app does not know: {shown}"


def _account(fields: _Fields) -> Account:
    fields.account_id = fields.need("Id", _as_text)
    transactions, unread = fields.rows("Transactions", _transaction, "transaction")
    return _account_with(fields, transactions, unread)


def _account_with(fields: _Fields, transactions: tuple[Transaction, ...], unread: int) -> Account:
    """The account whose Id `fields.account_id` was read, with these transactions (`AccountsStream`
    reads them apart) and how many of them could not be read."""
    assert fields.account_id is not None  # both callers set it first, from `need("Id", ...)`
    return Account(
        id=fields.account_id,
        title=fields.get("Title", _as_text),
        account_number=fields.get("AccountNumber", _as_text),
        last_four_digits=fields.get("LastFourDigits", _as_text),
        transit_number=fields.get("TransitNumber", _as_text),
        institution_number=fields.get("InstitutionNumber", _as_text),
        overdraft_limit=fields.get("OverdraftLimit", _as_money),
        balance=fields.record("Balance", _balance) or Balance(None, None, None),
        category=fields.get("Category", _as_text),
        type=fields.get("Type", _as_text),
        currency=fields.get("Currency", _as_text),
        holder=fields.record("Holder", _holder, from_text=_holder_named),
        account_type=fields.get("AccountType", _as_text),
        transactions=transactions,
        eft_eligible_ratio=fields.get("EftEligibleRatio", _as_money),
        unread_transactions=unread,
    )


def _balance(fields: _Fields) -> Balance:
    return Balance(
        available=fields.get("Available", _as_money),
        current=fields.get("Current", _as_money),
        limit=fields.get("Limit", _as_money),
    )


def _holder(fields: _Fields) -> Holder:
    return Holder(
        name=fields.get("Name", _as_text),
        address=fields.record("Address", _address, from_text=_address_line),
        email=fields.get("Email", _as_text),
        phone_number=fields.get("PhoneNumber", _as_text),
    )


def _holder_named(name: str) -> Holder:
    """A Holder sent as one string (a public Node client's test data): the holder's name."""
    return Holder(name=name, address=None, email=None, phone_number=None)


def _address(fields: _Fields) -> Address:
    return Address(
        civic_address=fields.get("CivicAddress", _as_text),
        city=fields.get("City", _as_text),
        province=fields.get("Province", _as_text),
        postal_code=fields.get("PostalCode", _as_text),
        po_box=fields.get("POBox", _as_text),
        country=fields.get("Country", _as_text),
    )


def _address_line(line: str) -> Address:
    """An Address sent as one string: kept whole as its civic address, not split by guesswork."""
    return Address(civic_address=line, city=None, province=None, postal_code=None, po_box=None, country=None)


def _transaction(fields: _Fields) -> Transaction:
    return Transaction(
        id=fields.need("Id", _as_text),
        date=fields.need("Date", _as_day),
        description=fields.get("Description", _as_text),
        # An amount that cannot be read leaves the transaction out (and the cached one in place),
        # never saved as one of no amount: totals and exports would be wrong without a word.
        debit=fields.whole("Debit", _as_money),
        credit=fields.whole("Credit", _as_money),
        balance=fields.get("Balance", _as_money),
        code=fields.get("Code", _as_text),
    )


def _plain_transaction(item: dict[str, Any]) -> Transaction | None:
    """The transaction when every field it keeps has the shape nearly all have (text, a plain date,
    amounts as JSON numbers): what `_transaction` reads, without its field-by-field checks, for a
    million of them. None for anything else: `_transaction` then reads it, and says what it drops."""
    get = item.get
    identifier, day, description, code = get("Id"), get("Date"), get("Description"), get("Code")
    debit, credit, balance = get("Debit"), get("Credit"), get("Balance")
    if (
        type(identifier) is not str
        or type(description) not in _PLAIN_TEXT
        or type(code) not in _PLAIN_TEXT
        or type(debit) not in _PLAIN_AMOUNT
        or type(credit) not in _PLAIN_AMOUNT
        or type(balance) not in _PLAIN_AMOUNT
    ):
        return None
    when = _plain_day(day)
    if when is None:
        return None
    return Transaction(
        identifier,
        when,
        description,
        Decimal(debit) if type(debit) is int else debit,
        Decimal(credit) if type(credit) is int else credit,
        Decimal(balance) if type(balance) is int else balance,
        code,
    )


#: The types `_plain_transaction` takes as they are: what `_as_text` and `_as_money` return unchanged
#: (a JSON number is a Decimal or an int, always finite; a bool is neither).
_PLAIN_TEXT = frozenset({str, type(None)})
_PLAIN_AMOUNT = frozenset({Decimal, int, type(None)})


def _account_statements(fields: _Fields) -> AccountStatements:
    statements, _ = fields.rows("Statements", _statement, "statement")
    return AccountStatements(account_number=fields.get("AccountNumber", _as_text), statements=statements)


def _statement(fields: _Fields) -> Statement:
    return Statement(
        unique_id=fields.need("UniqueId", _as_text),
        file_type=fields.get("FileType", _as_text),
        base64_bytes=fields.need("Base64Bytes", _as_id),
    )


# -- reading one value -------------------------------------------------------------------------


class _Wrong(Exception):
    """A value in a shape this reader does not take; `problem` says so without quoting it."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class _Unreadable(ProtocolError):
    """A value something cannot exist without could not be read: the row (or the answer) goes."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(detail=f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _wrong(expected: str, value: object) -> NoReturn:
    raise _Wrong(f"expected {expected}, got {type(value).__name__}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal | float) and not isinstance(value, bool)


def _as_id(value: object) -> str:
    """A session id or a file, sent back or decoded as is: a string, nothing else (nor "")."""
    if isinstance(value, str):
        if not value:
            raise _Wrong("empty")
        return value
    _wrong("a string", value)


def _as_session_id(value: object) -> str:
    """A RequestId or a Login.Id: a string sent back to Flinks (in a body, in a URL) and kept, so
    neither a lone surrogate (no UTF-8 can carry it) nor a control character."""
    text = _as_id(value)
    if not text.isascii() and _LONE_SURROGATE.search(text):
        raise _Wrong("not valid Unicode text")
    if _CONTROL.search(text):
        raise _Wrong("control characters in an id")
    return text


def _as_text(value: object) -> str:
    """Text; a JSON number is kept as its text ("Code": 7 -> "7", "TransitNumber": 12347 -> "12347")."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    if _is_number(value):
        return str(value)
    _wrong("a string", value)


def _as_money(value: object) -> Decimal | None:
    """An exact amount from a JSON number or a numeric string; "" is no amount."""
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return Decimal(repr(value))  # not from `loads`: its shortest text is what the JSON said
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if _AMOUNT_TEXT.fullmatch(text):
            return Decimal(text)
        raise _Wrong("expected a number, got text that is not one")
    _wrong("a number", value)


def _as_flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    _wrong("true or false", value)


def _as_integer(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    _wrong("an integer", value)


def _as_moment(value: object) -> datetime:
    """A timestamp, as an aware UTC datetime (Flinks sends UTC without a zone suffix)."""
    return _dated(value, _utc_moment)


def _as_day(value: object) -> date:
    """A calendar date; the time of a datetime-looking value is dropped."""
    return _plain_day(value) or _dated(value, _calendar_day)


def _plain_day(value: object) -> date | None:
    """A date written "2025-01-31" or "2025/01/31", as nearly every transaction's is, read without
    the regular expression; None for any other value (`_dated` reads it, or says why not)."""
    if type(value) is str and len(value) == 10 and value[4] == value[7] and value.isascii():
        separator = value[4]
        if separator == "-" or separator == "/":
            try:  # in C; with the separators where they are, it takes exactly what `_DATETIME` takes
                return date.fromisoformat(value if separator == "-" else value.replace("/", "-"))
            except ValueError:  # not digits, or no such day
                return None
    return None


def _dated(value: object, convert: Callable[[re.Match[str]], T]) -> T:
    if not isinstance(value, str):
        _wrong("a date", value)
    match = _DATETIME.fullmatch(value.strip())
    try:
        if match is None:
            raise ValueError
        return convert(match)
    except (ValueError, OverflowError):  # no such day, or out of datetime's range in UTC
        raise _Wrong("not a date") from None


class _Fields:
    """One JSON object being read, with its path so that drops and errors say where.

    `get` returns None for an absent or null field, and for one it cannot read, which it records
    as a dropped field. `need` (and `whole`, for a field present but unreadable) raises
    `_Unreadable` instead: `rows` then drops that one row, and an
    entry point lets it out as the `ProtocolError` of the whole answer. Every reader of one answer
    shares one list of drops, and the account being read (`account_id`) is passed down.
    """

    __slots__ = ("_values", "_path", "_drops", "account_id")

    def __init__(self, values: dict[str, Any], path: str, drops: list[Dropped], account_id: str | None = None) -> None:
        self._values = values
        self._path = path
        self._drops = drops
        self.account_id = account_id

    @classmethod
    def of_body(cls, body: object) -> _Fields:
        if not isinstance(body, dict):
            _fail("body", f"expected an object, got {type(body).__name__}")
        return cls(body, "", [])

    def dropped(self) -> tuple[Dropped, ...]:
        return tuple(self._drops)

    def get(self, key: str, read: Callable[[object], T]) -> T | None:
        value = self._values.get(key)
        if value is None:
            return None
        try:
            return read(value)
        except _Wrong as wrong:
            self._drop_field(self._at(key), wrong.problem)
            return None

    def whole(self, key: str, read: Callable[[object], T]) -> T | None:
        """The value at `key`, None when absent; when present and unreadable, the row it belongs to
        is left out (`_Unreadable`) rather than kept without it: a transaction whose debit cannot
        be read must not be saved as one of no amount."""
        value = self._values.get(key)
        try:
            return None if value is None else read(value)  # None for "": what `get` gives too
        except _Wrong as wrong:
            raise _Unreadable(self._at(key), wrong.problem) from None

    def need(self, key: str, read: Callable[[object], T | None]) -> T:
        value = self._values.get(key)
        try:
            result = read(value) if value is not None else None
        except _Wrong as wrong:
            raise _Unreadable(self._at(key), wrong.problem) from None
        if result is None:
            raise _Unreadable(self._at(key), "missing")
        return result

    def record(
        self, key: str, read: Callable[[_Fields], T], *, from_text: Callable[[str], T] | None = None
    ) -> T | None:
        """The object at `key` read with `read` (or a string with `from_text`); None, recorded as a
        dropped field, when it is of another shape or lacks what it cannot exist without."""
        value = self._values.get(key)
        if value is None:
            return None
        if isinstance(value, str) and from_text is not None:
            return from_text(value)
        if not isinstance(value, dict):
            self._drop_field(self._at(key), f"expected an object, got {type(value).__name__}")
            return None
        try:
            return read(self._child(value, self._at(key)))
        except _Unreadable as unreadable:
            self._drop_field(
                self._at(key), f"{unreadable.path.removeprefix(self._at(key) + '.')}: {unreadable.problem}"
            )
            return None

    def rows(
        self,
        key: str,
        read: Callable[[_Fields], T],
        row: Literal["account", "transaction", "statement"] | None,
        *,
        required_list: bool = False,
    ) -> tuple[tuple[T, ...], int]:
        """The list at `key`, each object read with `read`, and how many rows were left out.

        A row that is not an object or lacks what it cannot exist without is dropped (recorded as a
        dropped `row`); with `row=None` it fails the whole answer instead. A value that is not a
        list is a dropped field, or, with `required_list`, the whole answer's ProtocolError.
        """
        value = self._values.get(key)
        if value is None:
            return (), 0
        path = self._at(key)
        if not isinstance(value, list):
            problem = f"expected a list, got {type(value).__name__}"
            if required_list:
                _fail(path, problem)
            self._drop_field(path, problem)
            return (), 0
        read_rows: list[T] = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            try:
                if not isinstance(item, dict):
                    raise _Unreadable(item_path, f"expected an object, got {type(item).__name__}")
                read_rows.append(read(self._child(item, item_path)))
            except _Unreadable as unreadable:
                if row is None:
                    raise
                self._drops.append(
                    Dropped(row, unreadable.path, unreadable.problem, _row_id(item, row), self._row_account(item, row))
                )
        return tuple(read_rows), len(value) - len(read_rows)

    def challenges(self, key: str) -> tuple[SecurityChallenge, ...]:
        """Every challenge, none dropped (answers must cover each prompt): one that cannot be read
        is kept as unsupported."""
        value = self._values.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            _fail(self._at(key), f"expected a list, got {type(value).__name__}")
        return tuple(
            _challenge(self._child(item, f"{self._at(key)}[{index}]"))
            if isinstance(item, dict)
            else SecurityChallenge(None, "", (), "a question this app cannot read")
            for index, item in enumerate(value)
        )

    def options(self, key: str) -> tuple[tuple[str, ...], bool]:
        """A challenge's options as text, and whether every one of them could be read as text."""
        value = self._values.get(key)
        if value is None:
            return (), True
        if not isinstance(value, list):
            return (), False
        options = tuple(_as_text(item) for item in value if isinstance(item, str) or _is_number(item))
        return options, len(options) == len(value)

    def _child(self, values: dict[str, Any], path: str) -> _Fields:
        return _Fields(values, path, self._drops, self.account_id)

    def _row_account(self, item: object, row: str) -> str | None:
        if row == "account":
            return _row_id(item, row)
        return self.account_id

    def _drop_field(self, path: str, problem: str) -> None:
        self._drops.append(Dropped("field", path, problem, None, self.account_id))

    def _at(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key


def _row_id(item: object, row: str) -> str | None:
    """The Id (a statement's UniqueId) of a row left out, when that much can be read."""
    value = item.get("UniqueId" if row == "statement" else "Id") if isinstance(item, dict) else None
    return value if isinstance(value, str) and value else None


def _utc_moment(match: re.Match[str]) -> datetime:
    return _to_datetime(match).astimezone(UTC)


def _calendar_day(match: re.Match[str]) -> date:
    return _to_datetime(match).date()


def _to_datetime(match: re.Match[str]) -> datetime:
    """The datetime of a `_DATETIME` match, in UTC unless it names a zone. Raises ValueError."""
    number = match.groupdict(default="0")
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")  # microseconds: the 7th digit is dropped
    return datetime(
        int(number["year"]),
        int(number["month"]),
        int(number["day"]),
        int(number["hour"]),
        int(number["minute"]),
        int(number["second"]),
        int(fraction),
        tzinfo=_zone(match["zone"]),
    )


def _zone(suffix: str | None) -> timezone:
    if suffix is None or suffix == "Z":
        return UTC
    digits = suffix[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(-offset if suffix[0] == "-" else offset)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _fail(path: str, problem: str) -> NoReturn:
    raise ProtocolError(detail=f"{path}: {problem}")


# -- GetAccountsDetail read as it comes ---------------------------------------------------------------

#: Bytes of the answer `AccountsStream` reads at a time (more while one value is longer than that).
_STREAM_READ = 1024 * 1024
#: The most transactions in one `TransactionBatch`.
STREAM_BATCH = 2000
#: JSON white space, skipped between the tokens the stream walks itself.
_SPACE = re.compile(r"[ \t\n\r]*")
#: A value this close to the end of the text read so far may go on in the next piece ("-Infinity",
#: a number, an escape cut in two): it is scanned again once more has been read.
_CUT_MARGIN = 10


@dataclass(frozen=True)
class TransactionBatch:
    """Transactions of one account, as `AccountsStream` reads them, in Flinks' order."""

    #: The account's place in the answer's Accounts list.
    account: int
    transactions: tuple[Transaction, ...]
    #: Each one's place in the account's Transactions list (a row left out leaves a gap), for messages.
    positions: tuple[int, ...]


@dataclass(frozen=True)
class AccountEnd:
    """The end of one account of the answer, read once all of it has come: Flinks may send an
    account's Id and fields after its transactions."""

    #: The account's place in the answer's Accounts list.
    index: int
    #: The account without its transactions (they came in `TransactionBatch`es), with its
    #: `unread_transactions`; None when it is left out (no Id that can be read): its batches go with it.
    account: Account | None


class AccountsStream:
    """The 200 of GetAccountsDetail (or GetAccountsSummary) read from a binary file piece by piece:
    an answer of a million transactions (about 190 MB of JSON) is never held whole, neither as text
    nor as objects, so the memory a sync needs does not grow with the connection.

    Iterating it yields, in the answer's order, `TransactionBatch`es (at most `batch` transactions
    each, `STREAM_BATCH` by default) and one `AccountEnd` after each account. Then `result` is the
    answer without transactions:
    every account read (with its `unread_transactions`) and every `Dropped`, by the same rules and in
    the same order as `parse_accounts`, which reads the same answer whole (`read_accounts` puts the
    batches back into their accounts: the two give the same result). An answer that has nothing to
    keep raises `ProtocolError` while it is iterated, as `parse_accounts` does; one without a
    RequestId only at its end: a reader keeps nothing of it before that (the sync writes it in one
    SQLite transaction, rolled back). Two `Accounts` lists in one answer, or two `Transactions` lists
    in one account, are refused (`ProtocolError`): `json.loads` would keep the last one, which a
    stream cannot know it is reading.

    The JSON's structure (the answer, its Accounts list, each account, its Transactions list) is
    walked here, and every value in it (a transaction, a field) is decoded by the standard library's
    C scanner, exactly as `loads` decodes it (amounts as Decimal, NaN refused). ijson, the usual
    incremental parser, can build each transaction in C too, but cannot tell which account it
    belongs to without handing every token to Python: a million transactions are 16 million tokens,
    3.3 s only to go through them, where this reads the whole answer in about 5 s.

    Iterate it once; it closes `source` when it ends, and `close()` does if it is not read to its end.
    """

    def __init__(self, source: IO[bytes], *, batch: int | None = None) -> None:
        self._source = source
        self._batch = batch or STREAM_BATCH
        self._text = _JsonText(source)
        self._drops: list[Dropped] = []
        #: The accounts read so far, without their transactions.
        self._read: list[Account] = []
        self._result: AccountsResult | None = None
        self._started = False

    @property
    def result(self) -> AccountsResult:
        """The answer without its transactions; once the stream was read to its end."""
        if self._result is None:
            raise RuntimeError("the stream was not read to its end")
        return self._result

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> AccountsStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[TransactionBatch | AccountEnd]:
        if self._started:
            raise RuntimeError("an AccountsStream is read once")
        self._started = True
        try:
            yield from self._answer()
        except ProtocolError:
            raise
        except _Unreadable as unreadable:  # what the answer cannot exist without
            raise ProtocolError(detail=unreadable.detail) from None
        except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8...: as `loads` says it
            raise ProtocolError(detail=f"body is not JSON ({type(exc).__name__})") from exc
        finally:
            self.close()

    def _answer(self) -> Iterator[TransactionBatch | AccountEnd]:
        text = self._text
        if text.peek() != "{":  # not an object: read whole, it is refused as parse_accounts refuses it
            body = text.value()
            text.end()
            _Fields.of_body(body)
        head: dict[str, Any] = {}
        streamed = False
        for key in text.members():
            if key == "Accounts" and (streamed or "Accounts" in head):
                _fail("Accounts", "sent twice")
            if key == "Accounts" and text.peek() == "[":
                streamed = True
                yield from self._accounts()
            else:
                head[key] = text.value()
        text.end()
        fields = _Fields(head, "", self._drops)
        request_id = fields.need("RequestId", _as_session_id)
        fields.rows("Accounts", _account, "account", required_list=True)  # null, or not a list: as parse_accounts
        self._result = AccountsResult(
            request_id=request_id,
            login=fields.record("Login", _login),
            institution=fields.get("Institution", _as_text),
            accounts=tuple(self._read),
            institution_name=fields.get("InstitutionName", _as_text),
            institution_id=fields.get("InstitutionId", _as_integer),
            dropped=fields.dropped(),
        )

    def _accounts(self) -> Iterator[TransactionBatch | AccountEnd]:
        text = self._text
        for index in text.items():
            if text.peek() == "{":
                yield from self._account(index)
            else:
                item = text.value()
                self._drops.append(
                    Dropped("account", f"Accounts[{index}]", f"expected an object, got {type(item).__name__}")
                )
                yield AccountEnd(index, None)

    def _account(self, index: int) -> Iterator[TransactionBatch | AccountEnd]:
        """One account: its transactions as they come, then the rest, read as `_account` reads it."""
        text = self._text
        path = f"Accounts[{index}]"
        before = len(self._drops)
        values: dict[str, Any] = {}
        streamed: tuple[int, int] | None = None
        for key in text.members():
            if key == "Transactions" and (streamed is not None or "Transactions" in values):
                _fail(f"{path}.Transactions", "sent twice")
            if key == "Transactions" and text.peek() == "[":
                streamed = yield from self._transactions(index, path)
            else:
                values[key] = text.value()
        fields = _Fields(values, path, self._drops)
        try:
            fields.account_id = fields.need("Id", _as_text)
        except _Unreadable as unreadable:  # the account is left out, with all it held
            del self._drops[before:]
            self._drops.append(
                Dropped(
                    "account",
                    unreadable.path,
                    unreadable.problem,
                    _row_id(values, "account"),
                    _row_id(values, "account"),
                )
            )
            yield AccountEnd(index, None)
            return
        # What was left out of its transactions came before its Id was known.
        for number in range(before, len(self._drops)):
            self._drops[number] = replace(self._drops[number], account_id=fields.account_id)
        if streamed is None:  # null, or not a list: as `_account` reads it
            _, unread = fields.rows("Transactions", _transaction, "transaction")
        else:
            listed, kept = streamed
            unread = listed - kept
        account = _account_with(fields, (), unread)
        self._read.append(account)
        yield AccountEnd(index, account)

    def _transactions(self, account: int, path: str) -> Generator[TransactionBatch, None, tuple[int, int]]:
        """The Transactions list being read: batches of what can be read. Returns (listed, read)."""
        text, drops, size = self._text, self._drops, self._batch
        batch: list[Transaction] = []
        positions: list[int] = []
        listed = kept = 0
        for position in text.items():
            listed += 1
            item = text.value()
            if type(item) is dict:
                try:
                    batch.append(
                        _plain_transaction(item)
                        or _transaction(_Fields(item, f"{path}.Transactions[{position}]", drops))
                    )
                except _Unreadable as unreadable:
                    drops.append(
                        Dropped("transaction", unreadable.path, unreadable.problem, _row_id(item, "transaction"))
                    )
                    continue
                positions.append(position)
                if len(batch) >= size:
                    kept += len(batch)
                    yield TransactionBatch(account, tuple(batch), tuple(positions))
                    batch, positions = [], []
            else:
                drops.append(
                    Dropped(
                        "transaction",
                        f"{path}.Transactions[{position}]",
                        f"expected an object, got {type(item).__name__}",
                    )
                )
        if batch:
            kept += len(batch)
            yield TransactionBatch(account, tuple(batch), tuple(positions))
        return listed, kept


def read_accounts(source: IO[bytes]) -> AccountsResult:
    """`AccountsStream`'s result with the transactions put back in their accounts: what
    `parse_accounts(loads(...))` returns for the same answer, read the streaming way."""
    stream = AccountsStream(source)
    batches: dict[int, list[Transaction]] = {}
    kept: list[tuple[int, Account]] = []
    for part in stream:
        if isinstance(part, TransactionBatch):
            batches.setdefault(part.account, []).extend(part.transactions)
        elif part.account is not None:
            kept.append((part.index, part.account))
    accounts = tuple(replace(account, transactions=tuple(batches.get(index, ()))) for index, account in kept)
    return replace(stream.result, accounts=accounts)


class _JsonText:
    """JSON text from a binary file, a window of it at a time. The caller walks the structure it
    streams (`members`, `items`); each value in it is decoded by json's C scanner (`value`)."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._decode: Callable[[bytes, bool], str] | None = None
        self._text = ""
        self._at = 0
        self._ended = False
        decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)
        # (value, end) of the JSON value at an index; the stubs do not declare the decoder's scanner.
        self._scan: Callable[[str, int], tuple[Any, int]] = decoder.scan_once  # type: ignore[attr-defined]

    def peek(self) -> str:
        """The next character that is not white space, left where it is; "" at the end of the text."""
        while True:
            space = _SPACE.match(self._text, self._at)
            assert space is not None  # "[ \t\n\r]*" matches anywhere, if only ""
            self._at = space.end()
            if self._at < len(self._text):
                return self._text[self._at]
            if not self._more():
                return ""

    def value(self) -> object:
        """The JSON value that starts here (after white space), decoded."""
        self.peek()
        while True:
            text, at = self._text, self._at
            try:
                value, end = self._scan(text, at)
            except StopIteration as stop:  # no value starts here, or one is cut by the window's end
                if stop.value >= len(text) - _CUT_MARGIN and self._more():
                    continue
                raise json.JSONDecodeError("Expecting value", text, stop.value) from None
            except json.JSONDecodeError as error:
                cut = error.pos >= len(text) - _CUT_MARGIN or error.msg.startswith("Unterminated string")
                if cut and self._more():
                    continue
                raise
            if end > len(text) - _CUT_MARGIN and self._more():  # a number may go on: "100." + "25"
                continue
            self._at = end
            return value

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here, each once the caller is at its value (which the
        caller reads, or walks), until the object's end."""
        self._take("{")
        if self.peek() == "}":
            self._at += 1
            return
        while True:
            key = self.value() if self.peek() == '"' else None
            if not isinstance(key, str):
                raise self._not_json()
            self._take(":")
            yield key
            if self._next("}"):
                return

    def items(self) -> Iterator[int]:
        """The places of the items of the array that starts here, each once the caller is at the
        item (which it reads, or walks), until the array's end."""
        self._take("[")
        if self.peek() == "]":
            self._at += 1
            return
        index = 0
        while True:
            yield index
            if self._next("]"):
                return
            index += 1

    def end(self) -> None:
        """Nothing but white space may follow the answer."""
        if self.peek() != "":
            raise self._not_json()

    def _next(self, closing: str) -> bool:
        """After an item: a comma (False: another item follows) or `closing` (True)."""
        text, at = self._text, self._at
        if at < len(text) and text[at] == ",":  # the common case, without white space
            self._at = at + 1
            return False
        following = self.peek()
        if following == ",":
            self._at += 1
            return False
        if following == closing:
            self._at += 1
            return True
        raise self._not_json()

    def _take(self, expected: str) -> None:
        if self.peek() != expected:
            raise self._not_json()
        self._at += 1

    def _more(self) -> bool:
        """Read more of the file into the window, dropping what was read; False at the file's end."""
        if self._ended:
            return False
        data = self._source.read(max(_STREAM_READ, len(self._text) - self._at, 4))  # 4: to tell the encoding
        if self._decode is None:  # UTF-8 in practice; as json.loads decodes bytes: UTF-16 and -32 too,
            # and a lone surrogate written in UTF-8 kept as sent (the sync refuses it, naming the field)
            encoding = json.detect_encoding(data) if data else "utf-8"
            self._decode = codecs.getincrementaldecoder(encoding)("surrogatepass").decode
        self._text = self._text[self._at :] + self._decode(data, not data)
        self._at = 0
        self._ended = not data
        return True

    def _not_json(self) -> json.JSONDecodeError:
        return json.JSONDecodeError("Unexpected character", self._text, self._at)
