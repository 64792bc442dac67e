"""One app per data directory: a second launch brings the first window forward and exits.

Two copies of the app on one data directory would each run a sync engine on the same cache and
show each other stale data; a person who double-clicks the icon again wants the window they already
have.

Two parts, so that the first window paints without waiting for the network module:

- **The lock says who is first.** The first copy holds an exclusive lock on `app.lock` in the data
  directory (`flock`, or `msvcrt.locking` on Windows) for as long as it runs; the system drops it
  when the process ends, however it ends, so a crash leaves nothing that blocks the next launch.
- **The doorbell brings it forward.** Once its window is painted, the first copy listens on a local
  socket (a Unix socket or a Windows named pipe, QtNetwork) named after the data directory and the
  user. A later launch finds the lock taken, rings (connects and says "activate"; it retries for a
  few seconds while the first copy is still starting) and ends. As the lock holder is the only copy
  that listens, a socket file it finds is one a crashed copy left: it is replaced.

The command line is not concerned: it works beside the app on purpose (`core.sync` and the cache
are safe with several processes; the window notices their changes).
"""

from __future__ import annotations

import errno
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

if TYPE_CHECKING:  # QtNetwork loads once the window is painted (listen) or to ring the first copy
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("flinks_desktop.app")

#: How long a later launch keeps ringing a first copy that is still starting (it listens once its
#: window is painted, a fraction of a second after it took the lock).
RING_TIMEOUT_S = 10.0
#: How long one attempt waits for the first copy to answer (the first runs its event loop).
CONNECT_TIMEOUT_MS = 1000
_ACTIVATE = b"activate\n"
LOCK_FILE_NAME = "app.lock"
#: What a lock held by another process raises (flock: EWOULDBLOCK; msvcrt: EACCES or EDEADLOCK).
_BUSY = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)}


def server_name(data_dir: Path) -> str:
    """The socket's name: the same for every launch on `data_dir` by this user, short enough for
    a Unix socket path, and revealing neither the path nor the user name."""
    import getpass
    import hashlib

    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = ""
    digest = hashlib.sha256(f"{user}\0{Path(data_dir).resolve()}".encode()).hexdigest()[:20]
    return f"flinks-desktop-{digest}"


class SingleInstance(QObject):
    """`claim()` is True for the first copy, which then calls `listen()` once its window is painted
    and emits `activated` when another launch asks; False for a later one, after it asked the first
    to come forward. `release()` (or the end of the process) lets the next launch be the first."""

    activated = Signal()

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        self._lock: int | None = None
        self._server: QLocalServer | None = None
        #: After a claim() that found another copy: whether that copy answered (and came forward).
        self.answered = False

    @property
    def name(self) -> str:
        return server_name(self.data_dir)

    def claim(self) -> bool:
        if self._take_lock():
            return True
        self.answered = self._ring(deadline=time.monotonic() + RING_TIMEOUT_S)
        if not self.answered:
            log.warning("another copy holds the data directory but did not answer: it may be hung")
        return False

    def listen(self) -> None:
        """Answer later launches (`activated`). Only the copy that holds the lock listens."""
        if self._lock is None or self._server is not None:
            return
        from PySide6.QtNetwork import QLocalServer

        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user only
        name = self.name
        if not server.listen(name):
            QLocalServer.removeServer(name)  # we hold the lock: a crashed copy's socket
            if not server.listen(name):
                log.warning("a second launch cannot be brought here: %s", server.errorString())
                return
        server.newConnection.connect(self._on_connection)
        self._server = server

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock is not None:
            os.close(self._lock)  # closing the file drops the lock
            self._lock = None

    def _take_lock(self) -> bool:
        """True when this copy now holds the lock (or no lock can be had here: then no copy can
        tell, and this one goes on rather than refuse to start)."""
        descriptor = os.open(self.data_dir / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                import msvcrt

                msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError as error:
            os.close(descriptor)
            if error.errno in _BUSY:
                return False
            log.warning("the data directory cannot be locked (%s): a second launch cannot be detected", error)
            return True
        self._lock = descriptor
        return True

    def _ring(self, deadline: float) -> bool:
        """Ask the lock holder to come forward, again until `deadline` while it does not listen yet."""
        from PySide6.QtNetwork import QLocalSocket

        name = self.name
        while True:
            socket = QLocalSocket(self)
            socket.connectToServer(name)
            if socket.waitForConnected(CONNECT_TIMEOUT_MS):
                socket.write(_ACTIVATE)
                socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
                socket.disconnectFromServer()
                socket.deleteLater()
                return True
            socket.deleteLater()
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    @Slot()
    def _on_connection(self) -> None:
        while self._server is not None and self._server.hasPendingConnections():
            connection = self._server.nextPendingConnection()
            connection.readyRead.connect(lambda c=connection: self._on_message(c))
            connection.disconnected.connect(connection.deleteLater)
            if connection.bytesAvailable():
                self._on_message(connection)

    def _on_message(self, connection: QLocalSocket) -> None:
        if bytes(connection.readAll().data()).startswith(_ACTIVATE.strip()):
            self.activated.emit()
