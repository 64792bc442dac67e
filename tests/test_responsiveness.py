"""The asyncio loop may be the GUI thread's (qasync): the heavy part of a big sync must not run on it.

For a connection with tens of thousands of transactions that is the JSON decoding of a multi-MB
answer, building the dataclasses, and freeing them afterwards. These tests check where that work
runs (thread identities: robust on a loaded machine) and, generously, that a ticker on the loop
keeps ticking; `benchmarks/gui_sync.py` measures the real window at 50,000 transactions.

Answers are served over loopback by `ScriptedServer`, byte for byte.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import weakref
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from scripted_server import Reply, ScriptedServer, json_reply

from flinks_desktop.core.flinks import AccountsResult, FlinksClient, FlinksError, ProtocolError, models
from flinks_desktop.core.flinks import client as client_module
from flinks_desktop.core.flinks.client import ApiCall
from flinks_desktop.core.flinks.models import loads
from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import Sync

CUSTOMER = "43387ca6-0391-4c82-857d-70d95f087ecb"
LOGIN_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
REQUEST_ID = "a1b2c3d4-e5f6-4789-9abc-def012345678"
TRANSACTIONS = 20_000
#: A generous bound for one turn of the loop while the client fetches a big answer: on the loop,
#: decoding and parsing 20,000 transactions took 130 to 170 ms on a 2-core machine; off it, the
#: loop's worst gap is about 10 ms there.
LOOP_GAP_BOUND = 0.25


def detail_body(transactions: int, *, debit_of_first: str | None = None) -> bytes:
    """The 200 of GetAccountsDetail: two accounts sharing `transactions` transactions, as Flinks
    writes them (amounts with cents). `debit_of_first` replaces the first Debit's JSON text."""

    def transaction(account: int, n: int) -> str:
        cents = 100 + (n * 7919) % 60_000
        amount = f"{cents // 100}.{cents % 100:02d}"
        debit = debit_of_first if (account, n) == (0, 0) and debit_of_first is not None else amount
        return (
            f'{{"Date": "2025/06/{1 + n % 28:02d}", "Code": null, '
            f'"Description": "TIM HORTONS #{n % 9000} MONTRÉAL QC", '
            f'"Debit": {debit}, "Credit": null, "Balance": {1000 + n}.25, '
            f'"Id": "{account:08x}-0000-4000-8000-{n:012x}"}}'
        )

    accounts = []
    for account in range(2):
        rows = ", ".join(transaction(account, n) for n in range(account, transactions, 2))
        accounts.append(
            f'{{"Transactions": [{rows}], "Title": "Chequing {account}", "AccountNumber": "111{account}", '
            f'"Balance": {{"Available": 1234.56, "Current": 1234.56, "Limit": null}}, '
            f'"Category": "Operations", '
            f'"Type": "Chequing", "Currency": "CAD", "Holder": null, "AccountType": "Personal", '
            f'"Id": "acc0000{account}-0000-4000-8000-000000000000"}}'
        )
    return (
        f'{{"HttpStatusCode": 200, "Accounts": [{", ".join(accounts)}], "Login": {{"Id": "{LOGIN_ID}", '
        f'"Username": "bench", "IsScheduledRefresh": false, '
        f'"LastRefresh": "2025-06-15T08:12:44.1234567"}}, '
        f'"Institution": "FlinksCapital", "RequestId": "{REQUEST_ID}"}}'
    ).encode()


@pytest.fixture(scope="module")
def big_detail() -> bytes:
    body = detail_body(TRANSACTIONS)
    assert len(body) > 2_000_000  # a multi-MB answer, as a big connection's
    return body


@pytest.fixture(scope="module")
def server():
    with ScriptedServer() as running:
        yield running


def flinks(server: ScriptedServer, **options: object) -> FlinksClient:
    return FlinksClient(f"{server.url}/v3/{CUSTOMER}", poll_interval=0.001, timeout=httpx.Timeout(10.0), **options)  # type: ignore[arg-type]


class Ticker:
    """Measures the turns of the loop: the longest time between two wake-ups of a 5 ms sleep."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last)
            last = now


def recording_threads(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[int]]:
    """Where the client's decoding (`loads`) and parsing (`parse_accounts`) run: thread idents."""
    threads: dict[str, set[int]] = {"decode": set(), "parse": set()}
    real_loads, real_parse = client_module.loads, client_module.parse_accounts

    def recorded_loads(data):
        threads["decode"].add(threading.get_ident())
        return real_loads(data)

    def recorded_parse(body):
        threads["parse"].add(threading.get_ident())
        return real_parse(body)

    monkeypatch.setattr(client_module, "loads", recorded_loads)
    monkeypatch.setattr(client_module, "parse_accounts", recorded_parse)
    return threads


# -- the client ------------------------------------------------------------------------------------


def test_a_big_detail_answer_is_decoded_and_parsed_off_the_loop(server, big_detail, monkeypatch) -> None:
    threads = recording_threads(monkeypatch)
    pending = {"HttpStatusCode": 202, "FlinksCode": "OPERATION_PENDING", "RequestId": REQUEST_ID}
    server.script(json_reply(202, pending), Reply(200, big_detail))

    async def run() -> tuple[AccountsResult, float, int]:
        async with flinks(server) as client, Ticker() as ticker:
            result = await client.get_accounts_detail(REQUEST_ID)
        return result, ticker.worst, threading.get_ident()

    result, worst_gap, loop_thread = asyncio.run(run())
    assert sum(len(account.transactions) for account in result.accounts) == TRANSACTIONS
    first = result.accounts[0].transactions[0]
    assert (first.debit, first.balance, first.description) == (
        Decimal("1.00"),
        Decimal("1000.25"),
        "TIM HORTONS #0 MONTRÉAL QC",
    )
    assert threads["parse"] and loop_thread not in threads["parse"]
    # The 202 is small and decoded on the loop; the 200 is decoded off it, with its parse.
    assert len(threads["decode"]) == 2 and loop_thread in threads["decode"]
    assert threads["decode"] - {loop_thread} == threads["parse"]
    assert worst_gap < LOOP_GAP_BOUND, f"the loop stood still for {worst_gap * 1000:.0f} ms"


def test_a_small_data_answer_is_parsed_off_the_loop_too(server, monkeypatch) -> None:
    threads = recording_threads(monkeypatch)
    server.script(Reply(200, detail_body(10)))

    async def run() -> tuple[AccountsResult, int]:
        async with flinks(server) as client:
            return await client.get_accounts_detail(REQUEST_ID), threading.get_ident()

    result, loop_thread = asyncio.run(run())
    assert sum(len(account.transactions) for account in result.accounts) == 10
    assert threads["parse"] and loop_thread not in threads["parse"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (lambda: detail_body(TRANSACTIONS)[:-1000], "GetAccountsDetail: the HTTP 200 body is not a JSON object"),
        # A field of the wrong type only drops that field now (test_flinks_tolerance.py): an answer
        # whose RequestId cannot be read has nothing to keep.
        (
            lambda: detail_body(TRANSACTIONS).replace(f'"RequestId": "{REQUEST_ID}"'.encode(), b'"RequestId": 7'),
            "RequestId: expected a string, got int",
        ),
    ],
    ids=["truncated", "wrong-type"],
)
def test_a_malformed_big_answer_still_ends_in_protocol_error(server, body, detail) -> None:
    """The error mapping is the same off the loop: a ProtocolError, after the call was observed."""
    calls: list[ApiCall] = []
    server.script(Reply(200, body()))

    async def run() -> None:
        async with flinks(server, on_call=calls.append) as client:
            await client.get_accounts_detail(REQUEST_ID)

    with pytest.raises(ProtocolError) as caught:
        asyncio.run(run())
    assert caught.value.detail == detail
    assert [(call.endpoint, call.status) for call in calls] == [("GetAccountsDetail", 200)]


def test_cancelling_while_an_answer_is_read_still_records_the_call(server, monkeypatch) -> None:
    """The HTTP exchange happened: cancelled while its answer is parsed, the call is still logged
    and observed (the audit keeps it), and the cancellation goes through at once."""
    calls: list[ApiCall] = []
    reading, release = threading.Event(), threading.Event()
    real_parse = client_module.parse_accounts

    def slow_parse(body):
        reading.set()
        release.wait(10)
        return real_parse(body)

    monkeypatch.setattr(client_module, "parse_accounts", slow_parse)
    server.script(Reply(200, detail_body(100)))

    async def run() -> None:
        async with flinks(server, on_call=calls.append) as client:
            task = asyncio.create_task(client.get_accounts_detail(REQUEST_ID))
            await asyncio.get_running_loop().run_in_executor(None, reading.wait, 10)
            task.cancel()
            try:
                with pytest.raises(asyncio.CancelledError):
                    await task
            finally:
                release.set()

    asyncio.run(run())
    assert [(call.endpoint, call.status, call.request_id) for call in calls] == [("GetAccountsDetail", 200, REQUEST_ID)]


def test_a_big_error_answer_is_decoded_off_the_loop_and_mapped(server, monkeypatch) -> None:
    threads = recording_threads(monkeypatch)
    padding = "x" * (client_module.DECODE_ON_LOOP_LIMIT + 1)
    server.script(
        json_reply(401, {"HttpStatusCode": 401, "FlinksCode": "UNAUTHORIZED", "Message": "No.", "Padding": padding})
    )

    async def run() -> int:
        async with flinks(server) as client:
            with pytest.raises(FlinksError) as caught:
                await client.get_accounts_detail(REQUEST_ID)
            assert caught.value.flinks_code == "UNAUTHORIZED"
        return threading.get_ident()

    loop_thread = asyncio.run(run())
    assert threads["decode"] and loop_thread not in threads["decode"]
    assert not threads["parse"]  # an error answer is not parsed as data


def test_decoding_a_big_body_lets_other_threads_run(big_detail) -> None:
    """json's C decoder holds the GIL unless it calls into Python: `loads` makes it call Python for
    every amount, so a thread decoding a big answer cannot freeze the GUI thread while it works."""
    times: list[float] = []

    def decode() -> None:
        times.append(time.perf_counter())
        loads(big_detail)
        times.append(time.perf_counter())

    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        ticks: list[float] = []
        worker = threading.Thread(target=decode)
        worker.start()
        while worker.is_alive():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)
        worker.join()
    finally:
        sys.setswitchinterval(previous)
    started, ended = times
    during = [tick for tick in ticks if started < tick < ended]
    # Holding the GIL throughout, the decoder lets this thread tick once at most while it works.
    assert len(during) >= 3, f"{len(during)} ticks in {(ended - started) * 1000:.0f} ms of decoding"


# -- the sync -------------------------------------------------------------------------------------------


def test_a_sync_frees_the_fetched_data_off_the_loop(server, big_detail, monkeypatch, tmp_path: Path) -> None:
    """The answer is read on the writer's thread (`models.AccountsStream`), a batch at a time: every
    batch of transactions is made there and freed there, none on the loop's."""
    made_on: list[str] = []
    freed_on: list[str] = []
    real_batch = models.TransactionBatch

    def watched_batch(*args):
        batch = real_batch(*args)
        made_on.append(threading.current_thread().name)
        weakref.finalize(batch, lambda: freed_on.append(threading.current_thread().name))
        return batch

    monkeypatch.setattr(models, "TransactionBatch", watched_batch)
    authorized = {
        "HttpStatusCode": 200,
        "RequestId": REQUEST_ID,
        "Institution": "FlinksCapital",
        "Login": {"Id": LOGIN_ID, "Username": "bench", "IsScheduledRefresh": False},
    }
    server.script(json_reply(200, authorized), Reply(200, big_detail))
    cache = tmp_path / "cache.db"

    async def run() -> tuple[str, str]:
        async with flinks(server) as client:
            sync = Sync(client, cache, environment="Responsiveness", statements=None)
            try:
                result = await sync.link(LOGIN_ID, "FlinksCapital")
            finally:
                await sync.close()
        return result.message, threading.current_thread().name

    message, loop_thread = asyncio.run(run())
    assert message == f"Saved 2 accounts, {TRANSACTIONS:,} new transactions, 0 updated."
    with Store.open(cache) as store:
        assert store.count_transactions(LOGIN_ID) == TRANSACTIONS
    assert made_on and loop_thread not in made_on, made_on
    assert len(freed_on) == len(made_on) and loop_thread not in freed_on, freed_on
    assert freed_on[0].startswith("flinks-cache-writer")
