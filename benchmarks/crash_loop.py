"""Kill a syncing process at random points, again and again: does a snapshot ever come out mixed?

    .venv/bin/python benchmarks/crash_loop.py                    # 30 kills, 20,000 transactions
    .venv/bin/python benchmarks/crash_loop.py --runs 200 --transactions 50000 --seed 7

The cache promises that a snapshot (the login, its accounts, its transactions) is written whole or
not at all, whatever stops the writer: a crash, the power, `kill -9`. This checks it on the real
thing, end to end:

- a Flinks-shaped API on a free loopback port (the standard library's HTTP server, in a thread):
  a cached /Authorize, GetAccountsDetail with `--transactions` transactions over two accounts and
  GetStatements with one small PDF. Every GetAccountsDetail it serves is a new generation: the
  generation is in every description ("GEN0007 ...") and in every account's current balance, so
  the cache shows at a glance which answer each row came from;
- `flinks-desktop --api-url <that API> sync LOGIN_ID` as a real process on a temporary data
  directory: once to completion (the first snapshot; it also measures how long a sync takes from
  the moment the process asks for the data to its end), then `--runs` times killed with SIGKILL
  (TerminateProcess on Windows: no cleanup either) at a random point of that window, which is
  where the data arrives, is parsed and is written;
- after each kill, the cache is opened read-only with plain sqlite3 and checked: `PRAGMA
  integrity_check`; every transaction and every account from one generation only; as many
  transactions as an answer holds; the login's `synced_at` equal to every account's `seen_at`
  (one transaction writes them all).

It prints one line per kill (when, what the cache holds after it) and a summary:
`N kills: P left the previous snapshot, Q the new one, 0 a mixed snapshot (must be 0)`, with the
integrity failures. Exit status 0 when no snapshot was mixed and every check passed, 1 otherwise:
`tests/test_hardening_crash_loop.py` runs a short version (`--runs 3`).

Options: --runs, --transactions, --seed, --keep (keep the temporary directory and print it).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CUSTOMER_ID = "43387ca6-0391-4c82-857d-70d95f087ecb"
LOGIN_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
REQUEST_ID = "a1b2c3d4-e5f6-4789-9abc-def012345678"
ACCOUNTS = ("27a9ffa0-c6b9-4cc6-9eaa-aa9efa07a889", "5c1d3ad2-7a3e-4bb5-9c44-0a6f7e0c9d11")
PLACEHOLDER = "GEN@@@@"
PDF = b"%PDF-1.4 a statement of the crash loop\n%%EOF\n"


# -- the API ----------------------------------------------------------------------------------------


class FlinksApi:
    """The loopback API (see the module docstring). `asked` is set when GetAccountsDetail is asked."""

    def __init__(self, transactions: int) -> None:
        self.generation = 0
        self.asked = threading.Event()
        self._lock = threading.Lock()
        self._detail = _detail(transactions).encode()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._answer(api.answer(self.path))

            def do_GET(self) -> None:  # noqa: N802
                self._answer(api.answer(self.path))

            def _answer(self, body: bytes) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client was killed
                    pass
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v3/{CUSTOMER_ID}"

    def answer(self, path: str) -> bytes:
        endpoint = path.split("/BankingServices/")[-1].split("/")[0]
        login = {"Id": LOGIN_ID, "Username": "crash_loop", "IsScheduledRefresh": False, "Type": "Personal"}
        if endpoint == "GetAccountsDetail":
            with self._lock:
                self.generation += 1
                generation = self.generation
            self.asked.set()
            return self._detail.replace(PLACEHOLDER.encode(), f"GEN{generation:04d}".encode()).replace(
                b'"Current": 0', f'"Current": {generation}'.encode()
            )
        if endpoint == "GetStatements":
            return json.dumps(
                {
                    "HttpStatusCode": 200,
                    "Login": login,
                    "RequestId": REQUEST_ID,
                    "StatementsByAccount": [
                        {
                            "AccountNumber": "7641238",
                            "Statements": [
                                {
                                    "UniqueId": "3DD209E106553D2BB0A6EFF57FD0480C",
                                    "FileType": "PDF",
                                    "Base64Bytes": base64.b64encode(PDF).decode(),
                                }
                            ],
                        }
                    ],
                }
            ).encode()
        return json.dumps(
            {"HttpStatusCode": 200, "Login": login, "Institution": "FlinksCapital", "RequestId": REQUEST_ID}
        ).encode()  # /Authorize

    def __enter__(self) -> FlinksApi:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _detail(transactions: int) -> str:
    """GetAccountsDetail: two accounts sharing `transactions` transactions, the generation placeholder
    in every description and 0 as every account's current balance (replaced when served)."""
    end = date(2025, 6, 15)
    accounts = [
        {
            "Id": account,
            "Title": title,
            "AccountNumber": number,
            "Category": "Operations",
            "Type": kind,
            "Currency": "CAD",
            "Balance": {"Available": 100.25, "Current": 0, "Limit": None},
            "Transactions": [],
        }
        for account, title, number, kind in zip(
            ACCOUNTS, ("Chequing", "Savings"), ("7641238", "3519999"), ("Chequing", "Savings"), strict=True
        )
    ]
    for number in range(transactions):
        accounts[number % 2]["Transactions"].append(
            {
                "Id": f"7e1f0e7e-0000-4000-8000-{number:012d}",
                "Date": (end - timedelta(days=number // 200)).isoformat(),
                "Code": None,
                "Description": f"{PLACEHOLDER} PAYMENT {number} TIM HORTONS",
                "Debit": round(number % 500 + 0.25, 2),
                "Credit": None,
                "Balance": 10_000 + number,
            }
        )
    return json.dumps(
        {
            "HttpStatusCode": 200,
            "Accounts": accounts,
            "Institution": "FlinksCapital",
            "Login": {"Id": LOGIN_ID, "Username": "crash_loop", "IsScheduledRefresh": False},
            "RequestId": REQUEST_ID,
        }
    )


# -- the process and the cache ----------------------------------------------------------------------


def start_sync(home: Path, api_url: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "FLINKS_DESKTOP_HOME": str(home),
        "FLINKS_DESKTOP_POLL_INTERVAL": "0.05",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flinks_desktop", "--api-url", api_url, "sync", LOGIN_ID],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
    )


def kill(process: subprocess.Popen) -> None:
    if os.name == "posix":
        process.send_signal(signal.SIGKILL)
    else:
        process.kill()  # TerminateProcess: no cleanup either
    process.wait()


def cache_of(home: Path) -> Path:
    [cache] = home.glob("environments/*/cache.db")
    return cache


def examine(cache: Path, transactions: int) -> tuple[str, list[str]]:
    """(the generation the snapshot is from, or "mixed"; the problems found)."""
    problems = []
    with closing(sqlite3.connect(f"file:{cache}?mode=ro", uri=True)) as db:
        if db.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
            problems.append("integrity_check failed")
        marks = {row[0] for row in db.execute("SELECT DISTINCT substr(description, 1, 7) FROM transactions")}
        balances = {f"GEN{row[0] // 100:04d}" for row in db.execute("SELECT balance_current FROM accounts")}
        count = db.execute("SELECT count(*) FROM transactions").fetchone()[0]
        synced = db.execute("SELECT synced_at FROM logins WHERE id = ?", [LOGIN_ID]).fetchone()
        seen = {row[0] for row in db.execute("SELECT seen_at FROM accounts")}
    generations = marks | balances
    if count != transactions:
        problems.append(f"{count:,} transactions, not {transactions:,}")
    if synced is None or seen != {synced[0]}:
        problems.append("the login's synced_at is not every account's seen_at")
    if len(generations) != 1:
        return "mixed", [*problems, f"rows from {', '.join(sorted(generations))}"]
    return generations.pop(), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="how many times a sync is killed (default: 30)")
    parser.add_argument("--transactions", type=int, default=20_000, help="in the answer (default: 20,000)")
    parser.add_argument("--seed", type=int, default=None, help="of the random kill points")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    chance = random.Random(args.seed)
    directory = Path(tempfile.mkdtemp(prefix="flinks-crash-loop-"))
    home = directory / "home"
    outcomes = {"previous": 0, "new": 0, "mixed": 0}
    failures = 0
    try:
        with FlinksApi(args.transactions) as api:
            started = time.monotonic()
            first = start_sync(home, api.api_url)
            if not api.asked.wait(60):
                raise SystemExit("the first sync never asked for the data: " + first.stderr.read().decode())
            asked_at = time.monotonic()
            if first.wait(120) != 0:
                raise SystemExit("the first sync failed: " + first.stderr.read().decode())
            first.stderr.close()
            window = time.monotonic() - asked_at
            print(
                f"One sync: {time.monotonic() - started:.2f} s in all, {window:.2f} s from asking for the data "
                f"({args.transactions:,} transactions) to the end. Killing {args.runs} syncs at random points "
                "of that window."
            )
            cache = cache_of(home)
            for run in range(1, args.runs + 1):
                before, _ = examine(cache, args.transactions)
                api.asked.clear()
                process = start_sync(home, api.api_url)
                if not api.asked.wait(60):
                    kill(process)
                    raise SystemExit("a sync never asked for the data")
                served = f"GEN{api.generation:04d}"
                delay = chance.uniform(0, window * 1.05)
                time.sleep(delay)
                finished = process.poll() is not None
                kill(process)
                process.stderr.close()
                after, problems = examine(cache, args.transactions)
                outcome = (
                    "mixed"
                    if after == "mixed"
                    else "new"
                    if after == served
                    else "previous"
                    if after == before
                    else "mixed"
                )
                outcomes[outcome] += 1
                failures += bool(problems)
                note = " (it had finished)" if finished else ""
                print(
                    f"  kill {run:3}: after {delay:5.2f} s{note}: {outcome}"
                    + (f"; {'; '.join(problems)}" if problems else "")
                )
    finally:
        if args.keep:
            print(f"Kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    print(
        f"{args.runs} kills: {outcomes['previous']} left the previous snapshot, {outcomes['new']} the new one, "
        f"{outcomes['mixed']} a mixed snapshot (must be 0); {failures} with a failed check (must be 0)."
    )
    return 0 if outcomes["mixed"] == 0 and failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
