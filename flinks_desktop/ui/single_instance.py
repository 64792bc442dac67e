"""One app per data directory: a second launch brings the first window forward and exits.

Two copies of the app on one data directory would each run a sync engine on the same cache and
show each other stale data; a person who double-clicks the icon again wants the window they already
have. The first copy listens on a local socket (a Unix socket or a Windows named pipe) named after
the data directory and the user; a later one connects, says "activate", and ends.

A socket left behind by a copy that crashed is found stale (nothing answers on it) and replaced.
The command line is not concerned: it works beside the app on purpose (`core.sync` and the cache
are safe with several processes; the window notices their changes).
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger("flinks_desktop.app")

#: How long a second copy waits for the first to answer (the first runs its event loop).
CONNECT_TIMEOUT_MS = 1000
_ACTIVATE = b"activate\n"


def server_name(data_dir: Path) -> str:
    """The socket's name: the same for every launch on `data_dir` by this user, short enough for
    a Unix socket path, and revealing neither the path nor the user name."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = ""
    digest = hashlib.sha256(f"{user}\0{Path(data_dir).resolve()}".encode()).hexdigest()[:20]
    return f"flinks-desktop-{digest}"


class SingleInstance(QObject):
    """`claim()` is True for the first copy (it then emits `activated` when another launch asks);
    False for a later one, after it asked the first to come forward."""

    activated = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server: QLocalServer | None = None

    def claim(self) -> bool:
        if self._ask_first_copy():
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user only
        if not server.listen(self.name):
            # Someone else's socket file: a live copy that started at the same moment, or a stale
            # one left by a crash. Ask again; only a stale one is replaced.
            if self._ask_first_copy():
                return False
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                log.warning("a second launch cannot be detected: %s", server.errorString())
                return True
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _ask_first_copy(self) -> bool:
        socket = QLocalSocket(self)
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            socket.deleteLater()
            return False
        socket.write(_ACTIVATE)
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        socket.deleteLater()
        return True

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
