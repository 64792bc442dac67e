"""The Flinks Capital dataset of the offline sandbox: a holder, four accounts, their history, statements.

Why it is built this way:

* Deterministic. A demo, a screenshot and a test must see the same numbers on every machine and in
  every process, so every random draw comes from ``random.Random`` seeded with a string naming the
  (username, account, day), and every Id is a uuid5 of such a string. Never ``hash()``: Python salts
  it per process. Usernames are compared case-insensitively ("Greatday" is "greatday").
* A stable history. Transactions are simulated day by day forward from a fixed *epoch*, never
  backwards from ``as_of``, and nothing in the simulation looks at ``as_of``: a later ``as_of`` only
  appends days, so a past transaction keeps its Id, Date, Description, amount and Balance. The epoch
  is 1 January of a year on a 4-year grid anchored at 2024: the latest one at least
  ``HISTORY_MARGIN_DAYS`` before ``as_of`` (2024-01-01 for any ``as_of`` from 2025-02-04 to
  2029-02-03). That leaves room for 365 days of transactions and 12 complete monthly statements, and
  bounds the simulation to about five years whatever ``as_of`` is.
* Balances that add up. Each account is a ledger of integer cents, turned into ``Decimal`` with two
  places only on the way out. Transfers between the holder's own accounts (to and from savings, the
  credit card payment, buying US dollars) are posted on both sides on the same day. A few household
  rules keep balances plausible for years: chequing surplus is swept to savings, savings tops
  chequing up before a payment would overdraw it, and chequing buys US dollars when they run low.

Balance conventions (``Balance`` of a transaction is the balance after it):

* Deposit accounts (chequing, savings, US dollar): the money the holder has;
  ``balance = previous + Credit - Debit``. Chequing's Available includes its overdraft limit.
* Credit card: the amount owed. Purchases and fees are Debits and raise it; payments and refunds are
  Credits and lower it: ``balance = previous + Debit - Credit``. ``Balance.Limit`` is the credit
  limit and ``Available`` is ``Limit - Current``.

The scenario user ``greatday_everything`` (institution.USERS) has five more accounts, lived by
``_EverythingHousehold`` from streams of their own (the four accounts' draws are never touched, so
every other user's data is as it always was): a line of credit and a car loan (category "Credits",
amounts owed like the card; the loan has no ``Available`` nor ``Limit``), a TFSA and an RRSP
(category "Products", money held, ``Available`` null) and the holder's company's business chequing
(``AccountType`` "Business", its own ``Holder``). Other scenario users change only the shape of
the answers (``DatasetShape``): numeric fields, or damaged statements of the first account.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import random
import uuid
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from flinks_desktop.sandbox import institution
from flinks_desktop.sandbox.statements import StatementData, render_statement

#: Namespace of every GUID the dataset makes (account and transaction Ids).
ID_NAMESPACE = uuid.UUID("3f0c6a52-7d1e-5b8a-9c44-1f6e2d0b9a77")
#: Bumping this changes every number and Id: do it only when the data must change for everyone.
SEED_VERSION = "flinks-capital-v1"
INSTITUTION_NUMBER = "777"
EPOCH_ANCHOR_YEAR = 2024
EPOCH_GRID_YEARS = 4
HISTORY_MARGIN_DAYS = 400
MAX_STATEMENT_MONTHS = 12

# Household rules, in cents.
CHEQUING_FLOOR = 300_00  # savings tops chequing up before a payment would leave less than this
CHEQUING_CEILING = 6_500_00  # above this, the surplus is swept to savings ...
CHEQUING_TARGET = 3_000_00  # ... down to about this
TOP_UP_STEP = 100_00
PAYDAY_SAVING = 150_00
USD_FLOOR = 200_00
USD_PURCHASE = 1_000_00  # the least chequing buys when the US dollar account runs low
SAVINGS_RATE_BASIS_POINTS = 225  # 2.25 % a year, paid monthly on the month-end balance
CARD_LIMIT = 8_000_00
CARD_PAYMENT_DAY = 21  # the statement balance is paid in full from chequing on this day
CARD_FEE_MONTH = 3
# The accounts of `greatday_everything` beyond the four (cents, basis points a year).
LOC_LIMIT = 15_000_00
LOC_RATE_BASIS_POINTS = 895
LOC_PAYMENT_DAY = 15
LOAN_RATE_BASIS_POINTS = 649
LOAN_PAYMENT = 435_00
LOAN_PAYMENT_DAY = 28
TFSA_CONTRIBUTION = 575_00  # from savings on the 2nd (about the yearly TFSA room), while savings holds over ...
TFSA_SAVINGS_FLOOR = 15_000_00
RRSP_CONTRIBUTION = 150_00  # from chequing every payday
BUSINESS_OVERDRAFT = 2_000_00
BUSINESS_TARGET = 10_000_00  # the owner draws what is above this on the 15th and the 28th ...
OWNER_DRAW_MAX = 1_500_00  # ... up to this much each time
CORPORATE_TAX_INSTALMENT = 900_00
PAYDAY_ANCHOR = date(2024, 1, 5)  # a Friday: pay arrives every other Friday from here
PAY_RAISE_PERCENT = 3  # a raise every January after the base year ...
PAY_BASE_YEAR = 2024

#: Seasonal factor in percent by month (January first) for heating bills, and for cooling bills.
WINTER_PEAK = (160, 150, 130, 105, 85, 70, 65, 70, 85, 105, 130, 150)
SUMMER_PEAK = (95, 90, 85, 85, 95, 115, 135, 135, 110, 90, 90, 95)

_REFERENCE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


# -- deterministic primitives -----------------------------------------------------------------------
def _seed(*parts: object) -> str:
    return "|".join(str(part) for part in (SEED_VERSION, *parts))


def _rng(*parts: object) -> random.Random:
    return random.Random(_seed(*parts))


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(_seed(*parts).encode()).digest()[:8], "big")


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, _seed(*parts)))


def _money(cents: int) -> Decimal:
    """Cents as a Decimal with exactly two places (``Decimal(1200).scaleb(-2)`` is ``12.00``)."""
    return Decimal(cents).scaleb(-2)


def _round_up(cents: int, step: int) -> int:
    return -(-cents // step) * step


def _epoch_for(as_of: date) -> date:
    """The first day of the simulated history behind ``as_of`` (see the module docstring)."""
    start = as_of - timedelta(days=HISTORY_MARGIN_DAYS)
    year = start.year - (start.year - EPOCH_ANCHOR_YEAR) % EPOCH_GRID_YEARS
    return date(year, 1, 1)


# -- who the holder is and how they spend ------------------------------------------------------------
@dataclass(frozen=True)
class _Bill:
    day: int
    description: str
    cents: int
    season: tuple[int, ...] | None = None  # percent by month; None for a fixed amount

    def amount(self, day: date, rng: random.Random) -> int:
        if self.season is None:
            return self.cents
        return self.cents * self.season[day.month - 1] * rng.randint(92, 108) // 10_000


@dataclass(frozen=True)
class _Spend:
    """A kind of everyday transaction: how often it happens, where, and for how much."""

    merchants: tuple[str, ...]  # "{ref}" in a name becomes a random order reference
    low: int  # amounts are drawn from [low, high) cents
    high: int
    weekday: float  # chance per weekday
    weekend: float  # chance per Saturday or Sunday
    skew: float = 1.0  # above 1, small amounts are more frequent than large ones
    step: int = 1  # amounts are multiples of this (ATM withdrawals)
    credit: bool = False  # money coming in rather than going out

    def happens(self, day: date, rng: random.Random) -> bool:
        return rng.random() < (self.weekday if day.weekday() < 5 else self.weekend)

    def draw(self, rng: random.Random) -> tuple[str, int]:
        merchant = rng.choice(self.merchants)
        if "{ref}" in merchant:
            merchant = merchant.format(ref="".join(rng.choice(_REFERENCE_CHARS) for _ in range(6)))
        cents = self.low + int((self.high - self.low) * rng.random() ** self.skew)
        return merchant, cents // self.step * self.step


@dataclass(frozen=True)
class _Persona:
    name: str
    civic_address: str
    city: str
    province: str
    postal_code: str
    email: str
    phone: str
    employer: str
    pay_cents: int  # net pay every other Friday in PAY_BASE_YEAR
    housing: _Bill
    bills: tuple[_Bill, ...]
    card_bills: tuple[_Bill, ...]  # subscriptions charged to the credit card
    chequing_spending: tuple[_Spend, ...]
    card_spending: tuple[_Spend, ...]
    #: The holder's consulting company (the business account of `greatday_everything`).
    business_name: str = ""
    business_clients: tuple[str, ...] = ()

    def holder(self, name: str | None = None) -> dict[str, Any]:
        return {
            "Name": name or self.name,
            "Address": {
                "CivicAddress": self.civic_address,
                "City": self.city,
                "Province": self.province,
                "PostalCode": self.postal_code,
                "POBox": None,
                "Country": "CA",
            },
            "Email": self.email,
            "PhoneNumber": self.phone,
        }

    def pay(self, day: date) -> int:
        years = max(0, day.year - PAY_BASE_YEAR)
        return self.pay_cents * (100 + PAY_RAISE_PERCENT * years) // 100


def _everyday_spending(
    city: str,
    grocers: tuple[str, ...],
    cafes: tuple[str, ...],
    transit: tuple[str, int],
    errands: tuple[str, ...],
    liquor: str,
    friends: tuple[str, ...],
) -> tuple[_Spend, ...]:
    """Debit-card and Interac life in one city: coffee, transit, groceries, errands, friends."""
    fare_description, fare = transit
    lunch = tuple(f"{name} {city}" for name in ("SUBWAY #29314", "A&W #4120", "THAI EXPRESS #382"))
    return (
        _Spend(cafes, 215, 745, weekday=0.75, weekend=0.45),
        _Spend((fare_description,), fare, 3 * fare, weekday=0.8, weekend=0.25, step=fare),  # 1 or 2 fares
        _Spend(grocers, 25_00, 195_00, weekday=0.25, weekend=0.45, skew=1.8),
        _Spend(lunch, 11_50, 21_75, weekday=0.12, weekend=0.0),
        _Spend(errands, 4_50, 68_00, weekday=0.12, weekend=0.15, skew=2.0),
        _Spend((liquor,), 14_95, 64_00, weekday=0.03, weekend=0.12, skew=1.5),
        _Spend((f"ATM WITHDRAWAL - FLINKS CAPITAL {city}",), 40_00, 220_00, weekday=0.03, weekend=0.05, step=20_00),
        _Spend(
            tuple(f"Interac e-Transfer to {name}" for name in friends),
            20_00,
            250_00,
            weekday=0.05,
            weekend=0.08,
            skew=1.5,
        ),
        _Spend(
            tuple(f"Interac e-Transfer from {name}" for name in friends),
            15_00,
            160_00,
            weekday=0.04,
            weekend=0.06,
            skew=1.5,
            credit=True,
        ),
    )


def _card_spending(city: str, restaurants: tuple[str, ...]) -> tuple[_Spend, ...]:
    """What goes on the credit card: restaurants, online orders, gas, shopping, the odd trip."""
    return (
        _Spend(restaurants, 24_00, 98_00, weekday=0.06, weekend=0.2, skew=1.4),
        _Spend(("AMAZON.CA*{ref} AMAZON.CA ON",), 12_99, 149_99, weekday=0.08, weekend=0.1, skew=1.8),
        _Spend(("UBER* EATS HELP.UBER.COM ON", "UBER* TRIP HELP.UBER.COM ON"), 9_00, 54_00, weekday=0.05, weekend=0.08),
        _Spend(
            (f"PETRO-CANADA #4471 {city}", f"ESSO #7312 {city}", f"SHELL #10348 {city}"),
            40_00,
            85_00,
            weekday=0.07,
            weekend=0.08,
        ),
        _Spend(
            (
                f"CANADIAN TIRE #482 {city}",
                f"WINNERS #218 {city}",
                f"DOLLARAMA #1093 {city}",
                "IKEA.CA ONLINE BURLINGTON ON",
                f"SPORTS EXPERTS #127 {city}",
            ),
            9_00,
            180_00,
            weekday=0.04,
            weekend=0.12,
            skew=2.0,
        ),
        _Spend(
            ("AIR CANADA 0142390581 WINNIPEG MB", "VIA RAIL CANADA MONTRÉAL QC", "AIRBNB * HMQ4ZX2K SAN FRANCISCO CA"),
            120_00,
            780_00,
            weekday=0.004,
            weekend=0.006,
        ),
    )


_MONTREAL = _Persona(
    name="Geneviève Tremblay",
    civic_address="4587 Rue Saint-Denis, App. 3",
    city="Montréal",
    province="QC",
    postal_code="H2J 2L3",
    email="genevieve.tremblay@example.com",
    phone="514-555-0147",
    employer="PAYROLL DEPOSIT - LUMEN ANALYTICS INC",
    pay_cents=2_230_77,
    housing=_Bill(1, "RENT - GESTION IMMOBILIÈRE DU PLATEAU", 1_475_00),
    bills=(
        _Bill(10, "HYDRO-QUÉBEC", 72_00, WINTER_PEAK),
        _Bill(14, "BELL CANADA - INTERNET", 89_95),
        _Bill(18, "VIDÉOTRON MOBILE", 55_00),
        _Bill(23, "DESJARDINS ASSURANCES HABITATION", 32_87),
    ),
    card_bills=(
        _Bill(1, "ÉCONOFITNESS MONTRÉAL QC", 24_99),
        _Bill(5, "NETFLIX.COM 866-579-7172 ON", 18_99),
        _Bill(12, "SPOTIFY P2C4D8E1F6 STOCKHOLM SE", 11_99),
    ),
    chequing_spending=_everyday_spending(
        city="MONTRÉAL QC",
        grocers=(
            "IGA EXTRA #8231 MONTRÉAL QC",
            "METRO PLUS #412 MONTRÉAL QC",
            "MAXI #8842 MONTRÉAL QC",
            "MARCHÉ JEAN-TALON MONTRÉAL QC",
        ),
        cafes=(
            "CAFÉ OLIMPICO MONTRÉAL QC",
            "TIM HORTONS #2417 MONTRÉAL QC",
            "STARBUCKS #4521 MONTRÉAL QC",
            "CAFÉ MYRIADE MONTRÉAL QC",
        ),
        transit=("STM - RECHARGE OPUS MONTRÉAL QC", 3_75),
        errands=(
            "PHARMAPRIX #102 MONTRÉAL QC",
            "DÉPANNEUR SAINT-DENIS MONTRÉAL QC",
            "JEAN COUTU #231 MONTRÉAL QC",
            "LIBRAIRIE DRAWN & QUARTERLY MONTRÉAL QC",
        ),
        liquor="SAQ #23045 MONTRÉAL QC",
        friends=("Émilie Côté", "Marc-Antoine Gagnon", "Julien Roy", "Sophie Bouchard", "Camille Lévesque"),
    ),
    card_spending=_card_spending(
        "MONTRÉAL QC",
        (
            "LA BANQUISE MONTRÉAL QC",
            "SCHWARTZ'S DELI MONTRÉAL QC",
            "ST-VIATEUR BAGEL MONTRÉAL QC",
            "PIZZERIA BOTTEGA MONTRÉAL QC",
            "RESTAURANT L'EXPRESS MONTRÉAL QC",
        ),
    ),
    business_name="Studio Tremblay Design inc.",
    business_clients=(
        "BOULANGERIE ST-MÉTHODE INC",
        "GROUPE ALTITUDE SPORTS",
        "FESTIVAL MURAL MONTRÉAL",
        "CLINIQUE DENTAIRE DU PLATEAU",
        "LES ÉDITIONS DU BORÉAL",
    ),
)

_TORONTO = _Persona(
    name="Daniel Okafor",
    civic_address="88 Harbord Street, Unit 2",
    city="Toronto",
    province="ON",
    postal_code="M5S 1G5",
    email="daniel.okafor@example.com",
    phone="416-555-0183",
    employer="PAYROLL DEPOSIT - NORTHLIGHT SYSTEMS LTD",
    pay_cents=2_480_00,
    housing=_Bill(1, "MORTGAGE PAYMENT - FIRST NATIONAL FINANCIAL", 2_140_00),
    bills=(
        _Bill(8, "TORONTO HYDRO", 78_00, SUMMER_PEAK),
        _Bill(12, "ENBRIDGE GAS", 65_00, WINTER_PEAK),
        _Bill(16, "ROGERS - INTERNET AND WIRELESS", 145_00),
        _Bill(24, "INTACT INSURANCE", 41_50),
    ),
    card_bills=(
        _Bill(1, "GOODLIFE FITNESS TORONTO ON", 45_99),
        _Bill(5, "NETFLIX.COM 866-579-7172 ON", 18_99),
        _Bill(12, "SPOTIFY P2C4D8E1F6 STOCKHOLM SE", 11_99),
    ),
    chequing_spending=_everyday_spending(
        city="TORONTO ON",
        grocers=(
            "LOBLAWS #1078 TORONTO ON",
            "METRO #321 TORONTO ON",
            "NO FRILLS #3487 TORONTO ON",
            "FARM BOY #41 TORONTO ON",
        ),
        cafes=(
            "TIM HORTONS #3051 TORONTO ON",
            "BALZAC'S COFFEE TORONTO ON",
            "STARBUCKS #4780 TORONTO ON",
            "PILOT COFFEE ROASTERS TORONTO ON",
        ),
        transit=("PRESTO - TTC FARE TORONTO ON", 3_30),
        errands=(
            "SHOPPERS DRUG MART #1234 TORONTO ON",
            "CIRCLE K #4412 TORONTO ON",
            "REXALL #7720 TORONTO ON",
            "INDIGO #262 TORONTO ON",
        ),
        liquor="LCBO #217 TORONTO ON",
        friends=("Priya Sharma", "Michael Chen", "Sarah O'Brien", "Kwame Mensah", "Laura Rossi"),
    ),
    card_spending=_card_spending(
        "TORONTO ON",
        (
            "PAI NORTHERN THAI TORONTO ON",
            "SANSOTEI RAMEN TORONTO ON",
            "BLACK CAMEL TORONTO ON",
            "PIZZERIA LIBRETTO TORONTO ON",
            "BANH MI BOYS TORONTO ON",
        ),
    ),
    business_name="Okafor Data Consulting Ltd.",
    business_clients=(
        "MAPLE LEAF LOGISTICS INC",
        "HARBOURFRONT MEDIA GROUP",
        "KENSINGTON HEALTH CO-OP",
        "LAKESHORE CAPITAL PARTNERS",
        "CITY OF MISSISSAUGA",
    ),
)

_PERSONAS = (_MONTREAL, _TORONTO)
_CARD_FEE = _Bill(3, "ANNUAL FEE - FLINKS CAPITAL VISA INFINITE", 139_00)  # in CARD_FEE_MONTH

#: The US dollar account: cross-border shopping, US subscriptions, PayPal income.
_USD_BILLS = (
    _Bill(1, "DIGITALOCEAN.COM NEW YORK NY", 12_00),
    _Bill(7, "GITHUB INC SAN FRANCISCO CA", 4_00),
)
_USD_SPENDING = (
    _Spend(("APPLE.COM/BILL CUPERTINO CA", "STARBUCKS NEW YORK NY"), 99, 14_99, weekday=0.12, weekend=0.12),
    _Spend(
        (
            "AMAZON.COM*{ref} SEATTLE WA",
            "TARGET T-1286 BURLINGTON VT",
            "WALMART #2345 PLATTSBURGH NY",
            "SHELL OIL 57442 CHAMPLAIN NY",
            "TRADER JOE'S #512 BURLINGTON VT",
        ),
        8_00,
        165_00,
        weekday=0.22,
        weekend=0.35,
        skew=1.8,
    ),
    _Spend(
        ("MARRIOTT BOSTON COPLEY BOSTON MA", "DELTA AIR LINES ATLANTA GA", "HILTON NEW YORK NY"),
        180_00,
        520_00,
        weekday=0.006,
        weekend=0.01,
    ),
    _Spend(("PAYPAL TRANSFER - UPWORK GLOBAL INC",), 80_00, 650_00, weekday=0.04, weekend=0.0, credit=True),
)


# -- ledgers ----------------------------------------------------------------------------------------
class _Txn(NamedTuple):
    date: str
    description: str
    debit: int
    credit: int
    balance: int
    id: str


@dataclass(frozen=True)
class _AccountSpec:
    key: str
    title: str
    short_name: str  # how the other side of a transfer names this account
    category: str
    type: str
    currency: str
    owed: bool = False
    overdraft: int | None = None
    limit: int | None = None
    account_type: str = "Personal"  # Flinks' AccountType: "Personal" or "Business"
    available: bool = True  # False: Balance.Available is null (loans, investments)


_ACCOUNT_SPECS = (
    _AccountSpec("chequing", "Everyday Chequing", "Chequing", "Operations", "Chequing", "CAD", overdraft=500_00),
    _AccountSpec("savings", "High Interest Savings", "Savings", "Operations", "Savings", "CAD"),
    _AccountSpec(
        "card", "Flinks Capital Visa Infinite", "Visa", "Credits", "CreditCard", "CAD", owed=True, limit=CARD_LIMIT
    ),
    _AccountSpec("usd", "US Dollar Chequing", "US Dollar Chequing", "Operations", "Chequing", "USD"),
)

#: The other kinds of account real Flinks Capital returns (`greatday_everything`), after the four.
_EVERYTHING_SPECS = (
    _AccountSpec(
        "loc",
        "Flinks Capital Line of Credit",
        "Line of Credit",
        "Credits",
        "LineOfCredit",
        "CAD",
        owed=True,
        limit=LOC_LIMIT,
    ),
    _AccountSpec("loan", "Auto Loan", "Auto Loan", "Credits", "Loan", "CAD", owed=True, available=False),
    _AccountSpec("tfsa", "TFSA - Self-Directed Investing", "TFSA", "Products", "TFSA", "CAD", available=False),
    _AccountSpec("rrsp", "RRSP - Managed Portfolio", "RRSP", "Products", "RRSP", "CAD", available=False),
    _AccountSpec(
        "business",
        "Business Chequing",
        "Business Chequing",
        "Operations",
        "Chequing",
        "CAD",
        overdraft=BUSINESS_OVERDRAFT,
        account_type="Business",
    ),
)


@dataclass
class _Ledger:
    """One account's numbers and its transactions, posted oldest first."""

    spec: _AccountSpec
    id: str
    number: str
    transit: str
    opening: int
    balance: int = field(init=False)
    txns: list[_Txn] = field(default_factory=list, init=False)
    _day: str = field(default="", init=False)
    _index: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.balance = self.opening

    @property
    def last_four(self) -> str | None:
        return self.number[-4:] if self.spec.type == "CreditCard" else None

    def post(self, day: date, description: str, *, debit: int = 0, credit: int = 0) -> None:
        iso = day.isoformat()
        if iso != self._day:
            self._day, self._index = iso, 0
        self.balance += (debit - credit) if self.spec.owed else (credit - debit)
        self.txns.append(_Txn(iso, description, debit, credit, self.balance, _guid(self.id, iso, self._index)))
        self._index += 1


def _luhn_completed(payload: str) -> str:
    """``payload`` with the check digit that makes it a valid card number."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return payload + str(-total % 10)


def _open_ledgers(username: str, everything: bool = False) -> dict[str, _Ledger]:
    """The holder's accounts with their numbers and their balances on the epoch."""
    transit = f"{10_000 + _digest(username, 'transit') % 90_000}"
    opening_rng = _rng(username, "opening")
    openings = {
        "chequing": opening_rng.randint(2_000_00, 4_000_00),
        "savings": opening_rng.randint(8_000_00, 15_000_00),
        "card": opening_rng.randint(300_00, 900_00),
        "usd": opening_rng.randint(800_00, 1_500_00),
    }
    specs: tuple[_AccountSpec, ...] = _ACCOUNT_SPECS
    if everything:
        more_rng = _rng(username, "opening", "everything")  # the four above draw as for anyone
        openings.update(
            {
                "loc": more_rng.randint(15, 45) * 100_00,
                "loan": more_rng.randint(28_000_00, 34_000_00),
                "tfsa": more_rng.randint(6_000_00, 18_000_00),
                "rrsp": more_rng.randint(15_000_00, 40_000_00),
                "business": more_rng.randint(8_000_00, 20_000_00),
            }
        )
        specs = (*_ACCOUNT_SPECS, *_EVERYTHING_SPECS)
    ledgers = {}
    for spec in specs:
        serial = _digest(username, spec.key, "number")
        if spec.type == "CreditCard":
            number = _luhn_completed(f"4537{serial % 10**11:011d}")
        else:
            number = f"{1_000_000 + serial % 9_000_000}"
        account_id = _guid(username, "account", spec.key)
        ledgers[spec.key] = _Ledger(spec, account_id, number, transit, openings[spec.key])
    return ledgers


# -- the simulation ---------------------------------------------------------------------------------
def _is_payday(day: date) -> bool:
    return (day - PAYDAY_ANCHOR).days % 14 == 0


def _draws(day: date, rng: random.Random, kinds: tuple[_Spend, ...]) -> Iterator[tuple[str, int, bool]]:
    """(description, cents, is_credit) of each kind of everyday transaction that happens on ``day``."""
    for kind in kinds:
        if kind.happens(day, rng):
            description, cents = kind.draw(rng)
            yield description, cents, kind.credit


class _Household:
    """Lives one day at a time: pay, bills, everyday spending, saving, the card, US dollars."""

    def __init__(self, username: str, persona: _Persona, ledgers: dict[str, _Ledger]):
        self.username = username
        self.persona = persona
        self.chequing = ledgers["chequing"]
        self.savings = ledgers["savings"]
        self.card = ledgers["card"]
        self.usd = ledgers["usd"]
        self.card_statement_balance = self.card.balance

    def live(self, first: date, last: date) -> None:
        for ordinal in range(first.toordinal(), last.toordinal() + 1):
            self._live_day(date.fromordinal(ordinal))

    def _live_day(self, day: date) -> None:
        iso = day.isoformat()
        chequing_rng = _rng(self.username, "chequing", iso)
        self._pay_and_bills(day, chequing_rng)
        self._chequing_spending(day, chequing_rng)
        self._card_day(day, _rng(self.username, "card", iso))
        self._usd_day(day, _rng(self.username, "usd", iso))
        self._save(day, chequing_rng)
        if (day + timedelta(days=1)).day == 1:
            self._month_end(day)

    def _pay_and_bills(self, day: date, rng: random.Random) -> None:
        if _is_payday(day):
            self.chequing.post(day, self.persona.employer, credit=self.persona.pay(day))
        for bill in (self.persona.housing, *self.persona.bills):
            if day.day == bill.day:
                self._pay_from_chequing(day, bill.description, bill.amount(day, rng))
        if day.day == CARD_PAYMENT_DAY:
            self._pay_card(day)

    def _chequing_spending(self, day: date, rng: random.Random) -> None:
        for description, cents, credit in _draws(day, rng, self.persona.chequing_spending):
            if credit:
                self.chequing.post(day, description, credit=cents)
            else:
                self._pay_from_chequing(day, description, cents)

    def _card_day(self, day: date, rng: random.Random) -> None:
        for bill in self.persona.card_bills:
            if day.day == bill.day:
                self.card.post(day, bill.description, debit=bill.amount(day, rng))
        if day.month == CARD_FEE_MONTH and day.day == _CARD_FEE.day:
            self.card.post(day, _CARD_FEE.description, debit=_CARD_FEE.cents)
        for description, cents, _ in _draws(day, rng, self.persona.card_spending):
            if self.card.balance + cents <= CARD_LIMIT:  # the card declines over its limit
                self.card.post(day, description, debit=cents)

    def _usd_day(self, day: date, rng: random.Random) -> None:
        for bill in _USD_BILLS:
            if day.day == bill.day:
                self._buy_usd_if_low(day, rng, bill.cents)
                self.usd.post(day, bill.description, debit=bill.cents)
        for description, cents, credit in _draws(day, rng, _USD_SPENDING):
            if credit:
                self.usd.post(day, description, credit=cents)
            else:
                self._buy_usd_if_low(day, rng, cents)
                self.usd.post(day, description, debit=cents)

    def _save(self, day: date, rng: random.Random) -> None:
        """Pay yourself first on payday, round-up style auto-saves, and sweep any surplus."""
        if _is_payday(day) and self.chequing.balance - PAYDAY_SAVING > CHEQUING_FLOOR:
            self._transfer(day, self.chequing, self.savings, PAYDAY_SAVING)
        if rng.random() < 0.3:
            amount = rng.randint(5_00, 40_00)
            if self.chequing.balance - amount > CHEQUING_FLOOR + 500_00:
                self._transfer(day, self.chequing, self.savings, amount, "Auto-Save")
        if self.chequing.balance > CHEQUING_CEILING:
            surplus = (self.chequing.balance - CHEQUING_TARGET) // TOP_UP_STEP * TOP_UP_STEP
            self._transfer(day, self.chequing, self.savings, surplus)

    def _month_end(self, day: date) -> None:
        interest = (self.savings.balance * SAVINGS_RATE_BASIS_POINTS + 60_000) // 120_000
        if interest > 0:
            self.savings.post(day, "Interest paid", credit=interest)
        self.card_statement_balance = self.card.balance

    # -- money moving between the holder's own accounts -------------------------------------------
    def _transfer(self, day: date, source: _Ledger, target: _Ledger, cents: int, label: str = "Transfer") -> None:
        source.post(day, f"{label} to {target.spec.short_name} {target.number}", debit=cents)
        target.post(day, f"{label} from {source.spec.short_name} {source.number}", credit=cents)

    def _top_up_chequing(self, day: date, cents: int) -> None:
        """Move savings into chequing first if paying ``cents`` would leave chequing too low."""
        shortfall = CHEQUING_FLOOR + cents - self.chequing.balance
        amount = min(_round_up(shortfall, TOP_UP_STEP), self.savings.balance)
        if shortfall > 0 and amount > 0:
            self._transfer(day, self.savings, self.chequing, amount)

    def _pay_from_chequing(self, day: date, description: str, cents: int) -> None:
        self._top_up_chequing(day, cents)
        self.chequing.post(day, description, debit=cents)

    def _pay_card(self, day: date) -> None:
        """Pay the last statement's balance in full (or what is still owed, if less)."""
        amount = min(self.card_statement_balance, self.card.balance)
        if amount <= 0:
            return
        self._pay_from_chequing(day, f"Flinks Capital Visa payment ****{self.card.last_four}", amount)
        self.card.post(day, "PAYMENT RECEIVED - THANK YOU", credit=amount)

    def _buy_usd_if_low(self, day: date, rng: random.Random, cents: int) -> None:
        shortfall = USD_FLOOR + cents - self.usd.balance
        if shortfall <= 0:
            return
        usd = max(USD_PURCHASE, _round_up(shortfall, TOP_UP_STEP))
        rate = rng.randint(13_350, 14_050)  # CAD per USD, in ten-thousandths
        cad = (usd * rate + 5_000) // 10_000
        quote = f"{rate // 10_000}.{rate % 10_000:04d}"
        self._pay_from_chequing(day, f"FX transfer to US Dollar Chequing {self.usd.number} @ {quote}", cad)
        self.usd.post(day, f"FX transfer from Chequing {self.chequing.number}", credit=usd)


_BUSINESS_BILLS = (
    _Bill(1, "REGUS - OFFICE MEMBERSHIP", 389_00),
    _Bill(3, "QUICKBOOKS ONLINE - INTUIT CANADA", 45_00),
    _Bill(5, "GOOGLE *WORKSPACE CC@GOOGLE.COM", 33_60),
    _Bill(9, "ADOBE *CREATIVE CLOUD 800-833-6687 ON", 32_19),
)
_BUSINESS_SPENDING = (
    _Spend(
        (
            "STAPLES #318",
            "BEST BUY #927",
            "AMAZON.CA*{ref} AMAZON.CA ON",
            "CANADA POST #1140",
            "ZOOM.US 888-799-9666 CA",
            "UBER* TRIP HELP.UBER.COM ON",
            "DELL CANADA ONLINE",
        ),
        15_00,
        350_00,
        weekday=0.1,
        weekend=0.02,
        skew=2.0,
    ),
)
_BUSINESS_FEE = "Monthly fee - Business Chequing plan"
_INVESTMENT_FUNDS = {"tfsa": "FLINKS GLOBAL EQUITY ETF", "rrsp": "FLINKS BALANCED PORTFOLIO"}


class _EverythingHousehold(_Household):
    """The household of `greatday_everything`: the four accounts' life, plus a line of credit, a car
    loan, a TFSA and an RRSP, and the holder's consulting company's business chequing account.

    Its draws come from their own streams (never from the four accounts' ones), and every movement
    between two of the holder's accounts is posted on both sides on the same day, as the four do.
    Owed accounts (line of credit, loan) follow the card's convention: the balance is what is owed.
    """

    def __init__(self, username: str, persona: _Persona, ledgers: dict[str, _Ledger]):
        super().__init__(username, persona, ledgers)
        self.loc = ledgers["loc"]
        self.loan = ledgers["loan"]
        self.tfsa = ledgers["tfsa"]
        self.rrsp = ledgers["rrsp"]
        self.business = ledgers["business"]
        self.quarter_income = 0  # the business's client payments since the last GST/HST remittance

    def _live_day(self, day: date) -> None:
        super()._live_day(day)
        iso = day.isoformat()
        self._business_day(day, _rng(self.username, "business", iso))
        self._credit_day(day, _rng(self.username, "credit", iso))
        self._investing_day(day, _rng(self.username, "investing", iso))

    def _business_day(self, day: date, rng: random.Random) -> None:
        business = self.business
        if day.weekday() < 5 and rng.random() < 0.07:
            client = rng.choice(self.persona.business_clients)
            cents = rng.randint(900_00, 4_000_00)
            business.post(day, f"EFT CREDIT - {client} - INV-{day:%y%m%d}", credit=cents)
            self.quarter_income += cents
        for bill in _BUSINESS_BILLS:
            if day.day == bill.day:
                business.post(day, bill.description, debit=bill.amount(day, rng))
        for description, cents, _ in _draws(day, rng, _BUSINESS_SPENDING):
            business.post(day, description, debit=cents)
        if day.day == 15 and day.month in (3, 6, 9, 12):
            business.post(day, "CRA - CORPORATE TAX INSTALMENT", debit=CORPORATE_TAX_INSTALMENT)
        if day.day == 30 and day.month in (1, 4, 7, 10) and self.quarter_income:
            business.post(day, "CRA - GST/HST REMITTANCE", debit=self.quarter_income * 5 // 100)
            self.quarter_income = 0
        if day.day in (15, 28):
            draw = min(OWNER_DRAW_MAX, (business.balance - BUSINESS_TARGET) // TOP_UP_STEP * TOP_UP_STEP)
            if draw > 0:
                self._transfer(day, business, self.chequing, draw, "Owner draw")
        if (day + timedelta(days=1)).day == 1:
            business.post(day, _BUSINESS_FEE, debit=19_95)

    def _credit_day(self, day: date, rng: random.Random) -> None:
        loc, loan = self.loc, self.loan
        if day.day == 2 and rng.random() < 0.2:
            advance = rng.randint(5, 20) * 100_00
            if loc.balance + advance <= LOC_LIMIT // 2:
                self._transfer(day, loc, self.chequing, advance, "Advance")
        if day.day == LOC_PAYMENT_DAY and loc.balance > 0:
            payment = min(loc.balance, max(100_00, loc.balance * 3 // 100))
            self._top_up_chequing(day, payment)
            self._transfer(day, self.chequing, loc, payment, "Payment")
        if day.day == LOAN_PAYMENT_DAY and loan.balance > 0:
            payment = min(loan.balance, LOAN_PAYMENT)
            self._top_up_chequing(day, payment)
            self._transfer(day, self.chequing, loan, payment, "Loan payment")
        if (day + timedelta(days=1)).day == 1:
            for ledger, basis_points in ((loc, LOC_RATE_BASIS_POINTS), (loan, LOAN_RATE_BASIS_POINTS)):
                interest = (ledger.balance * basis_points + 60_000) // 120_000
                if interest > 0:
                    ledger.post(day, "Interest charged", debit=interest)

    def _investing_day(self, day: date, rng: random.Random) -> None:
        if day.day == 2 and self.savings.balance > TFSA_SAVINGS_FLOOR:
            self._transfer(day, self.savings, self.tfsa, TFSA_CONTRIBUTION, "Contribution")
        if _is_payday(day):
            self._top_up_chequing(day, RRSP_CONTRIBUTION)
            self._transfer(day, self.chequing, self.rrsp, RRSP_CONTRIBUTION, "Contribution")
        if (day + timedelta(days=1)).day == 1:
            for key, ledger in (("tfsa", self.tfsa), ("rrsp", self.rrsp)):
                fund = _INVESTMENT_FUNDS[key]
                distribution = ledger.balance * rng.randint(5, 45) // 10_000
                if distribution > 0:
                    ledger.post(day, f"Reinvested distribution - {fund}", credit=distribution)
                if day.month in (3, 6, 9, 12):
                    ledger.post(day, f"Management fee - {fund}", debit=ledger.balance * 6 // 10_000)


# -- the public dataset -----------------------------------------------------------------------------
def _transaction_dict(txn: _Txn) -> dict[str, Any]:
    return {
        "Date": txn.date,
        "Code": None,
        "Description": txn.description,
        "Debit": _money(txn.debit) if txn.debit else None,
        "Credit": _money(txn.credit) if txn.credit else None,
        "Balance": _money(txn.balance),
        "Id": txn.id,
    }


@functools.lru_cache(maxsize=4096)
def _numeric_code(description: str) -> int:
    """The numeric transaction `Code` of `greatday_numeric`: a stable number per description."""
    return 100 + _digest("code", description) % 900


def _statement_id(account_id: str, year: int, month: int) -> str:
    """32 uppercase hex digits, like Flinks' statement UniqueIds, the same for the same statement."""
    period = f"{account_id}/{year:04d}-{month:02d}".encode()
    return hashlib.md5(period, usedforsecurity=False).hexdigest().upper()


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def damage(pdf: bytes) -> bytes:
    """A statement as a broken download leaves it: the first two fifths of the file. It still starts
    with ``%PDF``, but has no cross-reference table, no trailer and no end: no reader can open it."""
    return pdf[: len(pdf) * 2 // 5]


@dataclass(frozen=True)
class DatasetShape:
    """How a user's answers are shaped (see institution.TestUser); the default is Greatday's."""

    #: Transactions carry a numeric Code; TransitNumber and InstitutionNumber are integers.
    numeric_fields: bool = False
    #: The statements of the first account (Everyday Chequing) are damaged (see ``damage``).
    damaged_statements: bool = False


class SandboxDataset:
    """Everything Flinks Capital knows about one user on one day (``as_of``). Read-only.

    Every method returns fresh dicts and lists: callers may change them freely.
    """

    def __init__(
        self,
        username: str,
        as_of: date,
        epoch: date,
        holder: dict[str, Any],
        ledgers: dict[str, _Ledger],
        business_holder: dict[str, Any] | None = None,
        shape: DatasetShape = DatasetShape(),
    ):
        self.username = username
        self.as_of = as_of
        self.epoch = epoch
        self.shape = shape
        self._holder = holder
        self._business_holder = business_holder or holder
        self._ledgers = {ledger.id: ledger for ledger in ledgers.values()}
        self._dates = {ledger.id: [txn.date for txn in ledger.txns] for ledger in ledgers.values()}
        self._positions: dict[str, dict[str, int]] = {}  # account id -> transaction id -> ledger index
        self._pdfs: dict[tuple[str, int, int], bytes] = {}

    @property
    def holder(self) -> dict[str, Any]:
        return copy.deepcopy(self._holder)

    def accounts(self) -> list[dict[str, Any]]:
        """Flinks account dicts, without their "Transactions"."""
        accounts = [self._account_dict(ledger) for ledger in self._ledgers.values()]
        if self.shape.numeric_fields:
            for account in accounts:
                account["TransitNumber"] = int(account["TransitNumber"])
                account["InstitutionNumber"] = int(account["InstitutionNumber"])
        return accounts

    def transactions(self, account_id: str, days: int) -> list[dict[str, Any]]:
        """The transactions dated within the last ``days`` days up to ``as_of``, newest first."""
        if days < 1:
            raise ValueError(f"days must be at least 1, not {days}")
        return self.transactions_between(account_id, self.as_of - timedelta(days=days - 1), self.as_of)

    def transactions_between(
        self, account_id: str, first: date, last: date, after: str | None = None
    ) -> list[dict[str, Any]]:
        """The transactions dated from ``first`` to ``last`` (both included, and no later than
        ``as_of``), newest first. With ``after`` (a transaction Id of this account), only those
        posted after that one; an Id the account does not have is ignored (Flinks cannot anchor the
        delta, so it sends the whole period)."""
        ledger = self._ledger(account_id)
        dates = self._dates[account_id]
        start = bisect_left(dates, first.isoformat())
        end = bisect_left(dates, (min(last, self.as_of) + timedelta(days=1)).isoformat())
        if after is not None:
            anchor = self._position(account_id, after)
            if anchor is not None:
                start = max(start, anchor + 1)
        txns = [_transaction_dict(txn) for txn in reversed(ledger.txns[start:end])]
        if self.shape.numeric_fields:
            for txn in txns:
                txn["Code"] = _numeric_code(txn["Description"])
        return txns

    def statements(self, account_id: str, months: int) -> list[dict[str, str]]:
        """The ``months`` most recent complete calendar months before ``as_of``'s, newest first."""
        if not 1 <= months <= MAX_STATEMENT_MONTHS:
            raise ValueError(f"months must be between 1 and {MAX_STATEMENT_MONTHS}, not {months}")
        damaged = self.shape.damaged_statements and account_id == next(iter(self._ledgers))
        year, month = self.as_of.year, self.as_of.month
        statements = []
        for _ in range(months):
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
            pdf = self.statement_pdf(account_id, year, month)
            statements.append(
                {
                    "UniqueId": _statement_id(account_id, year, month),
                    "FileType": "PDF",
                    "Base64Bytes": base64.b64encode(damage(pdf) if damaged else pdf).decode("ascii"),
                }
            )
        return statements

    def statement_pdf(self, account_id: str, year: int, month: int) -> bytes:
        """The PDF statement of one complete month of the history (rendered once, then cached)."""
        ledger = self._ledger(account_id)
        first, last = _month_bounds(year, month)
        if first < self.epoch or last >= self.as_of.replace(day=1):
            raise ValueError(f"no complete statement for {year:04d}-{month:02d} on {self.as_of}")
        key = (account_id, year, month)
        if key not in self._pdfs:
            self._pdfs[key] = render_statement(self._statement_data(ledger, first, last))
        return self._pdfs[key]

    def _ledger(self, account_id: str) -> _Ledger:
        try:
            return self._ledgers[account_id]
        except KeyError:
            raise KeyError(f"no account {account_id!r} for {self.username!r}") from None

    def _position(self, account_id: str, transaction_id: str) -> int | None:
        positions = self._positions.get(account_id)
        if positions is None:
            positions = {txn.id: index for index, txn in enumerate(self._ledgers[account_id].txns)}
            self._positions[account_id] = positions
        return positions.get(transaction_id.strip().lower())

    def _account_dict(self, ledger: _Ledger) -> dict[str, Any]:
        """The account as Flinks Capital describes it (and as its statements print it)."""
        spec, current = ledger.spec, ledger.balance
        if not spec.available:
            available = None
        elif spec.owed:
            available = None if spec.limit is None else _money(spec.limit - current)
        else:
            available = _money(current + (spec.overdraft or 0))
        business = spec.account_type == "Business"
        return {
            "Title": spec.title,
            "AccountNumber": ledger.number,
            "LastFourDigits": ledger.last_four,
            "TransitNumber": ledger.transit,
            "InstitutionNumber": INSTITUTION_NUMBER,
            "OverdraftLimit": None if spec.overdraft is None else _money(spec.overdraft),
            "Balance": {
                "Available": available,
                "Current": _money(current),
                "Limit": None if spec.limit is None else _money(spec.limit),
            },
            "Category": spec.category,
            "Type": spec.type,
            "Currency": spec.currency,
            "Holder": copy.deepcopy(self._business_holder if business else self._holder),
            "AccountType": spec.account_type,
            "Id": ledger.id,
        }

    def _statement_data(self, ledger: _Ledger, first: date, last: date) -> StatementData:
        dates = self._dates[ledger.id]
        start = bisect_left(dates, first.isoformat())
        end = bisect_left(dates, (last + timedelta(days=1)).isoformat())
        opening = ledger.txns[start - 1].balance if start else ledger.opening
        return StatementData(
            account=self._account_dict(ledger),
            period_start=first,
            period_end=last,
            opening_balance=_money(opening),
            transactions=[_transaction_dict(txn) for txn in ledger.txns[start:end]],
            balance_is_owed=ledger.spec.owed,
        )


@functools.lru_cache(maxsize=16)
def build_dataset(username: str, as_of: date) -> SandboxDataset:
    """The dataset of ``username`` (case-insensitive) on ``as_of``; memoised, identical across runs.

    The scenario users of institution.USERS shape it: `greatday_everything` has nine accounts,
    `greatday_numeric` numeric fields, `greatday_badpdf` damaged statements. Any other username
    (known or not) gets the four accounts of Greatday's kind, with its own numbers.
    """
    canonical = username.strip().casefold()
    user = institution.find_user(canonical)
    everything = user is not None and user.accounts == "everything"
    shape = DatasetShape(
        numeric_fields=user is not None and user.numeric_fields,
        damaged_statements=user is not None and user.damaged_statements,
    )
    persona = _PERSONAS[_digest(canonical, "persona") % len(_PERSONAS)]
    ledgers = _open_ledgers(canonical, everything)
    epoch = _epoch_for(as_of)
    household = _EverythingHousehold if everything else _Household
    household(canonical, persona, ledgers).live(epoch, as_of)
    business_holder = persona.holder(persona.business_name) if everything else None
    return SandboxDataset(canonical, as_of, epoch, persona.holder(), ledgers, business_holder, shape)
