"""Environments, the settings file that lists them, and their secrets in the OS keyring.

An environment is where the Flinks API and Flinks Connect of a set of connections live:

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

Read top to bottom: errors; `Environment` and its constructors; `Settings`, the file in the data
directory; `SecretStore`, the keyring; `secrets_for`, an environment's secrets from the process
environment or the keyring; `client_for`, which puts an environment and its secrets together into a
`FlinksClient`.

Choices a reader should know about:

- **No secret in the settings file, ever.** `Settings` never receives one: the authorize secret
  key and the API key go only to `SecretStore`, under the service "Flinks Desktop" and the
  username `<slug>:auth-secret` or `<slug>:api-key`.
- **Slugs are stable and never reused.** An environment's slug names its cache folder and its
  keyring entries. A private instance's slug is made once, when it is added, from its name plus a
  random suffix ("acme-3f9a2b"): renaming keeps its cache and secrets, and a new environment can
  never inherit the cache or the keyring entries of a removed one of the same name.
- **Where the data comes from is fixed.** The instance and customer id of a private environment
  cannot be changed: its cache holds that customer's connections. Add another environment instead.
  Its name, Connect parameters, statements, days of transactions and wait for Flinks can be changed.
- **The environment in use cannot be removed**, and the two built-ins can be neither removed nor
  changed. The file records the active environment by slug, so a rename does not lose it; an
  active slug the file does not know (a hand edit) falls back to the offline sandbox.
- **A bad settings file is never overwritten.** `load` raises `SettingsFileError` and leaves the
  file alone, so no environment is lost by accident; only `start_over`, which the user asks for,
  moves it aside as `settings.json.bak` and starts from the defaults.
- **Changes stay in memory until `save()`**, which writes a temporary file and swaps it in
  (`os.replace`): a crash leaves the old file or the new one, never half of one. Owner-only (0600).
- **No keyring, still working.** keyring has no backend on a headless Linux box: its "fail" backend
  raises NoKeyringError and its "null" backend silently returns None. Both (and a chainer with
  nothing to chain) count as no keyring: secrets are then kept in memory until the app closes,
  and `SecretStore.status.message` says so in one sentence.
- **Secrets from the process environment.** `FLINKS_DESKTOP_AUTH_SECRET` (the authorize secret key)
  and `FLINKS_DESKTOP_API_KEY`, when set and not empty, are the secrets of the environment in use
  (the one the caller asks `secrets_for` or `client_for` about), each one over the keyring's: a
  headless box with no keyring, a CI job, or a one-off command with another key. They are read
  each time, never stored: not in the settings file, the keyring, a log or the cache.
- **The file's format version is the lowest that holds its content**: 1 while it has only private
  instances (so an older Flinks Desktop still reads it), 2 once it holds an environment known by
  its URL (an older one then refuses the file rather than dropping that environment on its next
  save). Both are read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, get_args
from urllib.parse import urlencode, urlsplit

from flinks_desktop.core import paths
from flinks_desktop.core.atomic_file import atomic_write
from flinks_desktop.core.flinks.models import DaysOfTransactions
from flinks_desktop.core.redact import is_guid

if TYPE_CHECKING:  # keyring and the client (httpx) load on first use: not before the first paint
    from keyring.backend import KeyringBackend

    from flinks_desktop.core.flinks import FlinksClient

log = logging.getLogger("flinks_desktop.settings")

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

#: The settings file format; a newer one is refused rather than half-read and rewritten. Version 1
#: has only private instances by `instance`; 2 adds environments known by their URL (`api_url`).
SETTINGS_VERSION = 2
#: What a file without an environment known by its URL is written as (see the module).
_PLAIN_SETTINGS_VERSION = 1

#: The process environment's secrets for the environment in use, over the keyring's (`secrets_for`).
AUTH_SECRET_VARIABLE = "FLINKS_DESKTOP_AUTH_SECRET"
API_KEY_VARIABLE = "FLINKS_DESKTOP_API_KEY"


class SettingsError(Exception):
    """A setting cannot be used or changed; `str()` is a sentence to show as it is."""


class SettingsFileError(SettingsError):
    """The settings file cannot be read or used. It was left untouched; see `Settings.start_over`."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"The settings file {path} cannot be used. {reason} It was left as it is, so that no environment is lost."
        )
        self.path = path


class SecretStoreError(SettingsError):
    """The system keyring failed to read, save or delete a secret."""


# -- environments -------------------------------------------------------------------------------


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
        _check_name(self.name)
        if not (isinstance(self.slug, str) and _SLUG.fullmatch(self.slug)):
            raise SettingsError(f'The environment "{self.name}" has no valid folder name (slug).')
        if self.custom_api_url is not None:
            self._check_custom_urls()
        elif self.custom_connect_url is not None:
            raise SettingsError(f'"{self.name}" has a Connect URL but no API URL.')
        elif self.kind != "sandbox":
            _check_instance(self.instance)
        if not is_guid(self.customer_id):
            raise SettingsError(
                f'The customer id "{self.customer_id}" is not valid: it is a GUID given by Flinks, '
                f"such as {TOOLBOX_CUSTOMER_ID}."
            )
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
        slug=_new_slug(name) if slug is None else slug,
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
        slug=_new_slug(name) if slug is None else slug,
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
#: A Flinks instance's own API host.
_FLINKS_API_HOST = re.compile(r"(?P<instance>[a-z0-9-]+)-api\.private\.fin\.ag")


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


def _new_slug(name: str) -> str:
    """ "Banque Équité (prod)" -> "banque-equite-prod-3f9a2b": readable, and never reused."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_name.lower())
    base = "-".join(words)[:40].strip("-") or "environment"
    import secrets  # only when a private instance is added: not at start-up

    return f"{base}-{secrets.token_hex(3)}"


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise SettingsError("Give the environment a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise SettingsError(f"An environment name is at most {MAX_NAME_LENGTH} characters long.")
    if name != name.strip() or not name.isprintable():
        raise SettingsError(f'The environment name "{name}" has spaces around it or invisible characters.')


def _check_instance(instance: object) -> None:
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


# -- the settings file --------------------------------------------------------------------------


class Settings:
    """The environments of one data directory and which one is in use.

    `Settings(data_dir)` is a fresh install (the two built-ins, the offline sandbox in use);
    `Settings.load(data_dir)` reads `settings.json`. Changes stay in memory until `save()`.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._private: list[Environment] = []
        self._active_slug = paths.SANDBOX_SLUG

    @property
    def path(self) -> Path:
        return paths.settings_file(self.data_dir)

    # -- reading and writing ---------------------------------------------------------------------

    @classmethod
    def load(cls, data_dir: Path) -> Settings:
        """The settings of `data_dir`; the defaults when it has no settings file yet.

        Raises SettingsFileError, leaving the file untouched, when it cannot be read or used.
        """
        settings = cls(data_dir)
        try:
            text = settings.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return settings
        except OSError as error:
            raise SettingsFileError(settings.path, f"It cannot be read ({error.strerror or error}).") from error
        except UnicodeDecodeError as error:
            raise SettingsFileError(settings.path, "It is not UTF-8 text.") from error
        try:
            settings._read(json.loads(text))
        except json.JSONDecodeError as error:
            raise SettingsFileError(
                settings.path, f"It is not valid JSON (line {error.lineno}: {error.msg})."
            ) from error
        except SettingsError as error:
            raise SettingsFileError(settings.path, str(error)) from error
        return settings

    @classmethod
    def start_over(cls, data_dir: Path) -> tuple[Settings, Path | None]:
        """The default settings, after moving an unusable settings file aside (the user's choice).

        Returns the settings and where the old file now is (None if there was none). Nothing is
        deleted: the old file is renamed to `settings.json.bak` (or `settings.json.2.bak`, ...).
        """
        settings = cls(data_dir)
        if not settings.path.exists():
            return settings, None
        kept_as = _free_backup_path(settings.path)
        try:
            settings.path.rename(kept_as)
        except OSError as error:
            raise SettingsError(
                f"The settings file {settings.path} cannot be moved aside ({error.strerror or error})."
            ) from error
        log.warning("settings file set aside as %s; starting from the default environments", kept_as)
        return settings, kept_as

    def save(self) -> None:
        """Write the settings file atomically, owner-only. Raises SettingsError when it cannot."""
        by_url = any(environment.custom_api_url is not None for environment in self._private)
        document = {
            "version": SETTINGS_VERSION if by_url else _PLAIN_SETTINGS_VERSION,
            "active": self._active_slug,
            "private_instances": [_private_to_json(environment) for environment in self._sorted_private()],
        }
        try:
            with atomic_write(self.path, "w", encoding="utf-8") as file:
                file.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        except OSError as error:
            raise SettingsError(
                f"Flinks Desktop cannot save its settings in {self.path} ({error.strerror or error})."
            ) from error

    def _read(self, document: object) -> None:
        if not isinstance(document, dict):
            raise SettingsError("It does not hold a JSON object.")
        version = document.get("version")
        if isinstance(version, int) and version > SETTINGS_VERSION:
            raise SettingsError("It was written by a newer version of Flinks Desktop.")
        if version not in (_PLAIN_SETTINGS_VERSION, SETTINGS_VERSION) or isinstance(version, bool):
            raise SettingsError("Its format version is missing or unknown.")
        entries = document.get("private_instances", [])
        if not isinstance(entries, list):
            raise SettingsError('Its "private_instances" is not a list.')
        for entry in entries:
            environment = _private_from_json(entry, version)
            self._check_name_free(environment.name)
            if any(environment.slug == known.slug for known in self.environments()):
                raise SettingsError(f'Two environments share the folder name "{environment.slug}".')
            self._private.append(environment)
        active = document.get("active")
        if isinstance(active, str) and any(active == environment.slug for environment in self.environments()):
            self._active_slug = active

    # -- environments ------------------------------------------------------------------------------

    def environments(self) -> list[Environment]:
        """The offline sandbox, the Flinks toolbox, then the private instances by name."""
        return [offline_sandbox(), flinks_toolbox(), *self._sorted_private()]

    def environment(self, name: str) -> Environment:
        """The environment called `name` (names are unique regardless of case)."""
        for environment in self.environments():
            if environment.name.casefold() == name.strip().casefold():
                return environment
        raise SettingsError(f'There is no environment named "{name}".')

    @property
    def active(self) -> Environment:
        """The environment in use (the offline sandbox's URL is added once it runs: `running_at`)."""
        return next(e for e in self.environments() if e.slug == self._active_slug)

    def set_active(self, name: str) -> Environment:
        environment = self.environment(name)
        self._active_slug = environment.slug
        return environment

    def add_private(
        self,
        name: str,
        instance: str,
        customer_id: str,
        *,
        connect_parameters: Mapping[str, str] | None = None,
        statements_enabled: bool = True,
        days_of_transactions: DaysOfTransactions = "Days90",
        wait_limit: int = DEFAULT_WAIT_LIMIT,
    ) -> Environment:
        """Add a private instance. Raises SettingsError with a sentence when a field is not valid."""
        name = name.strip()
        self._check_name_free(name)
        slug = self._free_slug(name)
        environment = private_instance(
            instance.strip().lower(),
            customer_id.strip(),
            name=name,
            slug=slug,
            connect_parameters=connect_parameters,
            statements_enabled=statements_enabled,
            days_of_transactions=days_of_transactions,
            wait_limit=wait_limit,
        )
        self._private.append(environment)
        return environment

    def add_from_url(self, name: str, api_url: str, connect_url: str | None = None) -> Environment:
        """Add any server that speaks the Flinks API, by its API base up to the customer id.

        A Flinks instance's own URL (https://{instance}-api.private.fin.ag/v3/{customerId}) with no
        other Connect URL than its own is added as that private instance (`add_private`); any other
        is kept with its URLs (`url_environment`; Connect at `connect_url`, else the API's origin +
        /v2/). Raises SettingsError with a sentence when a field is not valid.
        """
        name = name.strip()
        self._check_name_free(name)
        api = parse_api_url(api_url)
        if api.instance is not None:
            connect = None if connect_url is None else parse_connect_url(connect_url)
            if connect in (None, f"https://{api.instance}-iframe.private.fin.ag/v2/"):
                return self.add_private(name, api.instance, api.customer_id)
        environment = url_environment(name, api.url, connect_url, slug=self._free_slug(name))
        self._private.append(environment)
        return environment

    def update_private(
        self,
        name: str,
        *,
        new_name: str | None = None,
        connect_parameters: Mapping[str, str] | None = None,
        statements_enabled: bool | None = None,
        days_of_transactions: DaysOfTransactions | None = None,
        wait_limit: int | None = None,
    ) -> Environment:
        """Change what may change of a private instance (not its instance or customer id)."""
        current = self._private_named(name, "changed")
        changes: dict[str, Any] = {}
        if new_name is not None and new_name.strip() != current.name:
            new_name = new_name.strip()
            if new_name.casefold() != current.name.casefold():
                self._check_name_free(new_name)
            changes["name"] = new_name
        if connect_parameters is not None:
            changes["connect_parameters"] = dict(connect_parameters)
        if statements_enabled is not None:
            changes["statements_enabled"] = statements_enabled
        if days_of_transactions is not None:
            changes["days_of_transactions"] = days_of_transactions
        if wait_limit is not None:
            changes["wait_limit"] = wait_limit
        updated = replace(current, **changes)
        self._private = [updated if e.slug == current.slug else e for e in self._private]
        return updated

    def remove_private(self, name: str) -> Environment:
        """Remove a private instance from the list; its cache folder is left on disk.

        Returns it, so the caller can also `SecretStore.forget` it and, if the user asks, delete
        its cache folder. Refuses the environment in use: switch to another one first.
        """
        environment = self._private_named(name, "removed")
        if environment.slug == self._active_slug:
            raise SettingsError(
                f'"{environment.name}" is the environment in use: switch to another one before removing it.'
            )
        self._private = [e for e in self._private if e.slug != environment.slug]
        return environment

    # -- files of an environment ----------------------------------------------------------------

    def cache_path(self, environment: Environment) -> Path:
        """The environment's own SQLite cache (its folder is created; the file may not exist yet)."""
        return paths.cache_file(self.data_dir, environment.slug)

    def sandbox_state_file(self) -> Path:
        """Where the offline sandbox keeps its logins across restarts (`SandboxConfig.state_file`)."""
        return paths.sandbox_state_file(self.data_dir)

    # -- helpers -----------------------------------------------------------------------------------

    def _sorted_private(self) -> list[Environment]:
        return sorted(self._private, key=lambda environment: environment.name.casefold())

    def _check_name_free(self, name: str) -> None:
        _check_name(name)
        if any(environment.name.casefold() == name.casefold() for environment in self.environments()):
            raise SettingsError(f'There is already an environment named "{name}".')

    def _free_slug(self, name: str) -> str:
        """A new slug for `name` that no environment of the settings has (random: never reused)."""
        taken = {environment.slug for environment in self.environments()}
        slug = _new_slug(name)
        while slug in taken:
            slug = _new_slug(name)
        return slug

    def _private_named(self, name: str, change: str) -> Environment:
        environment = self.environment(name)
        if environment.kind != "private":
            raise SettingsError(f'"{environment.name}" is built in and cannot be {change}.')
        return environment


def _private_to_json(environment: Environment) -> dict[str, object]:
    if environment.custom_api_url is not None:
        where: dict[str, object] = {"api_url": environment.custom_api_url}
        if environment.custom_connect_url is not None:
            where["connect_url"] = environment.custom_connect_url
    else:
        where = {"instance": environment.instance, "customer_id": environment.customer_id}
    # The wait is written only when it was changed: an environment left alone follows the default
    # (and its entry reads as an older Flinks Desktop wrote it, which ignores the key anyway).
    wait = {} if environment.wait_limit == DEFAULT_WAIT_LIMIT else {"wait_limit_seconds": environment.wait_limit}
    return {
        "name": environment.name,
        "slug": environment.slug,
        **where,
        "connect_parameters": dict(environment.connect_parameters),
        "statements_enabled": environment.statements_enabled,
        "days_of_transactions": environment.days_of_transactions,
        **wait,
    }


def _private_from_json(entry: object, version: int = SETTINGS_VERSION) -> Environment:
    if not isinstance(entry, dict):
        raise SettingsError("One of its environments is not a JSON object.")
    by_url = version >= SETTINGS_VERSION and "api_url" in entry
    if by_url and "instance" in entry:
        raise SettingsError('One of its environments has both an "instance" and an "api_url".')
    required = ("name", "slug", "api_url") if by_url else ("name", "slug", "instance", "customer_id")
    missing = [key for key in required if key not in entry]
    if missing:
        raise SettingsError(f'One of its environments has no "{missing[0]}".')
    options = {
        "name": entry["name"],
        "slug": entry["slug"],
        "connect_parameters": entry.get("connect_parameters", {}),
        "statements_enabled": entry.get("statements_enabled", True),
        "days_of_transactions": entry.get("days_of_transactions", "Days90"),
        "wait_limit": entry.get("wait_limit_seconds", DEFAULT_WAIT_LIMIT),  # absent in older files
    }
    if by_url:
        api_url, connect_url = entry["api_url"], entry.get("connect_url")
        if not isinstance(api_url, str) or not (connect_url is None or isinstance(connect_url, str)):
            raise SettingsError("One of its environments has an API or Connect URL that is not text.")
        environment = url_environment(api_url=api_url, connect_url=connect_url, **options)
        if environment.custom_api_url != api_url or environment.custom_connect_url != connect_url:
            raise SettingsError(f'The URLs of "{environment.name}" are not written as Flinks Desktop writes them.')
        return environment
    return private_instance(entry["instance"], entry["customer_id"], **options)


def _free_backup_path(path: Path) -> Path:
    backup = path.with_name(f"{path.name}.bak")
    number = 2
    while backup.exists():
        backup = path.with_name(f"{path.name}.{number}.bak")
        number += 1
    return backup


# -- secrets --------------------------------------------------------------------------------------

KEYRING_SERVICE = "Flinks Desktop"

SecretKind = Literal["auth-secret", "api-key"]

#: How each secret is called in a sentence.
SECRET_LABELS: dict[SecretKind, str] = {"auth-secret": "authorize secret key", "api-key": "API key"}
#: The process environment's variable of each secret (`secrets_for`).
SECRET_VARIABLES: dict[SecretKind, str] = {"auth-secret": AUTH_SECRET_VARIABLE, "api-key": API_KEY_VARIABLE}

NO_KEYRING_MESSAGE = (
    "No system keyring is available, so secrets are kept only until Flinks Desktop closes; "
    "install and unlock a keyring such as GNOME Keyring or KWallet to remember them."
)


@dataclass(frozen=True)
class KeyringStatus:
    available: bool
    #: The backend keyring chose, for the settings dialog and bug reports.
    backend_name: str
    #: One sentence for the user.
    message: str


class SecretStore:
    """The authorize secret key and API key of each environment, in the OS keyring.

    With no usable keyring (see `status`), secrets live in this object until the app closes.
    Every keyring failure raises SecretStoreError with a sentence; a secret is never logged.
    """

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self._service = service
        # keyring's backend is looked for on first use (loading keyring and probing its backends
        # takes tens of milliseconds: the window paints first).
        self._detected: tuple[KeyringBackend | None, KeyringStatus] | None = None
        #: Used only when no keyring is available: "<slug>:<kind>" -> secret.
        self._session: dict[str, str] = {}

    @property
    def _backend(self) -> KeyringBackend | None:
        if self._detected is None:
            self._detected = _detect_keyring()
        return self._detected[0]

    @property
    def status(self) -> KeyringStatus:
        """Whether secrets go to the system keyring, which one, and a sentence saying so."""
        if self._detected is None:
            self._detected = _detect_keyring()
        return self._detected[1]

    def get(self, environment: Environment, kind: SecretKind) -> str | None:
        username = _username(environment, kind)
        if self._backend is None:
            return self._session.get(username)
        try:
            return self._backend.get_password(self._service, username)
        except Exception as error:  # any backend failure: see _keyring_failure
            raise _keyring_failure("read", environment, kind, error) from error

    def set(self, environment: Environment, kind: SecretKind, value: str) -> None:
        """Keep `value` (surrounding spaces, a copy-and-paste accident, removed)."""
        username = _username(environment, kind)
        value = value.strip()
        if not value:
            raise SecretStoreError(f"The {SECRET_LABELS[kind]} is empty: nothing was saved.")
        if self._backend is None:
            self._session[username] = value
            return
        try:
            self._backend.set_password(self._service, username, value)
        except Exception as error:  # any backend failure: see _keyring_failure
            raise _keyring_failure("save", environment, kind, error) from error

    def delete(self, environment: Environment, kind: SecretKind) -> None:
        """Forget one secret; nothing happens when it is not set."""
        username = _username(environment, kind)
        if self._backend is None:
            self._session.pop(username, None)
            return
        # Backends raise PasswordDeleteError for a missing entry as for a real failure: look first.
        if self.get(environment, kind) is None:
            return
        try:
            self._backend.delete_password(self._service, username)
        except Exception as error:  # any backend failure: see _keyring_failure
            raise _keyring_failure("delete", environment, kind, error) from error

    def is_set(self, environment: Environment, kind: SecretKind) -> bool:
        """Whether the secret exists: the settings dialog shows "set" or "not set", never the value."""
        return self.get(environment, kind) is not None

    def forget(self, environment: Environment) -> None:
        """Delete every secret of `environment` (when it is removed from the settings)."""
        for kind in get_args(SecretKind):
            self.delete(environment, kind)


def _detect_keyring() -> tuple[KeyringBackend | None, KeyringStatus]:
    """keyring's chosen backend, or None (and why) when secrets cannot be kept in it."""
    import keyring
    from keyring.backends import chainer, fail, null

    try:
        backend = keyring.get_keyring()
    except Exception as error:  # a broken keyring plugin or config must not stop the app
        log.warning("no keyring backend could be loaded: %s", type(error).__name__)
        return None, KeyringStatus(False, "none", NO_KEYRING_MESSAGE)
    if isinstance(backend, chainer.ChainerBackend):
        chained = list(backend.backends)
        name = ", ".join(link.name for link in chained) or backend.name
        usable = bool(chained)
    else:
        name = backend.name
        usable = not isinstance(backend, (fail.Keyring, null.Keyring))
    if not usable:
        log.warning("no usable keyring backend (%s): secrets are kept for this session only", name)
        return None, KeyringStatus(False, name, NO_KEYRING_MESSAGE)
    return backend, KeyringStatus(True, name, f"Secrets are kept in the system keyring ({name}).")


def _username(environment: Environment, kind: SecretKind) -> str:
    if kind not in SECRET_LABELS:
        raise ValueError(f"unknown secret kind {kind!r}")
    return f"{environment.slug}:{kind}"


def _keyring_failure(action: str, environment: Environment, kind: SecretKind, error: Exception) -> SecretStoreError:
    """The sentence for a keyring that failed to `action` a secret.

    Callers catch every exception of the backend call, not just KeyringError: backends talk to
    D-Bus, the macOS Security framework or the Windows Credential Manager and also let their own
    exceptions through (jeepney, secretstorage, pywin32), and none of them may end the app. Only
    the exception's type is logged: its text is the backend's and is not shown or trusted.
    """
    from keyring.errors import KeyringLocked

    log.warning("the keyring could not %s the %s of %s: %s", action, kind, environment.slug, type(error).__name__)
    reason = "it is locked" if isinstance(error, KeyringLocked) else "it may be locked or not running"
    return SecretStoreError(
        f'The system keyring could not {action} the {SECRET_LABELS[kind]} of "{environment.name}": '
        f"{reason}. Unlock it and try again."
    )


def secrets_for(
    environment: Environment, secrets: SecretStore, *, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """The authorize secret key and the API key to send to `environment`, the environment in use.

    Each is `FLINKS_DESKTOP_AUTH_SECRET` / `FLINKS_DESKTOP_API_KEY` of the process environment
    (`environ`, default `os.environ`) when set and not blank, else the keyring's (None when it has
    none). The keyring is read only for a secret the process environment does not give, and read
    again at every call: call this again to pick up a change. Raises SecretStoreError when the
    keyring cannot be read.
    """
    environ = os.environ if environ is None else environ
    found: list[str | None] = []
    for kind in get_args(SecretKind):
        value = (environ.get(SECRET_VARIABLES[kind]) or "").strip()
        found.append(value or secrets.get(environment, kind))
    auth_secret, api_key = found
    return auth_secret, api_key


def client_for(environment: Environment, secrets: SecretStore, **client_options: Any) -> FlinksClient:
    """A `FlinksClient` for `environment` with its secrets (`secrets_for`; none sent when none are set).

    `client_options` go to `FlinksClient` (poll_interval, timeout, transport...). Raises
    SecretStoreError when the keyring cannot be read.
    """
    from flinks_desktop.core.flinks import FlinksClient

    auth_secret, api_key = secrets_for(environment, secrets)
    return FlinksClient(environment.api_url, auth_secret=auth_secret, api_key=api_key, **client_options)
