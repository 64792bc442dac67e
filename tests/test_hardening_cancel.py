"""Cancel tells the truth: whenever a sync is cancelled (the task cancelled, Ctrl-C in the CLI, Cancel
in the window), the sentence said matches what the cache holds afterwards.

A large sync (tens of thousands of transactions) from a loopback Flinks (`fault_server`), on a real
SQLite cache. Every GetAccountsDetail the server sends carries a new generation marker in every
description, so the cache shows at a glance which answer it holds: the one before the sync
("nothing was saved") or the new one ("the new data was already being saved and is kept"), never
a mix of both.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from fault_server import LOGIN_ID, PENDING, FaultServer, Slow, wait_for

from flinks_desktop.core import paths
from flinks_desktop.core.environments import custom_api
from flinks_desktop.core.flinks import FlinksClient
from flinks_desktop.core.settings import Settings
from flinks_desktop.core.sync import ALREADY_SAVED, NOTHING_SAVED, Sync, SyncCancelled, SyncProgress, SyncResult

TRANSACTIONS = 20_000
POINTS = 20
SUBPROCESS_TIMEOUT = 60


@pytest.fixture(scope="module")
def flinks():
    with FaultServer(transactions=TRANSACTIONS) as server:
        yield server


def generations(cache: Path) -> set[str]:
    """The generation markers the cached descriptions carry: one, always."""
    with closing(sqlite3.connect(cache)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        markers = {row[0] for row in db.execute("SELECT DISTINCT substr(description, 1, 7) FROM transactions")}
        count = db.execute("SELECT count(*) FROM transactions").fetchone()[0]
    assert count in (0, TRANSACTIONS)
    return markers


def kept(message: str) -> bool:
    """What the sentence says: True "kept", False "nothing saved"; anything else fails."""
    if message.startswith(ALREADY_SAVED):
        return True
    assert message == NOTHING_SAVED, message
    return False


def test_a_cancelled_sync_says_whether_its_data_was_saved_at_any_point(flinks, tmp_path) -> None:
    cache = tmp_path / "cache.db"
    said: list[tuple[str, bool]] = []

    async def scenario() -> None:
        async with FlinksClient(flinks.api_url, poll_interval=0.01) as client:
            sync = Sync(client, cache, environment="faults", statements=None)
            try:
                assert (await sync.link(LOGIN_ID, "FlinksCapital")).ok
                started = time.monotonic()
                assert (await sync.refresh(LOGIN_ID)).ok
                duration = time.monotonic() - started
                # Spread over the whole sync and a little past it, plus the two edges of the save:
                # cancelled as "saving" is reported (handed over next: kept) and as "accounts" is.
                points: list[float | str] = [duration * 1.15 * n / (POINTS - 1) for n in range(POINTS)]
                for point in [*points, "saving", "accounts"]:
                    before = generations(cache)
                    served = flinks.generation
                    task: asyncio.Task[SyncResult] | None = None

                    def progress(step: SyncProgress) -> None:
                        if step.stage == point:
                            task.cancel()

                    task = asyncio.create_task(sync.refresh(LOGIN_ID, progress=progress))
                    if isinstance(point, float):
                        await asyncio.sleep(point)
                        task.cancel()
                    try:
                        result = await task
                        message = ALREADY_SAVED if result.ok else result.message  # done before the cancel
                    except SyncCancelled as cancelled:
                        message = cancelled.message
                        assert bool(cancelled.kept) == message.startswith(ALREADY_SAVED)
                    after = generations(cache)
                    newest = {f"GEN{flinks.generation:04d}"}
                    if kept(message):
                        assert after == newest and flinks.generation == served + 1, (point, message)
                    else:
                        assert after == before, (point, message)
                    assert not sync.is_busy(LOGIN_ID)
                    said.append((str(point), kept(message)))
                assert (await sync.refresh(LOGIN_ID)).ok  # and the next sync works
            finally:
                await sync.close()

    asyncio.run(scenario())
    outcomes = dict(said)
    assert outcomes["saving"] is True and outcomes["accounts"] is False
    assert {was_kept for _, was_kept in said} == {True, False}, said  # both cases were met


def test_refresh_all_cancelled_names_the_connections_whose_data_is_kept(flinks, tmp_path) -> None:
    cache = tmp_path / "cache.db"

    async def scenario() -> SyncCancelled:
        async with FlinksClient(flinks.api_url, poll_interval=0.01) as client:
            sync = Sync(client, cache, environment="faults", statements=None)
            try:
                assert (await sync.link(LOGIN_ID, "FlinksCapital")).ok
                task: asyncio.Task | None = None
                task = asyncio.create_task(
                    sync.refresh_all(progress=lambda step: task.cancel() if step.stage == "saving" else None)
                )
                with pytest.raises(SyncCancelled) as caught:
                    await task
                return caught.value
            finally:
                await sync.close()

    cancelled = asyncio.run(scenario())
    assert cancelled.message == (
        "Cancelled, but the new data of 1 connection was already being saved and is kept; nothing else was saved."
    )
    assert [result.login_id for result in cancelled.kept] == [LOGIN_ID]
    assert generations(cache) == {f"GEN{flinks.generation:04d}"}


# -- Ctrl-C in a real process ---------------------------------------------------------------------------


def cli(home: Path, *args: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        paths.HOME_VARIABLE: str(home),
        "FLINKS_DESKTOP_POLL_INTERVAL": "0.05",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flinks_desktop", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_ctrl_c_in_the_cli_says_what_the_cache_holds(flinks, tmp_path) -> None:
    home = tmp_path / "home"
    api = ["--api-url", flinks.api_url]
    first = cli(home, *api, "sync", LOGIN_ID)
    assert first.wait(SUBPROCESS_TIMEOUT) == 0, first.stderr.read()
    first.stdout.close(), first.stderr.close()
    cache = Settings(home).cache_path(custom_api(flinks.api_url))
    # When the sync asks for the data, and 0.3 s to 1.5 s later: the save runs about then.
    outcomes = []
    for delay in (0.0, 0.3, 0.6, 0.9, 1.2, 1.5):
        before, served = generations(cache), flinks.generation
        process = cli(home, *api, "sync", LOGIN_ID)
        try:
            wait_for(lambda: flinks.generation > served, timeout=SUBPROCESS_TIMEOUT)
            time.sleep(delay)
            process.send_signal(signal.SIGINT)
            code = process.wait(SUBPROCESS_TIMEOUT)
            out, err = process.stdout.read(), process.stderr.read()
        finally:
            process.kill()
            process.stdout.close(), process.stderr.close()
        after = generations(cache)
        if code in (0, -signal.SIGINT):  # it had finished before Ctrl-C (or was exiting: killed by it)
            assert out.startswith("Saved 2 accounts") and after == {f"GEN{flinks.generation:04d}"}, (code, err)
            continue
        assert code == 130 and "Traceback" not in err, err
        [line] = err.strip().splitlines()
        assert line.startswith("flinks-desktop: ")
        if kept(line.removeprefix("flinks-desktop: ")):
            assert after == {f"GEN{flinks.generation:04d}"}, line
            assert "Saved 2 accounts" in line
        else:
            assert after == before, line
        outcomes.append(kept(line.removeprefix("flinks-desktop: ")))
    assert outcomes, "every sync finished before Ctrl-C"


# -- Cancel in the window -------------------------------------------------------------------------------


@pytest.fixture
def window_on(make_window):
    """`window_on(api_url)`: the main window working in an environment given by its API URL."""

    def build(api_url: str):
        def faults_environment(settings: Settings) -> None:
            settings.add_from_url("Faults", api_url)
            settings.set_active("Faults")
            settings.save()

        return make_window(faults_environment)

    return build


def test_cancel_in_the_window_says_what_the_cache_holds(qtbot, window_on, flinks) -> None:
    window = window_on(flinks.api_url)
    window.on_login_captured(LOGIN_ID, "FlinksCapital")
    qtbot.waitUntil(
        lambda: window._sync_task is None and window.connections.current_login_id() == LOGIN_ID, timeout=30_000
    )
    cache = window.workspace.cache_path
    status = window.statusBar()

    # Cancelled as the save is handed over: kept, and said so.
    before = generations(cache)
    on_progress = window.on_progress

    def cancel_at(stage: str):
        def progress(step: SyncProgress) -> None:
            on_progress(step)
            if step.stage == stage:
                window.cancel_sync()

        return progress

    window.on_progress = cancel_at("saving")
    window.refresh_selected(live=False)
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=30_000)
    assert status.currentMessage().startswith(ALREADY_SAVED), status.currentMessage()
    assert generations(cache) == {f"GEN{flinks.generation:04d}"} != before

    # Cancelled while Flinks prepares the data (it answers slowly): nothing saved, and said so.
    flinks.fault("GetAccountsDetail", Slow(30, PENDING))
    before = generations(cache)
    window.on_progress = on_progress
    window.refresh_selected(live=False)
    qtbot.waitUntil(lambda: flinks.calls("GetAccountsDetail") and "Fetching" in status.currentMessage(), timeout=10_000)
    window.cancel_sync()
    qtbot.waitUntil(lambda: window._sync_task is None, timeout=10_000)
    flinks.clear()
    assert status.currentMessage() == NOTHING_SAVED
    assert generations(cache) == before
