"""core.export: exact CSV and JSON of cached rows, and statement files under readable names."""

from __future__ import annotations

import csv
import io
import json
import stat
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from flinks_desktop.core import export
from flinks_desktop.core.atomic_file import atomic_write
from flinks_desktop.core.export import ExportConflict, ExportError, Saved
from flinks_desktop.core.flinks.models import loads, parse_accounts
from flinks_desktop.core.flinks.values import Address, Balance, Holder
from flinks_desktop.core.store import AccountRow, LoginRow, StatementRow, Store, TransactionRow

SAMPLES = Path(__file__).parent / "fixtures" / "flinks-samples"
LOGIN_ID = "b0debb48-f9f1-46c6-80a4-08d7dd88d478"
ACCOUNT_ID = "a3b6e5f1-0b7c-4c1e-9d7b-1f2e3d4c5b6a"
AT = datetime(2025, 1, 31, 14, 5, tzinfo=UTC)
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def transaction(
    description: str | None = "TIM HORTONS #2417",
    *,
    debit: str | None = "3.10",
    credit: str | None = None,
    balance: str | None = "1234.50",
    id_: str = "t1",
) -> TransactionRow:
    def amount(text: str | None) -> Decimal | None:
        return Decimal(text) if text is not None else None

    return TransactionRow(
        login_id=LOGIN_ID,
        account_id=ACCOUNT_ID,
        id=id_,
        date=date(2025, 1, 31),
        description=description,
        debit=amount(debit),
        credit=amount(credit),
        balance=amount(balance),
        code=None,
    )


def account(title: str | None = "Everyday Chequing", number: str | None = "9012087") -> AccountRow:
    return AccountRow(
        login_id=LOGIN_ID,
        id=ACCOUNT_ID,
        title=title,
        account_number=number,
        last_four_digits=None,
        transit_number="90305",
        institution_number="777",
        category="Operations",
        type="Chequing",
        account_type="Personal",
        currency="CAD",
        overdraft_limit=Decimal("500.00"),
        balance=Balance(available=Decimal("5921.16"), current=Decimal("-5421.10"), limit=None),
        holder=Holder(
            name="Geneviève Tremblay",
            email=None,
            phone_number="514-555-0199",
            address=Address("4587 Rue Saint-Denis", "Montréal", "QC", "H2J 2L3", None, "CA"),
        ),
        eft_eligible_ratio=Decimal("0.25"),
        seen_at=AT,
        missing_since=None,
    )


def statement(
    unique_id: str = "D6EABD8BB4CE6FE129000F983009F1C0",
    *,
    number: str | None = "9012087",
    period_end: date | None = None,
    file_type: str | None = "PDF",
) -> StatementRow:
    return StatementRow(
        login_id=LOGIN_ID,
        unique_id=unique_id,
        account_number=number,
        file_type=file_type,
        position=0,
        size=4,
        fetched_at=AT,
        period_start=None,
        period_end=period_end,
    )


def as_csv(rows, kind=TransactionRow, **options) -> list[dict[str, str]]:
    out = io.StringIO(newline="")
    export.write_csv(rows, out, kind, **options)
    return list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))


def as_json(rows, kind=TransactionRow, **options) -> list[dict]:
    out = io.StringIO()
    export.write_json(rows, out, kind, **options)
    return json.loads(out.getvalue())


# -- exact values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1234.5", "1234.50"),
        ("1234.50", "1234.50"),
        ("-3.1", "-3.10"),
        ("0", "0.00"),
        ("1E+3", "1000.00"),
        ("0.125", "0.125"),  # never rounded: more places are kept
        ("92233720368547758.07", "92233720368547758.07"),  # the largest amount the cache holds
    ],
)
def test_amounts_are_exact_decimal_strings_in_csv_and_json(amount, text):
    row = transaction(debit=amount)
    assert as_csv([row])[0]["debit"] == text
    assert as_json([row])[0]["debit"] == text
    assert Decimal(text) == Decimal(amount)


def test_csv_has_a_header_and_keeps_bank_text_whole():
    description = 'CAFÉ "MYRIADE", MONTRÉAL\nQC'
    rows = [transaction(description, id_="t1"), transaction(None, debit=None, credit="1500.25", id_="t2")]
    out = io.StringIO(newline="")
    assert export.write_csv(rows, out) == 2
    text = out.getvalue()
    assert text.splitlines()[0] == (
        "date,description,debit,credit,balance,code,account_id,id,login_id,account,currency"
    )
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert parsed[0] == {
        "date": "2025-01-31",
        "account": "",  # no accounts given: not known
        "description": description,
        "debit": "3.10",
        "credit": "",
        "balance": "1234.50",
        "currency": "",
        "code": "",
        "account_id": ACCOUNT_ID,
        "id": "t1",
        "login_id": LOGIN_ID,
    }
    assert parsed[1]["description"] == "" and parsed[1]["credit"] == "1500.25" and parsed[1]["debit"] == ""


def test_a_transaction_names_its_account_and_currency():
    # A ticket's CSV mixes accounts and currencies: each row says which, from the login's accounts.
    chequing = account("=Everyday Chequing")  # a title a spreadsheet would run: guarded like any text
    dollars = account("US Dollar Chequing")._replace(id="usd-account", currency="USD")
    accounts = export.accounts_by_id([chequing, dollars])
    rows = [transaction(id_="t1"), transaction(id_="t2")._replace(account_id="usd-account")]
    rows.append(transaction(id_="t3")._replace(account_id="an-account-gone-since"))
    [first, second, unknown] = as_csv(rows, accounts=accounts, spreadsheet_safe=True)
    assert (first["account"], first["currency"]) == ("'=Everyday Chequing", "CAD")
    assert (second["account"], second["currency"], second["debit"]) == ("US Dollar Chequing", "USD", "3.10")
    assert (unknown["account"], unknown["currency"]) == ("", "")
    items = as_json(rows, accounts=accounts)
    assert [(item["account"], item["currency"]) for item in items] == [
        ("=Everyday Chequing", "CAD"),
        ("US Dollar Chequing", "USD"),
        (None, None),
    ]


def test_no_rows_is_still_a_header_or_an_empty_array():
    assert as_csv([]) == []
    out = io.StringIO(newline="")
    export.write_csv([], out, AccountRow)
    assert out.getvalue().startswith("id,title,account_number,")
    assert as_json([], LoginRow) == []


def test_json_has_the_csv_columns_in_the_same_order_with_nulls():
    rows = [transaction("Dépôt", debit=None, credit="10.00")]
    item = as_json(rows)[0]
    assert list(item) == [column.name for column in export.TRANSACTION_COLUMNS]
    assert list(item) == list(as_csv(rows)[0])
    assert item["debit"] is None and item["credit"] == "10.00" and item["code"] is None
    out = io.StringIO()
    export.write_json(rows, out)
    assert "Dépôt" in out.getvalue() and out.getvalue().endswith("]\n")  # UTF-8 text, not \\u escapes


def test_accounts_are_flattened_whole():
    [item] = as_json([account()], AccountRow)
    assert item["account_number"] == "9012087"  # an export is not masked
    assert item["balance_current"] == "-5421.10" and item["balance_available"] == "5921.16"
    assert item["balance_limit"] is None and item["overdraft_limit"] == "500.00"
    assert item["eft_eligible_ratio"] == "0.25"
    assert item["holder_name"] == "Geneviève Tremblay" and item["holder_city"] == "Montréal"
    assert item["seen_at"] == "2025-01-31T14:05:00.000000+00:00" and item["missing_since"] is None
    assert as_csv([account()], AccountRow)[0]["holder_email"] == ""


def test_logins_booleans_are_true_and_false():
    login = LoginRow(
        id=LOGIN_ID,
        institution="FlinksCapital",
        environment="offline-sandbox",
        username="Greatday",
        type="Personal",
        is_scheduled_refresh=False,
        last_refresh=None,
        synced_at=AT,
        status="error",
        status_at=AT,
        error_code="RETRY_LATER",
        error_message="The bank could not be reached.",
        added_at=AT,
    )
    assert as_json([login], LoginRow)[0]["is_scheduled_refresh"] is False
    assert as_csv([login], LoginRow)[0]["is_scheduled_refresh"] == "false"
    assert as_csv([login], LoginRow)[0]["error_code"] == "RETRY_LATER"


def test_rows_of_another_kind_are_refused():
    with pytest.raises(TypeError, match="expected TransactionRow"):
        export.write_csv([account()], io.StringIO())
    with pytest.raises(TypeError, match="no export"):
        export.write_json([], io.StringIO(), dict)  # type: ignore[type-var]


def test_spreadsheet_safe_guards_text_cells_only():
    rows = [transaction('=HYPERLINK("http://x")', balance="-3.10"), transaction("@SUM(A1)")]
    exact = as_csv(rows)
    assert exact[0]["description"] == '=HYPERLINK("http://x")'  # exact by default
    safe = as_csv(rows, spreadsheet_safe=True)
    assert safe[0]["description"] == '\'=HYPERLINK("http://x")' and safe[1]["description"] == "'@SUM(A1)"
    assert safe[0]["balance"] == "-3.10"  # an amount is never touched


def test_a_snapshot_from_the_documented_sample_exports_exactly(tmp_path):
    body = loads((SAMPLES / "get_accounts_detail_200.json").read_bytes())
    result = parse_accounts(body)
    with Store.open(tmp_path / "cache.db") as store:
        store.upsert_login(result.login.id, "FlinksCapital", at=AT)
        store.save_snapshot(result.login.id, result, synced_at=AT)
        rows = store.transactions(result.login.id)
        accounts = store.accounts(result.login.id)
    [sent] = body["Accounts"][0]["Transactions"]
    [item] = as_json(rows)
    assert item["id"] == sent["Id"] and item["date"] == sent["Date"]
    for field in ("Debit", "Credit", "Balance"):  # 1000.4 is sent: "1000.40" comes out, the same number
        assert Decimal(item[field.lower()]) == sent[field]
    assert as_csv(accounts, AccountRow)[0]["account_number"] == body["Accounts"][0]["AccountNumber"]


# -- statement files ---------------------------------------------------------------------------------


def test_statement_file_names_are_readable_and_safe():
    name = export.statement_file_name
    assert name(statement(), account()) == "Everyday-Chequing-2087_2025-01-31_D6EABD8B.pdf"
    titled = account(title="Compte Épargne / USD: ../../etc")
    assert name(statement(), titled) == "Compte-Epargne-USD-etc-2087_2025-01-31_D6EABD8B.pdf"
    untitled = statement(period_end=date(2024, 12, 31), file_type=None)
    assert name(untitled) == "Statement-2087_2024-12-31_D6EABD8B.pdf"
    assert name(statement(number=None)) == "Statement_2025-01-31_D6EABD8B.pdf"


@posix_only
def test_save_file_writes_owner_only_and_never_replaces_silently(tmp_path):
    path = tmp_path / "new folder" / "statement.pdf"
    assert export.save_file(path, b"%PDF-1") is Saved.NEW
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert export.save_file(path, b"%PDF-1") is Saved.UNCHANGED
    with pytest.raises(ExportConflict, match="already exists with other content"):
        export.save_file(path, b"%PDF-2")
    assert path.read_bytes() == b"%PDF-1"
    assert export.save_file(path, b"%PDF-2", overwrite=True) is Saved.REPLACED
    assert path.read_bytes() == b"%PDF-2"
    assert [p.name for p in path.parent.iterdir()] == ["statement.pdf"]  # no temporary file left


@posix_only
def test_the_one_atomic_writer_replaces_whole_or_not_at_all(tmp_path):
    """`atomic_write` is what the settings, exports and saved statements all write with."""
    path = tmp_path / "settings.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(path, "w", encoding="utf-8") as file:
        file.write("half of the new")
        raise RuntimeError("the disk went away")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["settings.json"]
    with atomic_write(path) as file:
        file.write(b"new")
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_that_cannot_be_written_is_a_sentence(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match="could not be written") as raised:
        export.save_file(blocker / "statement.pdf", b"%PDF")
    assert not isinstance(raised.value, ExportConflict)
