"""Masking and validation of Flinks ids and secrets, before anything reaches a log, a screen or a file.

A loginId is a permanent key to a person's bank data (it never expires), and a RequestId opens
their accounts for 30 minutes: neither may appear whole in a log. Masks keep enough of an id for a
support agent to match it against a record, and nothing of a secret.

Masking rules (one place, so every log and screen agrees):

- `mask_id` keeps the first 4 and last 4 characters of an id of 16 characters or more
  ("b0debb48-f9f1-46c6-80a4-08d7dd88d478" -> "b0de…d478"); a shorter value is fully hidden ("…"),
  since 8 characters would be most of it.
- `mask_account_number` keeps the last 4 characters of an account number longer than 4 characters
  ("7641238" -> "•••1238"); a shorter one is fully hidden ("•••").
- `redact` replaces each given secret with "•••" (before ids: an authorize token is itself GUID
  shaped and must not keep 8 characters), then every GUID-shaped substring with its `mask_id`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeGuard

#: 8-4-4-4-12 hex digits. Flinks ids are GUIDs but not always RFC 4122 UUIDs (e.g.
#: "5e115eac-1209-4f19-641c-08d6d484e2fe"), so the version and variant digits are not checked.
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

ELLIPSIS = "…"
HIDDEN = "•••"

#: An id shorter than this is hidden entirely: its first and last 4 characters would be most of it.
_SHORTEST_PARTLY_SHOWN_ID = 16
_KEPT_ID_CHARACTERS = 4
_KEPT_ACCOUNT_DIGITS = 4
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def is_guid(value: object) -> TypeGuard[str]:
    """Whether `value` is a string in the 8-4-4-4-12 hex form of Flinks loginIds and RequestIds."""
    return isinstance(value, str) and _GUID.fullmatch(value) is not None


def mask_id(value: str) -> str:
    """An id with only its first and last 4 characters kept: "b0debb48-…-08d7dd88d478" -> "b0de…d478".

    A kept character that cannot be shown or stored (a control character, a lone surrogate from a
    hostile answer) becomes "?": a mask goes into logs, the audit and the screen."""
    if len(value) < _SHORTEST_PARTLY_SHOWN_ID:
        return ELLIPSIS
    return _UNSHOWABLE.sub("?", f"{value[:_KEPT_ID_CHARACTERS]}{ELLIPSIS}{value[-_KEPT_ID_CHARACTERS:]}")


def mask_account_number(value: str) -> str:
    """An account number with only its last 4 characters kept: "7641238" -> "•••1238"."""
    if len(value) <= _KEPT_ACCOUNT_DIGITS:
        return HIDDEN
    return f"{HIDDEN}{value[-_KEPT_ACCOUNT_DIGITS:]}"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with each of `secrets` replaced by "•••" and every GUID in it masked by `mask_id`.

    Empty or None secrets are skipped, so a caller can pass optional settings as they are. Longer
    secrets are replaced first, so one secret containing another is hidden whole.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return _GUID.sub(lambda match: mask_id(match.group()), text)
