"""What opening the cache costs: a command on a million-transaction cache against the same on 1,000.

    .venv/bin/python benchmarks/cache_open.py                 # 1,000,000 rows against 1,000, 7 runs
    .venv/bin/python benchmarks/cache_open.py --quick         # 2,000 against 200, 1 run: a check that it works

Seeds two data directories, the offline sandbox's cache in each (`big_connection.seed_cache`: one
login, four accounts), each opened and closed once by the store (so they are up to date and were
closed cleanly, as after any normal session). Then, interleaved so that a slow moment of the
machine hits both:

- `flinks-desktop --data-dir D list` and `flinks-desktop --data-dir D accounts LOGIN`, each a
  process timed from its spawn to its exit (Python's start-up and imports included, as a person
  waits for it). The goal: the big cache within 1.3x of the small one.
- `Store.open` then `close` in this process, warm: what every open of the window, the sync's writer
  and each command pays.
- For information: the first open after an unclean shutdown (the lock file's mark says "open"),
  which runs the full check once, and `Store.check`, the complete check on demand.

Figures only: the exit code is 0 whatever they are.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout
sys.path.insert(0, str(HERE))

from big_connection import LOGIN_ID, seed_cache  # noqa: E402

GOAL = 1.3


def command_seconds(data_dir: Path, *words: str) -> float:
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flinks_desktop", "--data-dir", str(data_dir), *words],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(words)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return elapsed


def open_seconds(path: Path) -> float:
    from flinks_desktop.core.store import Store

    started = time.perf_counter()
    Store.open(path).close()
    return time.perf_counter() - started


def unclean_open_seconds(path: Path) -> float:
    """An open after a session that did not close the cache: its mark left saying "open"."""
    path.with_name(path.name + "-lock").write_bytes(b"open\n")
    return open_seconds(path)


def imports_sqlite_utils() -> bool:
    probe = "import sys, flinks_desktop.core.store; print('sqlite_utils' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=HERE.parent)
    return result.stdout.strip() == "True"


def describe(times: list[float]) -> str:
    return (
        f"median {statistics.median(times) * 1000:7.1f} ms  (min {min(times) * 1000:.1f}, "
        f"max {max(times) * 1000:.1f}, {len(times)} runs)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="2,000 rows against 200, one run: a check that it works")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.baseline_rows, args.runs = 2_000, 200, 1

    from flinks_desktop.core.settings import Settings
    from flinks_desktop.core.store import Store

    print(f"Cache open benchmark · Python {sys.version.split()[0]} · {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="flinks-bench-") as directory:
        caches: dict[str, tuple[Path, Path]] = {}
        for name, rows in (("baseline", args.baseline_rows), ("big", args.rows)):
            data_dir = Path(directory) / name
            settings = Settings(data_dir)
            path = settings.cache_path(settings.active)
            seeded = seed_cache(path, rows)
            Store.open(path).close()
            caches[name] = (data_dir, path)
            print(f"{name}: {rows:,} transactions, {path.stat().st_size / 1e6:,.0f} MB, seeded in {seeded:.1f} s")

        figures: dict[str, dict[str, list[float]]] = {name: {} for name in caches}
        for data_dir, _ in caches.values():  # a first, untimed run of each: bytecode, the OS's cache
            command_seconds(data_dir, "list")
        for _ in range(args.runs):
            for name, (data_dir, path) in caches.items():
                for label, words in (("list", ("list",)), ("accounts", ("accounts", LOGIN_ID[:8]))):
                    figures[name].setdefault(f"flinks-desktop {label}", []).append(command_seconds(data_dir, *words))
                figures[name].setdefault("Store.open + close (warm)", []).extend(open_seconds(path) for _ in range(5))

        print()
        for label in figures["big"]:
            small, big = statistics.median(figures["baseline"][label]), statistics.median(figures["big"][label])
            print(f"{label:<28} baseline {describe(figures['baseline'][label])}")
            print(f"{'':<28} big      {describe(figures['big'][label])}")
            goal = (
                f"   goal <= {GOAL}x: {'met' if big / small <= GOAL else 'NOT met'}"
                if label.startswith("flinks-desktop")
                else ""
            )
            print(f"{'':<28} ratio {big / small:.2f}x{goal}")

        big_path = caches["big"][1]
        print(
            f"\nfirst open after an unclean shutdown (full check), big: {unclean_open_seconds(big_path) * 1000:,.0f} ms"
        )
        with Store.open(big_path) as store:
            started = time.perf_counter()
            checked = store.check()
            print(
                f"Store.check (integrity_check and the search index), big: "
                f"{(time.perf_counter() - started) * 1000:,.0f} ms for {checked.size / 1e6:,.0f} MB"
            )
    print(f"importing flinks_desktop.core.store imports sqlite_utils: {imports_sqlite_utils()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
