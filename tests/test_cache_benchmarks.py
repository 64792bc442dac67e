"""The big-connection and cache-open benchmarks run (`--quick`): their figures are for people, so no
timing is asserted here, only that each script measures what it says and prints every figure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, tmp_path: Path) -> str:
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_big_connection_benchmark_runs_quickly(tmp_path) -> None:
    out = run("big_connection.py", tmp_path)
    for goal in (
        "open the tab",
        "search common ",
        "search very common ",
        "search rare ",
        "search nothing ",
        "jump to the end",
    ):
        [line] = [
            line
            for line in out.splitlines()
            if line.strip().startswith(goal) and "goal" not in line and "GUI thread" not in line
        ]
        assert line.rstrip().endswith(("ms: met", "ms: NOT met")), line
    # Every search found what it was built to find, in both caches.
    assert "matches of 'zanzibar'     baseline 20, big 20" in out
    assert "matches of 'qwertyuiop'   baseline 0, big 0" in out


def test_the_cache_open_benchmark_runs_quickly(tmp_path) -> None:
    out = run("cache_open.py", tmp_path)
    ratios = [line for line in out.splitlines() if "goal <= 1.3x" in line]
    assert len(ratios) == 2 and all(line.rstrip().endswith(("met", "NOT met")) for line in ratios), out
    assert "Store.open + close (warm)" in out and "first open after an unclean shutdown" in out
    assert "importing flinks_desktop.core.store imports sqlite_utils: False" in out
