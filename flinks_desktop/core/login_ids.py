"""loginIds as people paste them: from a ticket, a spreadsheet column, a text file of a morning's tickets.

    found = read_login_ids(text)        # every loginId in the text, in order, once each
    found.login_ids, found.rejected     # ["b0debb48-…"], [(3, "4c1bb6…-45aa")]

A loginId is a GUID (8-4-4-4-12 hexadecimal digits). Pasted text carries more than that: spaces,
quotes from a CSV cell or a chat ("…", '…', “…”), a trailing newline, `loginId=` from a URL, or the
words of the ticket around it ("Ticket 4521: 152b925b-… cannot connect"). What is taken is
deliberately narrow: exactly one whole GUID, standing on its own, in a line (or in one cell of a
CSV row). Any other line (a truncated GUID copied from a masked log, a typo, two loginIds on one
line) is reported with its line number, so nobody thinks it was opened.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
#: A GUID among words: not part of a longer run of hexadecimal digits and dashes.
_GUID_IN_TEXT = re.compile(rf"(?<![0-9a-z-]){_GUID.pattern}(?![0-9a-z-])", re.IGNORECASE)
#: Dashes a word processor or a chat puts where a loginId has hyphens.
DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-")
#: What a paste may carry around the text: spaces, newlines, quotes of every kind, brackets, a comma.
_SURROUNDING = " \t\r\n\v\f\"'`\u201c\u201d\u201e\u2018\u2019\u201a\u00ab\u00bb\u2039\u203a<>[](){},;"
#: `loginId=…`, `LoginId: …`, `"loginId": "…"`, `?loginId=…&institution=…` (Connect's redirect).
_LOGIN_ID_FIELD = re.compile(
    r"""(?:^|[\s?&;,{(])["'\u201c\u2018]?login[_ -]?id["'\u201d\u2019]?\s*[=:]\s*["'\u201c\u2018]?"""
    r"""([^\s&;,"'\u201c\u201d\u2018\u2019{}()<>\[\]]+)""",
    re.IGNORECASE,
)
#: A header cell of a loginId column ("loginId", "Login ID", "login_id").
_HEADER = re.compile(r"login[\s_-]*id", re.IGNORECASE)


def normalise(text: str) -> str:
    """The text as a person meant it: what a paste carries around it removed, dashes made plain.

    ' "152B925B-…" \\n' -> '152B925B-…'; 'loginId=152b…' and a Connect redirect URL -> the loginId;
    zero-width characters dropped, inner runs of spaces made one. Case is kept.
    """
    text = unicodedata.normalize("NFKC", text or "").translate(DASHES)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")  # zero-width spaces, BOMs
    text = " ".join(text.split())
    field = _LOGIN_ID_FIELD.search(text)
    if field:
        text = field.group(1)
    return text.strip(_SURROUNDING)


def login_id_in(text: str) -> str | None:
    """The loginId in `text` (lowercased): the text itself, tolerating what `normalise` removes, or
    the one whole GUID among its words; None when there is none, or more than one."""
    value = normalise(text)
    if _GUID.fullmatch(value):
        return value.lower()
    found = login_ids_among(value)
    return found[0] if len(found) == 1 else None


def login_ids_among(text: str) -> list[str]:
    """Every whole GUID standing among the words of `text`, lowercased, in order."""
    return [guid.lower() for guid in _GUID_IN_TEXT.findall(text)]


@dataclass
class LoginIds:
    #: Each loginId found, lowercased, in the order first seen, without repeats.
    login_ids: list[str] = field(default_factory=list)
    #: (line number, the text) of lines that hold no loginId, or more than one.
    rejected: list[tuple[int, str]] = field(default_factory=list)
    #: How many times a loginId was seen again (left out of `login_ids`).
    repeated: int = 0


def read_login_ids(text: str) -> LoginIds:
    """Every loginId in `text`: one per line, or one column of a CSV (any delimiter csv.Sniffer
    recognises; a header row is skipped). Blank lines and lines starting with # are ignored."""
    found = LoginIds()
    seen: set[str] = set()
    for number, cells in _rows(text):
        guids = [guid for guid in (login_id_in(cell) for cell in cells) if guid]
        if len(guids) == 1:
            if guids[0] in seen:
                found.repeated += 1
            else:
                seen.add(guids[0])
                found.login_ids.append(guids[0])
            continue
        line = ",".join(cells).strip()
        if not guids and number == 1 and any(_HEADER.fullmatch(cell.strip(_SURROUNDING)) for cell in cells):
            continue  # the header of a loginId column
        found.rejected.append((number, line))  # none, or several (which one is meant?): say so
    return found


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank, non-comment line."""
    import csv  # here: the window paints with `login_id_in`, before any list is read

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    sample = "\n".join(line for line in lines[:20] if line.strip())
    delimiter = None
    if any(mark in sample for mark in ",;\t|"):
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if delimiter is None:
            rows.append((number, [line]))
        else:
            rows.append((number, next(csv.reader(io.StringIO(line), delimiter=delimiter), [line])))
    return rows
