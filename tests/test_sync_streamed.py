"""A sync reads GetAccountsDetail's answer from a file as it writes it: the cache gets the whole
snapshot or nothing of it, whatever the answer holds and wherever in it the problem is, what was
left out is said, and the file is gone once the sync ends, cancelled or not.

The answers are served over real loopback HTTP (`ScriptedServer`) to the real client, and synced by
`Sync.refresh` into a real SQLite cache. The client keeps only 16 kB of an answer in memory here
(a real sync: 4 MB) and the stream reads 50 transactions at a time, so that these answers of a few
hundred transactions go through the temporary file and many batches, as a big one does.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from fault_server import LOGIN_ID, _authorize_body, _detail_body
from scripted_server import Reply, ScriptedServer

from flinks_desktop.core.flinks import FlinksClient, client, models
from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import NOTHING_SAVED, Sync, SyncCancelled, SyncProgress

OTHER_LOGIN = "0badc0de-1111-4222-8333-444455556666"
TRANSACTIONS = 600
AUTHORIZE = Reply(200, _authorize_body())
DETAIL = json.loads(_detail_body(TRANSACTIONS).replace(b"GEN@@@@", b"GOOD"))


def last_first(document: dict) -> dict:
    """As Flinks' sample orders it: Login after Accounts, each account's Id after its transactions."""
    document = copy.deepcopy(document)
    for account in document["Accounts"]:
        account["Id"] = account.pop("Id")
    document["Login"] = document.pop("Login")
    document["RequestId"] = document.pop("RequestId")
    return document


@pytest.fixture(scope="module")
def server():
    with ScriptedServer() as running:
        yield running


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    """Answers go to the temporary file past 16 kB, and are read 50 transactions at a time. Every
    file made is kept here, to check it is closed."""
    made = []

    class Recorded(tempfile.SpooledTemporaryFile):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(client, "SPOOL_IN_MEMORY", 16 * 1024)
    monkeypatch.setattr(client.tempfile, "SpooledTemporaryFile", Recorded)
    monkeypatch.setattr(models, "STREAM_BATCH", 50)
    return made


def refreshed(server: ScriptedServer, cache: Path, detail: dict, *, progress=None):
    """Link the login (the good answer), then refresh it once with `detail`: the refresh's result,
    or the SyncCancelled it raised."""

    async def run():
        async with FlinksClient(
            f"{server.url}/v3/43387ca6-0391-4c82-857d-70d95f087ecb", poll_interval=0.001, retries=0, deadline=10
        ) as flinks:
            sync = Sync(flinks, cache, environment="streamed", statements=None)
            try:
                server.script(AUTHORIZE, Reply(200, json.dumps(last_first(DETAIL)).encode()))
                assert (await sync.link(LOGIN_ID, "FlinksCapital")).ok
                server.script(
                    AUTHORIZE, Reply(200, json.dumps(detail).encode())
                )  # ASCII: a lone surrogate goes escaped
                try:
                    return await sync.refresh(LOGIN_ID, progress=progress)
                except SyncCancelled as cancelled:
                    return cancelled
            finally:
                await sync.close()

    return asyncio.run(run())


def cached(cache: Path) -> list[tuple]:
    with closing(sqlite3.connect(cache)) as db:
        db.execute("INSERT INTO transactions_fts (transactions_fts, rank) VALUES ('integrity-check', 1)")
        return db.execute("SELECT account_id, id, date, description, debit FROM transactions ORDER BY 1, 2").fetchall()


def test_an_answer_on_file_is_saved_whole_and_the_file_closed(server, tmp_path, small_pieces) -> None:
    changed = last_first(DETAIL)
    changed["Accounts"][1]["Transactions"][7]["Description"] = "CHANGED IN THE SECOND ANSWER"
    result = refreshed(server, tmp_path / "cache.db", changed)
    assert result.ok and (result.snapshot.updated, result.snapshot.unchanged) == (1, TRANSACTIONS - 1)
    assert len(cached(tmp_path / "cache.db")) == TRANSACTIONS
    assert small_pieces and all(file._rolled and file.closed for file in small_pieces)  # on disk, then gone


def test_another_logins_id_after_the_accounts_saves_nothing_of_them(server, tmp_path) -> None:
    cache = tmp_path / "cache.db"
    hostile = last_first(DETAIL)
    for account in hostile["Accounts"]:
        for row in account["Transactions"]:
            row["Description"] = "NOT THIS ONE"
    hostile["Login"]["Id"] = OTHER_LOGIN  # read last, once every account is written in the transaction
    result = refreshed(server, cache, hostile)
    assert result.outcome == "error" and "Login.Id is not the loginId asked for" in result.message
    assert {row[3] for row in cached(cache)} == {
        row["Description"] for row in DETAIL["Accounts"][0]["Transactions"]
    } | {row["Description"] for row in DETAIL["Accounts"][1]["Transactions"]}
    with Store.open(cache) as store:
        assert store.login(LOGIN_ID).status == "error"


def test_text_the_cache_cannot_keep_in_the_last_account_saves_nothing(server, tmp_path) -> None:
    cache = tmp_path / "cache.db"
    hostile = last_first(DETAIL)
    for row in hostile["Accounts"][0]["Transactions"]:
        row["Description"] = "NOT THIS ONE"
    hostile["Accounts"][1]["Transactions"][250]["Description"] = "caf\udce9"
    result = refreshed(server, cache, hostile)
    assert result.outcome == "error"
    assert "text that is not valid Unicode in Accounts[1].Transactions[250].Description" in result.message
    assert "NOT THIS ONE" not in {row[3] for row in cached(cache)}


def test_what_is_left_out_names_the_account_whose_id_came_after_it(server, tmp_path) -> None:
    loose = last_first(DETAIL)
    loose["Accounts"][1]["Transactions"][3]["Date"] = "someday"
    loose["Accounts"][1]["Transactions"][4]["Debit"] = "12.345"  # a fraction of a cent: left out, the row kept
    result = refreshed(server, tmp_path / "cache.db", loose)
    assert result.ok, result.message
    second = DETAIL["Accounts"][1]
    assert [(item.what, item.path, item.item_id, item.account_id) for item in result.dropped] == [
        ("transaction", "Accounts[1].Transactions[3].Date", second["Transactions"][3]["Id"], second["Id"]),
        ("field", "Transaction.Debit", second["Transactions"][4]["Id"], second["Id"]),
    ]
    with Store.open(tmp_path / "cache.db") as store:
        [event] = [row for row in store.activity(LOGIN_ID) if row.name == "DATA_DROPPED"]
        said = json.dumps(event.detail, ensure_ascii=False)
        assert mask_id(second["Id"]) in said and second["Id"] not in said
        assert store.count_transactions(LOGIN_ID) == TRANSACTIONS  # the one left out was cached before: kept


def test_a_sync_cancelled_once_its_answer_came_saves_nothing_and_drops_the_file(server, tmp_path, small_pieces) -> None:
    cache = tmp_path / "cache.db"
    task: list[asyncio.Task] = []

    def cancel_when_saving(step: SyncProgress) -> None:
        if step.stage == "saving" and not task:
            task.append(asyncio.current_task())
            raise asyncio.CancelledError  # as a cancel arriving just before the save is handed over

    changed = last_first(DETAIL)
    changed["Accounts"][0]["Transactions"][0]["Description"] = "NOT SAVED"
    result = refreshed(server, cache, changed, progress=cancel_when_saving)
    assert isinstance(result, SyncCancelled) and result.message == NOTHING_SAVED
    assert "NOT SAVED" not in {row[3] for row in cached(cache)}
    assert small_pieces and all(file.closed for file in small_pieces)
