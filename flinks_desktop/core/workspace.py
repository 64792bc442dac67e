"""A workspace: one environment, ready to use — its Flinks client, its sync engine, its cache.

The GUI and the CLI both open one; neither wires a client, a `Sync` and a cache path by hand.
The offline sandbox must already run (`Environment.running_at`): starting it is the caller's job,
as the sandbox stands apart from the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flinks_desktop.core.environments import Environment
from flinks_desktop.core.flinks import FlinksClient, NumberOfStatements
from flinks_desktop.core.flinks.client import DEFAULT_DEADLINE
from flinks_desktop.core.secret_store import SecretStore, secrets_for
from flinks_desktop.core.settings import Settings
from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import Sync

#: How often a 202 is polled: Flinks asks for 10 s; the local sandbox answers at once.
POLL_INTERVAL = {"sandbox": 1.0, "toolbox": 10.0, "private": 10.0}
#: Statements fetched with each sync, where the environment enables them.
STATEMENTS: NumberOfStatements = "Months3"


@dataclass
class Workspace:
    environment: Environment
    client: FlinksClient
    sync: Sync
    cache_path: Path

    def open_reader(self) -> Store:
        """A `Store` for reading on the calling thread (the sync writes on its own thread)."""
        return Store.open(self.cache_path)

    def apply(self, environment: Environment, secrets: SecretStore) -> None:
        """Use the settings of `environment` (this one, edited) and its secrets from the next call
        on, without closing anything: the client and the cache stay open. Raises SettingsError
        (keyring unreadable) or ValueError (another environment), and then changes nothing."""
        if environment.slug != self.environment.slug:
            raise ValueError(f"{environment.name!r} is another environment: open a workspace for it")
        auth_secret, api_key = secrets_for(environment, secrets)
        if environment.kind == "sandbox" and environment.sandbox_url is None:  # it runs where it ran
            # Same slug, so the open environment is this sandbox: it has a URL (client_for needed its api_url).
            assert self.environment.sandbox_url is not None
            environment = environment.running_at(self.environment.sandbox_url)
        self.client.set_secrets(auth_secret=auth_secret, api_key=api_key)
        self.client.set_limits(**_limits(environment.wait_limit))
        self.sync.configure(days=environment.days_of_transactions, statements=_statements(environment))
        self.environment = environment

    async def aclose(self) -> None:
        await self.sync.close()
        await self.client.aclose()


def open_workspace(
    settings: Settings,
    secrets: SecretStore,
    environment: Environment,
    *,
    poll_interval: float | None = None,
    timeout: float | None = None,
) -> Workspace:
    """Everything needed to work with `environment`. Raises SettingsError (keyring unreadable).

    `timeout` (seconds) bounds every wait for Flinks: a call (its whole exchange, at most the
    client's default deadline) and the wait for data Flinks answers 202 for (poll_timeout). None:
    the environment's own limit (`Environment.wait_limit`, a setting; the CLI's --timeout is over it)."""
    interval = POLL_INTERVAL[environment.kind] if poll_interval is None else poll_interval
    limits = _limits(environment.wait_limit if timeout is None else timeout)
    client = client_for(environment, secrets, poll_interval=interval, **limits)
    cache_path = settings.cache_path(environment)
    sync = Sync(
        client,
        cache_path,
        environment=environment.slug,
        days=environment.days_of_transactions,
        statements=_statements(environment),
    )
    return Workspace(environment, client, sync, cache_path)


def client_for(environment: Environment, secrets: SecretStore, **client_options: Any) -> FlinksClient:
    """A `FlinksClient` for `environment` with its secrets (`secrets_for`; none sent when none are set).

    `client_options` go to `FlinksClient` (poll_interval, timeout, transport...). Raises
    SecretStoreError when the keyring cannot be read.
    """
    auth_secret, api_key = secrets_for(environment, secrets)
    return FlinksClient(environment.api_url, auth_secret=auth_secret, api_key=api_key, **client_options)


def _limits(wait: float) -> dict[str, float]:
    """The client's limits for a wait of `wait` seconds: the 202 wait, and no call longer than it
    (nor than the client's default deadline: a long wait for data is not a long wait for one answer)."""
    return {"poll_timeout": wait, "deadline": min(wait, DEFAULT_DEADLINE)}


def _statements(environment: Environment) -> NumberOfStatements | None:
    return STATEMENTS if environment.statements_enabled else None
