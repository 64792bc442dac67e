"""The plain values of the Flinks API that outlive a response: an account's balance and holder
(a cached account row holds them too).

`models` reads them from Flinks' JSON and builds the rest of a response around them; the cache
reads them back from its rows. Kept apart so that reading the cache builds neither the response
types nor the HTTP stack. (The options the calls take are in `options`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


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
