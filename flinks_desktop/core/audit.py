"""The audit: every API call and every Flinks Connect event, masked, into the cache's activity log.

    audit = Audit(writer.submit)                        # how `core.sync.Sync` builds its own
    client = FlinksClient(api_url, on_call=audit.record_api_call)
    audit.record_connect_event(event)                   # from the Connect view, as it arrives
    describe("RETRY_LATER")                             # -> "The bank could not be reached. ..."

`Audit` runs on the event loop (the client reports each call there) and must never make it wait
on SQLite: it only turns a call or an event into a small job and hands it to `submit`, which
queues it for the one thread that writes the cache (`core.sync`'s writer). Jobs run in the order
they were handed over, so the audit of a call is written before anything queued after it, such as
the purge that follows a DeleteCard.

What is stored, and what is not:

- API calls: method, endpoint name (never a path with an id in it), HTTP status, FlinksCode,
  duration, and the loginId and RequestId masked by the store (`core.redact.mask_id`). No body,
  no header, so no token, key, password or MFA answer.
- A RequestId says nothing about its login by itself, and the polls of GetAccountsDetailAsync
  carry only the RequestId. The audit remembers which login each RequestId it saw opened (an
  /Authorize answer names both), so every call of a session is found under its login.
- Connect events: the event as Connect sent it, with the values of fields whose names speak of a
  secret (token, password, answer...) replaced, in the event and in its `url`'s query; the store
  then masks every GUID left in it.
- What a sync had to leave out ("DATA_DROPPED", an app event of the login): a sentence with the
  counts ("2 transactions and 1 field Flinks sent could not be read..."), and each item's kind,
  place in the answer ("Accounts[0].Transactions[3].Date") and reason, with its ids masked. Never
  the value that could not be read: it is bank data, and it may be anything.
"""

from __future__ import annotations

import copy
import logging
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flinks_desktop.core.connect_events import login_id_from_event, parse_connect_event
from flinks_desktop.core.flinks.client import ApiCall
from flinks_desktop.core.flinks.errors import FlinksError, message_for
from flinks_desktop.core.flinks.models import Dropped
from flinks_desktop.core.redact import HIDDEN, mask_id
from flinks_desktop.core.store import Store

log = logging.getLogger("flinks_desktop.audit")

#: A job for the cache writer: it gets the writer's `Store`.
StoreJob = Callable[[Store], object]
#: Hands a job to the cache writer without waiting for it.
Submit = Callable[[StoreJob], None]

#: Sessions remembered for `Audit`'s RequestId -> loginId lookup; a RequestId lives 30 minutes.
_REMEMBERED_SESSIONS = 1000
#: Connect event fields (and `url` query parameters) whose values are never stored.
_SECRET_NAME = re.compile(r"token|password|passwd|secret|answer|api.?key|auth", re.IGNORECASE)

#: The app event of a sync that left out what it could not read, and how many items it details.
DATA_DROPPED = "DATA_DROPPED"
_DROPPED_ITEMS_KEPT = 50
#: The kinds of what was left out, in the order a sentence names them: whole rows first.
_DROPPED_ORDER = ("account", "statement", "transaction", "field")

#: The FlinksCodes that are not failures; every other code is described by `core.flinks.errors`.
_PROGRESS_CODES = {
    "OPERATION_PENDING": "Flinks is still preparing the data; the app asks again in a moment.",
    "OPERATION_DISPATCHED": "Flinks passed the request on to a slower queue; the app keeps asking.",
}


def utc_now() -> datetime:
    """The current time in UTC, as the cache stores it."""
    return datetime.now(UTC)


def describe(flinks_code: str) -> str:
    """A FlinksCode in plain words for the Activity view: the sentence its error would show."""
    if flinks_code in _PROGRESS_CODES:
        return _PROGRESS_CODES[flinks_code]
    # The error module holds the one table of codes and sentences: ask it, do not copy it.
    return message_for(flinks_code) or FlinksError.default_message


class Audit:
    """Records API calls and Connect events through `submit` (see the module docstring)."""

    def __init__(self, submit: Submit, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._submit = submit
        self._clock = clock
        self._login_of_request: OrderedDict[str, str] = OrderedDict()

    def record_api_call(self, call: ApiCall) -> None:
        """Audit one HTTP exchange: the client's `on_call` observer."""
        login_id = self._login_of(call)
        at = self._clock() - timedelta(seconds=call.duration)  # when the call was made
        self._submit(
            lambda store: store.record_api_call(
                at=at,
                method=call.method,
                endpoint=call.endpoint,
                status=call.status,
                flinks_code=call.flinks_code,
                duration_ms=round(call.duration * 1000),
                login_id=login_id,
                request_id=call.request_id,
            )
        )

    def record_connect_event(self, event: object, login_id: str | None = None, *, at: datetime | None = None) -> bool:
        """Audit one Flinks Connect event (an object or its JSON text, as Connect posts it).

        `login_id` is the login it concerns when the caller knows it; a REDIRECT names its own.
        `at` is when it happened, when recorded later (the UI holds a Connect session's events
        until its REDIRECT names the login they belong to). Returns False, recording nothing, when
        `event` is not a Connect event.
        """
        parsed = parse_connect_event(event)
        if parsed is None:
            log.debug("not a Connect event: nothing audited")
            return False
        if login_id is None:
            login_id, _ = login_id_from_event(parsed) or (None, None)
        at = at or self._clock()
        scrubbed = _without_secrets(parsed)
        self._submit(lambda store: store.record_connect_event(scrubbed, at=at, login_id=login_id))
        return True

    def record_dropped(self, login_id: str, dropped: Sequence[Dropped]) -> None:
        """Audit, as one "DATA_DROPPED" line of the login's Activity, what a sync left out because
        it could not be read (nothing when `dropped` is empty)."""
        if not dropped:
            return
        detail = dropped_detail(dropped)
        at = self._clock()
        self._submit(lambda store: store.record_app_event(DATA_DROPPED, at=at, login_id=login_id, detail=detail))

    def _login_of(self, call: ApiCall) -> str | None:
        """The call's loginId, else the one its RequestId was seen with; learns new pairs."""
        if call.request_id is None:
            return call.login_id
        if call.login_id is not None:
            self._login_of_request[call.request_id] = call.login_id
            self._login_of_request.move_to_end(call.request_id)
            if len(self._login_of_request) > _REMEMBERED_SESSIONS:
                self._login_of_request.popitem(last=False)
            return call.login_id
        return self._login_of_request.get(call.request_id)


def dropped_sentence(dropped: Sequence[Dropped], *, rest_saved: bool = True) -> str:
    """What was left out, in plain words with the counts: "2 transactions and 1 field that Flinks
    sent could not be read, so they were left out. Everything else was saved." """
    counts: Counter[str] = Counter(item.what for item in dropped)
    parts = [_count(counts[what], what) for what in _DROPPED_ORDER if counts[what]]
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    pronoun = "it was" if len(dropped) == 1 else "they were"
    sentence = f"{listed} that Flinks sent could not be read or kept exactly, so {pronoun} left out."
    return f"{sentence} Everything else was saved." if rest_saved else sentence


def dropped_detail(dropped: Sequence[Dropped]) -> dict[str, Any]:
    """The detail of a "DATA_DROPPED" event: the sentence, the counts, and the first items (where
    and why, ids masked), never a value."""
    items = [
        {
            "what": item.what,
            "where": item.path,
            "why": item.reason,
            **({"id": mask_id(item.item_id)} if item.item_id else {}),
            **({"account": mask_id(item.account_id)} if item.account_id else {}),
        }
        for item in dropped[:_DROPPED_ITEMS_KEPT]
    ]
    return {
        "message": dropped_sentence(dropped),
        "count": len(dropped),
        "counts": dict(Counter(item.what for item in dropped)),
        "items": items,
    }


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _without_secrets(event: Mapping[str, Any]) -> dict[str, Any]:
    """`event` with the value of every field, and `url` query parameter, named like a secret hidden."""
    cleaned = {key: HIDDEN if _SECRET_NAME.search(key) else value for key, value in event.items()}
    if isinstance(cleaned.get("url"), str):
        cleaned["url"] = _url_without_secrets(cleaned["url"])
    return copy.deepcopy(cleaned)  # the writer stores it later: nothing shared with the caller


def _url_without_secrets(url: str) -> str:
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return HIDDEN  # a URL that cannot be read cannot be checked either
    if not any(_SECRET_NAME.search(name) for name, _ in query):
        return url
    hidden = [(name, HIDDEN if _SECRET_NAME.search(name) else value) for name, value in query]
    return urlunsplit(parts._replace(query=urlencode(hidden)))
