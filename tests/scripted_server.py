"""A loopback HTTP server that answers exactly what a test scripts, broken answers included.

The Flinks sandbox behaves like Flinks; this server is its opposite. It sends whatever the test
queued, byte for byte: any status, any body, a reply cut off mid-body, or no reply at all. The
client's failure handling is thus tested over real sockets, through httpx's real HTTP parsing,
rather than against a mock transport.

Each connection carries one request and is then closed (`Connection: close`), so no state leaks
from one scripted reply to the next.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import BinaryIO


@dataclass(frozen=True)
class Reply:
    """A complete HTTP response."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"

    def encode(self) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Whatever"
        head = (
            f"HTTP/1.1 {self.status} {reason}\r\n"
            f"Content-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        return head.encode("ascii") + self.body


def json_reply(status: int, value: object) -> Reply:
    return Reply(status, json.dumps(value).encode())


@dataclass(frozen=True)
class RawReply:
    """Bytes sent as they are, then the connection is closed (e.g. a body cut short)."""

    data: bytes


@dataclass(frozen=True)
class Hang:
    """Read the request, then never answer (until the server stops)."""


Script = Reply | RawReply | Hang


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedServer:
    """Serves queued replies in order, then `otherwise` forever. Use as a context manager."""

    otherwise: Script = field(default_factory=lambda: Reply(500, b"nothing scripted", "text/plain"))
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: deque[Script] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _TCPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *replies: Script) -> None:
        """Replace the queue of replies and forget the requests recorded so far."""
        with self._lock:
            self._queue = deque(replies)
            self.requests.clear()

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def hold_until_stopped(self) -> None:
        self._stopping.wait()

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def take_reply(self, request: RecordedRequest) -> Script:
        """Record `request` and return the reply it gets."""
        with self._lock:
            self.requests.append(request)
            return self._queue.popleft() if self._queue else self.otherwise


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _handler_for(server: ScriptedServer) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            request = _read_request(self.rfile)
            if request is None:
                return
            reply = server.take_reply(request)
            if isinstance(reply, Hang):
                server.hold_until_stopped()
            elif isinstance(reply, RawReply):
                self.wfile.write(reply.data)
            else:
                self.wfile.write(reply.encode())

    return Handler


def _read_request(rfile: BinaryIO) -> RecordedRequest | None:
    request_line = rfile.readline()
    if not request_line:
        return None
    method, path, _ = request_line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while line := rfile.readline().decode("latin-1").strip():
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rfile.read(int(headers.get("content-length", "0")))
    return RecordedRequest(method, path, headers, body)
