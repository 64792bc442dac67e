"""Run the sandbox on a loopback port: in-process (a background thread) or as a command.

The sandbox stands alone: it imports nothing from the rest of Flinks Desktop, so other teams can
use it as a local Flinks for their own clients and tests.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from flinks_desktop.sandbox.app import RecordedRequest, create_app
from flinks_desktop.sandbox.config import TOOLBOX_CUSTOMER_ID, SandboxConfig

__all__ = ["TOOLBOX_CUSTOMER_ID", "RecordedRequest", "SandboxConfig", "SandboxServer", "serve_forever"]

class SandboxServer:
    """The sandbox on a free (or given) loopback port, served by uvicorn in a daemon thread.

    >>> with SandboxServer() as sandbox:
    ...     sandbox.api_url   # http://127.0.0.1:PORT/v3/43387ca6-...
    """

    def __init__(self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0):
        self.config = config or SandboxConfig()
        self.host = host
        self._requested_port = port
        self.requests: list[RecordedRequest] = []
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

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "SandboxServer":
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

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


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
