"""Long sessions: does the 200th refresh of a login cost what the first did? `python benchmarks/long_session.py`.

    .venv/bin/python benchmarks/long_session.py                  # 200 refreshes
    .venv/bin/python benchmarks/long_session.py --refreshes 1000
    .venv/bin/python benchmarks/long_session.py --quick          # 30 refreshes: a check that it works

The goal it measures: **200 refreshes of one login grow the process's resident memory by less
than 5 MB, and the last ones take as long as the first.**

What the app runs, without its window: the offline sandbox in this process (`SandboxServer`: its
uvicorn on a thread of its own, as `AppSession` starts it, on a state file in the data directory),
and the workspace the app opens on it (`open_workspace`: the real `FlinksClient` and `Sync`, the
cache in a temporary data directory, an in-memory keyring), driven from a qasync loop over a
`QApplication` (offscreen), the loop the app's window runs on. The sandbox's `greatday_nomfa`
(no security question) is added by a direct login, then refreshed (cached) `--refreshes` times in
a row, each one the whole flow: /Authorize, GetAccountsDetail's 202 and its poll, GetStatements
(3 months of PDFs), the write of the snapshot and the statements. The 202 is polled after
`--poll-interval` seconds (0.05 by default: the app's 1 s for the sandbox would only add waiting).

The first `--warm-up` refreshes (imports, caches, SQLite's page cache filling) are not counted.
It prints the resident memory (VmRSS) after them, halfway and at the end, the growth per refresh, the
median time of the first and the last ten refreshes and their ratio, and how many of what could
pile up there are at each end: the loop's timers (qasync keeps a cancelled one until it is due),
the sandbox's recorded requests, sessions and tokens, Python objects. Linux (VmRSS); figures
only: the exit code is 0 whatever they are.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

GOAL_MB = 5.0
USERNAME = "greatday_nomfa"


def resident_mb() -> float:
    """The process's resident memory now (not its peak), from /proc."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("this benchmark reads VmRSS from /proc/self/status (Linux)")


def piles(loop, sandbox) -> dict[str, int]:
    """How many there are of what a long session could pile up."""
    timers = getattr(getattr(loop, "_timer", None), "_SimpleTimer__callbacks", {})
    return {
        "loop timers": len(timers),
        "sandbox requests": len(sandbox.requests),
        "sandbox sessions": len(sandbox.state.sessions),
        "sandbox tokens": len(sandbox.state.tokens),
        "Python objects": len(gc.get_objects()),
    }


async def session(args, data_dir: Path, loop) -> dict:
    from flinks_desktop.core.secret_store import SecretStore
    from flinks_desktop.core.settings import Settings
    from flinks_desktop.core.workspace import open_workspace
    from flinks_desktop.sandbox import SandboxConfig, SandboxServer

    settings = Settings(data_dir)
    sandbox = SandboxServer(SandboxConfig(state_file=str(settings.sandbox_state_file()))).start()
    workspace = open_workspace(
        settings, SecretStore(), settings.active.running_at(sandbox.base_url), poll_interval=args.poll_interval
    )
    facts: dict = {"times": []}
    try:
        added = await workspace.sync.login("FlinksCapital", USERNAME, "Everyday", mfa=None)
        if not added.ok:
            raise SystemExit(f"the login failed: {added.message}")
        for number in range(args.refreshes + args.warm_up):
            if number == args.warm_up:
                gc.collect()
                facts["start"] = (resident_mb(), piles(loop, sandbox))
            elif number == args.warm_up + args.refreshes // 2:
                gc.collect()
                facts["half"] = resident_mb()
            started = time.perf_counter()
            result = await workspace.sync.refresh(added.login_id)
            if not result.ok:
                raise SystemExit(f"refresh {number + 1} failed: {result.message}")
            if number >= args.warm_up:
                facts["times"].append(time.perf_counter() - started)
        gc.collect()
        facts["end"] = (resident_mb(), piles(loop, sandbox))
        facts["saved"] = result.message
    finally:
        await workspace.aclose()
        sandbox.stop()
    return facts


def run_on_qt(coroutine):
    """Run `coroutine` on the qasync loop, with Qt's event loop turning, until it is done."""
    from PySide6.QtCore import QEventLoop

    future = asyncio.ensure_future(coroutine)
    qt_loop = QEventLoop()
    future.add_done_callback(lambda _: qt_loop.quit())
    if not future.done():
        qt_loop.exec()
    return future.result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refreshes", type=int, default=200, help="counted, after the warm-up")
    parser.add_argument("--warm-up", type=int, default=10, help="refreshes first, not counted")
    parser.add_argument("--poll-interval", type=float, default=0.05, help="seconds before a 202 is polled")
    parser.add_argument("--quick", action="store_true", help="30 refreshes: a check that it works")
    args = parser.parse_args(argv)
    if args.quick:
        args.refreshes, args.warm_up = 30, 5

    import keyring
    import qasync
    from PySide6.QtWidgets import QApplication

    from flinks_desktop.testing import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    app = QApplication.instance() or QApplication([sys.argv[0]])
    loop = qasync.QEventLoop(app, already_running=True)  # as gui_sync.py: a Qt event loop of our own turns it
    asyncio.set_event_loop(loop)
    executor = qasync.QThreadExecutor()
    loop.set_default_executor(executor)
    try:
        with tempfile.TemporaryDirectory(prefix="flinks-bench-") as directory:
            facts = run_on_qt(session(args, Path(directory), loop))
    finally:
        executor.shutdown()
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(None)

    (rss_start, piles_start), (rss_end, piles_end) = facts["start"], facts["end"]
    times = facts["times"]
    first, last = statistics.median(times[:10]), statistics.median(times[-10:])
    growth = rss_end - rss_start
    print(
        f"{args.refreshes} refreshes of one login (after {args.warm_up} not counted) · Python "
        f"{platform.python_version()} · qasync loop · {os.cpu_count()} CPUs · last: {facts['saved']}"
    )
    print(
        f"resident memory: {rss_start:.1f} MB after the warm-up, {rss_end:.1f} MB at the end: "
        f"{growth:+.1f} MB ({growth * 1024 / args.refreshes:+.1f} kB per refresh); "
        f"{facts['half'] - rss_start:+.1f} MB over the first half, {rss_end - facts['half']:+.1f} MB over the second"
    )
    print(
        f"refresh time: median of the first ten {first * 1000:.0f} ms, of the last ten {last * 1000:.0f} ms "
        f"({last / first:.2f}x); all: median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms"
    )
    for name in piles_start:
        print(f"  {name:<18} {piles_start[name]:>9,} after the warm-up, {piles_end[name]:>9,} at the end")
    verdict = "UNDER" if growth < GOAL_MB else "OVER"
    print(
        f"RESULT: {growth:+.1f} MB over {args.refreshes} refreshes: {verdict} the {GOAL_MB:g} MB goal; "
        f"the last ten took {last / first:.2f}x the first ten"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
