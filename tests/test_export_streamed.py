"""Exports written on a worker thread, streamed from the store, whole or not at all.

On real caches written with the store's own API; the window's Export action driven on the real
main window (the offline sandbox's environment, its cache filled before the window opens).
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDateEdit, QLineEdit, QMessageBox, QProgressDialog, QPushButton
from test_store_reads import LOGIN, saved, snapshot

from flinks_desktop.core import export
from flinks_desktop.core.export import ExportCancelled, ExportError, TransactionsExport
from flinks_desktop.core.store import Store

ROWS = 20_000


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "data" / "cache.db"
    with Store.open(path) as store:
        saved(store, snapshot(LOGIN, ROWS, seed=11))
    return path


def expected_csv(cache: Path, **filters) -> str:
    with Store.open(cache) as store:
        out = io.StringIO(newline="")
        accounts = export.accounts_by_id(store.accounts(LOGIN))
        export.write_csv(store.transactions(LOGIN, **filters), out, spreadsheet_safe=True, accounts=accounts)
    return out.getvalue()


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


def test_an_export_writes_what_the_store_reads_in_csv_and_json(cache, tmp_path):
    filters = {"search": "metro", "since": date(2024, 1, 1)}
    job = TransactionsExport(cache, LOGIN, tmp_path / "out.csv", **filters, spreadsheet_safe=True)
    count = job.run()
    assert count == job.total == job.written > 0
    written = (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert written == expected_csv(cache, **filters)
    # Every row names its account, and its currency where the account has one (the snapshot has
    # a USD account beside CAD ones, and an old one without a currency).
    rows = list(csv.DictReader(io.StringIO(written, newline="")))
    assert all(row["account"] for row in rows)
    assert {row["currency"] for row in rows} == {"CAD", "USD", ""}
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o600  # bank data: the owner's

    job = TransactionsExport(cache, LOGIN, tmp_path / "out.json", as_json=True, spreadsheet_safe=True)
    assert job.run() == ROWS
    with Store.open(cache) as store:
        assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == export.records(
            store.transactions(LOGIN), accounts=export.accounts_by_id(store.accounts(LOGIN))
        )  # JSON is exact: spreadsheet_safe is for CSV only
    assert leftovers(tmp_path) == []


def test_a_cancelled_export_leaves_the_file_that_was_there(cache, tmp_path):
    target = tmp_path / "transactions.csv"
    target.write_text("what was there before\n", encoding="utf-8")
    job = TransactionsExport(cache, LOGIN, target)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            job.run()
        except BaseException as error:  # noqa: BLE001 - what the worker thread ended with
            failure.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    while job.written < 1_000 and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.001)
    job.cancel()
    worker.join(timeout=30)
    assert len(failure) == 1 and isinstance(failure[0], ExportCancelled), failure
    assert "was cancelled" in str(failure[0]) and 1_000 <= job.written < ROWS
    assert target.read_text(encoding="utf-8") == "what was there before\n"
    assert leftovers(tmp_path) == []


def test_a_failed_export_loses_nothing_and_says_why(cache, tmp_path):
    folder = tmp_path / "a folder named like the file.csv"
    folder.mkdir()
    (folder / "kept.txt").write_text("kept", encoding="utf-8")
    with pytest.raises(ExportError) as caught:  # every row written, then the move into place fails
        TransactionsExport(cache, LOGIN, folder).run()
    message = str(caught.value)
    assert str(folder) in message and message.endswith("nothing was written there.")
    assert [path.name for path in folder.iterdir()] == ["kept.txt"] and leftovers(tmp_path) == []
    with pytest.raises(ExportError, match="could not be written"):  # no such folder: fails at once
        TransactionsExport(cache, LOGIN, tmp_path / "missing" / "out.csv").run()


# -- the window's Export action ----------------------------------------------------------------------


def test_the_window_exports_on_another_thread_while_its_loop_keeps_running(qtbot, make_window, cache, tmp_path):
    def prepare(settings) -> None:
        target = settings.cache_path(settings.active)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(cache.read_bytes())
        target.chmod(0o600)

    window = make_window(prepare)
    assert window.connections.select(LOGIN)
    qtbot.waitUntil(lambda: window.transactions_view.model.rowCount() == ROWS)
    destination = tmp_path / "exported.csv"
    window.choose_export_path = lambda default: (str(destination), "CSV (*.csv)")
    ticks: list[float] = []
    ticker = QTimer(interval=2)
    ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
    ticker.start()
    try:
        window.export_transactions()
        started = time.perf_counter()
        assert not destination.exists()  # it returned before writing: the writing is elsewhere
        qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Exported"), timeout=60_000)
        ended = time.perf_counter()
    finally:
        ticker.stop()
    assert window.statusBar().currentMessage() == f"Exported {ROWS:,} transactions to exported.csv"
    assert destination.read_text(encoding="utf-8") == expected_csv(cache)
    # The GUI thread ran its event loop all along: its timer kept firing while the file was written.
    during = [tick for tick in ticks if started < tick < ended]
    assert len(during) >= 10, f"{len(during)} ticks in {(ended - started) * 1000:.0f} ms of export"

    # A failed export (the name is a folder's) says why and leaves what was there.
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    window.choose_export_path = lambda default: (str(folder), "CSV (*.csv)")
    window.export_transactions()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorDialog") is not None, timeout=60_000)
    dialog = window.findChild(QMessageBox, "errorDialog")
    assert dialog.windowTitle() == "The export could not be written" and str(folder) in dialog.text()
    assert list(folder.iterdir()) == [] and leftovers(tmp_path) == []
    assert os.listdir(destination.parent).count("exported.csv") == 1
    dialog.close()

    # Cancel (the progress dialog's button) while it writes: the file exported before stays whole.
    before = destination.read_bytes()
    window.choose_export_path = lambda default: (str(destination), "CSV (*.csv)")
    window.export_transactions()
    progress = window.findChild(QProgressDialog, "exportProgress")
    assert progress is not None and progress.labelText().startswith("Exporting transactions to exported.csv")
    progress.findChild(QPushButton).click()  # its Cancel button
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Export cancelled"), timeout=60_000)
    assert window.statusBar().currentMessage() == "Export cancelled: exported.csv was not written."
    assert destination.read_bytes() == before and leftovers(tmp_path) == []

    # The name suggested says whose transactions and which dates: the month of the newest ones.
    suggested: list[str] = []
    window.choose_export_path = lambda default: (suggested.append(default), ("", ""))[1]
    window.export_transactions()
    newest = window.store.transactions(LOGIN, limit=1)[0].date
    first, last = newest.replace(day=1), newest
    view = window.transactions_view
    view.findChild(QDateEdit, "transactionFrom").setDate(first)
    view.findChild(QDateEdit, "transactionTo").setDate(last)
    qtbot.waitUntil(lambda: (view.filters().since, view.filters().until) == (first, last))
    window.export_transactions()
    login = window.selected_login()
    who = f"Flinks Capital - {login.username}"
    assert suggested == [f"{who} - transactions.csv", f"{who} - transactions {first} to {last}.csv"]

    # Nothing matches what is on screen: said, and no file is asked for (a header alone helps no one).
    window.transactions_view.findChild(QLineEdit, "transactionSearch").setText("zqxwv nothing like it")
    window.export_transactions()
    assert len(suggested) == 2
    assert window.statusBar().currentMessage() == (
        "Nothing to export: no transactions match (the Transactions tab says more)."
    )


def test_the_command_line_export_streams_every_match_from_the_cache(tmp_path, capsys, monkeypatch) -> None:
    """`transactions --format csv|json` writes every match as the store yields it in batches: the
    whole list is never loaded (Store.transactions, which returns a list, is not used for it)."""
    import csv as csv_module
    import io
    import json as json_module
    from datetime import UTC, date, datetime, timedelta

    from flinks_desktop.cli import main
    from flinks_desktop.core.environments import offline_sandbox
    from flinks_desktop.core.flinks.models import loads, parse_accounts
    from flinks_desktop.core.settings import Settings
    from flinks_desktop.core.store import Store

    data_dir = tmp_path / "data"
    login_id, account_id = "0a1b2c3d-0000-4000-8000-00000000abcd", "0a1b2c3d-1111-4000-8000-00000000abcd"
    body = {
        "HttpStatusCode": 200,
        "RequestId": "22178382-31ee-485c-a750-c20929b6a344",
        "Institution": "FlinksCapital",
        "Login": {"Username": "streamer", "Id": login_id},
        "Accounts": [
            {
                "Id": account_id,
                "Title": "Everyday Chequing",
                "AccountNumber": "1234567",
                "Currency": "CAD",
                "Balance": {"Current": 100.0},
                "Transactions": [
                    {
                        "Id": f"0a1b2c3d-2222-4000-8000-{n:012x}",
                        "Date": (date(2026, 1, 1) + timedelta(days=n % 300)).isoformat(),
                        "Description": f"PAYMENT {n}",
                        "Debit": 1.25,
                        "Balance": 100.0,
                    }
                    for n in range(2500)
                ],
            }
        ],
    }
    snapshot = parse_accounts(loads(json_module.dumps(body)))
    now = datetime.now(UTC)
    with Store.open(Settings(data_dir).cache_path(offline_sandbox())) as store:
        store.upsert_login(login_id, "FlinksCapital", at=now, details=snapshot.login, environment="sandbox")
        store.save_snapshot(login_id, snapshot, synced_at=now)

    listed = Store.transactions

    def only_limited(self, *args, **kwargs):
        assert kwargs.get("limit"), "the export loaded every transaction into one list"
        return listed(self, *args, **kwargs)

    monkeypatch.setattr(Store, "transactions", only_limited)
    assert main(["--data-dir", str(data_dir), "transactions", login_id, "--format", "csv"]) == 0
    rows = list(csv_module.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 2500 and len({row["id"] for row in rows}) == 2500
    assert [row["date"] for row in rows] == sorted((row["date"] for row in rows), reverse=True)  # newest first
    assert main(["--data-dir", str(data_dir), "transactions", login_id, "--format", "json"]) == 0
    assert len(json_module.loads(capsys.readouterr().out)) == 2500

    # `| head -1`: the reader leaves after a line; the export ends quietly, no traceback.
    import os
    import subprocess
    import sys

    for format_ in ("csv", "json"):
        command = [sys.executable, "-m", "flinks_desktop", "--data-dir", str(data_dir), "transactions", login_id]
        process = subprocess.Popen(
            [*command, "--format", format_],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "HOME": str(tmp_path), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
        )
        assert process.stdout.readline()  # the first line, then the reader goes
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=60) == 1
        assert stderr == "", stderr
