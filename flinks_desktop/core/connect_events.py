"""Flinks Connect's messages, read without Qt: which are events, and which loginId a success gives.

Connect posts its steps (`{step: "APP_MOUNTED"}`, ...) and errors (`{flinksCode: "INVALID_LOGIN",
requestId, institution}`) to the page that embeds it; with `stringify=true` each arrives as a JSON
string instead. On success it posts REDIRECT, whose `url` is the redirect URL with `loginId` and
`institution` appended (then `accountId` after an account selection, and `tag`), and then navigates
to that URL. The Connect view reads both here, and so can the core (the activity log) or a headless
tool.

`accountId` (ACCOUNT_SELECTED, REDIRECT) is one id, or with `accountSelectorMultiple=true` a list
of them; in a URL several are comma-separated (`accountId=a,b`), and some integrations see the
parameter repeated. `account_ids_from_event` reads every form.

Nothing here trusts its input: anything malformed gives None, never an exception. The real Connect
sends fields that are not documented, so unknown fields are kept, never a reason to reject.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flinks_desktop.core.redact import is_guid

#: Fields that, when present and not null, must be text. Others (mfaTypes, totalAccounts...) pass as sent.
_TEXT_FIELDS = ("step", "flinksCode", "institution", "url", "loginId", "requestId")
#: Fields that, when present and not null, must be text or a list of texts.
_TEXT_OR_LIST_FIELDS = ("accountId",)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_connect_event(data: object) -> dict[str, Any] | None:
    """The event in `data` (an object, or its JSON text) as a new dict; None if it is not one.

    An event is an object with a non-empty `step` or `flinksCode`; every field of `_TEXT_FIELDS`
    it carries is a string or null, and `accountId` a string, a list of strings or null.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            return None
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        return None
    if any(data.get(name) is not None and not isinstance(data[name], str) for name in _TEXT_FIELDS):
        return None
    if not all(_is_text_or_texts(data.get(name)) for name in _TEXT_OR_LIST_FIELDS):
        return None
    if not data.get("step") and not data.get("flinksCode"):
        return None
    return dict(data)


def login_id_from_event(event: dict[str, Any]) -> tuple[str, str] | None:
    """(loginId, institution) handed over by a REDIRECT event; None for any other event.

    The loginId comes from the `loginId` query parameter of the event's `url` first, then from a
    `loginId` field (some integrations see one): the first that is a GUID, lowercased. Published
    samples show truncated loginIds ("4c1bb6…-45aa-..."): those are not GUIDs and are rejected.
    The institution comes from the url's `institution` parameter, then the event's; "" if neither.
    """
    if not isinstance(event, dict) or event.get("step") != "REDIRECT":
        return None
    url = event.get("url")
    query = _query(url) if isinstance(url, str) else {}
    login_id = next((c for c in (query.get("loginId"), event.get("loginId")) if is_guid(c)), None)
    if login_id is None:
        return None
    institution = query.get("institution") or event.get("institution")
    return login_id.lower(), institution if isinstance(institution, str) else ""


def redirect_tag(event: dict[str, Any]) -> str | None:
    """Connect's `tag` (the integrator's reference, given to Connect as `tag=`) that a REDIRECT
    carries: the `tag` query parameter of its `url`, then a `tag` field; None if neither is text."""
    if not isinstance(event, dict) or event.get("step") != "REDIRECT":
        return None
    url = event.get("url")
    tag = (_query(url) if isinstance(url, str) else {}).get("tag") or event.get("tag")
    return tag.strip()[:200] or None if isinstance(tag, str) else None


def account_ids_from_event(event: dict[str, Any]) -> list[str]:
    """The account ids a REDIRECT hands over after Connect's account selection; [] for any other
    event, or when no account was selected.

    The `accountId` query parameters of the event's `url` first (comma-separated, or repeated),
    else the event's `accountId` field (a string, comma-separated too, or a list of strings). Only
    GUIDs are kept (Flinks' account ids are GUIDs: a truncated one is dropped, never half-kept), as
    sent, once each, in their order.
    """
    if not isinstance(event, dict) or event.get("step") != "REDIRECT":
        return []
    url = event.get("url")
    from_url = _query_all(url).get("accountId", []) if isinstance(url, str) else []
    ids = _guids(from_url)
    if ids:
        return ids
    field = event.get("accountId")
    return _guids([field] if isinstance(field, str) else field if isinstance(field, list) else [])


def account_ids_from_url(url: str, redirect_url: str) -> list[str]:
    """The account ids of a navigation to `redirect_url` (as Connect appends them after an account
    selection); [] unless `url` is such a navigation with a loginId (see login_id_from_url)."""
    if login_id_from_url(url, redirect_url) is None:
        return []
    return _guids(_query_all(url).get("accountId", []))


def login_id_from_url(url: str, redirect_url: str) -> tuple[str, str] | None:
    """(loginId, institution) from a navigation to `redirect_url` (as Connect appends them).

    None unless `url` has the redirect URL's scheme, host, port and path (its query may differ:
    Connect adds to it) and a GUID `loginId` parameter. The institution is "" when absent.
    """
    page = _page_of(url)
    if page is None or page != _page_of(redirect_url):
        return None
    query = _query(url)
    login_id = query.get("loginId")
    if not is_guid(login_id):
        return None
    return login_id.lower(), query.get("institution", "")


def web_origin(url: str) -> str | None:
    """The origin of an http(s) URL as a browser writes `event.origin`: "http://127.0.0.1:8765".

    Scheme and host are lowercased and a default port is left out; None for any other URL.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, an unclosed IPv6 bracket...
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def _page_of(url: str) -> tuple[str, str] | None:
    """(origin, path without a trailing slash) of an http(s) URL: what a redirect URL is matched on."""
    origin = web_origin(url)
    if origin is None:
        return None
    return origin, urlsplit(url).path.rstrip("/")


def _query(url: str) -> dict[str, str]:
    """The query parameters of `url`, decoded; a repeated name keeps its first value."""
    return {name: values[0] for name, values in _query_all(url).items()}


def _query_all(url: str) -> dict[str, list[str]]:
    """The query parameters of `url`, decoded: every value of each name, in order."""
    try:
        pairs = parse_qsl(urlsplit(url).query)
    except ValueError:
        return {}
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        found.setdefault(name, []).append(value)
    return found


def _is_text_or_texts(value: object) -> bool:
    return (
        value is None
        or isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(item, str) for item in value))
    )


def _guids(values: list[Any]) -> list[str]:
    """The GUIDs among `values` (each may hold several, comma-separated), once each, in order."""
    found: list[str] = []
    seen: set[str] = set()
    for value in values:
        if not isinstance(value, str):
            continue
        for part in value.split(","):
            part = part.strip()
            if is_guid(part) and part.lower() not in seen:
                seen.add(part.lower())
                found.append(part)
    return found
