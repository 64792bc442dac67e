"""How smooth the Transactions tab stays on a big cache: `python benchmarks/transactions_scroll.py`.

Builds two caches in a temporary directory with the store's own write API (`Store.save_snapshot`):
100,000 generated transactions, and a 1,000-row baseline measured the same way in the same run, so
the figures compare the same machine at the same moment. For each it opens the Transactions view
offscreen and measures, on the GUI thread, what a person waits for:

- first paint: `set_login` (count, totals, accounts, date span) plus the first paint of the table;
- scroll: the table scrolled top to bottom one screenful (the scroll bar's page step) at a time,
  each step a synchronous repaint (fetching the pages it needs): median, 95th percentile, worst;
- jumps: the scroll bar dragged to random places (fetching one or two pages cold each time);
- deep row: `data()` for one row of a page not fetched yet, near offset 90,000;
- filter: a search typed (after its debounce): count, per-currency totals and the first paint.

It prints figures and asserts nothing: a frame is about 16 ms, and the printout says how many
steps went over that. Options: --rows, --baseline-rows, --jumps, --seed, --quick (2,000 rows
against 200: a check that it works, run by the test command).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FRAME_MS = 16.0
AS_OF = date(2025, 6, 15)


def build_cache(path: Path, rows: int, seed: int) -> tuple[str, float]:
    from flinks_desktop.core.store import Store
    from flinks_desktop.testing import generated_connection

    snapshot = generated_connection(rows, seed=seed, as_of=AS_OF)
    started = time.perf_counter()
    now = datetime(2025, 6, 15, 12, tzinfo=UTC)
    with Store.open(path) as store:
        store.upsert_login(snapshot.login.id, "FlinksCapital", at=now)
        store.save_snapshot(snapshot.login.id, snapshot, synced_at=now)
    return snapshot.login.id, time.perf_counter() - started


def ms(seconds: float) -> float:
    return seconds * 1000


def measure(app, path: Path, login_id: str, *, jumps: int, seed: int) -> dict[str, object]:
    from flinks_desktop.core.store import Store
    from flinks_desktop.ui.transactions_view import PAGE_SIZE, TransactionsView

    results: dict[str, object] = {}
    with Store.open(path) as store:
        view = TransactionsView(today=lambda: AS_OF)
        view.resize(1100, 650)
        view.show()
        deadline = time.monotonic() + 5
        while not view.windowHandle().isExposed() and time.monotonic() < deadline:
            app.processEvents()
        table = view.table
        model = view.model
        bar = table.verticalScrollBar()

        started = time.perf_counter()
        view.set_login(store, login_id)
        app.processEvents()  # the table's layout after the reset
        table.viewport().repaint()
        results["first paint"] = ms(time.perf_counter() - started)
        results["rows"] = model.rowCount()

        steps = []
        bar.setValue(0)
        while bar.value() < bar.maximum():
            started = time.perf_counter()
            bar.setValue(bar.value() + bar.pageStep())
            table.viewport().repaint()
            steps.append(ms(time.perf_counter() - started))
        results["scroll"] = steps
        results["pages fetched"] = model.pages_fetched
        results["pages held"] = len(model.cached_pages)

        rnd = random.Random(seed)
        jump_times = []
        for _ in range(jumps):
            started = time.perf_counter()
            bar.setValue(rnd.randrange(0, bar.maximum() + 1))
            table.viewport().repaint()
            jump_times.append(ms(time.perf_counter() - started))
        results["jumps"] = jump_times

        row = min(90_123, model.rowCount() - 1)
        deep = None
        if row // PAGE_SIZE not in model.cached_pages:
            started = time.perf_counter()
            model.data(model.index(row, 2))
            deep = ms(time.perf_counter() - started)
        else:  # a small cache: the row's page happens to be held; measure a cold page instead
            model.set_query(store, login_id, view.filters(), store.accounts(login_id), model.rowCount())
            started = time.perf_counter()
            model.data(model.index(row, 2))
            deep = ms(time.perf_counter() - started)
        results["deep row"] = (row, deep)

        searches = []
        for words in ("tim", "payroll acme", "interac marc"):
            view.search.setText(words)
            started = time.perf_counter()
            view._requery_now()  # what the debounce timer calls
            table.viewport().repaint()
            searches.append((words, model.rowCount(), ms(time.perf_counter() - started)))
        results["search"] = searches
        view.close()
        view.deleteLater()
        app.processEvents()
    return results


def summary(steps: list[float]) -> str:
    if not steps:
        return "no steps"
    ordered = sorted(steps)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    slow = sum(1 for step in steps if step > FRAME_MS)
    return (
        f"median {statistics.median(steps):6.2f} ms   p95 {p95:6.2f} ms   worst {max(steps):6.2f} ms   "
        f"({len(steps):,} steps, {slow:,} over {FRAME_MS:.0f} ms)"
    )


def report(name: str, build: float, results: dict[str, object]) -> None:
    print(f"\n{name}: {results['rows']:,} rows (cache built in {build:.1f} s)")
    print(f"  first paint (set_login + paint)  {results['first paint']:7.2f} ms")
    print(f"  scroll, a screenful per step     {summary(results['scroll'])}")
    print(f"  jumps to random rows             {summary(results['jumps'])}")
    row, deep = results["deep row"]
    print(f"  data() for row {row:,} (cold page)  {deep:7.2f} ms")
    print(f"  pages fetched while scrolling    {results['pages fetched']:,}; held at the end: {results['pages held']}")
    for words, count, elapsed in results["search"]:
        print(f"  search {words!r:16} {count:7,} rows  {elapsed:7.2f} ms (count, totals, first paint)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=1_000)
    parser.add_argument("--jumps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20250615)
    parser.add_argument("--quick", action="store_true", help="2,000 rows against 200, 5 jumps: a check that it works")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.baseline_rows, args.jumps = 2_000, 200, 5

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
    from PySide6.QtWidgets import QApplication

    from flinks_desktop.ui.app import style_sheet

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setStyleSheet(style_sheet())
    import sqlite3

    print(
        f"Transactions view scroll benchmark · Python {sys.version.split()[0]} · SQLite {sqlite3.sqlite_version} · "
        f"Qt platform {app.platformName()}"
    )
    with tempfile.TemporaryDirectory(prefix="flinks-bench-") as directory:
        for name, rows in (("baseline", args.baseline_rows), ("large", args.rows)):
            path = Path(directory) / f"{name}.db"
            login_id, build = build_cache(path, rows, args.seed)
            report(name, build, measure(app, path, login_id, jumps=args.jumps, seed=args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
