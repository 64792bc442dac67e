"""`benchmarks/crash_loop.py`, short: real `flinks-desktop sync` processes killed (SIGKILL) at random
points of a sync never leave a mixed snapshot nor a cache that fails its integrity check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "crash_loop.py"


def test_killing_syncs_at_random_points_never_leaves_a_mixed_snapshot() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--runs", "4", "--transactions", "4000", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("4 kills: ") and ", 0 a mixed snapshot (must be 0); 0 with a failed check" in summary
    assert len([line for line in result.stdout.splitlines() if line.startswith("  kill ")]) == 4
