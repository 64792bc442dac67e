"""Secrets: the authorize secret key and the API key of each environment, in the OS keyring.

`SecretStore` keeps them under the service "Flinks Desktop" and the username `<slug>:auth-secret`
or `<slug>:api-key`; `secrets_for` gives the ones to send to the environment in use.

Choices a reader should know about:

- **No keyring, still working.** keyring has no backend on a headless Linux box: its "fail" backend
  raises NoKeyringError and its "null" backend silently returns None. Both (and a chainer with
  nothing to chain) count as no keyring: secrets are then kept in memory until the app closes,
  and `SecretStore.status.message` says so in one sentence.
- **keyring loads on first use**: importing it and probing its backends takes tens of milliseconds,
  and the window paints first.
- **Secrets from the process environment.** `FLINKS_DESKTOP_AUTH_SECRET` (the authorize secret key)
  and `FLINKS_DESKTOP_API_KEY`, when set and not empty, are the secrets of the environment in use
  (the one the caller asks `secrets_for` or `workspace.client_for` about), each one over the
  keyring's: a headless box with no keyring, a CI job, or a one-off command with another key. They
  are read each time, never stored: not in the settings file, the keyring, a log or the cache.
- **A secret is never logged**, nor the text of a keyring backend's exception (only its type).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, NamedTuple, get_args

from flinks_desktop.core.environments import Environment, SettingsError

if TYPE_CHECKING:  # keyring loads on first use: not before the first paint
    from keyring.backend import KeyringBackend

log = logging.getLogger("flinks_desktop.secrets")

#: The process environment's secrets for the environment in use, over the keyring's (`secrets_for`).
AUTH_SECRET_VARIABLE = "FLINKS_DESKTOP_AUTH_SECRET"
API_KEY_VARIABLE = "FLINKS_DESKTOP_API_KEY"


class SecretStoreError(SettingsError):
    """The system keyring failed to read, save or delete a secret."""


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


class KeyringStatus(NamedTuple):
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
