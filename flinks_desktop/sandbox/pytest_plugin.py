"""pytest plugin (entry point `pytest11`): a running offline sandbox for any test suite.

    def test_login(flinks_sandbox):
        httpx.post(f"{flinks_sandbox.banking_url}/Authorize", json={...})
        flinks_sandbox.assert_called("Authorize", Username="Greatday")

`flinks_sandbox` is a fresh sandbox on a free loopback port for each test, started with the options
of `flinks_sandbox_config` (a dict of `SandboxConfig` fields: override that fixture in a test module
or a conftest.py). `flinks_sandbox_factory(**SandboxConfig fields)` starts others (secrets,
expiry...). `flinks_sandbox_session` is one sandbox for the whole session, for suites where ~0.2 s a
test adds up: call its `reset()` where a test needs a clean one.

Nothing in the process changes (no environment variable, no setting) until a fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from flinks_desktop.sandbox.server import SandboxConfig, SandboxServer


@pytest.fixture
def flinks_sandbox_config() -> dict[str, Any]:
    """The `SandboxConfig` options of `flinks_sandbox` and of the app's own sandbox
    (`flinks_main_window`): none by default. Override it to change them, e.g.

        @pytest.fixture
        def flinks_sandbox_config():
            return {"mfa_rounds": 2, "auth_key": "s3cret", "pending_polls": 0}
    """
    return {}


@pytest.fixture
def flinks_sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    """`flinks_sandbox_factory(**options)`: a sandbox started with those `SandboxConfig` options;
    every one it started is stopped after the test."""
    started: list[SandboxServer] = []

    def start(**config: Any) -> SandboxServer:
        server = SandboxServer(SandboxConfig(**config)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def flinks_sandbox(
    flinks_sandbox_factory: Callable[..., SandboxServer], flinks_sandbox_config: dict[str, Any]
) -> SandboxServer:
    """A sandbox of the test's own, with the options of `flinks_sandbox_config`."""
    return flinks_sandbox_factory(**flinks_sandbox_config)


@pytest.fixture(scope="session")
def flinks_sandbox_session() -> Iterator[SandboxServer]:
    """One sandbox (default options) for the whole session. Tests share its logins, clock and
    request log: `flinks_sandbox_session.reset()` gives a test a clean one."""
    with SandboxServer() as server:
        yield server
