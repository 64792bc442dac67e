"""The period a PDF statement covers, read from its first page.

Flinks sends a statement's bytes and a UniqueId, never the period it covers; a person looks for
"October 2026". Bank statements print their period near the top, in a few common shapes:

    October 1, 2026 to October 31, 2026        Oct 1, 2026 - Oct 31, 2026
    2026-10-01 to 2026-10-31                   du 1er octobre 2026 au 31 octobre 2026

The first such range on the first page is taken (only a plausible one: the end on or after the
start, at most about a quarter apart). A statement where none is found keeps an unknown period:
guessing wrong would be worse than saying "fetched on". Reading a PDF is pure-Python work (pypdf):
callers run it off the GUI thread (the sync does it on its writer thread).

Nothing about a statement file may break a sync: a damaged or unusual PDF makes pypdf raise almost
anything (NotImplementedError for a security handler it lacks, AttributeError, RecursionError,
struct.error, zlib.error...), so every failure to read one is caught here, logged by its type only
(never a byte of the file), and means "period unknown". The file itself is kept as Flinks sent it.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import date

log = logging.getLogger("flinks_desktop.statements")

_ENGLISH_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_FRENCH_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
#: Full month names of both languages, and English three-letter abbreviations ("Oct", "Sept.").
_MONTHS = {
    **{name: number for number, name in enumerate(_ENGLISH_MONTHS, start=1)},
    **{name: number for number, name in enumerate(_FRENCH_MONTHS, start=1)},
    **{name[:3]: number for number, name in enumerate(_ENGLISH_MONTHS, start=1)},
}
_MONTH = r"([A-Za-zÀ-ÿ]{3,9})\.?"
_LONGEST_PERIOD_DAYS = 95

#: English "Month D, YYYY", French "D(er) mois YYYY", ISO "YYYY-MM-DD"; joined by to / - / – / au.
_ENGLISH = re.compile(
    rf"{_MONTH}\s+(\d{{1,2}}),?\s+(\d{{4}})\s*(?:to|through|-|–|—)\s*{_MONTH}\s+(\d{{1,2}}),?\s+(\d{{4}})",
    re.IGNORECASE,
)
_FRENCH = re.compile(
    rf"(\d{{1,2}})(?:er)?\s+{_MONTH}\s+(\d{{4}})\s*(?:au|à|-|–)\s*(\d{{1,2}})(?:er)?\s+{_MONTH}\s+(\d{{4}})",
    re.IGNORECASE,
)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})\s*(?:to|au|-|–|—)\s*(\d{4})-(\d{2})-(\d{2})", re.IGNORECASE)


def period_from_pdf(content: bytes) -> tuple[date, date] | None:
    """(first day, last day) printed on the statement's first page, or None. Never raises."""
    try:
        text = _first_page_text(content)
        return period_from_text(text) if text else None
    except Exception as error:  # any failure of a third-party parser on any file: period unknown
        log.info("the period of a statement could not be read (%s)", type(error).__name__)
        return None


def period_from_text(text: str) -> tuple[date, date] | None:
    """The first plausible date range in `text` (see the module docstring), or None."""
    candidates: list[tuple[int, tuple[date, date] | None]] = []
    for match in _ENGLISH.finditer(text):
        month1, day1, year1, month2, day2, year2 = match.groups()
        candidates.append((match.start(), _range((year1, month1, day1), (year2, month2, day2))))
    for match in _FRENCH.finditer(text):
        day1, month1, year1, day2, month2, year2 = match.groups()
        candidates.append((match.start(), _range((year1, month1, day1), (year2, month2, day2))))
    for match in _ISO.finditer(text):
        y1, m1, d1, y2, m2, d2 = match.groups()
        candidates.append((match.start(), _range((y1, m1, d1), (y2, m2, d2))))
    plausible = [(position, period) for position, period in candidates if period is not None]
    return min(plausible)[1] if plausible else None


def _range(first: tuple[str, str, str], last: tuple[str, str, str]) -> tuple[date, date] | None:
    start, end = _day(*first), _day(*last)
    if start is None or end is None or not 0 <= (end - start).days <= _LONGEST_PERIOD_DAYS:
        return None
    return start, end


def _day(year: str, month: str, day: str) -> date | None:
    number = int(month) if month.isdigit() else _month_number(month)
    try:
        return date(int(year), number, int(day)) if number else None
    except ValueError:
        return None


def _month_number(name: str) -> int | None:
    folded = name.lower()
    return _MONTHS.get(folded) or _MONTHS.get(folded[:3])


def _first_page_text(content: bytes) -> str | None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    return reader.pages[0].extract_text() if reader.pages else None
