"""The speed benchmarks of a sync run (their figures are for people: no timing or memory is asserted
here), each in its `--quick` form, as a process of its own from a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flinks_desktop.sandbox.server import KEPT_REQUESTS
from flinks_desktop.sandbox.state import MAX_SESSIONS

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def quick(name: str, tmp_path: Path) -> list[str]:
    """Run `benchmarks/<name> --quick`: its output lines, once it exited 0."""
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.splitlines()


def test_the_ingest_benchmark_runs(tmp_path) -> None:
    lines = quick("ingest.py", tmp_path)
    names = [line.split("  median")[0].strip() for line in lines if "  median " in line]
    assert names == [
        "multi-row INSERT (baseline)",
        "executemany",
        "save_snapshot",
        "snapshot_writer, rows ready",
        "save_snapshot, unchanged",
    ]
    assert lines[-1].startswith("RESULT: save_snapshot ")


@pytest.mark.skipif(os.name != "posix", reason="the peak memory of a process: wait4")
def test_the_sync_memory_benchmark_runs(tmp_path) -> None:
    lines = quick("sync_memory.py", tmp_path)
    assert [line.split()[0] for line in lines if line.startswith(("baseline", "first", "second"))] == [
        "baseline",
        "first",
        "second",
    ]
    assert [line.split(":")[0] for line in lines if line.startswith("RESULT")] == [
        "RESULT first sync",
        "RESULT second sync",
    ]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="resident memory from /proc")
def test_the_long_session_benchmark_runs(tmp_path) -> None:
    lines = quick("long_session.py", tmp_path)
    assert any(line.startswith("resident memory: ") for line in lines)
    piles = {
        " ".join(line.split()[:2]): int(line.split()[-4].replace(",", ""))
        for line in lines
        if line.startswith("  ") and "after the warm-up," in line
    }  # at the end
    # Counts, not timings: nothing of a refresh is left behind in the loop's timers (a cancelled
    # deadline or read time-out would stay there three minutes under qasync), nor past the
    # sandbox's bounds.
    assert piles["loop timers"] <= 3
    assert piles["sandbox requests"] <= KEPT_REQUESTS and piles["sandbox sessions"] <= MAX_SESSIONS
    assert lines[-1].startswith("RESULT: ")


def test_the_gui_sync_benchmark_runs(tmp_path) -> None:
    lines = quick("gui_sync.py", tmp_path)
    assert any(line.startswith("rows in the cache: 4 accounts, 5,000 transactions") for line in lines)
    assert lines[-1].startswith("RESULT: worst GUI-thread gap")


def test_the_transactions_scroll_benchmark_runs(tmp_path) -> None:
    lines = quick("transactions_scroll.py", tmp_path)
    assert any(line.startswith("baseline: 200 rows") for line in lines), lines
    assert any(line.startswith("large: 2,000 rows") for line in lines), lines
    searches = [line for line in lines if line.strip().startswith("search ")]
    assert len(searches) == 6 and all("(count, totals, first paint)" in line for line in searches), searches
