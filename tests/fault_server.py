"""A loopback Flinks API that answers well, or with the fault a test installs, endpoint by endpoint.

    with FaultServer(transactions=30_000) as flinks:
        flinks.fault("GetAccountsDetail", TRICKLE)        # that endpoint misbehaves from now on
        ... run the CLI or a Sync against flinks.api_url ...
        flinks.clear()                                    # every endpoint answers well again

`ScriptedServer` sends a queue of replies in order; this one routes by endpoint, so a test says
"GetAccountsDetail trickles its body" whatever the client asks before and after it (tokens,
retries, polls). The good answers are Flinks' published samples for one login (`LOGIN_ID`): a
cached /Authorize, GetAccountsDetail with `transactions` transactions over two accounts (their
descriptions carry the generation, `GEN0001`..., one more with each GetAccountsDetail served, so a
test can tell which answer a cache holds), and GetStatements with one small PDF.

The faults are `Script`s of `scripted_server` (a reply, raw bytes, a hang) and the kinds below
(slow, trickled, endless 202...), all sent over a real socket: the client meets them through
httpx's real HTTP parsing. Each connection carries one request and is closed.
"""

from __future__ import annotations

import base64
import copy
import json
import socketserver
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripted_server import Hang, RawReply, RecordedRequest, Reply, Script, _read_request, json_reply

SAMPLES = Path(__file__).parent / "fixtures" / "flinks-samples"
CUSTOMER_ID = "43387ca6-0391-4c82-857d-70d95f087ecb"
LOGIN_ID = "b0debb48-f9f1-46c6-80a4-08d7dd88d478"
REQUEST_ID = "006fd2f3-055b-4ef6-a9fc-c1261cd76ec6"
ACCOUNT_IDS = ("27a9ffa0-c6b9-4cc6-9eaa-aa9efa07a889", "5c1d3ad2-7a3e-4bb5-9c44-0a6f7e0c9d11")
PDF = b"%PDF-1.4 a statement of the fault server\n%%EOF\n"
#: The generation marker's place holder in the prepared detail body (same length as "GEN0001").
_GENERATION = b"GEN@@@@"


@dataclass(frozen=True)
class Slow:
    """Wait `seconds`, then send `then`."""

    seconds: float
    then: Script


@dataclass(frozen=True)
class Trickle:
    """Send the head of a 200 announcing `size` bytes, then one byte every `every` seconds."""

    size: int = 4096
    every: float = 0.5


@dataclass(frozen=True)
class Dropped:
    """Announce `size` bytes of a 200 body, send `sent` of them, then close the connection."""

    size: int = 100_000
    sent: int = 1000


@dataclass(frozen=True)
class Huge:
    """A 200 announcing `size` bytes (more than a client reads), sending a little, then closing."""

    size: int = 300 * 1024 * 1024


Fault = Script | Slow | Trickle | Dropped | Huge


def reply_with_headers(
    status: int, body: bytes, headers: dict[str, str], content_type: str = "application/json"
) -> RawReply:
    """A complete reply with extra headers (Retry-After...), as raw bytes."""
    head = [
        f"HTTP/1.1 {status} Whatever",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
        "Connection: close",
        "",
        "",
    ]
    return RawReply("\r\n".join(head).encode("ascii") + body)


def flinks_error(status: int, code: str, message: str = "An error") -> Reply:
    return json_reply(
        status, {"HttpStatusCode": status, "FlinksCode": code, "Message": message, "RequestId": REQUEST_ID}
    )


PENDING = json_reply(
    202,
    {
        "HttpStatusCode": 202,
        "FlinksCode": "OPERATION_PENDING",
        "Message": "Your operation is still processing",
        "RequestId": REQUEST_ID,
    },
)


@dataclass
class FaultServer:
    """See the module docstring. Use as a context manager; `api_url` is what a client is given."""

    transactions: int = 40
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}
        self._stopping = threading.Event()
        self.generation = 0
        self._detail = _detail_body(self.transactions)
        self._server = _TCPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/v3/{CUSTOMER_ID}"

    def fault(self, endpoint: str, fault: Fault) -> None:
        """From now on, `endpoint` ("Authorize", "GetAccountsDetail", "GetAccountsDetailAsync",
        "GetStatements", "DeleteCard") answers `fault` instead of its good answer."""
        with self._lock:
            self._faults[endpoint] = fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def calls(self, endpoint: str) -> int:
        return sum(1 for request in self.requests if _endpoint(request.path) == endpoint)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- serving ---------------------------------------------------------------------------------------

    def answer(self, request: RecordedRequest) -> Fault:
        endpoint = _endpoint(request.path)
        with self._lock:
            self.requests.append(request)
            fault = self._faults.get(endpoint)
            if fault is not None:
                return fault
            if endpoint == "GetAccountsDetail":
                self.generation += 1
                body = self._detail.replace(_GENERATION, f"GEN{self.generation:04d}".encode())
                return Reply(200, body)
        return _GOOD.get(endpoint) or Reply(404, b'{"HttpStatusCode": 404}')

    def send(self, wfile, fault: Fault) -> None:
        if isinstance(fault, Slow):
            if self._stopping.wait(fault.seconds):
                return
            self.send(wfile, fault.then)
        elif isinstance(fault, Hang):
            self._stopping.wait()
        elif isinstance(fault, RawReply):
            wfile.write(fault.data)
        elif isinstance(fault, Reply):
            wfile.write(fault.encode())
        elif isinstance(fault, Trickle):
            wfile.write(_head(200, fault.size))
            wfile.flush()
            for _ in range(fault.size):
                if self._stopping.wait(fault.every):
                    return
                wfile.write(b" ")
                wfile.flush()
        elif isinstance(fault, Dropped):
            wfile.write(_head(200, fault.size) + b"{" + b" " * (fault.sent - 1))
        elif isinstance(fault, Huge):
            wfile.write(_head(200, fault.size) + b"{" + b" " * 1023)


def _endpoint(path: str) -> str:
    """ "/v3/{customer}/BankingServices/GetAccountsDetailAsync/{id}" -> "GetAccountsDetailAsync"."""
    parts = path.split("?")[0].split("/")
    tail = parts[parts.index("BankingServices") + 1 :] if "BankingServices" in parts else parts[-1:]
    return tail[0] if tail else ""


def _head(status: int, size: int) -> bytes:
    return (
        f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")


def _sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def _authorize_body() -> bytes:
    body = _sample("authorize_200_cached.json")
    body["Login"]["Id"], body["RequestId"] = LOGIN_ID, REQUEST_ID
    return json.dumps(body).encode()


def _statements_body() -> bytes:
    body = _sample("get_statements_200.json")
    body["Login"]["Id"], body["RequestId"] = LOGIN_ID, REQUEST_ID
    body["StatementsByAccount"][0]["Statements"][0]["Base64Bytes"] = base64.b64encode(PDF).decode()
    return json.dumps(body).encode()


def _detail_body(transactions: int) -> bytes:
    """The published GetAccountsDetail for `LOGIN_ID`, two accounts sharing `transactions`
    transactions, dated back from 2025-06-15; descriptions hold the generation placeholder."""
    from datetime import date, timedelta

    body = _sample("get_accounts_detail_200.json")
    body["Login"]["Id"], body["RequestId"] = LOGIN_ID, REQUEST_ID
    first = body["Accounts"][0]
    second = copy.deepcopy(first)
    second.update(Id=ACCOUNT_IDS[1], Title="Savings", AccountNumber="3519999", Type="Savings")
    first["Id"] = ACCOUNT_IDS[0]
    accounts = [first, second]
    for account in accounts:
        account["Transactions"] = []
    end = date(2025, 6, 15)
    for number in range(transactions):
        accounts[number % 2]["Transactions"].append(
            {
                "Id": f"7e1f0e7e-0000-4000-8000-{number:012d}",
                "Date": (end - timedelta(days=number // 200)).isoformat(),
                "Code": None,
                "Description": f"{_GENERATION.decode()} PAYMENT {number} TIM HORTONS #{number % 977}",
                "Debit": f"{number % 500}.{number % 100:02d}",
                "Credit": None,
                "Balance": f"{10_000 + number}.25",
            }
        )
    body["Accounts"] = accounts
    return json.dumps(body).encode()


_GOOD: dict[str, Script] = {
    "GenerateAuthorizeToken": json_reply(200, {"HttpStatusCode": 200, "Token": "d65f1adb-8ebc-48dc-be8b-20c773ba1565"}),
    "Authorize": Reply(200, _authorize_body()),
    "GetStatements": Reply(200, _statements_body()),
    "DeleteCard": json_reply(
        200, {"HttpStatusCode": 200, "Message": f"All of the information about LoginId {LOGIN_ID} has been removed"}
    ),
}


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _handler_for(server: FaultServer) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            request = _read_request(self.rfile)
            if request is None:
                return
            try:
                server.send(self.wfile, server.answer(request))
            except (BrokenPipeError, ConnectionResetError):  # the client gave up: its deadline
                pass

    return Handler


def wait_for(condition, timeout: float = 10.0) -> None:
    """Poll `condition` until true (raises AssertionError after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
