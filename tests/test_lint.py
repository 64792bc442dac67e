"""The code's own checks, in the test command: ruff's lint rules and its formatting, and mypy's strict
type check of core/ and sandbox/ (all configured in pyproject.toml). A failure prints what they found;
`ruff format .` and `ruff check --fix .` mend most of ruff's."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ruff(*args: str) -> subprocess.CompletedProcess:
    executable = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert executable, "ruff is not installed: pip install -e '.[test]'"
    return subprocess.run([executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def mypy() -> subprocess.CompletedProcess:
    executable = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    assert executable, "mypy is not installed: pip install -e '.[test]'"
    # No arguments: the files and options are [tool.mypy]'s.
    return subprocess.run([executable], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    result = ruff("check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_formatted() -> None:
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    result = mypy()
    assert result.returncode == 0, result.stdout + result.stderr
