"""Environments: where the Flinks API and Flinks Connect of a set of connections live.

- "Offline sandbox": the built-in sandbox on a loopback port, the default on a fresh install. The
  app starts it on a free port each run, so its URLs are known only then: `running_at(base_url)`.
- "Flinks toolbox": the public Flinks sandbox (`toolbox-api.private.fin.ag`).
- Any number of private instances (`{instance}-api.private.fin.ag`, the customer's own customer id,
  Connect parameters, whether statements are fetched, how many days of transactions, how long to
  wait for Flinks).
- Any number of environments known by their URL: any server that speaks the Flinks API (a sandbox
  started apart, a mock, a proxy), its API base up to the customer id and, optionally, its Connect
  URL (else the API's origin + /v2/). They are private instances in every other respect (kind
  "private", `custom_api_url` set, no `instance`): the same rules, and treated as production, as a
  server we know nothing of may hold real bank data.

Read top to bottom: `SettingsError`; `Environment`; its constructors (`offline_sandbox`,
`flinks_toolbox`, `private_instance`, `url_environment`, `custom_api`); URL parsing (`parse_api_url`,
`parse_connect_url`). The list of environments and which one is in use is `settings.Settings`; their
secrets are `secret_store.SecretStore`; `workspace.client_for` puts an environment and its secrets
together into a `FlinksClient`.

Choices a reader should know about:

- **Construction validates every field**: an `Environment` that exists can be used. Errors are
  `SettingsError`, whose text is a sentence to show as it is.
- **Slugs are stable and never reused.** An environment's slug names its cache folder and its
  keyring entries. A private instance's slug is made once, when it is added, from its name plus a
  random suffix ("acme-3f9a2b"): renaming keeps its cache and secrets, and a new environment can
  never inherit the cache or the keyring entries of a removed one of the same name. An environment
  known by its URL has a slug derived from that URL.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal, get_args
from urllib.parse import urlencode, urlsplit

from flinks_desktop.core import paths
from flinks_desktop.core.flinks.options import DaysOfTransactions
from flinks_desktop.core.redact import is_guid

TOOLBOX_CUSTOMER_ID = "43387ca6-0391-4c82-857d-70d95f087ecb"

#: Where Connect is told to send the browser on success. `.invalid` never resolves (RFC 2606): the
#: Connect view intercepts the navigation and reads the loginId from it; nothing is ever fetched.
REDIRECT_URL = "https://flinks-desktop.invalid/connected"

#: Connect parameters every environment gets unless it says otherwise.
DEFAULT_CONNECT_PARAMETERS = {
    "consentEnable": "true",
    "institutionFilterEnable": "true",
    "accountSelectorEnable": "false",
    "detailsAndStatementEnable": "true",
    "closeEnable": "true",
    "headerEnable": "true",
    "language": "en",
}

#: Connect parameters the app sets itself: the loginId capture depends on them (only the iframe
#: navigates, to our redirect URL) and the authorize token is new for every session.
APP_CONNECT_PARAMETERS = frozenset({"redirectUrl", "innerRedirect", "authorizeToken"})

Kind = Literal["sandbox", "toolbox", "private"]

OFFLINE_SANDBOX_NAME = "Offline sandbox"
TOOLBOX_NAME = "Flinks toolbox"
TOOLBOX_SLUG = "toolbox"

#: Long enough for "Acme Corp — production (Quebec)", short enough for a window title.
MAX_NAME_LENGTH = 60

#: How long an environment waits for Flinks, in seconds, unless its settings say otherwise: half an
#: hour for data Flinks is still preparing (the client's own default poll limit). A real instance
#: can take that long on a big connection; the offline sandbox answers at once.
DEFAULT_WAIT_LIMIT = 30 * 60
#: The longest wait a setting may ask for (the CLI's --timeout takes as much): a day.
LONGEST_WAIT_LIMIT = 24 * 60 * 60

#: A DNS label is at most 63 characters and the longest host we build is "{instance}-iframe".
_INSTANCE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,54}[a-z0-9])?")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CONNECT_PARAMETER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class SettingsError(Exception):
    """A setting cannot be used or changed; `str()` is a sentence to show as it is."""


@dataclass(frozen=True)
class Environment:
    """One place the Flinks API and Connect live. Construction validates every field."""

    name: str
    kind: Kind
    #: Names this environment's cache folder and keyring entries; never changes (see the module).
    slug: str
    customer_id: str
    #: Toolbox and private: the `{instance}` of `{instance}-api.private.fin.ag`. None for the sandbox.
    instance: str | None = None
    #: Sandbox only: where the built-in sandbox listens this run (http://127.0.0.1:PORT), once it does.
    sandbox_url: str | None = None
    connect_parameters: Mapping[str, str] = field(default_factory=dict)
    statements_enabled: bool = True
    days_of_transactions: DaysOfTransactions = "Days90"
    #: Private only, instead of `instance`: the API base of any server that speaks the Flinks API,
    #: up to and including the customer id, as `parse_api_url` normalizes it.
    custom_api_url: str | None = None
    #: With `custom_api_url` only: its Connect widget, without a query. None: the API's origin + /v2/.
    custom_connect_url: str | None = None
    #: Whole seconds: the most a sync waits for data Flinks answers 202 for, and for any one call
    #: when that is shorter than the client's own deadline (`workspace.open_workspace`).
    wait_limit: int = DEFAULT_WAIT_LIMIT

    def __post_init__(self) -> None:
        if self.kind not in get_args(Kind):
            raise SettingsError(f'"{self.kind}" is not a kind of environment.')
        check_name(self.name)
        if not (isinstance(self.slug, str) and _SLUG.fullmatch(self.slug)):
            raise SettingsError(f'The environment "{self.name}" has no valid folder name (slug).')
        if self.custom_api_url is not None:
            self._check_custom_urls()
        elif self.custom_connect_url is not None:
            raise SettingsError(f'"{self.name}" has a Connect URL but no API URL.')
        elif self.kind != "sandbox":
            check_instance(self.instance)
        check_customer_id(self.customer_id)
        # Read-only, so that a frozen environment cannot be given an unchecked parameter later.
        parameters = MappingProxyType(_checked_connect_parameters(self.connect_parameters))
        object.__setattr__(self, "connect_parameters", parameters)
        if not isinstance(self.statements_enabled, bool):
            raise SettingsError("Whether statements are fetched must be true or false.")
        if self.days_of_transactions not in get_args(DaysOfTransactions):
            raise SettingsError('Days of transactions must be "Days90" or "Days365".')
        limit = self.wait_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LONGEST_WAIT_LIMIT:
            raise SettingsError("The wait for Flinks must be a whole number of seconds, from 1 second to 24 hours.")

    def _check_custom_urls(self) -> None:
        if self.kind != "private" or self.instance is not None:
            raise SettingsError(f'"{self.name}" must be known by its instance or by its API URL, not both.')
        if not isinstance(self.custom_api_url, str):
            raise SettingsError(f'The API URL of "{self.name}" must be text.')
        api = parse_api_url(self.custom_api_url)
        if api.url != self.custom_api_url or api.customer_id != self.customer_id:
            raise SettingsError(
                f'The API URL of "{self.name}" must be {api.url}, with its customer id {api.customer_id}.'
            )
        connect = self.custom_connect_url
        if connect is not None and parse_connect_url(connect) != connect:
            raise SettingsError(f'The Connect URL of "{self.name}" must be {parse_connect_url(connect)}.')

    @property
    def is_production(self) -> bool:
        return self.kind == "private"

    @property
    def api_url(self) -> str:
        """The API base, up to and including the customer id (what `FlinksClient` takes)."""
        if self.custom_api_url is not None:
            return self.custom_api_url
        return f"{self._origin('api')}/v3/{self.customer_id}"

    @property
    def connect_base_url(self) -> str:
        """The Connect widget, without its query."""
        if self.custom_connect_url is not None:
            return self.custom_connect_url
        if self.custom_api_url is not None:
            return f"{parse_api_url(self.custom_api_url).origin}/v2/"
        return f"{self._origin('iframe')}/v2/"

    def connect_url(self, authorize_token: str | None = None, redirect_url: str = REDIRECT_URL) -> str:
        parameters = {**DEFAULT_CONNECT_PARAMETERS, **self.connect_parameters}
        if self.kind != "private":
            parameters.setdefault("demo", "true")  # shows Flinks Capital
        parameters |= {"innerRedirect": "true", "redirectUrl": redirect_url}
        if authorize_token:
            parameters["authorizeToken"] = authorize_token
        return f"{self.connect_base_url}?{urlencode(parameters)}"

    def running_at(self, base_url: str) -> Environment:
        """The offline sandbox, once it listens at `base_url` (http://127.0.0.1:PORT)."""
        if self.kind != "sandbox":
            raise ValueError(f"only the offline sandbox runs locally, not {self.name!r}")
        return replace(self, sandbox_url=base_url.rstrip("/"))

    def _origin(self, role: Literal["api", "iframe"]) -> str:
        if self.kind != "sandbox":
            return f"https://{self.instance}-{role}.private.fin.ag"
        if self.sandbox_url is None:
            raise RuntimeError("the offline sandbox has no URL until it runs: use running_at(base_url)")
        return self.sandbox_url


def offline_sandbox(base_url: str | None = None) -> Environment:
    """The built-in sandbox; with `base_url` (http://127.0.0.1:PORT), once it listens there."""
    # A year of transactions: the sandbox has them, and a demo reads better with them.
    sandbox = Environment(
        name=OFFLINE_SANDBOX_NAME,
        kind="sandbox",
        slug=paths.SANDBOX_SLUG,
        customer_id=TOOLBOX_CUSTOMER_ID,
        days_of_transactions="Days365",
    )
    return sandbox.running_at(base_url) if base_url else sandbox


def flinks_toolbox() -> Environment:
    """The public Flinks sandbox."""
    return Environment(
        name=TOOLBOX_NAME, kind="toolbox", slug=TOOLBOX_SLUG, customer_id=TOOLBOX_CUSTOMER_ID, instance="toolbox"
    )


def private_instance(
    instance: str,
    customer_id: str,
    *,
    name: str | None = None,
    slug: str | None = None,
    connect_parameters: Mapping[str, str] | None = None,
    statements_enabled: bool = True,
    days_of_transactions: DaysOfTransactions = "Days90",
    wait_limit: int = DEFAULT_WAIT_LIMIT,
) -> Environment:
    """A customer's own Flinks instance. `name` defaults to `instance`, `slug` to a new one."""
    name = instance if name is None else name
    return Environment(
        name=name,
        kind="private",
        slug=new_slug(name) if slug is None else slug,
        customer_id=customer_id,
        instance=instance,
        connect_parameters=dict(connect_parameters or {}),
        statements_enabled=statements_enabled,
        days_of_transactions=days_of_transactions,
        wait_limit=wait_limit,
    )


def url_environment(
    name: str,
    api_url: str,
    connect_url: str | None = None,
    *,
    slug: str | None = None,
    connect_parameters: Mapping[str, str] | None = None,
    statements_enabled: bool = True,
    days_of_transactions: DaysOfTransactions = "Days90",
    wait_limit: int = DEFAULT_WAIT_LIMIT,
) -> Environment:
    """An environment known by its URL (see the module): any server that speaks the Flinks API.
    `slug` defaults to a new one. Raises SettingsError with a sentence when a URL is not valid."""
    api = parse_api_url(api_url)
    return Environment(
        name=name,
        kind="private",
        slug=new_slug(name) if slug is None else slug,
        customer_id=api.customer_id,
        custom_api_url=api.url,
        custom_connect_url=None if connect_url is None else parse_connect_url(connect_url),
        connect_parameters=dict(connect_parameters or {}),
        statements_enabled=statements_enabled,
        days_of_transactions=days_of_transactions,
        wait_limit=wait_limit,
    )


#: An API base up to and including the customer id, with an optional path prefix.
_API_URL_PATH = re.compile(r"(?P<prefix>(?:/[^/]+)*?)/v3/(?P<customer_id>[^/]+)/?")
#: A Flinks instance's own API host; and either of its hosts (its API's, its Connect's).
_FLINKS_API_HOST = re.compile(r"(?P<instance>[a-z0-9-]+)-api\.private\.fin\.ag")
_FLINKS_HOST = re.compile(r"(?P<instance>[a-z0-9-]+)-(?:api|iframe)\.private\.fin\.ag")


@dataclass(frozen=True)
class ApiUrl:
    """A Flinks API base as `parse_api_url` read it."""

    #: Normalized: `http(s)://HOST[:PORT][/PREFIX]/v3/{customerId}`, no trailing slash.
    url: str
    #: `http(s)://HOST[:PORT]`.
    origin: str
    prefix: str
    customer_id: str
    #: HOST[:PORT], as a name shows it.
    location: str
    #: The `{instance}` when this is a Flinks instance's own URL (https://{instance}-api.private.fin.ag
    #: /v3/{customerId}, no port, no prefix); else None.
    instance: str | None
    #: What `custom_api` derives its slug from (unchanged since its first version: caches stay put).
    slug_source: str


def parse_api_url(api_url: str) -> ApiUrl:
    """Read a Flinks API base: `http(s)://HOST[:PORT][/PREFIX]/v3/{customerId}`. Raises SettingsError
    with a sentence when it is not of that form or carries a user, password, query or fragment."""
    example = f"http://127.0.0.1:8765/v3/{TOOLBOX_CUSTOMER_ID}"
    try:
        parts = urlsplit(api_url.strip()) if isinstance(api_url, str) else None
        host, port = (parts.hostname, parts.port) if parts is not None else (None, None)
    except ValueError:
        parts, host, port = None, None, None
    path = _API_URL_PATH.fullmatch(parts.path) if parts is not None else None
    if parts is None or parts.scheme not in ("http", "https") or not host or path is None:
        raise SettingsError(
            f'"{api_url}" is not a Flinks API address: give it up to and including the customer id, such as {example}.'
        )
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise SettingsError(
            "Give the Flinks API address alone, with no user, password, query or fragment: "
            "secrets go in the system keyring, never in a command line."
        )
    if not is_guid(path["customer_id"]):
        raise SettingsError(
            f'The customer id "{path["customer_id"]}" is not valid: it is a GUID given by Flinks, '
            f"such as {TOOLBOX_CUSTOMER_ID}."
        )
    location = f"{host}:{port}" if port is not None else host
    origin = _origin(parts.scheme, host, port)
    instance = _FLINKS_API_HOST.fullmatch(host)
    return ApiUrl(
        url=f"{origin}{path['prefix']}/v3/{path['customer_id']}",
        origin=origin,
        prefix=path["prefix"],
        customer_id=path["customer_id"],
        location=location,
        instance=(
            instance["instance"]
            if parts.scheme == "https" and port is None and not path["prefix"] and instance
            else None
        ),
        slug_source=f"{parts.scheme}://{location}{path['prefix']}/v3/{path['customer_id']}",
    )


def parse_connect_url(connect_url: str) -> str:
    """A Connect widget's address, normalized (`http(s)://HOST[:PORT]/PATH`, "/" when it has none).
    Raises SettingsError when it is not one; its parameters are Connect parameters, not a query."""
    try:
        parts = urlsplit(connect_url.strip()) if isinstance(connect_url, str) else None
        host, port = (parts.hostname, parts.port) if parts is not None else (None, None)
    except ValueError:
        parts, host, port = None, None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise SettingsError(
            f'"{connect_url}" is not a Connect address: give it as http(s)://HOST[:PORT]/PATH, '
            "such as https://acme-iframe.private.fin.ag/v2/."
        )
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise SettingsError(
            "Give the Connect address alone, with no user, password, query or fragment: "
            "Connect's parameters are set apart."
        )
    return f"{_origin(parts.scheme, host, port)}{parts.path or '/'}"


def _origin(scheme: str, host: str, port: int | None) -> str:
    """`scheme://host[:port]`, an IPv6 host in brackets."""
    return f"{scheme}://{f'[{host}]' if ':' in host else host}{f':{port}' if port is not None else ''}"


def custom_api(api_url: str) -> Environment:
    """An environment for an API known only by its URL (the CLI's `--api-url`), outside the settings.

    `api_url` is the API base up to and including the customer id: `http(s)://HOST[:PORT][/PREFIX]
    /v3/{customerId}`. A Flinks instance's URL (`https://{instance}-api.private.fin.ag/v3/...`) gives
    that private instance; any other server (a sandbox started apart, a mock, a proxy) is reached at
    its URL as the offline sandbox is at its port (kind "sandbox", `sandbox_url` set). Either way
    the slug comes from the URL: the same URL always finds the same cache and keyring entries, and
    two URLs never share them, nor share them with an environment of the settings. Raises
    SettingsError with a sentence when the URL is not of that form. (`Settings.add_from_url` keeps
    such a server in the settings instead, with a slug of its own.)
    """
    import hashlib  # here: an environment of the settings needs no digest (and OpenSSL loads)

    api = parse_api_url(api_url)
    words = "-".join(re.findall(r"[a-z0-9]+", api.location))[:40].strip("-") or "api"
    slug = f"api-{words}-{hashlib.sha256(api.slug_source.encode()).hexdigest()[:8]}"
    name = f"API at {api.location}"
    if len(name) > MAX_NAME_LENGTH:
        name = name[: MAX_NAME_LENGTH - 1] + "…"
    if api.instance is not None:
        return private_instance(api.instance, api.customer_id, name=name, slug=slug)
    sandbox = Environment(name=name, kind="sandbox", slug=slug, customer_id=api.customer_id)
    return sandbox.running_at(api.origin + api.prefix)


def new_slug(name: str) -> str:
    """ "Banque Équité (prod)" -> "banque-equite-prod-3f9a2b": readable, and never reused."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_name.lower())
    base = "-".join(words)[:40].strip("-") or "environment"
    import secrets  # only when a private instance is added: not at start-up

    return f"{base}-{secrets.token_hex(3)}"


def check_name(name: object) -> None:
    """Raise SettingsError when `name` cannot name an environment (empty, too long, spaces around)."""
    if not isinstance(name, str) or not name.strip():
        raise SettingsError("Give the environment a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise SettingsError(f"An environment name is at most {MAX_NAME_LENGTH} characters long.")
    if name != name.strip() or not name.isprintable():
        raise SettingsError(f'The environment name "{name}" has spaces around it or invisible characters.')


def check_customer_id(customer_id: object) -> None:
    """Raise SettingsError when `customer_id` is not a customer id (a GUID Flinks gives)."""
    if not is_guid(customer_id):
        raise SettingsError(
            f'The customer id "{customer_id}" is not valid: it is a GUID given by Flinks, '
            f"such as {TOOLBOX_CUSTOMER_ID}."
        )


def instance_name(text: str) -> str:
    """The instance as a person gives it: typed ("acme"), or pasted as its URL
    ("https://acme-api.private.fin.ag/v3/...", its Connect URL too) -> "acme"; lowercased."""
    value = text.strip().lower()
    if "." not in value:
        return value  # typed: checked as it is
    host = urlsplit(value if "://" in value else f"https://{value}").hostname or ""
    pasted = _FLINKS_HOST.fullmatch(host)
    return pasted["instance"] if pasted else value


def check_instance(instance: object) -> None:
    """Raise SettingsError when `instance` cannot name a private instance (acme-api.private.fin.ag)."""
    if not (isinstance(instance, str) and _INSTANCE.fullmatch(instance)):
        raise SettingsError(
            f'The instance name "{instance}" is not valid: use lowercase letters, digits and hyphens, '
            'as in "acme" for acme-api.private.fin.ag.'
        )


def _checked_connect_parameters(parameters: object) -> dict[str, str]:
    if not isinstance(parameters, Mapping):
        raise SettingsError("The Connect parameters must be a list of names and values.")
    for name, value in parameters.items():
        if not (isinstance(name, str) and _CONNECT_PARAMETER_NAME.fullmatch(name)):
            raise SettingsError(
                f'The Connect parameter name "{name}" is not valid: use letters and digits, as in "customerName".'
            )
        if name in APP_CONNECT_PARAMETERS:
            raise SettingsError(f'The Connect parameter "{name}" is set by Flinks Desktop and cannot be changed.')
        if not isinstance(value, str):
            raise SettingsError(f'The value of the Connect parameter "{name}" must be text.')
    return dict(parameters)
