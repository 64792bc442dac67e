"""Run the sandbox on a loopback port: in-process (a background thread) or as a command.

The sandbox stands alone: it imports nothing from the rest of Flinks Desktop, so other teams can
use it as a local Flinks for their own clients and tests.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import uvicorn

from flinks_desktop.sandbox.app import RecordedRequest, create_app
from flinks_desktop.sandbox.config import TOOLBOX_CUSTOMER_ID, SandboxConfig

__all__ = [
    "TOOLBOX_CUSTOMER_ID",
    "RecentRequests",
    "RecordedRequest",
    "SandboxConfig",
    "SandboxServer",
    "serve_forever",
]

#: How many of the last requests `SandboxServer.requests` keeps.
KEPT_REQUESTS = 300


class RecentRequests(list[RecordedRequest]):
    """The requests a sandbox received, oldest first: the last `limit` of them. The app runs its
    sandbox for as long as it is open, and a list of every request (headers and body) would grow
    with each refresh; tests read the few they sent, as from any list."""

    def __init__(self, limit: int = KEPT_REQUESTS) -> None:
        super().__init__()
        self.limit = limit

    def append(self, request: RecordedRequest) -> None:
        super().append(request)
        if len(self) > self.limit:
            del self[0]


class SandboxServer:
    """The sandbox on a free (or given) loopback port, served by uvicorn in a daemon thread.

    >>> with SandboxServer() as sandbox:
    ...     sandbox.api_url   # http://127.0.0.1:PORT/v3/43387ca6-...
    """

    def __init__(self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0):
        self.config = config or SandboxConfig()
        self.host = host
        self._requested_port = port
        self.requests = RecentRequests()
        self.app = create_app(self.config, on_request=self.requests.append)
        #: The sandbox's memory: logins, sessions, tokens (tests move its clock with advance_clock).
        self.state = self.app.state.sandbox
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- URLs -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The API base up to and including the customer id."""
        return f"{self.base_url}/v3/{self.config.customer_id}"

    @property
    def banking_url(self) -> str:
        """Where the endpoints live: `{banking_url}/Authorize` and so on."""
        return f"{self.api_url}/BankingServices"

    @property
    def connect_url(self) -> str:
        """The Connect widget page; append Flinks Connect's query parameters."""
        return f"{self.base_url}/v2/"

    # -- the request log, for tests ------------------------------------------------------------
    def calls(self, endpoint: str, **fields: Any) -> list[RecordedRequest]:
        """The requests received for `endpoint` ("Authorize", "DeleteCard"...: `RecordedRequest.
        endpoint`), oldest first, whose JSON body has each of `fields` (`LoginId=...`; compared
        with ==, so `unittest.mock.ANY` matches any value that is there)."""
        return [request for request in self._logged() if request.endpoint == endpoint and _has_fields(request, fields)]

    def assert_called(self, endpoint: str, **fields: Any) -> RecordedRequest:
        """The last request for `endpoint` with `fields` in its body; AssertionError listing what
        the sandbox did receive for that endpoint when there is none."""
        matching = self.calls(endpoint, **fields)
        if not matching:
            raise AssertionError(self._no_call(endpoint, fields, "no"))
        return matching[-1]

    def assert_not_called(self, endpoint: str, **fields: Any) -> None:
        """AssertionError, listing them, when a request for `endpoint` with `fields` was received."""
        if self.calls(endpoint, **fields):
            raise AssertionError(self._no_call(endpoint, fields, "at least one"))

    def _logged(self) -> list[RecordedRequest]:
        # A copy taken in one C call: the server's thread appends while a test reads.
        return self.requests.copy()

    def _no_call(self, endpoint: str, fields: dict[str, Any], which: str) -> str:
        wanted = ", ".join(f"{name}={value!r}" for name, value in fields.items())
        received = [request for request in self._logged() if request.endpoint == endpoint]
        sentence = (
            f"the sandbox received {which} {endpoint} request{' with ' + wanted if wanted else ''}; "
            f"{len(received)} {endpoint} request{'' if len(received) == 1 else 's'} in all"
        )
        lines = [f"  {request}" for request in received[-10:]]
        if len(received) > 10:
            lines.insert(0, f"  ... {len(received) - 10} earlier ones")
        if not received:
            others = sorted({request.endpoint for request in self._logged() if request.endpoint})
            lines = [f"  endpoints called: {', '.join(others) if others else 'none'}"]
        return "\n".join([sentence + ":", *lines])

    def reset(self) -> None:
        """Forget what earlier tests did, as a sandbox just started would: logins, deleted cards,
        sessions, tokens, the clock, and the request log. (With a `state_file`, what the file holds
        is read again.) For a sandbox shared by several tests (`flinks_sandbox_session`)."""
        self.state.__init__(self.config)  # every attribute as a new SandboxState has it
        self.requests.clear()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> SandboxServer:
        sock = bind(self.host, self._requested_port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self._serve(sock, started))
            except BaseException as exc:  # reported to start(), never lost in the thread
                failure.append(exc)
                started.set()

        self._thread = threading.Thread(target=run, name="flinks-sandbox", daemon=True)
        self._thread.start()
        if not started.wait(timeout) or failure:
            self.stop()
            raise RuntimeError(f"the sandbox did not start on {self.base_url}: {failure[:1]}")
        return self

    async def _serve(self, sock: socket.socket, started: threading.Event) -> None:
        assert self._server is not None
        task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started and not task.done():
            await asyncio.sleep(0.01)
        started.set()
        await task

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _has_fields(request: RecordedRequest, fields: dict[str, Any]) -> bool:
    """Whether the request's JSON body holds each of `fields` with an equal value."""
    if not fields:
        return True
    body = request.json
    return isinstance(body, dict) and all(name in body and value == body[name] for name, value in fields.items())


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound here so that a busy port is an OSError the caller can report."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only then (without it,
    # each request on a kept-alive connection waits ~40 ms on Nagle's algorithm).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_forever(config: SandboxConfig, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the sandbox in the foreground (the `flinks-desktop sandbox` command) until interrupted."""
    sock = bind(host, port)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="info", lifespan="off"))
    server.run(sockets=[sock])
