"""Start-up: `flinks-desktop --smoke` reaches a painted window and exits 0; the start-up benchmark
runs (its figures are for people: no timing is asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app_process import run_app

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_paints_the_window_then_exits_0(tmp_path) -> None:
    result = run_app(tmp_path / "data", "--smoke")
    assert result.returncode == 0, result.stderr
    assert "flinks-desktop: first paint after" in result.stderr
    assert (tmp_path / "data" / "settings.json").exists() or (tmp_path / "data").is_dir()


def test_smoke_takes_no_command(tmp_path) -> None:
    result = run_app(tmp_path, "--smoke", "list", timeout=60)
    assert result.returncode == 2 and "--smoke starts the desktop app" in result.stderr


def test_the_startup_benchmark_runs_quickly(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "startup.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "x the bare window  " in line or "runs)" in line]
    assert [line.split()[0] for line in lines] == ["bare", "app,", "app,"]
