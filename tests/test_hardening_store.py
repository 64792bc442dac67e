"""A deletion always finishes, and the cache never takes a file that is not its own: on real SQLite
files, a real sync over loopback (`fault_server`), and real processes killed mid-way.

- every connection sets `secure_delete`, so a deletion zeroes what it frees before any VACUUM;
- a wipe that a reader blocks, or that a crash interrupts between the purge's commit and VACUUM,
  leaves a durable "wipe pending" mark that the next writer's open (the sync's writer, any
  command) finishes, with a line in the activity log; the sentence a person reads says so;
- /DeleteCard with no clear answer says nobody knows, and how to find out;
- an empty file, a file that is not SQLite, or another program's database at the cache's path is
  refused with a sentence and left byte for byte as it was;
- a cache of the release that keyed transactions by (login, Id) migrates with its data, and its
  search and triggers still work; one Id in two accounts then keeps both.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import keyring
import pytest
from fault_server import ACCOUNT_IDS, LOGIN_ID, Dropped, FaultServer, Slow, flinks_error
from keyring.backends import fail
from scripted_server import Reply
from sqlite_utils import Database

from flinks_desktop.cli import main
from flinks_desktop.core import paths
from flinks_desktop.core.environments import custom_api
from flinks_desktop.core.flinks import FlinksClient
from flinks_desktop.core.settings import Settings
from flinks_desktop.core.store import (
    MIGRATIONS,
    CacheCorrupt,
    CacheError,
    CacheForeign,
    Store,
)
from flinks_desktop.core.sync import WIPE_FINISHED, Sync

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
#: In every description the fault server sends: bank data that must leave the disk with its login.
MARKER = b"TIM HORTONS"


@pytest.fixture(scope="module")
def flinks():
    with FaultServer(transactions=3000) as server:
        yield server


def on_disk(cache: Path) -> bytes:
    """What SQLite keeps on disk for the cache: the file and its WAL."""
    wal = cache.with_name(cache.name + "-wal")
    return cache.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def linked(flinks: FaultServer, cache: Path, **options) -> None:
    async with FlinksClient(flinks.api_url, poll_interval=0.01, **options) as client:
        sync = Sync(client, cache, environment="faults", statements=None)
        try:
            assert (await sync.link(LOGIN_ID, "FlinksCapital")).ok
        finally:
            await sync.close()


async def deleted(flinks: FaultServer, cache: Path, **options):
    async with FlinksClient(flinks.api_url, poll_interval=0.01, retries=0, **options) as client:
        sync = Sync(client, cache, environment="faults", statements=None)
        try:
            return await sync.delete_card(LOGIN_ID, by="test")
        finally:
            await sync.close()


# -- secure_delete ---------------------------------------------------------------------------------------


def test_every_connection_zeroes_what_a_deletion_frees(flinks, tmp_path) -> None:
    cache = tmp_path / "cache.db"
    asyncio.run(linked(flinks, cache))
    with Store.open(cache) as store, closing(sqlite3.connect(cache, isolation_level=None)) as plain:
        assert store._conn.execute("PRAGMA secure_delete").fetchone() == (1,)
        # A deletion without VACUUM, as a purge whose wipe is blocked: the freed pages are zeroed.
        store._conn.execute("DELETE FROM transactions WHERE account_id = ?", [ACCOUNT_IDS[0]])
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with Store.open(cache) as reader:
            left = {row.description for row in reader.transactions(LOGIN_ID)}
        kept = [description.encode() for description in left]
        assert kept and all(description in on_disk(cache) for description in kept[:20])
        gone_example = b" PAYMENT 0 TIM HORTONS #0"  # transaction 0 was in the first account
        assert gone_example not in on_disk(cache)
        # The control: the same deletion with secure_delete off leaves the bytes in the file.
        plain.execute("PRAGMA secure_delete = OFF")
        plain.execute("DELETE FROM transactions WHERE account_id = ?", [ACCOUNT_IDS[1]])
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert b" PAYMENT 1 TIM HORTONS #1" in on_disk(cache)


# -- a wipe that is blocked, or interrupted --------------------------------------------------------------


def test_a_wipe_a_reader_blocks_is_pending_said_so_and_finished_by_the_next_writer(flinks, tmp_path) -> None:
    cache = tmp_path / "cache.db"
    asyncio.run(linked(flinks, cache))
    with closing(sqlite3.connect(cache, isolation_level=None)) as reader:  # another window reading
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM transactions").fetchone()
        result = asyncio.run(deleted(flinks, cache))
    assert result.ok and result.deleted_at_flinks and result.wipe_pending
    assert result.message == (
        "The card was deleted at Flinks and its data removed from this computer. Its rows are deleted, "
        "but another Flinks Desktop window or command is still reading the cache, so the deleted data could "
        "not be wiped from the file yet. That finishes by itself the next time Flinks Desktop or a "
        "flinks-desktop command opens this cache; closing the other windows lets it finish now."
    )
    assert "delete the connection again" not in result.message
    with Store.open(cache) as store:  # a reader's open (the GUI thread's) does not VACUUM
        assert store.pending_wipes() == 1 and store.logins() == []

    async def next_start() -> str | None:  # the app's next start: its sync's writer finishes it
        async with FlinksClient(flinks.api_url) as client:
            sync = Sync(client, cache, environment="faults")
            try:
                return await sync.finish_pending_wipes()
            finally:
                await sync.close()

    assert asyncio.run(next_start()) == WIPE_FINISHED
    assert MARKER not in on_disk(cache)
    with Store.open(cache) as store:
        assert store.pending_wipes() == 0
        names = [row.name for row in store.activity()]
        assert names.index("WIPE_COMPLETED") < names.index("LOGIN_PURGED")  # newest first
        [completed] = [row for row in store.activity() if row.name == "WIPE_COMPLETED"]
        assert completed.detail["logins"] == [f"{LOGIN_ID[:4]}…{LOGIN_ID[-4:]}"]
    assert asyncio.run(next_start()) is None  # nothing left to do


CRASH_AFTER_THE_PURGE = """
import os, sys
from datetime import UTC, datetime
from flinks_desktop.core.store import Store

Store._wipe_free_space = lambda self: os._exit(9)  # the power goes after the purge's commit
with Store.open(sys.argv[1]) as store:
    store.purge_login(sys.argv[2], at=datetime.now(UTC), by="test")
"""


def test_a_wipe_a_crash_interrupts_is_finished_by_the_next_command(flinks, tmp_path, monkeypatch, capsys) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv(paths.HOME_VARIABLE, str(home))
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert main(["--api-url", flinks.api_url, "sync", LOGIN_ID]) == 0
        cache = Settings(home).cache_path(custom_api(flinks.api_url))
        crashed = subprocess.run(
            [sys.executable, "-c", CRASH_AFTER_THE_PURGE, str(cache), LOGIN_ID],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert crashed.returncode == 9, crashed.stderr
        assert MARKER in on_disk(cache)  # purged, not wiped
        with Store.open(cache) as store:
            assert store.logins() == [] and store.pending_wipes() == 1

        assert main(["--api-url", flinks.api_url, "list"]) == 0  # the next command, whichever
        assert MARKER not in on_disk(cache)
        with Store.open(cache) as store:
            assert store.pending_wipes() == 0
            assert [row.name for row in store.activity()][:2] == ["WIPE_COMPLETED", "LOGIN_PURGED"]
    finally:
        keyring.set_keyring(previous)


# -- DeleteCard with no clear answer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [Dropped(), Slow(10, Reply(200, b"{}")), Reply(502, b"<html>Bad Gateway</html>", "text/html")],
    ids=["connection dropped", "deadline", "502"],
)
def test_a_deletion_without_a_clear_answer_says_nobody_knows_and_how_to_find_out(fault, flinks, tmp_path) -> None:
    cache = tmp_path / "cache.db"
    asyncio.run(linked(flinks, cache))
    with Store.open(cache) as store:
        before = (store.logins(), store.accounts(LOGIN_ID), store.count_transactions(LOGIN_ID))
    flinks.fault("DeleteCard", fault)
    try:
        result = asyncio.run(deleted(flinks, cache, deadline=1.0))
    finally:
        flinks.clear()
    assert not result.ok and result.outcome_unknown and result.purged is None
    assert result.message.startswith("Flinks may or may not have deleted the card")
    assert "run" not in result.message.split(":")[0] and "Flinks did not delete" not in result.message
    assert "if Flinks answers INVALID_LOGIN, the card is gone" in result.message
    with Store.open(cache) as store:
        assert (store.logins(), store.accounts(LOGIN_ID), store.count_transactions(LOGIN_ID)) == before


def test_a_deletion_flinks_refuses_still_says_it_did_not_delete(flinks, tmp_path) -> None:
    cache = tmp_path / "cache.db"
    asyncio.run(linked(flinks, cache))
    flinks.fault("DeleteCard", flinks_error(409, "CARD_IN_USE"))
    try:
        result = asyncio.run(deleted(flinks, cache))
    finally:
        flinks.clear()
    assert not result.outcome_unknown and result.message.startswith("Flinks did not delete the card")


# -- files that are not our cache ------------------------------------------------------------------------


def refused(path: Path, error: type[Exception], said: str) -> None:
    content = path.read_bytes()
    for finish_wipes in (False, True):
        with pytest.raises(error) as caught:
            Store.open(path, finish_wipes=finish_wipes)
        assert said in str(caught.value) and str(path) in str(caught.value)
    assert path.read_bytes() == content  # left byte for byte as it was
    assert not path.with_name(path.name + "-wal").exists()


def test_a_file_that_is_not_our_cache_is_refused_and_left_as_it_is(tmp_path) -> None:
    tmp_path.joinpath("data").mkdir()
    empty = tmp_path / "data" / "empty.db"
    empty.touch()
    refused(empty, CacheCorrupt, "is empty, so it is not a Flinks Desktop cache")

    text = tmp_path / "data" / "text.db"
    text.write_bytes(b"notes of the agent\n" * 300)
    refused(text, CacheCorrupt, "is damaged")

    other = tmp_path / "data" / "places.sqlite"
    with closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        db.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
        db.commit()
    refused(other, CacheForeign, "is a database of another program, not a Flinks Desktop cache")
    with closing(sqlite3.connect(other)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not even switched to WAL

    # Another program's migrations in the same sqlite-utils table are still not ours.
    theirs = tmp_path / "data" / "theirs.db"
    db = Database(theirs)
    db["_sqlite_migrations"].insert({"migration_set": "their.app", "name": "init", "applied_at": "x"})
    db["notes"].insert({"text": "hello"})
    db.close()
    refused(theirs, CacheForeign, "not a Flinks Desktop cache")


def test_the_command_line_refuses_a_foreign_cache_with_one_sentence(tmp_path, monkeypatch, capsys) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv(paths.HOME_VARIABLE, str(home))
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    cache = Settings(home).cache_path(Settings(home).active)
    cache.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    cache.touch()
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("flinks-desktop: The file ") and "is empty, so it is not a Flinks Desktop cache" in err
    assert err.count("\n") == 1 and cache.stat().st_size == 0


# -- transactions keyed by account: the migration ---------------------------------------------------------


def test_a_cache_keyed_by_login_and_id_migrates_with_its_data_and_search(tmp_path) -> None:
    cache = tmp_path / "data" / "cache.db"
    cache.parent.mkdir(mode=0o700)
    db = Database(cache)  # the release before: its migrations only
    MIGRATIONS.apply(db, stop_before="pending_wipes")
    assert "UNIQUE (login_id, id)" in db["transactions"].schema
    db["logins"].insert({"id": LOGIN_ID, "institution": "FlinksCapital", "added_at": NOW.isoformat()})
    for account in ACCOUNT_IDS:
        db["accounts"].insert({"login_id": LOGIN_ID, "id": account, "position": 0, "seen_at": NOW.isoformat()})
    old_rows = [
        {
            "seq": 10 + n,
            "login_id": LOGIN_ID,
            "account_id": ACCOUNT_IDS[n % 2],
            "id": f"tx-{n}",
            "date": f"2025-06-{1 + n:02d}",
            "description": f"PAYMENT {n} {'TIM HORTONS' if n % 3 else 'METRO'}",
            "debit": 100 * n,
            "credit": None,
            "balance": 5000 - n,
            "code": None,
        }
        for n in range(12)
    ]
    db["transactions"].insert_all(old_rows)
    db.close()

    with Store.open(cache) as store:
        assert store.count_transactions(LOGIN_ID) == 12
        assert store.count_transactions(LOGIN_ID, search="tim hort") == 8
        assert store.count_transactions(LOGIN_ID, search="metro") == 4
        kept = {(row.account_id, row.id, row.description) for row in store.transactions(LOGIN_ID)}
        assert kept == {(row["account_id"], row["id"], row["description"]) for row in old_rows}
        # The triggers follow the new table: an insert, an update and a delete reach the index.
        store._conn.execute(
            "INSERT INTO transactions (login_id, account_id, id, date, description) VALUES (?, ?, ?, ?, ?)",
            [LOGIN_ID, ACCOUNT_IDS[1], "tx-0", "2025-06-20", "ZUCCHINI MARKET"],
        )  # tx-0 again, other account
        store._conn.execute("UPDATE transactions SET description = 'SAQ 23011' WHERE id = 'tx-3'")
        store._conn.execute("DELETE FROM transactions WHERE id = 'tx-4'")
        assert store.count_transactions(LOGIN_ID, search="zucchini") == 1
        assert store.count_transactions(LOGIN_ID, search="saq") == 1
        assert store.count_transactions(LOGIN_ID, search="metro") == 3
        assert sorted(row.account_id for row in store.transactions(LOGIN_ID) if row.id == "tx-0") == sorted(ACCOUNT_IDS)
    with closing(sqlite3.connect(cache)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        raw.execute("INSERT INTO transactions_fts (transactions_fts, rank) VALUES ('integrity-check', 1)")
        schema = raw.execute("SELECT sql FROM sqlite_master WHERE name = 'transactions'").fetchone()[0]
        assert "UNIQUE (login_id, account_id, id)" in schema
        assert [row[0] for row in raw.execute("SELECT seq FROM transactions ORDER BY seq LIMIT 3")] == [10, 11, 12]
        triggers = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert triggers == {
            "transactions_ai",
            "transactions_ad",
            "transactions_au",
            "transaction_days_ai",
            "transaction_days_ad",
            "transaction_days_au",
            "transaction_amounts_ai",
            "transaction_amounts_ad",
            "transaction_amounts_au",
            "account_keys_ad",
            "common_words_ai",
            "common_words_ad",
            "common_words_au",
        }


def test_the_app_finishes_a_pending_wipe_at_start_up_and_says_so(qtbot, tmp_path, qasync_loop, memory_keyring) -> None:
    from flinks_desktop.core.secret_store import SecretStore
    from flinks_desktop.testing import close_window
    from flinks_desktop.ui.app import AppSession, finish_pending_wipes
    from flinks_desktop.ui.main_window import MainWindow

    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    settings = Settings(data_dir)
    cache = settings.cache_path(settings.active)
    with Store.open(cache) as store:  # a deletion whose wipe another window held off
        store.upsert_login(LOGIN_ID, "FlinksCapital", at=NOW)
        with closing(sqlite3.connect(cache, isolation_level=None)) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM logins").fetchone()
            assert not store.purge_login(LOGIN_ID, at=NOW).wiped
    session = AppSession(data_dir, settings, SecretStore(), sandbox_config={"bank_delay": 0.0}, poll_interval=0.01)
    window = MainWindow(session)
    try:
        window.run(finish_pending_wipes(session, window))
        qtbot.waitUntil(lambda: window.statusBar().currentMessage() == WIPE_FINISHED, timeout=10_000)
        with Store.open(cache) as store:
            assert store.pending_wipes() == 0 and store.activity()[0].name == "WIPE_COMPLETED"
    finally:
        close_window(qtbot, window)  # its work settled, then deleted
        done = asyncio.ensure_future(session.close())
        qtbot.waitUntil(done.done, timeout=10_000)


@pytest.fixture
def full_disk(tmp_path):
    """A small disk of its own (tmpfs), for filling up: where the system lets this test mount one."""
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("a tmpfs is mounted on Linux only")
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        made = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1600k", "tmpfs", str(mount)], capture_output=True, check=False
        )
    except OSError as error:
        pytest.skip(f"no tmpfs can be mounted here: {error}")
    if made.returncode != 0:
        pytest.skip(f"no tmpfs can be mounted here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> None:
    with open(disk / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass


def test_a_full_disk_is_said_as_a_full_disk_even_for_a_read(full_disk, capsys, monkeypatch) -> None:
    """With no room left, SQLite cannot even open a cache to read it (its shared-memory file):
    a plain I/O error, which used to be said as a data directory that is not writable."""
    data = full_disk / "data"
    cache = Settings(data).cache_path(Settings(data).active)
    with Store.open(cache) as store:
        store.upsert_login(LOGIN_ID, "FlinksCapital", at=datetime.now(UTC))
    fill(full_disk)
    with pytest.raises(CacheError, match="could not be written because the disk is full. Free some space"):
        Store.open(cache)
    monkeypatch.setenv(paths.HOME_VARIABLE, str(data))
    assert main(["--data-dir", str(data), "list"]) == 1
    err = capsys.readouterr().err
    assert "the disk is full. Free some space" in err and "writable" not in err
    (full_disk / "filler").unlink()
    with Store.open(cache) as store:  # room again: the cache is as it was
        assert [login.id for login in store.logins()] == [LOGIN_ID]
