"""Monthly account statements of the Flinks Capital sandbox, as real PDF documents (fpdf2).

GetStatements hands out PDFs that people open and programs parse, so they are laid out like a
bank's: a letterhead, the holder's address, the account's numbers, a summary whose figures add up,
and a transaction table that carries on over pages with its header repeated and "Page n of N" at
the foot.

Text is set in the PDF core font Helvetica, which fpdf2 encodes as Latin-1: accented French
(Montréal, Hydro-Québec) is kept and the text stays extractable (pypdf, pdftotext, copy and paste).
A character outside Latin-1 becomes "?" rather than failing the whole statement.

The bytes are reproducible: the document's creation date is the end of its period, and fpdf2 derives
the file identifier from the content, so the same statement always renders to the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from fpdf import FPDF

BANK_NAME = "Flinks Capital"
BANK_ADDRESS = ("800 Boulevard René-Lévesque Ouest, Bureau 1200", "Montréal QC  H3B 1X9")
BANK_CONTACT = "1-800-555-0199  ·  flinkscapital.example"
DISCLAIMER = "Flinks Capital is the fictitious test institution 777 of the Flinks sandbox."

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_CURRENCIES = {"CAD": "Canadian dollars", "USD": "US dollars"}

# Layout, in millimetres on a US Letter page (what Canadian banks print on).
_MARGIN = 15.0
_CONTENT_WIDTH = 215.9 - 2 * _MARGIN
_BOTTOM_MARGIN = 22.0
_ROW_HEIGHT = 5.4
_COLUMNS = ((18.0, "L"), (92.9, "L"), (25.0, "R"), (25.0, "R"), (25.0, "R"))  # width, alignment

# Colours (RGB).
_NAVY = (14, 45, 92)
_GREY_TEXT = (96, 104, 116)
_RULE = (200, 206, 214)
_SHADE = (242, 245, 249)
_BLACK = (25, 28, 33)
_WHITE = (255, 255, 255)


@dataclass(frozen=True)
class StatementData:
    """What one monthly statement shows."""

    #: A Flinks account dict (Title, AccountNumber, LastFourDigits, TransitNumber, InstitutionNumber,
    #: Currency, Holder, Balance.Limit).
    account: Mapping[str, Any]
    period_start: date
    period_end: date
    opening_balance: Decimal
    #: Flinks transaction dicts of the period, oldest first.
    transactions: Sequence[Mapping[str, Any]]
    #: True for a credit card, a line of credit or a loan: balances are amounts owed, a Debit raises them.
    balance_is_owed: bool = False

    @property
    def total_debits(self) -> Decimal:
        return sum((t["Debit"] for t in self.transactions if t["Debit"] is not None), Decimal("0.00"))

    @property
    def total_credits(self) -> Decimal:
        return sum((t["Credit"] for t in self.transactions if t["Credit"] is not None), Decimal("0.00"))

    @property
    def closing_balance(self) -> Decimal:
        return self.transactions[-1]["Balance"] if self.transactions else self.opening_balance

    @property
    def period_text(self) -> str:
        """E.g. "November 1, 2026 to November 30, 2026"."""
        return f"{_long_date(self.period_start)} to {_long_date(self.period_end)}"

    @property
    def account_number_text(self) -> str:
        """The full number of a bank account; a card number masked as on the card's own statement."""
        number: str = self.account["AccountNumber"]
        if self.account.get("LastFourDigits"):
            return f"{number[:4]} XXXX XXXX {self.account['LastFourDigits']}"
        return number


def _long_date(day: date) -> str:
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def _amount_text(value: Decimal) -> str:
    """1234.5 -> "1,234.50"; negatives keep their sign."""
    return f"{value:,.2f}"


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


class _StatementPDF(FPDF):
    """fpdf2 document with the statement's running header (from page 2) and footer."""

    def __init__(self, data: StatementData):
        super().__init__(orientation="P", unit="mm", format="Letter")
        self.data = data
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(True, margin=_BOTTOM_MARGIN)
        self.set_creation_date(datetime.combine(data.period_end, time(23, 59), tzinfo=UTC))
        self.set_title(f"{BANK_NAME} statement - {data.account['Title']} - {data.period_text}")
        self.set_author(BANK_NAME)
        self.set_creator("Flinks Desktop sandbox")
        self.set_subject(f"Account {data.account_number_text}")

    def text_cell(
        self, width: float, height: float, text: str, align: str = "L", *, fill: bool = False, next_line: bool = False
    ) -> None:
        self.cell(
            width,
            height,
            _latin1(text),
            align=align,
            fill=fill,
            new_x="LMARGIN" if next_line else "RIGHT",
            new_y="NEXT" if next_line else "TOP",
        )

    def style(self, size: float, bold: bool = False, colour: tuple[int, int, int] = _BLACK) -> None:
        self.set_font("Helvetica", "B" if bold else "", size)
        self.set_text_color(*colour)

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.style(12, bold=True, colour=_NAVY)
        self.text_cell(60, 6, BANK_NAME)
        self.style(8, colour=_GREY_TEXT)
        data = self.data
        title = f"{data.account['Title']}  ·  {data.account_number_text}  ·  {data.period_text}"
        self.text_cell(_CONTENT_WIDTH - 60, 6, title, align="R", next_line=True)
        self.rule(self.get_y() + 1, _NAVY, 0.4)
        self.set_y(self.get_y() + 5)

    def footer(self) -> None:
        self.set_y(-16)
        self.rule(self.get_y(), _RULE, 0.2)
        self.set_y(self.get_y() + 1.5)
        self.style(7, colour=_GREY_TEXT)
        self.text_cell(_CONTENT_WIDTH - 30, 4, DISCLAIMER)
        self.text_cell(30, 4, f"Page {self.page_no()} of {{nb}}", align="R")

    def rule(self, y: float, colour: tuple[int, int, int], width: float) -> None:
        self.set_draw_color(*colour)
        self.set_line_width(width)
        self.line(_MARGIN, y, _MARGIN + _CONTENT_WIDTH, y)


def render_statement(data: StatementData) -> bytes:
    """The statement as PDF bytes."""
    pdf = _StatementPDF(data)
    pdf.add_page()
    _letterhead(pdf)
    _holder_and_account(pdf)
    _summary(pdf)
    _transaction_table(pdf)
    return bytes(pdf.output())


def _letterhead(pdf: _StatementPDF) -> None:
    pdf.set_xy(_MARGIN, _MARGIN)
    pdf.style(20, bold=True, colour=_NAVY)
    pdf.text_cell(100, 9, BANK_NAME)
    pdf.style(13, bold=True)
    pdf.text_cell(_CONTENT_WIDTH - 100, 9, "Account Statement", align="R", next_line=True)
    pdf.style(7.5, colour=_GREY_TEXT)
    for line in (*BANK_ADDRESS, BANK_CONTACT):
        pdf.text_cell(100, 3.8, line, next_line=True)
    pdf.set_xy(_MARGIN + 100, _MARGIN + 10)
    pdf.style(9.5)
    pdf.text_cell(_CONTENT_WIDTH - 100, 5, pdf.data.period_text, align="R")
    pdf.set_xy(_MARGIN + 100, _MARGIN + 15)
    pdf.style(8, colour=_GREY_TEXT)
    pdf.text_cell(_CONTENT_WIDTH - 100, 4, f"Statement date: {_long_date(pdf.data.period_end)}", align="R")
    pdf.rule(_MARGIN + 25, _NAVY, 0.6)


def _holder_and_account(pdf: _StatementPDF) -> None:
    """The holder's mailing address on the left, the account's particulars in a box on the right."""
    holder = pdf.data.account.get("Holder") or {}
    address = holder.get("Address") or {}
    top = _MARGIN + 32
    pdf.set_xy(_MARGIN, top)
    pdf.style(10, bold=True)
    pdf.text_cell(90, 5.5, str(holder.get("Name", "")).upper(), next_line=True)
    pdf.style(9.5)
    city_line = f"{address.get('City', '')} {address.get('Province', '')}  {address.get('PostalCode', '')}"
    for line in (address.get("CivicAddress", ""), city_line.strip()):
        pdf.text_cell(90, 5, line, next_line=True)

    rows = _account_rows(pdf.data)
    box_x, box_width = _MARGIN + 98, _CONTENT_WIDTH - 98
    pdf.set_fill_color(*_SHADE)
    pdf.rect(box_x, top - 2, box_width, len(rows) * 5 + 4, style="F")
    pdf.set_xy(box_x, top)
    for label, value in rows:
        pdf.set_x(box_x + 3)
        pdf.style(8, colour=_GREY_TEXT)
        pdf.text_cell(30, 5, label)
        pdf.style(8.5, bold=True)
        pdf.text_cell(box_width - 36, 5, value, align="R", next_line=True)


def _account_rows(data: StatementData) -> list[tuple[str, str]]:
    account = data.account
    currency = account.get("Currency", "")
    rows = [
        ("Account", account["Title"]),
        ("Account number", data.account_number_text),
        ("Transit number", account.get("TransitNumber") or ""),
        ("Institution number", account.get("InstitutionNumber") or ""),
        ("Currency", f"{currency} - {_CURRENCIES.get(currency, currency)}"),
    ]
    limit = (account.get("Balance") or {}).get("Limit")
    if data.balance_is_owed and limit is not None:
        rows.append(("Credit limit", _amount_text(limit)))
        rows.append(("Available credit", _amount_text(limit - data.closing_balance)))
    return rows


def _summary_rows(data: StatementData) -> list[tuple[str, Decimal]]:
    if data.balance_is_owed:
        return [
            (f"Previous balance on {_long_date(data.period_start)}", data.opening_balance),
            ("Payments and credits (-)", data.total_credits),
            (f"{_charges_label(data)} (+)", data.total_debits),
            (f"New balance on {_long_date(data.period_end)}", data.closing_balance),
        ]
    return [
        (f"Opening balance on {_long_date(data.period_start)}", data.opening_balance),
        ("Deposits and credits (+)", data.total_credits),
        ("Withdrawals and debits (-)", data.total_debits),
        (f"Closing balance on {_long_date(data.period_end)}", data.closing_balance),
    ]


def _charges_label(data: StatementData) -> str:
    """What raises an owed balance: purchases on a card; advances and interest on a loan or a line."""
    return (
        "Purchases and charges"
        if data.account.get("Type") in (None, "CreditCard")
        else "Advances, interest and charges"
    )


def _summary(pdf: _StatementPDF) -> None:
    top = pdf.get_y() + 12
    pdf.set_xy(_MARGIN, top)
    pdf.style(11, bold=True, colour=_NAVY)
    pdf.text_cell(_CONTENT_WIDTH, 6, "Account summary", next_line=True)
    pdf.rule(pdf.get_y() + 0.5, _NAVY, 0.3)
    pdf.set_y(pdf.get_y() + 2)
    rows = _summary_rows(pdf.data)
    symbol = "US$" if pdf.data.account.get("Currency") == "USD" else "$"
    for index, (label, value) in enumerate(rows):
        last = index == len(rows) - 1
        if last:
            pdf.rule(pdf.get_y() + 0.5, _RULE, 0.2)
            pdf.set_y(pdf.get_y() + 1)
        pdf.style(9.5, bold=last)
        pdf.text_cell(120, 6, label)
        money = f"{symbol}{_amount_text(value)}" if index in (0, len(rows) - 1) else _amount_text(value)
        pdf.text_cell(_CONTENT_WIDTH - 120, 6, money, align="R", next_line=True)
    pdf.set_y(pdf.get_y() + 8)


def _column_titles(data: StatementData) -> tuple[str, ...]:
    debit, credit = ("Charges", "Payments") if data.balance_is_owed else ("Withdrawals", "Deposits")
    return "Date", "Description", debit, credit, "Balance"


def _transaction_table(pdf: _StatementPDF) -> None:
    pdf.style(11, bold=True, colour=_NAVY)
    pdf.text_cell(_CONTENT_WIDTH, 7, "Transaction details", next_line=True)
    _table_header(pdf)
    data = pdf.data
    period = data.period_start
    rows: list[tuple[str, ...]] = [(_short_date(period), "Opening balance", "", "", _amount_text(data.opening_balance))]
    for txn in data.transactions:
        rows.append(
            (
                _short_date(date.fromisoformat(txn["Date"])),
                txn["Description"],
                "" if txn["Debit"] is None else _amount_text(txn["Debit"]),
                "" if txn["Credit"] is None else _amount_text(txn["Credit"]),
                _amount_text(txn["Balance"]),
            )
        )
    if not data.transactions:
        rows.append(("", "No transactions this period", "", "", ""))
    rows.append(
        (
            _short_date(data.period_end),
            "Closing balance",
            _amount_text(data.total_debits),
            _amount_text(data.total_credits),
            _amount_text(data.closing_balance),
        )
    )
    for index, row in enumerate(rows):
        if pdf.will_page_break(_ROW_HEIGHT):
            pdf.add_page()
            _table_header(pdf)
        _table_row(pdf, row, shaded=index % 2 == 1, bold=index in (0, len(rows) - 1))


def _table_header(pdf: _StatementPDF) -> None:
    pdf.set_fill_color(*_NAVY)
    pdf.style(8, bold=True, colour=_WHITE)
    for title, (width, align) in zip(_column_titles(pdf.data), _COLUMNS):
        pdf.text_cell(width, 6.5, f" {title} ", align=align, fill=True)
    pdf.ln(6.5)


def _table_row(pdf: _StatementPDF, cells: tuple[str, ...], *, shaded: bool, bold: bool) -> None:
    pdf.set_fill_color(*_SHADE)
    pdf.style(8.5, bold=bold)
    for text, (width, align) in zip(cells, _COLUMNS):
        pdf.text_cell(width, _ROW_HEIGHT, f" {_fit(pdf, text, width - 2)} ", align=align, fill=shaded)
    pdf.ln(_ROW_HEIGHT)


def _fit(pdf: _StatementPDF, text: str, width: float) -> str:
    """``text``, cut with an ellipsis if it would overflow its column."""
    if pdf.get_string_width(_latin1(text)) <= width:
        return text
    while text and pdf.get_string_width(_latin1(text + "...")) > width:
        text = text[:-1]
    return text.rstrip() + "..."


def _short_date(day: date) -> str:
    return f"{_MONTHS[day.month - 1][:3]} {day.day:02d}"
