"""`flinks-desktop sandbox` as a person or another team's CI starts it: a separate process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from flinks_desktop.sandbox import TOOLBOX_CUSTOMER_ID


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flinks_desktop", "sandbox", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the sandbox exited: {process.stderr.read()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)  # the process is starting: poll until it answers
    pytest.fail("the sandbox did not answer in time")


@pytest.fixture
def sandbox_process():
    started: list[subprocess.Popen] = []

    def start(*args: str, env: dict | None = None) -> subprocess.Popen:
        process = start_sandbox(*args, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
        process.wait(10)


def test_sandbox_command_serves_the_api_and_connect(sandbox_process):
    port = free_port()
    process = sandbox_process("--port", str(port), "--bank-delay", "0")
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base + "/", process)
    api = f"{base}/v3/{TOOLBOX_CUSTOMER_ID}/BankingServices"
    login = httpx.post(f"{api}/Authorize", json={"Institution": "FlinksCapital", "Username": "Greatday",
                                                 "Password": "Everyday", "MostRecentCached": False})
    assert login.status_code == 203
    page = httpx.get(f"{base}/v2/?demo=true")
    assert page.status_code == 200 and f"/v3/{TOOLBOX_CUSTOMER_ID}/BankingServices" in page.text
    assert httpx.get(f"{base}/v2/connect.js").headers["content-type"].startswith("text/javascript")


def test_sandbox_command_checks_secrets_from_the_environment(sandbox_process):
    port = free_port()
    process = sandbox_process("--port", str(port), env={"FLINKS_SANDBOX_AUTH_KEY": "s3cret"})
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base + "/", process)
    api = f"{base}/v3/{TOOLBOX_CUSTOMER_ID}/BankingServices"
    assert httpx.post(f"{api}/GenerateAuthorizeToken").status_code == 401
    assert httpx.post(f"{api}/GenerateAuthorizeToken", headers={"flinks-auth-key": "s3cret"}).status_code == 200


def test_a_busy_port_is_one_sentence_and_exit_1():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "flinks_desktop", "sandbox", "--port", str(port)],
                                capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"flinks-desktop: the sandbox cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2():
    result = subprocess.run([sys.executable, "-m", "flinks_desktop", "sandbox", "--port", "many"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "invalid int value" in result.stderr
