"""Peak memory of a sync of a big connection: `python benchmarks/sync_memory.py`.

    .venv/bin/python benchmarks/sync_memory.py                     # 1,000,000 transactions
    .venv/bin/python benchmarks/sync_memory.py --transactions 250000
    .venv/bin/python benchmarks/sync_memory.py --quick             # 20,000: a check that it works

The goal it measures: **a sync of a connection with 1,000,000 transactions peaks under 500 MB**
(the sync reads GetAccountsDetail's answer, about 190 MB of JSON, from a temporary file as it
writes it, so what it holds does not grow with the connection).

- A Flinks-shaped API on a free loopback port (the standard library's HTTP server, in a thread of
  this process, not of the one measured): a cached /Authorize, GetAccountsDetail answering 202 then
  its Async form the 200 with 4 accounts and `--transactions` transactions (each account's Id after
  its transactions, as in Flinks' own sample), written to a file first and sent from it, and
  GetStatements with one small PDF.
- `flinks-desktop --api-url <that API> sync LOGIN_ID`, the real command (client, `Sync`, cache), as
  a process of its own on a temporary data directory; its peak resident memory is the kernel's
  (`wait4`'s ru_maxrss). Measured, in this order: the baseline, the same command syncing a
  connection of `--baseline` transactions (what the process costs whatever the connection: Python,
  the imports, SQLite); the first sync of the big connection (every transaction new); and a second
  one (every transaction unchanged: the refresh of every day).

It prints each sync's peak and time, the peak above the baseline per transaction, and whether the
big syncs are under the goal. POSIX only (wait4). Figures only: the exit code is 0 whatever they are.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import closing
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MB = 500
CUSTOMER_ID = "43387ca6-0391-4c82-857d-70d95f087ecb"
LOGIN_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
REQUEST_ID = "a1b2c3d4-e5f6-4789-9abc-def012345678"
MERCHANTS = [
    "TIM HORTONS #2417 MONTRÉAL QC",
    "METRO PLUS #412 MONTRÉAL QC",
    "PAYROLL ACME INC",
    "HYDRO-QUÉBEC",
    "STM - RECHARGE OPUS",
    "AMAZON.CA*2K4LQ",
    "COSTCO WHOLESALE #510",
    "NETFLIX.COM",
]
LOGIN = {
    "Username": "camille.tremblay",
    "IsScheduledRefresh": False,
    "LastRefresh": "2025-06-15T08:12:44.1234567",
    "Type": "Personal",
    "Id": LOGIN_ID,
}
PDF = b"%PDF-1.4 a statement of the memory benchmark\n%%EOF\n"


def write_detail(path: Path, transactions: int, seed: int) -> None:
    """GetAccountsDetail's 200, written piece by piece: 4 accounts sharing `transactions`, newest first."""
    rnd = random.Random(seed)
    end = date(2025, 6, 15)
    with path.open("w", encoding="utf-8") as out:
        out.write('{"HttpStatusCode": 200, "Accounts": [')
        for index in range(4):
            size = transactions // 4 + (1 if index < transactions % 4 else 0)
            out.write(", " if index else "")
            out.write('{"Transactions": [')
            balance = 500_000
            rows = []
            for number in range(size):
                amount = rnd.randint(100, 60_000)
                debit = rnd.random() < 0.6
                balance += -amount if debit else amount
                day = end - timedelta(days=number * 2190 // max(size, 1))
                money = f"{amount // 100}.{amount % 100:02d}"
                rows.append(
                    f'{{"Date": "{day:%Y/%m/%d}", "Code": null, "Description": '
                    f'"{MERCHANTS[rnd.randrange(len(MERCHANTS))]} {rnd.randint(1000, 9999)}", '
                    f'"Debit": {money if debit else "null"}, "Credit": {"null" if debit else money}, '
                    f'"Balance": {balance // 100}.{balance % 100:02d}, '
                    f'"Id": "{uuid.UUID(int=rnd.getrandbits(128), version=4)}"}}'
                )
                if len(rows) == 10_000 and number + 1 < size:
                    out.write(", ".join(rows) + ", ")
                    rows = []
            out.write(", ".join(rows) + "]")
            out.write(
                f', "Title": "Account {index}", "AccountNumber": "{1111000 + index}", "Category": "Operations", '
                f'"Type": "Chequing", "Currency": "CAD", "Balance": {{"Available": 100.25, "Current": 100.25, '
                f'"Limit": null}}, "Id": "{uuid.UUID(int=rnd.getrandbits(128), version=4)}"}}'
            )
        out.write(f'], "Login": {json.dumps(LOGIN)}, "Institution": "FlinksCapital", "RequestId": "{REQUEST_ID}"}}')


class FlinksApi:
    """The loopback API: answers from files, so that this process never holds a big body either."""

    def __init__(self) -> None:
        self.detail: Path | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                endpoint = self.path.split("/BankingServices/")[-1].split("/")[0]
                if endpoint == "GetAccountsDetail":
                    self.answer(
                        202,
                        json.dumps(
                            {"HttpStatusCode": 202, "FlinksCode": "OPERATION_PENDING", "RequestId": REQUEST_ID}
                        ).encode(),
                    )
                elif endpoint == "GetStatements":
                    self.answer(
                        200,
                        json.dumps(
                            {"HttpStatusCode": 200, "Login": LOGIN, "RequestId": REQUEST_ID, "StatementsByAccount": []}
                        ).encode(),
                    )
                else:  # a cached /Authorize
                    self.answer(
                        200,
                        json.dumps(
                            {
                                "HttpStatusCode": 200,
                                "Login": LOGIN,
                                "RequestId": REQUEST_ID,
                                "Institution": "FlinksCapital",
                            }
                        ).encode(),
                    )

            def do_GET(self) -> None:  # noqa: N802 - GetAccountsDetailAsync
                assert api.detail is not None
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(api.detail.stat().st_size))
                self.end_headers()
                with api.detail.open("rb") as body:
                    shutil.copyfileobj(body, self.wfile, 1024 * 1024)

            def answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v3/{CUSTOMER_ID}"

    def __enter__(self) -> FlinksApi:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def measured_sync(home: Path, api_url: str) -> tuple[float, float, str]:
    """Run `flinks-desktop sync` to its end: (its peak resident memory in MB, seconds, its output)."""
    environment = {
        **os.environ,
        "FLINKS_DESKTOP_HOME": str(home),
        "FLINKS_DESKTOP_POLL_INTERVAL": "0.05",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "flinks_desktop", "--api-url", api_url, "sync", LOGIN_ID],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=environment,
        cwd=ROOT,
    )
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"the sync failed ({process.returncode}): {output[-2000:]}")
    return usage.ru_maxrss / 1024, seconds, output.strip().splitlines()[-1]  # ru_maxrss: kB on Linux


def cached(home: Path) -> int:
    [cache] = home.glob("environments/*/cache.db")
    with closing(sqlite3.connect(f"file:{cache}?mode=ro", uri=True)) as db:
        return db.execute("SELECT count(*) FROM transactions").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000, help="of the big connection")
    parser.add_argument("--baseline", type=int, default=1_000, help="transactions of the baseline's connection")
    parser.add_argument("--seed", type=int, default=20250615)
    parser.add_argument("--quick", action="store_true", help="20,000 transactions: a check that it works")
    args = parser.parse_args(argv)
    if os.name != "posix":
        raise SystemExit("this benchmark reads the peak memory of a process with wait4 (POSIX)")
    if args.quick:
        args.transactions = 20_000
    print(
        f"Peak memory of a sync · Python {platform.python_version()} · SQLite {sqlite3.sqlite_version} · "
        f"{os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="flinks-bench-") as directory, FlinksApi() as api:
        root = Path(directory)
        figures = []
        for name, transactions, home in (
            ("baseline", args.baseline, root / "small"),
            ("first sync", args.transactions, root / "big"),
            ("second sync", args.transactions, root / "big"),
        ):
            detail = root / f"detail-{transactions}.json"
            if not detail.exists():
                started = time.perf_counter()
                write_detail(detail, transactions, args.seed)
                print(
                    f"(GetAccountsDetail of {transactions:,} transactions: {detail.stat().st_size / 1e6:.0f} MB, "
                    f"written in {time.perf_counter() - started:.1f} s)"
                )
            api.detail = detail
            peak, seconds, said = measured_sync(home, api.api_url)
            figures.append((name, transactions, peak, seconds))
            print(f"{name:<12} {transactions:>10,} transactions: peak {peak:7.1f} MB, {seconds:6.1f} s  ({said})")
            assert cached(home) == transactions
        base = figures[0][2]
        for name, transactions, peak, _ in figures[1:]:
            per = (peak - base) * 1024 * 1024 / max(transactions - args.baseline, 1)
            verdict = "UNDER" if peak < GOAL_MB else "OVER"
            print(
                f"RESULT {name}: peak {peak:.0f} MB, {peak - base:+.0f} MB over the baseline "
                f"({per:.0f} bytes per transaction): {verdict} the {GOAL_MB} MB goal"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
