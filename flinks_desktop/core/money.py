"""How an amount reads, in the window and in the terminal: one rule, so an account's balance and
its transactions never write the same currency two ways."""

from __future__ import annotations

from decimal import Decimal

#: Currencies written with a symbol. "$" is the Canadian dollar, the app's home currency; the
#: others get a symbol only where it cannot be mistaken for another currency's. Any other currency
#: is written by its code after the amount ("12.00 CHF").
CURRENCY_SYMBOLS = {"CAD": "$", "USD": "US$", "EUR": "€", "GBP": "£"}


def money(amount: Decimal | None, currency: str | None, *, missing: str = "—", symbols: bool = True) -> str:
    """ "$1,234.50", "-US$12.00", "12.00 CHF"; `missing` when there is no amount.

    With `symbols` False every currency is written by its code ("-12.00 USD"), as the command line
    prints it: plain text a script can read back. No currency: the bare amount ("7.00")."""
    if amount is None:
        return missing
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency or "", "") if symbols else ""
    suffix = "" if symbol or not currency else f" {currency}"
    return f"{sign}{symbol}{abs(amount):,.2f}{suffix}"
