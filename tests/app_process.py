"""The real app in a process of its own, as a person (or the bundle) starts it: offscreen, on a data
directory of the test's, with no keyring backend (as on a headless box)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def app_environment(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "FLINKS_DESKTOP_HOME": str(data_dir),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def run_app(data_dir: Path, *args: str, code: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`flinks-desktop ARGS` (or the Python `code` instead) run to its end; its output captured."""
    command = [sys.executable, "-c", code] if code is not None else [sys.executable, "-m", "flinks_desktop", *args]
    return subprocess.run(command, capture_output=True, text=True, env=app_environment(data_dir), timeout=timeout)
