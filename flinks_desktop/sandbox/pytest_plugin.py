"""pytest plugin (entry point `pytest11`): a running offline sandbox for any test suite.

    def test_login(flinks_sandbox):
        httpx.post(f"{flinks_sandbox.banking_url}/Authorize", json={...})

`flinks_sandbox` is a fresh sandbox on a free loopback port for each test.
`flinks_sandbox_factory(**SandboxConfig fields)` starts one with other settings (secrets, expiry...).
"""

from __future__ import annotations

import pytest

from flinks_desktop.sandbox.server import SandboxConfig, SandboxServer


@pytest.fixture
def flinks_sandbox_factory():
    started: list[SandboxServer] = []

    def start(**config) -> SandboxServer:
        server = SandboxServer(SandboxConfig(**config)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def flinks_sandbox(flinks_sandbox_factory) -> SandboxServer:
    return flinks_sandbox_factory()
