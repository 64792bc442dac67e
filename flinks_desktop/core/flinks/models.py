"""Typed results of the Flinks API, read tolerantly from the JSON Flinks really sends.

Flinks' responses vary by institution, by the age of the data and by API version, and the real
service sends more than it documents. The same rules apply to every field, so a reader can predict
them:

- unknown fields are ignored;
- a field that is absent or null is None (an empty tuple for a list), except the few a result
  cannot exist without: RequestId, Login.Id, Account.Id, Transaction.Id and Date, a challenge's
  Prompt, a statement's UniqueId and Base64Bytes, the Token. Those raise `ProtocolError`;
- a field that is present with the wrong type raises `ProtocolError` naming its path
  ("Accounts[0].Balance.Available: expected a number, got str"): quietly dropping a balance that
  arrived as text would show the wrong money. The one exception is a challenge's rumoured
  `Iterables` list, whose shape is unknown: only its strings are kept;
- money is `Decimal`, exactly as written in the JSON (`loads` never makes a float);
- ids are opaque strings, not validated: the public samples hold placeholders ("xxxx-xxxx-...");
- dates come as "2025-01-31", "2019/05/09" or "2025-01-31T00:00:00"; timestamps have no zone
  suffix (they are UTC) and up to 7 fractional digits, which `datetime.fromisoformat` rejects on
  Python 3.11, hence `_DATETIME`.

Statement contents are decoded lazily (`Statement.content`): a response holding several PDFs stays
usable when one of them is damaged, and the error arrives when that one file is opened or saved.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import NoReturn, TypeVar

from flinks_desktop.core.flinks.errors import ProtocolError

T = TypeVar("T")

_DATETIME = re.compile(
    r"(?P<year>\d{4})(?P<sep>[-/])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?",
    re.ASCII,
)
_MFA_STATUS = 203


# -- results ---------------------------------------------------------------------------------


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
    """One MFA question. Answers are keyed by the exact `prompt`. A type other than
    "QuestionAndAnswer" is kept as is: show its prompt with a free-text answer, or `options`."""

    type: str | None
    prompt: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Authorized:
    """/Authorize answered 200: `request_id` opens the data endpoints for this session."""

    request_id: str
    login: Login
    institution: str | None
    institution_name: str | None = None
    institution_id: int | None = None


@dataclass(frozen=True)
class MfaRequired:
    """/Authorize answered 203: answer `challenges` with `FlinksClient.answer_mfa(request_id, ...)`."""

    request_id: str
    institution: str | None
    challenges: tuple[SecurityChallenge, ...]


AuthorizeResult = Authorized | MfaRequired


@dataclass(frozen=True)
class Balance:
    available: Decimal | None
    current: Decimal | None
    limit: Decimal | None


@dataclass(frozen=True)
class Address:
    civic_address: str | None
    city: str | None
    province: str | None
    postal_code: str | None
    po_box: str | None
    country: str | None


@dataclass(frozen=True)
class Holder:
    name: str | None
    address: Address | None
    email: str | None
    phone_number: str | None


@dataclass(frozen=True)
class Transaction:
    id: str
    date: date
    description: str | None
    debit: Decimal | None
    credit: Decimal | None
    #: The account balance after this transaction.
    balance: Decimal | None
    #: Deprecated by Flinks.
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


@dataclass(frozen=True)
class AccountsResult:
    """The 200 of GetAccountsSummary or GetAccountsDetail."""

    request_id: str
    login: Login | None
    institution: str | None
    accounts: tuple[Account, ...]
    institution_name: str | None = None
    institution_id: int | None = None


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
        except binascii.Error as exc:
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


def parse_token(body: object) -> Token:
    fields = _Fields(body, "")
    return Token(fields.need(fields.text("Token"), "Token"))


def parse_authorize(http_status: int, body: object) -> AuthorizeResult:
    """The 200 (authorized) or 203 (MFA needed) of /Authorize."""
    fields = _Fields(body, "")
    request_id = fields.need(fields.text("RequestId"), "RequestId")
    institution = fields.text("Institution")
    if http_status == _MFA_STATUS:
        challenges = fields.records("SecurityChallenges", _challenge)
        return MfaRequired(request_id, institution, fields.need(challenges or None, "SecurityChallenges"))
    return Authorized(
        request_id=request_id,
        login=fields.need(fields.record("Login", _login), "Login"),
        institution=institution,
        institution_name=fields.text("InstitutionName"),
        institution_id=fields.integer("InstitutionId"),
    )


def parse_accounts(body: object) -> AccountsResult:
    """The 200 of GetAccountsSummary or GetAccountsDetail (and of their Async forms)."""
    fields = _Fields(body, "")
    return AccountsResult(
        request_id=fields.need(fields.text("RequestId"), "RequestId"),
        login=fields.record("Login", _login),
        institution=fields.text("Institution"),
        accounts=fields.records("Accounts", _account),
        institution_name=fields.text("InstitutionName"),
        institution_id=fields.integer("InstitutionId"),
    )


def parse_statements(body: object) -> StatementsResult:
    """The 200 of GetStatements (and of GetStatementsAsync)."""
    fields = _Fields(body, "")
    return StatementsResult(
        request_id=fields.need(fields.text("RequestId"), "RequestId"),
        login=fields.record("Login", _login),
        institution=fields.text("Institution"),
        accounts=fields.records("StatementsByAccount", _account_statements),
    )


# -- one reader per JSON object --------------------------------------------------------------


def _login(fields: _Fields) -> Login:
    return Login(
        id=fields.need(fields.text("Id"), "Id"),
        username=fields.text("Username"),
        is_scheduled_refresh=fields.flag("IsScheduledRefresh") or False,
        last_refresh=fields.moment("LastRefresh"),
        type=fields.text("Type"),
    )


def _challenge(fields: _Fields) -> SecurityChallenge:
    return SecurityChallenge(
        type=fields.text("Type"),
        prompt=fields.need(fields.text("Prompt"), "Prompt"),
        options=fields.strings_if_any("Iterables"),
    )


def _account(fields: _Fields) -> Account:
    return Account(
        id=fields.need(fields.text("Id"), "Id"),
        title=fields.text("Title"),
        account_number=fields.text("AccountNumber"),
        last_four_digits=fields.text("LastFourDigits"),
        transit_number=fields.text("TransitNumber"),
        institution_number=fields.text("InstitutionNumber"),
        overdraft_limit=fields.money("OverdraftLimit"),
        balance=fields.record("Balance", _balance) or Balance(None, None, None),
        category=fields.text("Category"),
        type=fields.text("Type"),
        currency=fields.text("Currency"),
        holder=fields.record("Holder", _holder),
        account_type=fields.text("AccountType"),
        transactions=fields.records("Transactions", _transaction),
        eft_eligible_ratio=fields.money("EftEligibleRatio"),
    )


def _balance(fields: _Fields) -> Balance:
    return Balance(
        available=fields.money("Available"),
        current=fields.money("Current"),
        limit=fields.money("Limit"),
    )


def _holder(fields: _Fields) -> Holder:
    return Holder(
        name=fields.text("Name"),
        address=fields.record("Address", _address),
        email=fields.text("Email"),
        phone_number=fields.text("PhoneNumber"),
    )


def _address(fields: _Fields) -> Address:
    return Address(
        civic_address=fields.text("CivicAddress"),
        city=fields.text("City"),
        province=fields.text("Province"),
        postal_code=fields.text("PostalCode"),
        po_box=fields.text("POBox"),
        country=fields.text("Country"),
    )


def _transaction(fields: _Fields) -> Transaction:
    return Transaction(
        id=fields.need(fields.text("Id"), "Id"),
        date=fields.need(fields.day("Date"), "Date"),
        description=fields.text("Description"),
        debit=fields.money("Debit"),
        credit=fields.money("Credit"),
        balance=fields.money("Balance"),
        code=fields.text("Code"),
    )


def _account_statements(fields: _Fields) -> AccountStatements:
    return AccountStatements(
        account_number=fields.text("AccountNumber"),
        statements=fields.records("Statements", _statement),
    )


def _statement(fields: _Fields) -> Statement:
    return Statement(
        unique_id=fields.need(fields.text("UniqueId"), "UniqueId"),
        file_type=fields.text("FileType"),
        base64_bytes=fields.need(fields.text("Base64Bytes"), "Base64Bytes"),
    )


class _Fields:
    """One JSON object being read, with its path so that errors say where the problem is.

    Each accessor returns None for an absent or null field and raises ProtocolError for a field
    of the wrong type; `need` turns a None into a "missing" ProtocolError.
    """

    def __init__(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            _fail(path or "body", f"expected an object, got {type(value).__name__}")
        self._values: dict[str, object] = value
        self._path = path

    def need(self, value: T | None, key: str) -> T:
        if value is None:
            _fail(self._at(key), "missing")
        return value

    def text(self, key: str) -> str | None:
        value = self._values.get(key)
        if value is None or isinstance(value, str):
            return value
        self._wrong_type(key, "a string", value)

    def flag(self, key: str) -> bool | None:
        value = self._values.get(key)
        if value is None or isinstance(value, bool):
            return value
        self._wrong_type(key, "true or false", value)

    def integer(self, key: str) -> int | None:
        value = self._values.get(key)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        self._wrong_type(key, "an integer", value)

    def money(self, key: str) -> Decimal | None:
        value = self._values.get(key)
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        self._wrong_type(key, "a number", value)

    def moment(self, key: str) -> datetime | None:
        """A timestamp, as an aware UTC datetime (Flinks sends UTC without a zone suffix)."""
        text = self.text(key)
        return None if text is None else self._parsed(key, text, _utc_moment)

    def day(self, key: str) -> date | None:
        """A calendar date; the time of a datetime-looking value is dropped."""
        text = self.text(key)
        return None if text is None else self._parsed(key, text, _calendar_day)

    def record(self, key: str, read: Callable[[_Fields], T]) -> T | None:
        value = self._values.get(key)
        return None if value is None else read(_Fields(value, self._at(key)))

    def records(self, key: str, read: Callable[[_Fields], T]) -> tuple[T, ...]:
        value = self._values.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self._wrong_type(key, "a list", value)
        path = self._at(key)
        return tuple(read(_Fields(item, f"{path}[{index}]")) for index, item in enumerate(value))

    def strings_if_any(self, key: str) -> tuple[str, ...]:
        """The strings of a list whose shape is not known: anything else is left out."""
        value = self._values.get(key)
        return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()

    def _parsed(self, key: str, text: str, convert: Callable[[re.Match[str]], T]) -> T:
        match = _DATETIME.fullmatch(text)
        try:
            if match is None:
                raise ValueError(text)
            return convert(match)
        except (ValueError, OverflowError):  # no such day, or out of datetime's range in UTC
            _fail(self._at(key), "not a date")

    def _wrong_type(self, key: str, expected: str, value: object) -> NoReturn:
        _fail(self._at(key), f"expected {expected}, got {type(value).__name__}")

    def _at(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key


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
