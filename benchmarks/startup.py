"""Start-up: how long until the app's first painted window, against a bare Qt window of the same Python.

    .venv/bin/python benchmarks/startup.py                      # 10 connections, 200,000 transactions
    .venv/bin/python benchmarks/startup.py --quick              # one run of each, a tiny cache
    .venv/bin/python benchmarks/startup.py --platform xcb       # on the X display in $DISPLAY (Xvfb will do)

Both are measured the same way: a separate process started from here, timed from its spawn to the
line it prints once its window's first paint has finished (the app: `flinks-desktop --smoke`; the
baseline: a `QApplication` and a `QMainWindow` shown, with the same kind of event filter), so both
include Python's start-up, imports, Qt's platform start and the paint itself. Each also reports how
long its own steps took; the script prints their medians side by side ("where the time goes").
Runs are interleaved, so a slow moment of the machine hits both. The goal: the app within 1.5x of
the baseline. Figures only; the exit code is 0 whatever they are.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BARE = r"""
import time
marks = [("", time.perf_counter())]
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
marks.append(("PySide6", time.perf_counter()))

def painted():  # as the app's FirstPaint: once the first paint has finished, not as it begins
    marks.append(("shown and painted", time.perf_counter()))
    print("first paint after (measured by the parent)", flush=True)
    steps = "; ".join(f"{b[0]} {(b[1] - a[1]) * 1000:.1f} ms" for a, b in zip(marks, marks[1:]))
    print("start-up phases: " + steps, flush=True)
    app.quit()

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, painted)
            watched.removeEventFilter(self)
        return False

app = QApplication([])
marks.append(("Qt application, settings", time.perf_counter()))
window = QMainWindow()
window.resize(1240, 800)
marks.append(("the window built", time.perf_counter()))
spy = FirstPaint()
window.installEventFilter(spy)
window.show()
app.exec()
"""
#: The steps both report (`start-up phases: step 12.3 ms; ...`), in order; "Python start-up" is the
#: rest: from the spawn to the first step (the interpreter, `site`, the entry point's imports).
PHASES = (
    "the app module",
    "the cache's modules",
    "PySide6",
    "the window's modules",
    "Qt application, settings",
    "the window built",
    "shown and painted",
)


def child_environment(data_dir: Path, platform: str = "offscreen") -> dict[str, str]:
    # Bytecode is cached as an installed app has it (pip compiles what it installs; an editable
    # install writes __pycache__ on its first run): a shell with PYTHONDONTWRITEBYTECODE would
    # otherwise make the app compile each of its modules at every start, and the bare window none.
    environ = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {
        **environ,
        "QT_QPA_PLATFORM": platform,
        "QTWEBENGINE_DISABLE_SANDBOX": "1",
        "QTWEBENGINE_CHROMIUM_FLAGS": "--disable-gpu",
        "FLINKS_DESKTOP_HOME": str(data_dir),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def measure(command: list[str], environment: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Seconds from spawning `command` to the line saying its window's first paint is done, read as
    it arrives (the same clock for both, interpreter start-up and imports included), and the
    seconds of each step the process reported, with "Python start-up" for the time before them."""
    spawned = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment, bufsize=1
    )
    painted = None
    phases: dict[str, float] = {}
    output = []
    for line in child.stdout:
        output.append(line)
        if painted is None and "first paint after" in line:
            painted = time.perf_counter() - spawned
        if "start-up phases: " in line:
            phases = read_phases(line.split("start-up phases: ", 1)[1])
    child.wait(timeout=120)
    if child.returncode != 0 or painted is None or not phases:
        raise SystemExit(f"{command[1:3]} failed ({child.returncode}): {''.join(output)[-2000:]}")
    return painted, {"Python start-up": painted - sum(phases.values()), **phases}


def read_phases(text: str) -> dict[str, float]:
    """ "PySide6 65.8 ms; the window built 24.8 ms" -> {"PySide6": 0.0658, "the window built": 0.0248}."""
    phases = {}
    for part in text.strip().split("; "):
        step, milliseconds, unit = part.rsplit(" ", 2)
        if step not in PHASES or unit != "ms":
            raise ValueError(f"not a start-up phase: {part!r}")
        phases[step] = float(milliseconds) / 1000
    return phases


def seed(data_dir: Path, connections: int, transactions: int) -> None:
    """A data directory whose offline-sandbox cache holds `connections` logins and `transactions`
    transactions in all, written by the real store from Flinks-shaped answers."""
    from flinks_desktop.core.environments import offline_sandbox
    from flinks_desktop.core.flinks.models import loads, parse_accounts
    from flinks_desktop.core.settings import Settings
    from flinks_desktop.core.store import Store

    settings = Settings(data_dir)
    per_login = max(transactions // max(connections, 1), 1)
    now = datetime.now(UTC)
    with Store.open(settings.cache_path(offline_sandbox())) as store:
        for number in range(connections):
            login_id = f"{number:08x}-0000-4000-8000-{number:012x}"
            account_id = f"{number:08x}-1111-4000-8000-{number:012x}"
            first = date(2026, 1, 1)
            body = {
                "HttpStatusCode": 200,
                "RequestId": "22178382-31ee-485c-a750-c20929b6a344",
                "Institution": "FlinksCapital",
                "Login": {
                    "Username": f"user{number}",
                    "IsScheduledRefresh": False,
                    "Type": "Personal",
                    "LastRefresh": "2026-11-01T10:00:00",
                    "Id": login_id,
                },
                "Accounts": [
                    {
                        "Id": account_id,
                        "Title": "Everyday Chequing",
                        "AccountNumber": f"{number:07d}",
                        "Category": "Operations",
                        "Type": "Chequing",
                        "Currency": "CAD",
                        "Balance": {"Available": 100.0, "Current": 100.0, "Limit": None},
                        "Transactions": [
                            {
                                "Id": f"{number:08x}-2222-4000-8000-{n:012x}",
                                "Date": (first + timedelta(days=n % 365)).isoformat(),
                                "Description": f"PAYMENT {n % 997} STORE",
                                "Debit": 12.5,
                                "Credit": None,
                                "Balance": 100.0,
                                "Code": None,
                            }
                            for n in range(per_login)
                        ],
                    }
                ],
            }
            snapshot = parse_accounts(loads(json.dumps(body)))
            store.upsert_login(login_id, "FlinksCapital", at=now, details=snapshot.login, environment="sandbox")
            store.save_snapshot(login_id, snapshot, synced_at=now)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--transactions", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="one run of each, a tiny cache (a check that it works)")
    parser.add_argument(
        "--platform",
        default="offscreen",
        help="Qt's platform for both windows: offscreen (default), or xcb on an X display ($DISPLAY, e.g. Xvfb)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.connections, args.transactions = 1, 2, 200

    with tempfile.TemporaryDirectory() as temporary:
        empty_dir, seeded_dir = Path(temporary) / "empty", Path(temporary) / "seeded"
        began = time.perf_counter()
        seed(seeded_dir, args.connections, args.transactions)
        print(
            f"cache: {args.connections} connections, {args.transactions:,} transactions "
            f"(seeded in {time.perf_counter() - began:.1f} s)"
        )
        app = [sys.executable, "-c", "from flinks_desktop.launch import main; raise SystemExit(main(['--smoke']))"]
        bare = [sys.executable, "-c", BARE]
        runs = {
            "bare QMainWindow": (bare, empty_dir),
            "app, empty cache": (app, empty_dir),
            "app, seeded cache": (app, seeded_dir),
        }
        figures: dict[str, list[float]] = {name: [] for name in runs}
        steps: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
        for command in (bare, app):  # a first, untimed run of each writes its bytecode cache
            measure(command, child_environment(empty_dir, args.platform))
        for _ in range(args.runs):  # interleaved, so a slow moment of the machine hits all three
            for name, (command, data_dir) in runs.items():
                total, phases = measure(command, child_environment(data_dir, args.platform))
                figures[name].append(total)
                steps[name].append(phases)
    baseline = statistics.median(figures["bare QMainWindow"])
    for name, times in figures.items():
        total = statistics.median(times)
        print(
            f"{name:<20} median {total:.3f} s  (min {min(times):.3f}, max {max(times):.3f}, "
            f"{len(times)} runs)  {total / baseline:.2f}x the bare window"
        )
    print("goal: the app within 1.50x of the bare window")
    print_phases(steps)
    return 0


def print_phases(steps: dict[str, list[dict[str, float]]]) -> None:
    """Where the time goes: the median of each step, in ms, for each configuration side by side
    (a step the bare window does not have is "-"; medians of steps need not add up to the total's)."""
    names = list(steps)
    print("\nwhere the time goes (median ms of each step; the bare window has no cache or app modules):")
    print(f"{'':<26}" + "".join(f"{name:>20}" for name in names))
    for step in ("Python start-up", *PHASES):
        cells = []
        for name in names:
            values = [phases[step] for phases in steps[name] if step in phases]
            cells.append(f"{statistics.median(values) * 1000:>20.1f}" if values else f"{'-':>20}")
        print(f"{step:<26}" + "".join(cells))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
