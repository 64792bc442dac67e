"""The settings file: the environments of one data directory and which one is in use.

`Settings(data_dir)` is a fresh install (the two built-ins, the offline sandbox in use);
`Settings.load(data_dir)` reads `settings.json`. The environments themselves are
`environments.Environment`; their secrets never come here (`secret_store.SecretStore`).

Choices a reader should know about:

- **No secret in the settings file, ever.** `Settings` never receives one: the authorize secret
  key and the API key go only to `SecretStore`.
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
- **The file's format version is the lowest that holds its content**: 1 while it has only private
  instances (so an older Flinks Desktop still reads it), 2 once it holds an environment known by
  its URL (an older one then refuses the file rather than dropping that environment on its next
  save). Both are read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from flinks_desktop.core import paths
from flinks_desktop.core.atomic_file import atomic_write
from flinks_desktop.core.environments import (
    DEFAULT_WAIT_LIMIT,
    Environment,
    SettingsError,
    check_customer_id,
    check_instance,
    check_name,
    flinks_toolbox,
    instance_name,
    new_slug,
    offline_sandbox,
    parse_api_url,
    parse_connect_url,
    private_instance,
    url_environment,
)
from flinks_desktop.core.flinks.options import DaysOfTransactions

log = logging.getLogger("flinks_desktop.settings")

#: has only private instances by `instance`; 2 adds environments known by their URL (`api_url`).
SETTINGS_VERSION = 2
#: What a file without an environment known by its URL is written as (see the module).
_PLAIN_SETTINGS_VERSION = 1


class SettingsFileError(SettingsError):
    """The settings file cannot be read or used. It was left untouched; see `Settings.start_over`."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"The settings file {path} cannot be used. {reason} It was left as it is, so that no environment is lost."
        )
        self.path = path


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
            instance_name(instance),
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

    def private_problems(
        self, name: str, instance: str | None = None, customer_id: str | None = None, *, renaming: str | None = None
    ) -> dict[str, str]:
        """What is wrong with a private instance's fields, all at once, for a form to say beside
        each field: {"name" | "instance" | "customer_id": sentence}; empty when all are fine.
        `renaming`: the name of the instance being edited (its own name is not taken). An instance
        or customer id of None is not checked (an edit cannot change them)."""
        problems: dict[str, str] = {}
        name = name.strip()
        try:
            if renaming is None or name.casefold() != renaming.casefold():
                self._check_name_free(name)
            else:
                check_name(name)
        except SettingsError as error:
            problems["name"] = str(error)
        for field, value, check in (
            ("instance", None if instance is None else instance_name(instance), check_instance),
            ("customer_id", None if customer_id is None else customer_id.strip(), check_customer_id),
        ):
            if value is None:
                continue
            try:
                check(value)
            except SettingsError as error:
                problems[field] = str(error)
        return problems

    def _check_name_free(self, name: str) -> None:
        check_name(name)
        if any(environment.name.casefold() == name.casefold() for environment in self.environments()):
            raise SettingsError(f'There is already an environment named "{name}".')

    def _free_slug(self, name: str) -> str:
        """A new slug for `name` that no environment of the settings has (random: never reused)."""
        taken = {environment.slug for environment in self.environments()}
        slug = new_slug(name)
        while slug in taken:
            slug = new_slug(name)
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
