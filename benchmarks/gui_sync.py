"""How long the GUI thread is blocked during and after a big sync: `python benchmarks/gui_sync.py`.

    .venv/bin/python benchmarks/gui_sync.py                               # 1,000,000 transactions
    .venv/bin/python benchmarks/gui_sync.py --transactions 50000 --statements 12
    .venv/bin/python benchmarks/gui_sync.py --quick                       # 5,000: a check that it works

The issue's bound: the GUI thread is never blocked for more than 50 ms during a sync of a big
connection, nor after it while the window shows the result. This measures it on the real app, end
to end, in the configuration the app runs:

- A Flinks-shaped API on a free loopback port, in a process of its own (Flinks is another machine:
  a server in this process would take the GIL from the GUI thread to send its answers, which the
  app never sees): POST /Authorize (cached) answers 200 with Login and RequestId; POST
  /GetAccountsDetail answers 202 OPERATION_PENDING and GET /GetAccountsDetailAsync/{RequestId} then
  answers 200 with 4 accounts holding `--transactions` transactions in all (GUID ids, dates,
  descriptions, Debit/Credit/Balance with cents; each account's Id after its transactions, as in
  Flinks' sample: about 190 MB of JSON for a million, written to a file first); POST
  /GetStatements answers 200 with a few small PDFs (the sandbox's own statement renderer).
- The real app, offscreen: `AppSession` on a temporary data directory whose environment is
  `custom_api(<that API's URL>)`, an in-memory keyring, the real `MainWindow` on the qasync loop,
  and, as the app does once its window is painted and its workspace open, `gc.collect()` then
  `gc.freeze()` (what exists then is never walked again by the collector). After a quiet spell that
  gives the idle baseline, it calls `window.on_login_captured(loginId, "FlinksCapital")`, what Flinks
  Connect's REDIRECT does: cached /Authorize -> GetAccountsDetail with its 202 polled ->
  GetStatements -> the snapshot written on the sync's writer thread as its answer is read -> the
  window reloads its list and views. The measure runs on until `--after` seconds past the end.

How the GUI thread is measured:

- a precise QTimer ticks every `--interval` ms on the GUI thread; a gap between two ticks is how
  long the thread could not run its event loop (the longest gap is the longest block, plus at most
  one interval);
- a watchdog thread that, whenever the GUI thread has not ticked for `--sample-after` ms, samples
  its Python stack (`sys._current_frames()`) and the innermost frames of every busy thread, then
  again every `--sample-every` ms while the stall lasts. The sampler needs the GIL: while a thread
  holds it in C code (a garbage collection, a long C call), the sample waits, and the printout
  says by how much. (`faulthandler.dump_traceback_later` samples without the GIL, but it reads the
  frames of running threads unsafely: it crashed this benchmark now and then.);
- `gc.callbacks`: every garbage collection of 5 ms or more, and the thread it ran on (a collection
  holds the GIL throughout, so a long one stops the GUI thread whichever thread runs it).

It prints the idle baseline, the worst gap and the 99th percentile during the sync and after it,
the sync's stages and total time, the rows in the cache afterwards, the worst stalls with the
stacks sampled while they lasted, the long garbage collections, and whether the worst gap is under
50 ms. It asserts nothing and exits 0: it is a measurement.

Options: --transactions, --statements, --interval, --sample-after, --sample-every, --baseline,
--after, --poll-interval, --stalls, --seed, --quick.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Before anything imports Qt: offscreen, and QtWebEngine's Chromium without its sandbox nor GPU.
for _name, _value in {
    "QT_QPA_PLATFORM": "offscreen",
    "QTWEBENGINE_DISABLE_SANDBOX": "1",
    "QTWEBENGINE_CHROMIUM_FLAGS": "--disable-gpu",
}.items():
    os.environ.setdefault(_name, _value)

BOUND_MS = 50.0
#: A thread whose innermost Python frame is one of these is waiting: not shown in the stall stacks.
IDLE_FRAMES = {"wait", "select", "_worker", "get", "accept", "poll"}
CUSTOMER_ID = "43387ca6-0391-4c82-857d-70d95f087ecb"
LOGIN_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
REQUEST_ID = "a1b2c3d4-e5f6-4789-9abc-def012345678"
AS_OF = date(2025, 6, 15)
#: More descriptions than the kit's (`flinks_desktop.testing.MERCHANTS`), for variety.
MORE_MERCHANTS = ("PHARMAPRIX #1234", "IGA EXTRA #8090", "NETFLIX.COM", "VIDEOTRON LTEE", "PRELEVEMENT HYPOTHEQUE")


def merchants() -> tuple[str, ...]:
    from flinks_desktop.testing import MERCHANTS

    return (*MERCHANTS, *MORE_MERCHANTS)


HOLDER = {
    "Name": "Camille Tremblay",
    "Address": {
        "CivicAddress": "1234 Rue Saint-Denis",
        "City": "Montréal",
        "Province": "QC",
        "PostalCode": "H2X 3K8",
        "POBox": None,
        "Country": "CA",
    },
    "Email": "camille.tremblay@example.com",
    "PhoneNumber": "(514) 555-0134",
}
ACCOUNTS = [  # title, number, type, category, currency, opening balance in cents, floor in cents
    ("Everyday Chequing", "1111000", "Chequing", "Operations", "CAD", 250_000, 0),
    ("High Interest Savings", "2222000", "Savings", "Operations", "CAD", 1_500_000, 0),
    ("Business Line of Credit", "3333000", "LineOfCredit", "Credits", "CAD", 0, -2_500_000),
    ("US Dollar Chequing", "4444000", "Chequing", "Operations", "USD", 80_000, 0),
]
LOGIN = {
    "Username": "camille.tremblay",
    "IsScheduledRefresh": False,
    "LastRefresh": "2025-06-15T08:12:44.1234567",
    "Type": "Personal",
    "Id": LOGIN_ID,
}


# == the Flinks-shaped API ==========================================================================


def money(cents: int) -> str:
    """A JSON number with cents, as Flinks writes them: 1234.5 is "1234.50"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@dataclass
class Payloads:
    """The answers, as files in `directory` (served by `serve`)."""

    directory: Path
    transactions: int
    detail_bytes: int
    statements_bytes: int
    statement_count: int


def build_payloads(directory: Path, transactions: int, statements: int, seed: int) -> Payloads:
    """The answers, written to files once: the detail body piece by piece (about 190 MB for a
    million transactions), so that this process never holds it."""
    rnd = random.Random(seed)
    descriptions = merchants()
    guid = lambda: str(uuid.UUID(int=rnd.getrandbits(128), version=4))  # noqa: E731
    numbers = []
    with (directory / "detail.json").open("w", encoding="utf-8") as out:
        out.write('{"HttpStatusCode": 200, "Accounts": [')
        for index, (title, number, kind, category, currency, opening, floor) in enumerate(ACCOUNTS):
            size = transactions // len(ACCOUNTS) + (1 if index < transactions % len(ACCOUNTS) else 0)
            balances, amounts = [], []
            balance = opening
            for _ in range(size):  # oldest first, then listed newest first as Flinks does
                amount = rnd.randint(100, 60_000)
                is_debit = rnd.random() < 0.62 and balance - amount >= floor
                balance += -amount if is_debit else amount
                balances.append(balance)
                amounts.append(-amount if is_debit else amount)
            out.write((", " if index else "") + '{"Transactions": [')
            rows = []
            for n in reversed(range(size)):
                day = AS_OF - timedelta(days=(size - 1 - n) * 2190 // max(size, 1))
                amount = amounts[n]
                rows.append(
                    f'{{"Date": "{day:%Y/%m/%d}", "Code": null, "Description": '
                    f"{json.dumps(f'{rnd.choice(descriptions)} {rnd.randint(1000, 9999)}', ensure_ascii=False)}, "
                    f'"Debit": {money(-amount) if amount < 0 else "null"}, '
                    f'"Credit": {"null" if amount < 0 else money(amount)}, "Balance": {money(balances[n])}, '
                    f'"Id": "{guid()}"}}'
                )
                if len(rows) == 10_000 and n:
                    out.write(", ".join(rows) + ", ")
                    rows = []
            out.write(", ".join(rows) + "]")
            account = {
                "TransitNumber": f"{77001 + index}",
                "InstitutionNumber": "777",
                "OverdraftLimit": "@2500.00" if floor else None,
                "Title": title,
                "AccountNumber": number,
                "LastFourDigits": None,
                "Balance": {
                    "Available": f"@{money(balance - floor)}",
                    "Current": f"@{money(balance)}",
                    "Limit": f"@{money(-floor)}" if floor else None,
                },
                "Category": category,
                "Type": kind,
                "Currency": currency,
                "Holder": HOLDER,
                "AccountType": "Personal",
                "Id": guid(),
            }
            numbers.append(number)
            text = json.dumps(account, ensure_ascii=False)
            out.write(", " + re.sub(r'"@(-?[0-9.]+)"', r"\1", text)[1:])  # the amounts as JSON numbers
        out.write(
            f'], "Login": {json.dumps(LOGIN)}, "InstitutionName": "Flinks Capital", "InstitutionId": 14, '
            f'"Institution": "FlinksCapital", "RequestId": "{REQUEST_ID}"}}'
        )
    by_account = []
    chosen = numbers[: min(statements, len(numbers))]
    for index, number in enumerate(chosen):
        count = statements // len(chosen) + (1 if index < statements % len(chosen) else 0)
        by_account.append(
            {
                "AccountNumber": number,
                "Statements": [
                    {
                        "UniqueId": uuid.UUID(int=rnd.getrandbits(128)).hex.upper(),
                        "FileType": "PDF",
                        "Base64Bytes": base64.b64encode(statement_pdf(number, month, rnd)).decode("ascii"),
                    }
                    for month in range(count)
                ],
            }
        )
    (directory / "statements.json").write_text(
        json.dumps(
            {
                "HttpStatusCode": 200,
                "StatementsByAccount": by_account,
                "Login": LOGIN,
                "Institution": "FlinksCapital",
                "RequestId": REQUEST_ID,
            }
        ),
        encoding="utf-8",
    )
    (directory / "authorize.json").write_text(
        json.dumps(
            {
                "HttpStatusCode": 200,
                "Links": [],
                "HttpStatusCodeDescription": "OK",
                "Login": LOGIN,
                "InstitutionId": 14,
                "Institution": "FlinksCapital",
                "InstitutionName": "Flinks Capital",
                "RequestId": REQUEST_ID,
            }
        )
    )
    (directory / "pending.json").write_text(
        json.dumps(
            {
                "HttpStatusCode": 202,
                "FlinksCode": "OPERATION_PENDING",
                "RequestId": REQUEST_ID,
                "Message": "Your operation is still processing",
                "Links": [
                    {
                        "rel": "GetAccountsDetailAsync",
                        "href": "/GetAccountsDetailAsync",
                        "example": "/GetAccountsDetailAsync/{requestId}",
                    }
                ],
            }
        )
    )
    return Payloads(
        directory,
        transactions,
        (directory / "detail.json").stat().st_size,
        (directory / "statements.json").stat().st_size,
        sum(len(g["Statements"]) for g in by_account),
    )


def statement_pdf(number: str, months_back: int, rnd: random.Random) -> bytes:
    """A small real statement PDF of a month, from the offline sandbox's renderer."""
    from flinks_desktop.sandbox.statements import StatementData, render_statement

    last = AS_OF.replace(day=1) - timedelta(days=1)
    for _ in range(months_back):
        last = last.replace(day=1) - timedelta(days=1)
    first = last.replace(day=1)
    balance, rows = Decimal("2500.00"), []
    for day in range(1, last.day + 1, 2):
        amount = Decimal(rnd.randint(100, 20_000)).scaleb(-2)
        balance -= amount
        rows.append(
            {
                "Date": first.replace(day=day).isoformat(),
                "Description": rnd.choice(merchants()),
                "Debit": amount,
                "Credit": None,
                "Balance": balance,
            }
        )
    account = {
        "Title": "Everyday Chequing",
        "AccountNumber": number,
        "Currency": "CAD",
        "Holder": HOLDER,
        "TransitNumber": "77001",
        "InstitutionNumber": "777",
    }
    return render_statement(
        StatementData(
            account=account, period_start=first, period_end=last, opening_balance=Decimal("2500.00"), transactions=rows
        )
    )


def serve(directory: Path) -> None:
    """The API, in the process `FakeFlinks` starts: answers from the files in `directory`, one line on
    stdout per call, until stdin closes."""
    files = {name: directory / f"{name}.json" for name in ("authorize", "pending", "detail", "statements")}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            endpoint = self.path.split("/BankingServices/")[-1].split("/")[0]
            print(f"CALL POST /{endpoint}", flush=True)
            if endpoint == "Authorize":
                asked = json.loads(body or b"{}")
                if asked.get("LoginId") != LOGIN_ID or asked.get("MostRecentCached") is not True:
                    return self.answer(
                        400,
                        b'{"HttpStatusCode": 400, "FlinksCode": "INVALID_REQUEST", '
                        b'"Message": "this fake Flinks answers cached /Authorize only"}',
                    )
                return self.send(200, files["authorize"])
            if endpoint == "GetAccountsDetail":
                return self.send(202, files["pending"])
            if endpoint == "GetStatements":
                return self.send(200, files["statements"])
            self.answer(404, b'{"HttpStatusCode": 404, "FlinksCode": "INVALID_REQUEST"}')

        def do_GET(self) -> None:  # noqa: N802
            endpoint = self.path.split("/BankingServices/")[-1].split("/")[0]
            print(f"CALL GET /{endpoint}", flush=True)
            if endpoint == "GetAccountsDetailAsync":
                return self.send(200, files["detail"])
            self.answer(404, b'{"HttpStatusCode": 404, "FlinksCode": "INVALID_REQUEST"}')

        def send(self, status: int, path: Path) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(path.stat().st_size))
            self.end_headers()
            with path.open("rb") as body:
                shutil.copyfileobj(body, self.wfile, 1024 * 1024)

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    sys.stdin.read()  # until the benchmark closes it
    server.shutdown()


class FakeFlinks:
    """The API in a process of its own (`serve`); `calls` lists what it was asked, in order."""

    def __init__(self, payloads: Payloads) -> None:
        self.payloads = payloads
        self.calls: list[str] = []
        self.port = 0
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3/{CUSTOMER_ID}"

    def start(self) -> FakeFlinks:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.payloads.directory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        first = self._process.stdout.readline()
        if not first.startswith("PORT "):
            raise RuntimeError(f"the fake Flinks API did not start: {first!r}")
        self.port = int(first.split()[1])
        self._reader = threading.Thread(target=self._read_calls, name="fake-flinks-calls", daemon=True)
        self._reader.start()
        return self

    def _read_calls(self) -> None:
        for line in self._process.stdout:
            if line.startswith("CALL "):
                self.calls.append(line[5:].strip())

    def stop(self) -> None:
        if self._process is not None:
            self._process.stdin.close()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._reader.join(5)
            self._process.stdout.close()
            self._process = None


# == measuring the GUI thread ======================================================================


@dataclass
class Sample:
    """The stacks at one moment of a stall."""

    #: Milliseconds since the GUI thread's last tick.
    at_ms: float
    #: How late the sampler itself woke: a long delay means some thread held the GIL in C code.
    delayed_ms: float
    #: The GUI thread's stack, most recent call first.
    gui: tuple[str, ...]
    #: "thread name: its two innermost frames", for every other thread that is not waiting.
    others: tuple[str, ...]


@dataclass
class Collection:
    start: float
    duration_ms: float
    generation: int
    thread: str


@dataclass
class Stall:
    start: float  # perf_counter of the tick before the gap
    gap_ms: float
    samples: list[Sample] = field(default_factory=list)


class GuiMonitor:
    """Ticks on the GUI thread, and a watchdog thread that samples the stacks during its stalls."""

    def __init__(self, interval_ms: float, sample_after_ms: float, sample_every_ms: float) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval_ms = interval_ms
        self.sample_after = sample_after_ms / 1000
        self.sample_every = sample_every_ms / 1000
        self.ticks: list[float] = []
        self.stalls: list[Stall] = []
        self.gui_ident = threading.get_ident()
        self._last_tick = 0.0
        self._gc_started = 0.0
        #: The garbage collections of 5 ms or more while measuring.
        self.collections: list[Collection] = []
        #: The watchdog's samples, by the tick that began the stall they belong to.
        self._samples: dict[float, list[Sample]] = {}
        self._running = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, round(interval_ms)))
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last_tick = time.perf_counter()
        self._timer.start()
        self._running.set()
        self._watchdog = threading.Thread(target=self._watch, name="gui-watchdog", daemon=True)
        self._watchdog.start()
        gc.callbacks.append(self._on_gc)

    def stop(self) -> None:
        self._timer.stop()
        self._running.clear()
        if self._watchdog is not None:
            self._watchdog.join(5)
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        """Times each garbage collection: it holds the GIL throughout, whichever thread runs it."""
        now = time.perf_counter()
        if phase == "start":
            self._gc_started = now
        elif (now - self._gc_started) * 1000 >= 5:
            self.collections.append(
                Collection(
                    self._gc_started,
                    (now - self._gc_started) * 1000,
                    info["generation"],
                    threading.current_thread().name,
                )
            )

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.ticks and now - self.ticks[-1] >= self.sample_after:
            before = self.ticks[-1]
            self.stalls.append(Stall(before, (now - before) * 1000, self._samples.pop(before, [])))
        self.ticks.append(now)
        self._last_tick = now

    def _watch(self) -> None:
        """Every 5 ms: when the GUI thread has not ticked for `sample_after`, sample the stacks (then
        every `sample_every` while the stall lasts). `sys._current_frames` needs the GIL, so a thread
        that holds it in C code (a big `json.loads`) delays the sample: the delay is recorded."""
        period = 0.005
        sampled_at = 0.0
        while self._running.is_set():
            planned = time.perf_counter() + period
            time.sleep(period)
            now = time.perf_counter()
            beat = self._last_tick
            if now - beat < self.sample_after or now - sampled_at < self.sample_every:
                continue
            sampled_at = now
            frames = sys._current_frames()
            names = {thread.ident: thread.name for thread in threading.enumerate()}
            gui = stack_of(frames.get(self.gui_ident))
            others = tuple(
                f"{names.get(ident, hex(ident))}: {' < '.join(stack_of(frame, 2))}"
                for ident, frame in frames.items()
                if ident not in (self.gui_ident, threading.get_ident())
                and frame is not None
                and frame.f_code.co_name not in IDLE_FRAMES
            )
            self._samples.setdefault(beat, []).append(
                Sample((now - beat) * 1000, max(0.0, (now - planned) * 1000), gui, others)
            )

    def gaps_ms(self, since: float, until: float) -> list[float]:
        return [(b - a) * 1000 for a, b in zip(self.ticks, self.ticks[1:]) if since <= b and a <= until]


def stack_of(frame, limit: int | None = None) -> tuple[str, ...]:
    """A frame's stack, most recent call first, as "path:line function" with short paths."""
    lines = []
    while frame is not None and (limit is None or len(lines) < limit):
        lines.append(f"{short_path(frame.f_code.co_filename)}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    return tuple(lines) or ("(no Python frame)",)


def short_path(path: str) -> str:
    """'/x/.venv/lib/python3.11/site-packages/qasync/__init__.py' -> 'qasync/__init__.py'."""
    path = path.replace("\\", "/")
    if "/flinks_desktop/" in path:
        return "flinks_desktop/" + path.rsplit("/flinks_desktop/", 1)[1]
    if "/site-packages/" in path:
        return path.rsplit("/site-packages/", 1)[1]
    match = re.search(r"/lib/python3\.\d+/(.*)", path)
    return match[1] if match else path.rsplit("/", 1)[-1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def describe(values: list[float]) -> str:
    if not values:
        return "no ticks"
    over = lambda limit: sum(1 for v in values if v > limit)  # noqa: E731
    return (
        f"{len(values):,} gaps · median {statistics.median(values):6.2f} ms · "
        f"p99 {percentile(values, 0.99):7.2f} ms · worst {max(values):7.2f} ms · "
        f"over 50 ms: {over(50)} · over 100 ms: {over(BOUND_MS)}"
    )


# == the app =======================================================================================


def make_session(data_dir: Path, api_url: str, poll_interval: float | None):
    """`AppSession` whose workspace is the API at `api_url` (not the settings' active environment,
    which would start the offline sandbox): the same objects the app works with."""
    from flinks_desktop.core.environments import custom_api
    from flinks_desktop.core.secret_store import SecretStore
    from flinks_desktop.core.settings import Settings
    from flinks_desktop.core.workspace import open_workspace
    from flinks_desktop.ui.app import AppSession

    environment = custom_api(api_url)

    class BenchmarkSession(AppSession):
        def _open(self, _active):
            return open_workspace(self.settings, self.secrets, environment, poll_interval=self._poll_interval)

    return BenchmarkSession(data_dir, Settings(data_dir), SecretStore(), poll_interval=poll_interval)


async def drive(app, window, monitor: GuiMonitor, args) -> dict:
    from PySide6.QtCore import QCoreApplication

    facts: dict = {"status": []}
    window.statusBar().messageChanged.connect(
        lambda text: facts["status"].append((time.perf_counter(), text)) if text else None
    )
    # In the app, the loginId comes from the Connect view's REDIRECT: the view (QtWebEngine, built on
    # first use) exists by then. Built here, before the measure, as it would be.
    window.connect_view  # noqa: B018
    await asyncio.sleep(1.0)  # warm-up: first paints, QtWebEngine's start
    # As the app does once its window is painted and its workspace open (ui/app.py): what exists
    # now lives as long as the app, and the collector never walks it again.
    gc.collect()
    gc.freeze()
    monitor.start()
    facts["idle"] = time.perf_counter()
    await asyncio.sleep(args.baseline)
    facts["sync start"] = time.perf_counter()
    finished = asyncio.get_running_loop().create_future()  # the window's public signal says when
    window.syncFinished.connect(lambda _login_id, outcome: finished.done() or finished.set_result(outcome))
    window.on_login_captured(LOGIN_ID, "FlinksCapital")
    facts["outcome"] = await finished
    facts["sync end"] = time.perf_counter()
    QCoreApplication.processEvents()
    await asyncio.sleep(args.after)
    facts["end"] = time.perf_counter()
    monitor.stop()
    return facts


def count_rows(cache_path: Path) -> tuple[int, int, int]:
    from flinks_desktop.core.store import Store

    with Store.open(cache_path) as store:
        return (len(store.accounts(LOGIN_ID)), store.count_transactions(LOGIN_ID), len(store.statements(LOGIN_ID)))


def report(args, payloads: Payloads, server: FakeFlinks, monitor: GuiMonitor, facts: dict, rows, app) -> None:
    import sqlite3

    start, end = facts["sync start"], facts["sync end"]
    print(
        f"GUI thread during a sync · Python {platform.python_version()} · "
        f"SQLite {sqlite3.sqlite_version} · "
        f"Qt platform {app.platformName()} · {os.cpu_count()} CPUs · tick every {args.interval:g} ms"
    )
    print(
        f"fake Flinks API {server.api_url} (a process of its own): 4 accounts, {payloads.transactions:,} "
        f"transactions (GetAccountsDetailAsync body {payloads.detail_bytes / 1e6:.1f} MB), "
        f"{payloads.statement_count} statements (GetStatements body {payloads.statements_bytes / 1e3:.0f} kB); "
        f"gc.freeze() after the first paint, as the app"
    )
    print(f"\nidle baseline ({args.baseline:g} s)   {describe(monitor.gaps_ms(facts['idle'], start))}")
    during = monitor.gaps_ms(start, facts["end"])
    print(f"during the sync          {describe(monitor.gaps_ms(start, end))}")
    print(f"after it ({args.after:g} s)           {describe(monitor.gaps_ms(end, facts['end']))}")
    print(f"both                     {describe(during)}")
    print(
        f"\nsync: {end - start:.2f} s from on_login_captured to the views reloaded "
        f"(of which one 202 poll interval: {window_poll(args):g} s); calls: {', '.join(server.calls)}"
    )
    for at, text in facts["status"]:
        if start <= at <= end + args.after:
            print(f"  {at - start:7.3f} s  {text}")
    accounts, transactions, statements = rows
    print(f"rows in the cache: {accounts} accounts, {transactions:,} transactions, {statements} statements")

    stalls = sorted(
        (s for s in monitor.stalls if start <= s.start + s.gap_ms / 1000 <= facts["end"]), key=lambda s: -s.gap_ms
    )
    shown = min(args.stalls, len(stalls))
    print(
        f"\nstalls of the GUI thread of {args.sample_after:g} ms or more during the sync: {len(stalls)}"
        + (f"; the {shown} worst, with the stacks sampled while they lasted:" if shown else "")
    )
    for stall in stalls[: args.stalls]:
        stage = next((text for at, text in reversed(facts["status"]) if at <= stall.start), "?")
        delayed = max((sample.delayed_ms for sample in stall.samples), default=0.0)
        print(
            f"\n  {stall.gap_ms:7.1f} ms from {stall.start - start:+.3f} s (status: {stage!r}), "
            f"{len(stall.samples)} samples"
            + (
                f"; the sampler was held off up to {delayed:.0f} ms (a thread held the GIL in C code)"
                if delayed > 20
                else ""
            )
        )
        step = max(1, -(-len(stall.samples) // 12))  # a timeline of 12 samples at most (none: a short stall)
        if step > 1:
            print(f"    (one sample in {step})")
        for sample in stall.samples[::step]:  # the timeline: the innermost frames of each sample
            print(f"    +{sample.at_ms:3.0f} ms  {' < '.join(sample.gui[:4])}")
            for other in sample.others:
                print(f"             | {other}")
        if stall.samples:
            gui, times = Counter(sample.gui for sample in stall.samples).most_common(1)[0]
            print(f"    the most frequent stack ({times} of {len(stall.samples)} samples), most recent call first:")
            for frame in gui[:16]:
                print(f"      {frame}")
            if len(gui) > 16:
                print(f"      … {len(gui) - 16} more frames")
    collections = [c for c in monitor.collections if start <= c.start <= facts["end"]]
    print(f"\ngarbage collections of 5 ms or more during the sync (each holds the GIL): {len(collections)}")
    for collection in collections:
        print(
            f"  generation {collection.generation} at {collection.start - start:+.3f} s on "
            f"{collection.thread}: {collection.duration_ms:.1f} ms"
        )
    worst = max(during, default=0.0)
    verdict = "UNDER" if worst < BOUND_MS else "OVER"
    print(
        f"\nRESULT: worst GUI-thread gap during the sync and the {args.after:g} s after it {worst:.1f} ms "
        f"(p99 {percentile(during, 0.99):.1f} ms): {verdict} the {BOUND_MS:g} ms bound"
        + (f", margin {BOUND_MS - worst:.0f} ms" if worst < BOUND_MS else f", by {worst - BOUND_MS:.0f} ms")
    )


def window_poll(args) -> float:
    from flinks_desktop.core.workspace import POLL_INTERVAL

    return POLL_INTERVAL["sandbox"] if args.poll_interval is None else args.poll_interval


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000, help="in all, over 4 accounts")
    parser.add_argument("--statements", type=int, default=3, help="PDFs GetStatements returns")
    parser.add_argument("--interval", type=float, default=5.0, help="ms between the GUI thread's ticks")
    parser.add_argument(
        "--sample-after", type=float, default=50.0, help="ms without a tick before the stacks are sampled"
    )
    parser.add_argument("--sample-every", type=float, default=10.0, help="ms between samples while a stall lasts")
    parser.add_argument("--baseline", type=float, default=2.0, help="idle seconds measured before the sync")
    parser.add_argument("--after", type=float, default=3.0, help="seconds measured after the sync")
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=None,
        help="seconds between polls of a 202 (default: the app's, 1 s for this kind of API)",
    )
    parser.add_argument("--stalls", type=int, default=5, help="how many of the worst stalls to show")
    parser.add_argument("--seed", type=int, default=20250615)
    parser.add_argument("--quick", action="store_true", help="5,000 transactions: a check that it works")
    parser.add_argument("--serve", metavar="DIRECTORY", help=argparse.SUPPRESS)  # the fake API's own process
    args = parser.parse_args(argv)
    if args.serve:
        serve(Path(args.serve))
        return 0
    if args.quick:
        args.transactions, args.baseline, args.after = 5_000, 0.5, 0.5

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
    import keyring
    import qasync
    import shiboken6
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from flinks_desktop.testing import MemoryKeyring
    from flinks_desktop.ui.app import style_sheet
    from flinks_desktop.ui.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="flinks-bench-") as directory:
        root = Path(directory)
        (root / "api").mkdir()
        started = time.perf_counter()
        payloads = build_payloads(root / "api", args.transactions, args.statements, args.seed)
        print(f"(bodies written in {time.perf_counter() - started:.1f} s)")
        for name in ("config", "data", "cache"):  # Qt and QtWebEngine write under these, not the home
            (root / name).mkdir()
            os.environ[f"XDG_{name.upper()}_HOME"] = str(root / name)
        keyring.set_keyring(MemoryKeyring())
        app = QApplication.instance() or QApplication([sys.argv[0]])
        app.setOrganizationName("Flinks Desktop Benchmark")
        app.setApplicationName("Flinks Desktop Benchmark")
        for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
            QSettings.setPath(fmt, QSettings.Scope.UserScope, str(root / "config"))
        app.setStyleSheet(style_sheet())
        # As the pytest plugin does: a qasync loop marked running, turned by a Qt event loop of our
        # own. (qasync's run_until_complete ends with QApplication.exit(), which crashed this PySide6
        # offscreen once QtWebEngine had started.)
        loop = qasync.QEventLoop(app, already_running=True)
        asyncio.set_event_loop(loop)
        executor = qasync.QThreadExecutor()  # the loop's default, as the app's; shut down at the end
        loop.set_default_executor(executor)

        server = FakeFlinks(payloads).start()
        data_dir = root / "flinks-desktop"
        data_dir.mkdir(mode=0o700)
        session = make_session(data_dir, server.api_url, args.poll_interval)
        window = MainWindow(session)
        window.show()
        monitor = GuiMonitor(args.interval, args.sample_after, args.sample_every)
        try:
            facts = run_on_qt(drive(app, window, monitor, args))
            window.close()
            run_on_qt(session.close())
            rows = count_rows(session.workspace.cache_path)
            report(args, payloads, server, monitor, facts, rows, app)
        finally:  # whatever failed: the threads stopped before the interpreter ends, or Qt aborts it
            monitor.stop()
            server.stop()
            window.deleteLater()
            deadline = time.monotonic() + 10
            while shiboken6.isValid(window) and time.monotonic() < deadline:
                app.processEvents()
            executor.shutdown()
            asyncio.events._set_running_loop(None)
            asyncio.set_event_loop(None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
