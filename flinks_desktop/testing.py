"""Stand-ins for what a test machine lacks, shared by our tests, the pytest plugin, the benchmarks
and the screenshot script (no pytest import here).

A desktop keyring daemon cannot run on a headless test machine: `MemoryKeyring` behaves like one
(set, get, delete that fails for a missing entry) and keeps nothing once the process ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A keyring in a dict. Its negative priority keeps keyring's own detection from ever choosing
    it: defining a backend class registers it with keyring, and only `keyring.set_keyring` (or
    `memory_keyring()`) installs it."""

    priority = -10
    name = "in-memory keyring"

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


@contextmanager
def installed_keyring(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    """`backend` as the process's keyring for the block; the previous one comes back after."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def memory_keyring():
    """`with memory_keyring() as backend:` an empty `MemoryKeyring` for the block."""
    return installed_keyring(MemoryKeyring())
