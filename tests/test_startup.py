"""Start-up: `flinks-desktop --smoke` reaches a painted window and exits 0; the start-up benchmark
runs (its figures are for people: no timing is asserted here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_paints_the_window_then_exits_0(tmp_path) -> None:
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FLINKS_DESKTOP_HOME": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "flinks_desktop", "--smoke"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "flinks-desktop: first paint after" in result.stderr
    assert (tmp_path / "data" / "settings.json").exists() or (tmp_path / "data").is_dir()


def test_smoke_takes_no_command(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flinks_desktop", "--smoke", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "FLINKS_DESKTOP_HOME": str(tmp_path)},
        timeout=60,
    )
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
