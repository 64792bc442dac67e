"""The sandbox's Flinks Capital dataset and its PDF statements.

Every demo and every downstream test sees this data, so these tests pin what must hold: balances
that add up, Flinks' shapes and exact money, the same data in every process and for every `as_of`,
transfers visible on both sides, and statements that a person and a program can both read.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from flinks_desktop.sandbox.dataset import SandboxDataset, build_dataset, damage
from flinks_desktop.sandbox.statements import StatementData, render_statement

AS_OF = date(2026, 11, 21)
USERNAMES = ("Greatday", "greatday_nomfa", "test_pending", "test_dispatched", "greatday_everything")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ACCOUNT_KEYS = {
    "Id",
    "Title",
    "AccountNumber",
    "LastFourDigits",
    "TransitNumber",
    "InstitutionNumber",
    "OverdraftLimit",
    "Balance",
    "Category",
    "Type",
    "Currency",
    "Holder",
    "AccountType",
}
TRANSACTION_KEYS = {"Date", "Code", "Description", "Debit", "Credit", "Balance", "Id"}


@pytest.fixture(scope="module")
def ds() -> SandboxDataset:
    return build_dataset("Greatday", AS_OF)


def find_account(ds: SandboxDataset, type_: str, currency: str = "CAD") -> dict:
    (account,) = [a for a in ds.accounts() if a["Type"] == type_ and a["Currency"] == currency]
    return account


def oldest_first(ds: SandboxDataset, account: dict, days: int = 365) -> list[dict]:
    return list(reversed(ds.transactions(account["Id"], days)))


def signed_change(account: dict, txn: dict) -> Decimal:
    """How a transaction moves the balance: owed balances (the card) grow with Debits."""
    debit, credit = txn["Debit"] or Decimal(0), txn["Credit"] or Decimal(0)
    return debit - credit if account["Category"] == "Credits" else credit - debit


def has_two_places(value: Decimal) -> bool:
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2


# -- accounts --------------------------------------------------------------------------------------
def test_the_holder_is_a_plausible_canadian(ds):
    holder = ds.holder
    address = holder["Address"]
    assert set(holder) == {"Name", "Address", "Email", "PhoneNumber"}
    assert set(address) == {"CivicAddress", "City", "Province", "PostalCode", "POBox", "Country"}
    assert re.fullmatch(r"[A-Z]\d[A-Z] \d[A-Z]\d", address["PostalCode"])
    assert address["Province"] in {"QC", "ON"} and address["Country"] == "CA"
    assert holder["Email"].endswith("@example.com")
    assert re.fullmatch(r"\d{3}-555-01\d\d", holder["PhoneNumber"])


def test_the_four_kinds_of_account(ds):
    kinds = {(a["Category"], a["Type"], a["Currency"]) for a in ds.accounts()}
    assert {
        ("Operations", "Chequing", "CAD"),
        ("Operations", "Savings", "CAD"),
        ("Credits", "CreditCard", "CAD"),
        ("Operations", "Chequing", "USD"),
    } <= kinds


def test_accounts_have_flinks_fields(ds):
    accounts = ds.accounts()
    for account in accounts:
        assert set(account) == ACCOUNT_KEYS
        assert GUID.fullmatch(account["Id"])
        assert account["AccountNumber"].isdigit()
        assert re.fullmatch(r"\d{5}", account["TransitNumber"])
        assert account["InstitutionNumber"] == "777"
        assert account["Holder"] == ds.holder
        assert account["AccountType"] == "Personal"
        assert set(account["Balance"]) == {"Available", "Current", "Limit"}
    card = find_account(ds, "CreditCard")
    assert len(card["AccountNumber"]) == 16 and card["LastFourDigits"] == card["AccountNumber"][-4:]
    assert all(a["LastFourDigits"] is None for a in accounts if a["Id"] != card["Id"])
    assert len({a["Id"] for a in accounts}) == len({a["AccountNumber"] for a in accounts}) == len(accounts)


def test_balances_are_current_and_available_makes_sense(ds):
    for account in ds.accounts():
        balance = account["Balance"]
        assert balance["Current"] == ds.transactions(account["Id"], 365)[0]["Balance"]
        if account["Type"] == "CreditCard":
            assert balance["Available"] == balance["Limit"] - balance["Current"]
            assert account["OverdraftLimit"] is None
        elif account["OverdraftLimit"] is not None:
            assert balance["Available"] == balance["Current"] + account["OverdraftLimit"]
        else:
            assert balance["Available"] == balance["Current"]


def test_callers_get_fresh_copies(ds):
    chequing = find_account(ds, "Chequing")
    chequing["Holder"]["Address"]["City"] = "Nowhere"
    chequing["Balance"]["Current"] = Decimal("0.00")
    ds.transactions(chequing["Id"], 90)[0]["Description"] = "changed"
    ds.holder["Name"] = "Someone else"
    again = find_account(ds, "Chequing")
    assert again["Holder"]["Address"]["City"] != "Nowhere" and ds.holder["Name"] != "Someone else"
    assert again["Balance"]["Current"] != Decimal("0.00")
    assert ds.transactions(chequing["Id"], 90)[0]["Description"] != "changed"


def test_unknown_account_is_a_key_error(ds):
    with pytest.raises(KeyError):
        ds.transactions("00000000-0000-0000-0000-000000000000", 90)


# -- transactions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("username", USERNAMES)
def test_running_balances_add_up_over_a_year(username):
    ds = build_dataset(username, AS_OF)
    for account in ds.accounts():
        txns = oldest_first(ds, account)
        for previous, txn in zip(txns, txns[1:]):
            assert txn["Balance"] == previous["Balance"] + signed_change(account, txn), txn
        assert account["Balance"]["Current"] == txns[-1]["Balance"]


@pytest.mark.parametrize("days", [1, 90, 365])
def test_transactions_are_within_the_window_newest_first(ds, days):
    first_day = (AS_OF - timedelta(days=days - 1)).isoformat()
    for account in ds.accounts():
        dates = [txn["Date"] for txn in ds.transactions(account["Id"], days)]
        assert all(first_day <= day <= AS_OF.isoformat() for day in dates)
        assert dates == sorted(dates, reverse=True)
    chequing = find_account(ds, "Chequing")["Id"]
    year, quarter = ds.transactions(chequing, 365), ds.transactions(chequing, 90)
    assert year[-1]["Date"] <= (AS_OF - timedelta(days=360)).isoformat()
    assert year[: len(quarter)] == quarter


def test_transactions_have_flinks_fields_and_exact_money(ds):
    for account in ds.accounts():
        for txn in ds.transactions(account["Id"], 365):
            assert set(txn) == TRANSACTION_KEYS and txn["Code"] is None
            assert GUID.fullmatch(txn["Id"]) and date.fromisoformat(txn["Date"])
            assert (txn["Debit"] is None) != (txn["Credit"] is None), txn
            amount = txn["Debit"] if txn["Credit"] is None else txn["Credit"]
            assert has_two_places(amount) and amount > 0
            assert has_two_places(txn["Balance"])
        money = [account["OverdraftLimit"], *account["Balance"].values()]
        assert all(has_two_places(value) for value in money if value is not None)


def test_transaction_ids_are_unique(ds):
    ids = [txn["Id"] for account in ds.accounts() for txn in ds.transactions(account["Id"], 365)]
    assert len(ids) == len(set(ids))


def test_volumes_and_balances_are_plausible(ds):
    for account in ds.accounts():
        txns = ds.transactions(account["Id"], 365)
        balances = [txn["Balance"] for txn in txns]
        if account["Type"] == "CreditCard":
            assert 150 <= len(txns) <= 400
            assert max(balances) <= account["Balance"]["Limit"]
        elif account["OverdraftLimit"] is not None:
            assert 2 * 365 <= len(txns) <= 6 * 365
            assert min(balances) >= -account["OverdraftLimit"] and max(balances) < 20_000
        else:
            assert 120 <= len(txns) <= 400
            assert min(balances) >= 0


def test_everyday_life_is_in_the_descriptions(ds):
    descriptions = " | ".join(t["Description"] for a in ds.accounts() for t in ds.transactions(a["Id"], 365))
    for expected in (
        "PAYROLL DEPOSIT",
        "RENT",
        "HYDRO-QUÉBEC",
        "BELL CANADA",
        "IGA",
        "METRO",
        "STM",
        "AMAZON.CA",
        "Interac e-Transfer to",
        "Interac e-Transfer from",
        "Interest paid",
        "PAYMENT RECEIVED",
        "WALMART",
    ):
        assert expected in descriptions, expected


def test_pay_arrives_every_other_friday_and_rent_on_the_first(ds):
    txns = oldest_first(ds, find_account(ds, "Chequing"))
    paydays = [date.fromisoformat(t["Date"]) for t in txns if t["Description"].startswith("PAYROLL")]
    assert len(paydays) == 26 and all(day.weekday() == 4 for day in paydays)
    assert {later - earlier for earlier, later in zip(paydays, paydays[1:])} == {timedelta(days=14)}
    rent_days = [t["Date"] for t in txns if t["Description"].startswith("RENT")]
    assert len(rent_days) == 12 and all(day.endswith("-01") for day in rent_days)


def both_sides(
    ds: SandboxDataset, source: dict, target: dict, source_marker: str, target_marker: str
) -> tuple[Counter, Counter]:
    """(Date, amount) of `source`'s debits mentioning `source_marker`, and `target`'s matching credits."""
    sent = Counter(
        (t["Date"], t["Debit"])
        for t in ds.transactions(source["Id"], 365)
        if t["Debit"] and source_marker in t["Description"]
    )
    received = Counter(
        (t["Date"], t["Credit"])
        for t in ds.transactions(target["Id"], 365)
        if t["Credit"] and target_marker in t["Description"]
    )
    return sent, received


def test_transfers_between_own_accounts_appear_on_both_sides(ds):
    chequing, savings = find_account(ds, "Chequing"), find_account(ds, "Savings")
    to_savings = both_sides(ds, chequing, savings, savings["AccountNumber"], chequing["AccountNumber"])
    to_chequing = both_sides(ds, savings, chequing, chequing["AccountNumber"], savings["AccountNumber"])
    assert sum(to_savings[0].values()) > 26 and to_savings[0] == to_savings[1]
    assert to_chequing[0] and to_chequing[0] == to_chequing[1]  # savings topping chequing up


def test_the_card_payment_appears_on_both_sides(ds):
    chequing, card = find_account(ds, "Chequing"), find_account(ds, "CreditCard")
    paid, received = both_sides(ds, chequing, card, f"****{card['LastFourDigits']}", "PAYMENT RECEIVED")
    assert sum(paid.values()) >= 11 and paid == received


def test_buying_us_dollars_appears_on_both_sides_on_the_same_day(ds):
    chequing, usd = find_account(ds, "Chequing"), find_account(ds, "Chequing", "USD")
    paid, received = both_sides(ds, chequing, usd, usd["AccountNumber"], chequing["AccountNumber"])
    paid_days, received_days = (sorted(day for day, _ in side.elements()) for side in (paid, received))
    assert paid_days and paid_days == received_days  # amounts differ: CAD on one side, USD on the other


# -- determinism and stability ---------------------------------------------------------------------
def snapshot(ds: SandboxDataset) -> list:
    return [(a, ds.transactions(a["Id"], 365)) for a in ds.accounts()]


def test_builds_are_memoised_and_equal(ds):
    assert build_dataset("Greatday", AS_OF) is ds
    assert snapshot(build_dataset.__wrapped__("Greatday", AS_OF)) == snapshot(ds)


def test_another_process_builds_the_same_data(ds):
    script = (
        "import hashlib, sys; from datetime import date;"
        "from flinks_desktop.sandbox.dataset import build_dataset;"
        "ds = build_dataset('Greatday', date(2026, 11, 21));"
        "print(hashlib.sha256(repr([(a, ds.transactions(a['Id'], 365)) for a in ds.accounts()])"
        ".encode()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    assert result.stdout.strip() == hashlib.sha256(repr(snapshot(ds)).encode()).hexdigest()


@pytest.mark.parametrize("other_as_of", [date(2026, 6, 30), date(2027, 3, 15)])
def test_history_does_not_change_when_as_of_moves(ds, other_as_of):
    other = build_dataset("Greatday", other_as_of)
    assert other.epoch == ds.epoch
    start, end = max(AS_OF, other_as_of) - timedelta(days=364), min(AS_OF, other_as_of)
    for account, again in zip(ds.accounts(), other.accounts()):
        assert account["Id"] == again["Id"] and account["AccountNumber"] == again["AccountNumber"]

        def overlap(dataset: SandboxDataset) -> list[dict]:
            return [
                t for t in dataset.transactions(account["Id"], 365) if start.isoformat() <= t["Date"] <= end.isoformat()
            ]

        assert overlap(ds) and overlap(ds) == overlap(other)


def test_the_epoch_moves_only_on_its_four_year_grid():
    assert build_dataset("Greatday", date(2025, 2, 4)).epoch == date(2024, 1, 1)
    early = build_dataset("Greatday", date(2025, 2, 3))
    assert early.epoch == date(2020, 1, 1)
    chequing = find_account(early, "Chequing")
    assert early.transactions(chequing["Id"], 365)[-1]["Date"] <= "2024-02-10"


def test_usernames_are_case_insensitive(ds):
    assert snapshot(build_dataset("GREATDAY", AS_OF)) == snapshot(ds)


def test_each_username_has_its_own_ids():
    seen_accounts: set[str] = set()
    seen_transactions: set[str] = set()
    for username in USERNAMES:
        ds = build_dataset(username, AS_OF)
        accounts = {a["Id"] for a in ds.accounts()}
        transactions = {t["Id"] for a in ds.accounts() for t in ds.transactions(a["Id"], 90)}
        assert not accounts & seen_accounts and not transactions & seen_transactions
        seen_accounts |= accounts
        seen_transactions |= transactions


# -- statements ------------------------------------------------------------------------------------
def pdf_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def money_after(text: str, label: str) -> Decimal:
    match = re.search(re.escape(label) + r" (?:US)?\$?(-?[\d,]+\.\d\d)", text)
    assert match, label
    return Decimal(match.group(1).replace(",", ""))


def october(ds: SandboxDataset, account: dict) -> tuple[Decimal, list[dict]]:
    """The opening balance of October 2026 and its transactions, oldest first."""
    txns = oldest_first(ds, account)
    before = [t for t in txns if t["Date"] < "2026-10-01"]
    return before[-1]["Balance"], [t for t in txns if t["Date"].startswith("2026-10")]


@pytest.mark.parametrize("months", [1, 3, 12])
def test_statements_one_per_month_as_flinks_sends_them(ds, months):
    for account in ds.accounts():
        statements = ds.statements(account["Id"], months)
        assert len(statements) == months
        for statement in statements:
            assert set(statement) == {"UniqueId", "FileType", "Base64Bytes"}
            assert re.fullmatch(r"[0-9A-F]{32}", statement["UniqueId"]) and statement["FileType"] == "PDF"
            assert base64.b64decode(statement["Base64Bytes"]).startswith(b"%PDF")
        assert len({s["UniqueId"] for s in statements}) == months


def test_statements_are_the_last_complete_months_newest_first(ds):
    statements = ds.statements(find_account(ds, "Savings")["Id"], 3)
    periods = [pdf_text(base64.b64decode(s["Base64Bytes"]))[0] for s in statements]
    for text, month in zip(
        periods,
        (
            "October 1, 2026 to October 31, 2026",
            "September 1, 2026 to September 30, 2026",
            "August 1, 2026 to August 31, 2026",
        ),
    ):
        assert month in text


@pytest.mark.parametrize(
    "type_, currency", [("Chequing", "CAD"), ("Savings", "CAD"), ("CreditCard", "CAD"), ("Chequing", "USD")]
)
def test_a_statement_reads_like_the_transactions(ds, type_, currency):
    account = find_account(ds, type_, currency)
    opening, txns = october(ds, account)
    pages = pdf_text(ds.statement_pdf(account["Id"], 2026, 10))
    text = "\n".join(pages)
    assert (account["LastFourDigits"] or account["AccountNumber"]) in text
    assert "October 1, 2026 to October 31, 2026" in pages[0] and account["Title"] in pages[0]
    assert all(txn["Description"] in text for txn in txns)
    assert all(f"Page {n} of {len(pages)}" in page for n, page in enumerate(pages, start=1))

    owed = type_ == "CreditCard"
    labels = (
        ("Previous balance", "Payments and credits", "Purchases and charges", "New balance")
        if owed
        else ("Opening balance", "Deposits and credits", "Withdrawals and debits", "Closing balance")
    )
    summary = pages[0]
    shown_opening = money_after(summary, f"{labels[0]} on October 1, 2026")
    credits = money_after(summary, f"{labels[1]} (-)" if owed else f"{labels[1]} (+)")
    debits = money_after(summary, f"{labels[2]} (+)" if owed else f"{labels[2]} (-)")
    closing = money_after(summary, f"{labels[3]} on October 31, 2026")
    assert shown_opening == opening and closing == txns[-1]["Balance"]
    assert credits == sum(t["Credit"] or 0 for t in txns) and debits == sum(t["Debit"] or 0 for t in txns)
    assert closing == (opening + debits - credits if owed else opening + credits - debits)
    assert f"{closing:,.2f}" in pages[-1]


def test_a_long_statement_repeats_its_table_header(ds):
    pages = pdf_text(ds.statement_pdf(find_account(ds, "Chequing")["Id"], 2026, 10))
    assert len(pages) >= 2
    assert all(re.search(r"Date\s+Description\s+Withdrawals\s+Deposits\s+Balance", page) for page in pages)


def test_statement_bytes_are_reproducible(ds):
    card = find_account(ds, "CreditCard")
    pdf = ds.statement_pdf(card["Id"], 2026, 10)
    assert build_dataset.__wrapped__("Greatday", AS_OF).statement_pdf(card["Id"], 2026, 10) == pdf
    assert build_dataset("Greatday", date(2027, 1, 15)).statement_pdf(card["Id"], 2026, 10) == pdf


def test_statements_only_exist_for_complete_months_of_the_history(ds):
    chequing = find_account(ds, "Chequing")["Id"]
    for year, month in ((2026, 11), (2026, 12), (2023, 12)):
        with pytest.raises(ValueError):
            ds.statement_pdf(chequing, year, month)
    for months in (0, 13):
        with pytest.raises(ValueError):
            ds.statements(chequing, months)


def test_a_quiet_month_and_characters_outside_latin1_still_render(ds):
    quiet = StatementData(
        account=find_account(ds, "Savings"),
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        opening_balance=Decimal("12.34"),
        transactions=[],
    )
    text = pdf_text(render_statement(quiet))[0]
    assert "No transactions this period" in text
    assert money_after(text, "Closing balance on October 31, 2026") == Decimal("12.34")

    odd = {
        "Date": "2026-10-02",
        "Code": None,
        "Description": "CAFÉ ☕ €",
        "Debit": Decimal("1.00"),
        "Credit": None,
        "Balance": Decimal("11.34"),
        "Id": "x",
    }
    text = pdf_text(render_statement(dataclasses.replace(quiet, transactions=[odd])))[0]
    assert "CAFÉ ? ?" in text  # accents kept, the rest replaced rather than failing the statement


# -- the scenario users' data ----------------------------------------------------------------------
def test_transactions_between_dates_and_after_a_transaction(ds):
    chequing = find_account(ds, "Chequing")["Id"]
    year = ds.transactions(chequing, 365)
    october = ds.transactions_between(chequing, date(2026, 10, 1), date(2026, 10, 31))
    assert october == [t for t in year if t["Date"].startswith("2026-10")] and october
    assert ds.transactions_between(chequing, AS_OF - timedelta(days=89), AS_OF) == ds.transactions(chequing, 90)
    assert ds.transactions_between(chequing, AS_OF, AS_OF + timedelta(days=30)) == ds.transactions(chequing, 1)
    anchor = year[25]
    since = AS_OF - timedelta(days=364)
    assert ds.transactions_between(chequing, since, AS_OF, after=anchor["Id"]) == year[:25]
    assert ds.transactions_between(chequing, since, AS_OF, after=anchor["Id"].upper()) == year[:25]
    assert ds.transactions_between(chequing, since, AS_OF, after="not-a-transaction") == year


def test_everything_keeps_its_history_when_as_of_moves():
    ds, later = build_dataset("greatday_everything", AS_OF), build_dataset("greatday_everything", date(2027, 3, 15))
    assert [a["Id"] for a in ds.accounts()] == [a["Id"] for a in later.accounts()] and len(ds.accounts()) == 9
    for account in ds.accounts():
        overlap = [t for t in ds.transactions(account["Id"], 365) if t["Date"] >= "2026-03-16"]
        again = [t for t in later.transactions(account["Id"], 365) if "2026-03-16" <= t["Date"] <= AS_OF.isoformat()]
        assert overlap == again, account["Title"]


def test_numeric_and_damaged_shapes_leave_the_statements_readable_where_they_should():
    numeric = build_dataset("greatday_numeric", AS_OF)
    account = numeric.accounts()[0]
    assert type(account["TransitNumber"]) is int and account["InstitutionNumber"] == 777
    assert all(type(t["Code"]) is int for t in numeric.transactions(account["Id"], 90))
    assert str(account["TransitNumber"]) in pdf_text(numeric.statement_pdf(account["Id"], 2026, 10))[0]

    badpdf = build_dataset("greatday_badpdf", AS_OF)
    chequing, savings = badpdf.accounts()[:2]
    good = badpdf.statement_pdf(chequing["Id"], 2026, 10)
    [sent] = badpdf.statements(chequing["Id"], 1)
    assert base64.b64decode(sent["Base64Bytes"]) == damage(good) and good.startswith(damage(good))
    with pytest.raises(Exception):
        pdf_text(damage(good))
    assert pdf_text(base64.b64decode(badpdf.statements(savings["Id"], 1)[0]["Base64Bytes"]))
