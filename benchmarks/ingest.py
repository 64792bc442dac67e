"""How fast a snapshot is written, against SQLite's own floor: `python benchmarks/ingest.py`.

    .venv/bin/python benchmarks/ingest.py                 # 100,000 transactions, 5 runs of each
    .venv/bin/python benchmarks/ingest.py --quick         # 5,000 transactions, 1 run: a check that it works

The goal it measures: **a 100,000-transaction snapshot, with its search index, is written within
1.2x of a multi-row INSERT baseline into the same schema.**

Every figure is one write, in one transaction, into a new cache made by `Store.open` (so the same
schema, indexes and triggers: the full-text index, the day totals), whose login and 4 accounts
are already there, of the same 100,000 transactions (4 accounts, random GUID ids, dates over six
years, amounts with cents, descriptions of a few words):

- **multi-row INSERT** (the baseline): the rows ready to store (ISO dates, cents), 500 per
  `INSERT INTO transactions (...) VALUES (...), (...), ...`: what SQLite takes at the least;
- **executemany**: the same rows, one INSERT each (`sqlite3`'s `executemany`);
- **save_snapshot**: the store's write of a parsed answer (`Store.save_snapshot` of an
  `AccountsResult`): typed transactions turned into rows (Decimal to cents, dates to text), staged,
  moved into the cache account by account, the accounts, the login, the checks of what the snapshot
  no longer holds. This is the one the goal is about;
- **snapshot_writer, rows ready**: the same write (`Store.snapshot_writer`) fed the baseline's rows,
  to tell the store's SQL from the conversion;
- **save_snapshot, unchanged**: the same snapshot saved again over itself, the refresh of every day.

The runs are interleaved (a slow moment of the machine hits all of them); it prints each one's
median, min and max, and its ratio to the baseline's median. Figures only: exit code 0 whatever
they are.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from flinks_desktop.core.flinks.models import AccountsResult  # noqa: E402
from flinks_desktop.core.store import Store  # noqa: E402

GOAL = 1.2
LOGIN_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
WORDS = [
    "TIM HORTONS #2417",
    "METRO PLUS",
    "PAYROLL ACME INC",
    "HYDRO-QUÉBEC",
    "STM OPUS",
    "AMAZON.CA",
    "COSTCO WHOLESALE #510",
    "NETFLIX.COM",
    "MONTRÉAL QC",
    "TORONTO ON",
    "Interac e-Transfer",
]
COLUMNS = "login_id, account_id, id, date, description, debit, credit, balance, code"
PER_INSERT = 500


def snapshot(transactions: int, seed: int) -> AccountsResult:
    """The parsed answer: what the sync has once Flinks' JSON is read (`models`)."""
    from flinks_desktop.core.flinks.models import Account, Login, Transaction
    from flinks_desktop.core.flinks.values import Balance

    rnd = random.Random(seed)
    end = date(2025, 6, 15)
    accounts = []
    for index in range(4):
        size = transactions // 4 + (1 if index < transactions % 4 else 0)
        rows = []
        for number in range(size):  # newest first, as Flinks lists them
            amount = Decimal(rnd.randint(100, 60_000)).scaleb(-2)
            debit = rnd.random() < 0.6
            rows.append(
                Transaction(
                    id=str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                    date=end - timedelta(days=number * 2190 // max(size, 1)),
                    description=f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} {rnd.randint(1000, 9999)}",
                    debit=amount if debit else None,
                    credit=None if debit else amount,
                    balance=Decimal(rnd.randint(-(10**7), 10**7)).scaleb(-2),
                    code=None,
                )
            )
        accounts.append(
            Account(
                id=str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                title=f"Account {index}",
                account_number=f"{1111000 + index}",
                last_four_digits=None,
                transit_number="77001",
                institution_number="777",
                overdraft_limit=None,
                balance=Balance(Decimal("1.00"), Decimal("1.00"), None),
                category="Operations",
                type="Chequing",
                currency="CAD",
                holder=None,
                account_type="Personal",
                transactions=tuple(rows),
            )
        )
    login = Login(LOGIN_ID, "camille", False, None, "Personal")
    return AccountsResult("a1b2c3d4-e5f6-4789-9abc-def012345678", login, "FlinksCapital", tuple(accounts))


def ready_rows(result: AccountsResult) -> list[tuple]:
    """The baseline's rows: (login_id, account_id, id, date, description, debit, credit, balance, code)."""
    from flinks_desktop.core.store import transaction_row

    return [(LOGIN_ID, account.id, *transaction_row(t)) for account in result.accounts for t in account.transactions]


def new_cache(directory: Path, result: AccountsResult, *, with_accounts: bool) -> Store:
    """A new cache with the login (and, for the baselines, its accounts) in it."""
    path = Path(tempfile.mkdtemp(dir=directory)) / "cache.db"
    store = Store.open(path)
    now = datetime.now(UTC)
    store.upsert_login(LOGIN_ID, "FlinksCapital", at=now)
    if with_accounts:
        with store._transaction():
            for position, account in enumerate(result.accounts):
                store._conn.execute(
                    "INSERT INTO accounts (login_id, id, position, seen_at) VALUES (?, ?, ?, ?)",
                    [LOGIN_ID, account.id, position, now.isoformat()],
                )
    return store


def timed_baseline(directory: Path, result: AccountsResult, rows: list[tuple], *, multi_row: bool) -> float:
    store = new_cache(directory, result, with_accounts=True)
    conn = store._conn
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    if multi_row:
        one = "(" + ", ".join("?" * 9) + ")"
        for first in range(0, len(rows), PER_INSERT):
            chunk = rows[first : first + PER_INSERT]
            conn.execute(
                f"INSERT INTO transactions ({COLUMNS}) VALUES " + ", ".join([one] * len(chunk)),
                [value for row in chunk for value in row],
            )
    else:
        conn.executemany(f"INSERT INTO transactions ({COLUMNS}) VALUES ({', '.join('?' * 9)})", rows)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    store.close()
    return seconds


def timed_save(directory: Path, result: AccountsResult, *, twice: bool = False) -> float:
    store = new_cache(directory, result, with_accounts=False)
    if twice:
        store.save_snapshot(LOGIN_ID, result, synced_at=datetime.now(UTC))
    started = time.perf_counter()
    store.save_snapshot(LOGIN_ID, result, synced_at=datetime.now(UTC))
    seconds = time.perf_counter() - started
    store.close()
    return seconds


def timed_writer(directory: Path, result: AccountsResult, rows: list[tuple]) -> float:
    store = new_cache(directory, result, with_accounts=False)
    by_account: dict[str, list[tuple]] = {}
    for row in rows:
        by_account.setdefault(row[1], []).append(row[2:])
    started = time.perf_counter()
    with store.snapshot_writer(LOGIN_ID, synced_at=datetime.now(UTC)) as writer:
        for index, account in enumerate(result.accounts):
            staged = by_account[account.id]
            for first in range(0, len(staged), PER_INSERT):
                writer.add(index, staged[first : first + PER_INSERT])
            writer.account(index, account)
        writer.finish(result.login, all_accounts_read=True)
    seconds = time.perf_counter() - started
    store.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20250615)
    parser.add_argument("--quick", action="store_true", help="5,000 transactions, 1 run: a check that it works")
    args = parser.parse_args(argv)
    if args.quick:
        args.transactions, args.runs = 5_000, 1
    result = snapshot(args.transactions, args.seed)
    rows = ready_rows(result)
    print(
        f"Writing a snapshot of {args.transactions:,} transactions with its search index · Python "
        f"{platform.python_version()} · SQLite {sqlite3.sqlite_version} · {os.cpu_count()} CPUs · {args.runs} runs"
    )
    kinds = {
        "multi-row INSERT (baseline)": lambda d: timed_baseline(d, result, rows, multi_row=True),
        "executemany": lambda d: timed_baseline(d, result, rows, multi_row=False),
        "save_snapshot": lambda d: timed_save(d, result),
        "snapshot_writer, rows ready": lambda d: timed_writer(d, result, rows),
        "save_snapshot, unchanged": lambda d: timed_save(d, result, twice=True),
    }
    times: dict[str, list[float]] = {name: [] for name in kinds}
    with tempfile.TemporaryDirectory(prefix="flinks-bench-") as directory:
        for _ in range(args.runs):
            for name, run in kinds.items():
                times[name].append(run(Path(directory)))
    baseline = statistics.median(times["multi-row INSERT (baseline)"])
    for name, measured in times.items():
        median = statistics.median(measured)
        print(
            f"{name:<30} median {median:6.3f} s  (min {min(measured):.3f}, max {max(measured):.3f})  "
            f"{median / baseline:.2f}x the baseline"
        )
    ratio = statistics.median(times["save_snapshot"]) / baseline
    print(
        f"RESULT: save_snapshot {ratio:.2f}x the multi-row INSERT baseline: "
        f"{'UNDER' if ratio <= GOAL else 'OVER'} the {GOAL}x goal"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
