"""The one thread that touches the cache for a `Sync` (`core.sync` explains why one).

Every cache access of a `Sync` runs here, on a one-worker thread pool, in the order it was queued,
with a `Store` this thread opens on first use (a sqlite3 connection belongs to its thread). So two
writes of this process never contend for the file, and the asyncio loop never waits on SQLite: it
awaits the jobs (`run`, `start`) or queues audit rows without waiting (`submit`). `close` runs
what is queued, closes the `Store` on its thread and stops the thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from flinks_desktop.core.audit import StoreJob
from flinks_desktop.core.store import CacheError, Store

#: The sync's logger: what the writer says is part of a sync's story.
log = logging.getLogger("flinks_desktop.sync")

T = TypeVar("T")


class CacheWriter:
    """The one thread that touches the cache for a `Sync`, with its own `Store` (module docstring)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flinks-cache-writer")
        #: Opened by the first job; used, and closed, on the writer thread only.
        self._store: Store | None = None
        self._closing = False
        #: Whether opening the cache finished a wipe a deletion had left pending (not said yet).
        self.wipe_finished = False

    async def run(self, job: Callable[[Store], T]) -> T:
        """Run `job` on the writer thread, after the jobs queued before it; the loop runs meanwhile.
        Cancelling the caller before the job starts drops it; once it runs, it runs to its end."""
        return await self.start(job)

    def start(self, job: Callable[[Store], T]) -> asyncio.Future[T]:
        """Queue `job` now and return its future: shield it (`asyncio.shield`) to make sure it runs."""
        if self._closing:
            raise RuntimeError("the cache writer is closed")
        return asyncio.get_running_loop().run_in_executor(self._thread, self._call, job)

    def submit(self, job: StoreJob) -> None:
        """Queue `job` without waiting (audit rows): a failure is logged; after `close`, dropped."""
        if self._closing:
            log.debug("the cache writer is closed: an audit record was dropped")
            return
        self._thread.submit(self._call, job).add_done_callback(_log_failure)

    async def close(self) -> None:
        self._closing = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close_store)
        self._thread.shutdown()  # nothing is queued after the close: the thread ends at once

    def _call(self, job: Callable[[Store], T]) -> T:
        if self._store is None:
            self._store = Store.open(self._path)
            try:  # a wipe a deletion left pending: this writer finishes it first
                self.wipe_finished = bool(self._store.finish_pending_wipes(at=datetime.now(UTC)))
            except CacheError as error:  # still held by another process: the next open tries again
                log.warning("a pending wipe could not be finished: %s", error)
        return job(self._store)

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _log_failure(future: Future[object]) -> None:
    error = None if future.cancelled() else future.exception()
    if isinstance(error, CacheError):
        log.warning("an audit record was not written: %s", error)
    elif error is not None:
        log.error("an audit record was not written", exc_info=error)
