"""Start-up: `flinks-desktop --smoke` reaches a painted window and exits 0; the start-up benchmark
runs (its figures are for people: no timing is asserted here)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from app_process import run_app

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_paints_the_window_then_exits_0(tmp_path) -> None:
    result = run_app(tmp_path / "data", "--smoke")
    assert result.returncode == 0, result.stderr
    assert "flinks-desktop: first paint after" in result.stderr
    assert (tmp_path / "data" / "settings.json").exists() or (tmp_path / "data").is_dir()
    # ...and says where the time went, step by step, as the start-up benchmark reads it beside a bare window's.
    line = next(line for line in result.stderr.splitlines() if line.startswith("flinks-desktop: start-up phases: "))
    benchmark = startup_benchmark()
    phases = benchmark.read_phases(line.split("start-up phases: ", 1)[1])
    assert list(phases) == list(benchmark.PHASES)
    assert all(seconds >= 0 for seconds in phases.values())


def startup_benchmark():
    """`benchmarks/startup.py` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("startup_benchmark", ROOT / "benchmarks" / "startup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    # Where the time goes: a row per step, a column per configuration ("-": a step the bare window has not).
    table = result.stdout.split("where the time goes", 1)[1].splitlines()[2:]
    rows = {line[:26].strip(): line[26:].split() for line in table if line.strip()}
    assert list(rows)[0] == "Python start-up" and rows["the window built"][0] != "-"
    assert rows["the cache's modules"][0] == "-" and all(cell != "-" for cell in rows["the cache's modules"][1:])
    assert all(len(cells) == 3 for cells in rows.values())


ICON_PROBE = """
from flinks_desktop.ui import first_paint
painted = first_paint.FirstPaint.wait

def wait(self, *args, **kwargs):
    from PySide6.QtWidgets import QApplication

    done = painted(self, *args, **kwargs)
    print("window icon:", sorted(size.width() for size in QApplication.windowIcon().availableSizes()), flush=True)
    return done

first_paint.FirstPaint.wait = wait
from flinks_desktop.launch import main
raise SystemExit(main(["--smoke"]))
"""


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="the window's icon has every size there")
def test_the_app_s_windows_carry_the_icon_sizes_a_task_bar_draws(tmp_path) -> None:
    result = run_app(tmp_path / "data", code=ICON_PROBE)
    assert result.returncode == 0, result.stderr
    assert "window icon: [16, 32, 48, 64, 128]" in result.stdout, result.stdout
