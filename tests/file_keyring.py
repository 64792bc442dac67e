"""A keyring that keeps its entries in a JSON file, for tests where the CLI runs as several processes.

A desktop keyring daemon cannot run on a headless test machine, and `MemoryKeyring` forgets
everything when its process ends. This one behaves like a real keyring across processes: what one
command saves, the next one reads. Select it in a subprocess with

    PYTHON_KEYRING_BACKEND=file_keyring.FileKeyring  FILE_KEYRING_PATH=/tmp/.../keyring.json
    PYTHONPATH=tests

or in-process with `keyring.set_keyring(FileKeyring(path))`. The file lives outside the data
directory (a test greps that one for secrets), owner-only. Negative priority: keyring's own
detection never picks it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

PATH_VARIABLE = "FILE_KEYRING_PATH"


class FileKeyring(KeyringBackend):
    priority = -10
    name = "file keyring (tests)"

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        # Nothing may fail here: keyring instantiates every backend class it knows when it looks
        # for one (its chainer does), and this one's path may come later, from the environment.
        super().__init__()
        self._path = None if path is None else Path(path)

    @property
    def path(self) -> Path:
        chosen = self._path or os.environ.get(PATH_VARIABLE)
        if not chosen:
            raise RuntimeError(f"FileKeyring needs a path, or {PATH_VARIABLE}")
        return Path(chosen)

    def entries(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _write(self, entries: dict[str, str]) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(entries, indent=1), encoding="utf-8")
        temporary.chmod(0o600)
        os.replace(temporary, self.path)

    @staticmethod
    def _key(service: str, username: str) -> str:
        return f"{service}\n{username}"

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries().get(self._key(service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._write({**self.entries(), self._key(service, username): password})

    def delete_password(self, service: str, username: str) -> None:
        entries = self.entries()
        if entries.pop(self._key(service, username), None) is None:
            raise PasswordDeleteError("no such password")
        self._write(entries)
