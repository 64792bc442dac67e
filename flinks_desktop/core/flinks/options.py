"""What /GetAccountsDetail and /GetStatements take: the options an environment's settings name.

Kept apart from the response types and their values, so that reading the settings (before the
window's first paint) builds none of them.
"""

from __future__ import annotations

from typing import Literal

DaysOfTransactions = Literal["Days90", "Days365"]
NumberOfStatements = Literal["MostRecent", "Months3", "Months12"]
