"""Start-up: how long until the app's first painted window, against a bare Qt window of the same Python.

    .venv/bin/python benchmarks/startup.py                      # 10 connections, 200,000 transactions
    .venv/bin/python benchmarks/startup.py --quick              # one run of each, a tiny cache

Both are measured the same way: a separate process started from here, timed from its spawn to the
line it prints when its window's first paint begins (the app: `flinks-desktop --smoke`; the
baseline: a `QApplication` and a `QMainWindow` shown, with the same kind of event filter), so both
include Python's start-up, imports and Qt's platform start. Runs are interleaved, so a slow moment
of the machine hits both. The goal: the app within 1.5x of the baseline. Figures only; the exit code
is 0 whatever they are.
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
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            print("first paint after (measured by the parent)", flush=True)
            QTimer.singleShot(0, app.quit)
            watched.removeEventFilter(self)
        return False

app = QApplication([])
window = QMainWindow()
window.resize(1240, 800)
spy = FirstPaint()
window.installEventFilter(spy)
window.show()
app.exec()
"""


def child_environment(data_dir: Path) -> dict[str, str]:
    # Bytecode is cached as an installed app has it (pip compiles what it installs; an editable
    # install writes __pycache__ on its first run): a shell with PYTHONDONTWRITEBYTECODE would
    # otherwise make the app compile each of its modules at every start, and the bare window none.
    environ = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {
        **environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QTWEBENGINE_DISABLE_SANDBOX": "1",
        "QTWEBENGINE_CHROMIUM_FLAGS": "--disable-gpu",
        "FLINKS_DESKTOP_HOME": str(data_dir),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def measure(command: list[str], environment: dict[str, str]) -> float:
    """Seconds from spawning `command` to the line saying its window's first paint began, read as
    it arrives: the same clock for both, interpreter start-up and imports included."""
    spawned = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment, bufsize=1
    )
    painted = None
    output = []
    for line in child.stdout:
        output.append(line)
        if painted is None and "first paint after" in line:
            painted = time.perf_counter() - spawned
    child.wait(timeout=120)
    if child.returncode != 0 or painted is None:
        raise SystemExit(f"{command[1:3]} failed ({child.returncode}): {''.join(output)[-2000:]}")
    return painted


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
        figures: dict[str, list[float]] = {"bare QMainWindow": [], "app, empty cache": [], "app, seeded cache": []}
        for command in (bare, app):  # a first, untimed run of each writes its bytecode cache
            measure(command, child_environment(empty_dir))
        for _ in range(args.runs):  # interleaved, so a slow moment of the machine hits all three
            figures["bare QMainWindow"].append(measure(bare, child_environment(empty_dir)))
            figures["app, empty cache"].append(measure(app, child_environment(empty_dir)))
            figures["app, seeded cache"].append(measure(app, child_environment(seeded_dir)))
    baseline = statistics.median(figures["bare QMainWindow"])
    for name, times in figures.items():
        total = statistics.median(times)
        print(
            f"{name:<20} median {total:.3f} s  (min {min(times):.3f}, max {max(times):.3f}, "
            f"{len(times)} runs)  {total / baseline:.2f}x the bare window"
        )
    print("goal: the app within 1.50x of the bare window")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
