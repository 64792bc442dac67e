"""How values read on screen: institutions, account types, times, Connect steps (money: core.money)."""

from __future__ import annotations

from datetime import UTC, datetime

ACCOUNT_TYPES = {"CreditCard": "Credit card", "LineOfCredit": "Line of credit"}
INSTITUTIONS = {"FlinksCapital": "Flinks Capital"}
STATUS_LABELS = {"ok": "OK", "needs_mfa": "Needs MFA", "error": "Error", "deleted": "Deleted"}


def institution_name(institution: str | None) -> str:
    if not institution:
        return "Unknown institution"
    return INSTITUTIONS.get(institution, institution)


def account_type(kind: str | None) -> str:
    return ACCOUNT_TYPES.get(kind or "", kind or "")


#: Flinks Connect's steps in words (Flinks' list; an unknown step is shown from its own name): the
#: Connect page's timeline and the Activity tab say the same.
CONNECT_STEPS = {
    "APP_MOUNTED": "Connect opened",
    "APP_ONLINE": "Connect online",
    "APP_OFFLINE": "Connect offline (no network)",
    "COMPONENT_LOAD_INSTITUTION_SELECTOR": "Institution list shown",
    "INSTITUTION_SELECTED": "Institution selected",
    "COMPONENT_LOAD_CREDENTIAL": "Sign-in form shown",
    "SUBMIT_CREDENTIAL": "Sign-in submitted",
    "COMPONENT_LOAD_CREDENTIAL_RETRY": "Sign-in refused, form shown again",
    "COMPONENT_LOAD_MFA": "Security question shown",
    "SUBMIT_MFA": "Security answer submitted",
    "COMPONENT_LOAD_MFA_RETRY": "Answer refused, question shown again",
    "COMPONENT_LOAD_CONSENT": "Consent shown",
    "COMPONENT_ACCEPT_CONSENT": "Consent accepted",
    "COMPONENT_DENY_CONSENT": "Consent refused",
    "COMPONENT_LOAD_ACCOUNT_SELECTION": "Account selection shown",
    "ACCOUNT_SELECTED": "Account selected",
    "COMPONENT_CLOSE_SESSION": "Connect closed",
    "DISABLED_INSTITUTION": "Institution unavailable",
    "MAXIMUM_RETRY_REACHED": "Too many attempts",
    "REDIRECT": "Connected (redirect)",
}


def step_label(step: str) -> str:
    """A Connect step as a person reads it: COMPONENT_LOAD_MFA -> "Security question shown"; one
    not in Flinks' list from its own name: COMPONENT_LOAD_NEW_THING -> "Load new thing"."""
    if step in CONNECT_STEPS:
        return CONNECT_STEPS[step]
    words = step.removeprefix("COMPONENT_").split("_")
    text = " ".join(w if w in {"MFA", "ID"} else w.lower() for w in words)
    return text[:1].upper() + text[1:]


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """ "just now", "5 min ago", "3 h ago", "Nov 2" — how long since, for a list a person scans."""
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    local = moment.astimezone()
    return f"{local:%b} {local.day}" if local.year == now.year else f"{local:%b} {local.day}, {local.year}"


def duration(seconds: float) -> str:
    """ "45 s", "2 min 5 s", "30 min", "1 h 30 min": a length of time, as a person reads it."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, seconds_left = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds_left} s" if seconds_left else f"{minutes} min"
    return f"{seconds_left} s"


def local_time(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment.astimezone():%Y-%m-%d %H:%M}"


#: A connection's state as the connections list shows it: the store's status, and "pending" for a
#: login added here but never synced (status "ok", no snapshot yet), so "OK" always means data.
STATE_LABELS = {"ok": "OK", "needs_mfa": "Needs MFA", "error": "Error", "pending": "Pending", "deleted": "Deleted"}


def login_state(status: str, synced_at: datetime | None) -> str:
    """ "pending" for an "ok" login never synced here; else the status itself."""
    return "pending" if status == "ok" and synced_at is None else status


def plain_tooltip(text: str) -> str:
    """`text` for a tool tip, shown as written: Qt reads tool-tip text that looks like HTML as HTML,
    so a tag from a bank would be rendered. Escaped inside markup of ours (which also wraps)."""
    # html.escape(text, quote=False), written out: the `html` module and its entity table cost the
    # first paint ~2 ms (the connections filter's tool tips are made before it).
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<p style='white-space:pre-wrap'>{escaped}</p>"
