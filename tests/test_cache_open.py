"""Opening the cache: cheap every time, the full check after a session that did not close it.

Real files and real processes: a second process holds the cache open (as the app does while a
command runs) and is killed with SIGKILL (as a crash or a power cut leaves it). A damaged page is
written into the file on disk where the cheap open does not read (the transactions table), so
whether the full check ran is seen in what `Store.open` does: refuse the file, or open it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flinks_desktop.cli import main
from flinks_desktop.core.settings import Settings
from flinks_desktop.core.store import CacheCorrupt, CacheError, Store

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the open-sessions lock is flock, POSIX only")

NOW = datetime(2025, 6, 15, 12, tzinfo=UTC)
LOGIN = "4f2a9c1e-5b3d-4e6f-8a7b-9c0d1e2f3a4b"
ROOT = Path(__file__).resolve().parent.parent


def filled_cache(path: Path) -> None:
    """A cache with one login and a few hundred transactions, closed cleanly."""
    from test_store_reads import saved, snapshot

    with Store.open(path) as store:
        saved(store, snapshot(LOGIN, 500, seed=7))


def mark(path: Path) -> bytes:
    return path.with_name(path.name + "-lock").read_bytes()


def damage_the_transactions(path: Path, table: str = "transactions") -> bytes:
    """Overwrite the header of the table's first page (the open never reads it); the file's bytes
    afterwards."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as raw:
        root = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
        page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    assert not path.with_name(path.name + "-wal").exists() or path.with_name(path.name + "-wal").stat().st_size == 0
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * 12)
    return path.read_bytes()


class Holder:
    """Another process with the cache open (a `Store`), until it closes it or is killed."""

    def __init__(self, path: Path) -> None:
        script = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(ROOT)!r})
            from flinks_desktop.core.store import Store
            store = Store.open({str(path)!r})
            print("open", flush=True)
            sys.stdin.readline()
            store.close()
            print("closed", flush=True)
        """)
        self.process = subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout.readline().strip() == "open"

    def close(self) -> None:
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "closed"
        assert self.process.wait(timeout=30) == 0

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process.stdout.close()
        self.process.stdin.close()


@pytest.fixture
def cache(tmp_path) -> Path:
    path = tmp_path / "data" / "cache.db"
    filled_cache(path)
    return path


def test_a_cleanly_closed_cache_opens_without_the_full_check_which_runs_on_demand(cache, tmp_path):
    assert mark(cache) == b"clean\n"
    damaged = damage_the_transactions(cache)
    with Store.open(cache) as store:  # nothing read the damaged page: the open does not see it
        assert store.login(LOGIN) is not None
        with pytest.raises(CacheCorrupt, match="is damaged"):
            store.transactions(LOGIN)  # the read that reaches it ends in the same sentence
        with pytest.raises(CacheCorrupt, match="is damaged") as caught:
            store.check()
        assert str(cache) in str(caught.value)
    assert cache.read_bytes() == damaged  # nothing written over it


def test_the_command_line_checks_the_whole_cache(tmp_path, capsys):
    data = tmp_path / "home"
    cache = Settings(data).cache_path(Settings(data).active)
    filled_cache(cache)
    assert main(["--data-dir", str(data), "check"]) == 0
    out, err = capsys.readouterr()
    assert "is healthy" in out and err == ""
    damaged = damage_the_transactions(cache)
    assert main(["--data-dir", str(data), "check"]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("flinks-desktop: The cache ") and "is damaged" in err and err.count("\n") == 1
    assert out == "" and cache.read_bytes() == damaged


def test_after_a_process_is_killed_holding_the_cache_the_next_open_checks_every_page(cache):
    holder = Holder(cache)
    assert mark(cache) == b"open\n"
    damaged = damage_the_transactions(cache)
    # While another process has it open, an open does not check (the app and a command at once):
    with Store.open(cache) as store:
        assert store.login(LOGIN) is not None
    assert mark(cache) == b"open\n"  # not the last to close: the mark stays
    holder.kill()  # a crash, or the machine stopping: nobody closes it
    assert mark(cache) == b"open\n"
    for _ in range(2):  # refused, and still refused: the check failed, so the mark is not cleared
        with pytest.raises(CacheCorrupt, match="is damaged") as caught:
            Store.open(cache)
        assert isinstance(caught.value, CacheError) and str(cache) in str(caught.value)
        assert cache.read_bytes() == damaged  # left as it is: nothing lost, nothing written
    assert mark(cache) == b"open\n"


def test_a_healthy_cache_passes_the_check_after_a_crash_and_is_clean_again(cache):
    Holder(cache).kill()
    assert mark(cache) == b"open\n"
    with Store.open(cache) as store:  # checked (it is healthy), then used
        assert store.count_transactions(LOGIN) == 500
        assert mark(cache) == b"open\n"
    assert mark(cache) == b"clean\n"
    damage_the_transactions(cache)
    Store.open(cache).close()  # clean: no check, so the damage is not seen at the open


def test_only_the_last_of_several_sessions_marks_the_cache_clean(cache):
    holder = Holder(cache)
    first, second = Store.open(cache), Store.open(cache)  # two in this process: the reader and the writer
    first.close()
    second.close()
    assert mark(cache) == b"open\n"  # the other process still has it open
    holder.close()
    assert mark(cache) == b"clean\n"
    # The other process closed last: a damage now goes unseen by the open, as after any clean close.
    damage_the_transactions(cache)
    Store.open(cache).close()


def test_a_cache_from_before_the_lock_file_gets_the_full_check_once(cache):
    cache.with_name(cache.name + "-lock").unlink()  # as an earlier release left it
    damaged = damage_the_transactions(cache)
    with pytest.raises(CacheCorrupt, match="is damaged"):
        Store.open(cache)
    assert cache.read_bytes() == damaged


def test_reading_an_up_to_date_cache_never_imports_sqlite_utils(cache):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from flinks_desktop.core.store import Store
        assert "sqlite_utils" not in sys.modules, "imported by the module"
        with Store.open({str(cache)!r}, finish_wipes=True) as store:
            store.logins(); store.accounts({LOGIN!r}); store.transaction_summary({LOGIN!r})
            store.transactions({LOGIN!r}, search="metro", limit=50); store.transaction_dates({LOGIN!r})
            store.activity(); store.statements({LOGIN!r}); list(store.iter_transactions({LOGIN!r}))
        print("sqlite_utils" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_lock_file_is_the_owner_s_and_holds_no_data(cache):
    lock = cache.with_name(cache.name + "-lock")
    assert lock.stat().st_mode & 0o077 == 0
    assert lock.read_bytes() == b"clean\n"
    assert lock.name == "cache.db-lock"


def test_a_damage_found_by_a_read_is_a_sentence_in_the_tabs(qtbot, cache):
    """The tabs read what the open did not: a damaged page there is said, never raised."""
    from PySide6.QtWidgets import QLabel

    from flinks_desktop.ui.accounts_view import AccountsView
    from flinks_desktop.ui.transactions_view import TransactionsView

    damaged = damage_the_transactions(cache, "accounts")
    with Store.open(cache) as store:
        accounts, transactions = AccountsView(), TransactionsView()
        for view in (accounts, transactions):
            qtbot.addWidget(view)
            view.show()
            view.set_login(store, LOGIN)
        assert accounts.empty.isVisible() and "is damaged" in accounts.empty.text()
        assert transactions.findChild(QLabel, "transactionsEmptyTitle").text() == "The transactions could not be read"
        assert "is damaged" in transactions.findChild(QLabel, "transactionsEmptyText").text()
    assert cache.read_bytes() == damaged


def test_a_damaged_connections_list_is_a_sentence_in_the_window(qtbot, make_window):
    """The window's list reads what the open did not: damage there is said in the status bar, and
    the window stays up (nothing raised in a slot)."""
    window = make_window()
    path = window.session.cache_path
    window.store = None  # as at a start: the window opens the cache itself on its next reload
    filled_cache(path)
    damaged = damage_the_transactions(path, "logins")
    window.reload_connections()
    assert "is damaged" in window.statusBar().currentMessage(), window.statusBar().currentMessage()
    assert window.connections.model.rowCount() == 0
    assert path.read_bytes() == damaged  # nothing written over it


def test_the_check_finds_a_search_index_that_no_longer_matches_its_rows(cache):
    """Descriptions changed behind the index's back (its trigger dropped, as a tool editing the
    file might): the pages are sound, but a search no longer finds what the rows say. The check
    says the cache is damaged; the plain FTS5 check would have passed it."""
    with closing(sqlite3.connect(cache)) as raw:
        trigger = raw.execute("SELECT sql FROM sqlite_master WHERE name = 'transactions_au'").fetchone()[0]
        raw.execute("DROP TRIGGER transactions_au")
        raw.execute(
            "UPDATE transactions SET description = 'ZZZQQQ' WHERE rowid IN (SELECT rowid FROM transactions LIMIT 5)"
        )
        raw.execute(trigger)
        raw.commit()
        raw.execute("INSERT INTO transactions_fts (transactions_fts) VALUES ('integrity-check')")  # passes
    with Store.open(cache) as store:
        assert store.transactions(LOGIN, search="zzzqqq") == []  # the index does not know them
        with pytest.raises(CacheCorrupt, match="is damaged"):
            store.check()
