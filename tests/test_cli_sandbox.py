"""`flinks-desktop sandbox` as a person or another team's CI starts it: a separate process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import httpx
import pytest

from flinks_desktop.sandbox import TOOLBOX_CUSTOMER_ID
from flinks_desktop.testing import login_made_elsewhere


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flinks_desktop", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
    login = httpx.post(
        f"{api}/Authorize",
        json={
            "Institution": "FlinksCapital",
            "Username": "Greatday",
            "Password": "Everyday",
            "MostRecentCached": False,
        },
    )
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
        result = subprocess.run(
            [sys.executable, "-m", "flinks_desktop", "sandbox", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"flinks-desktop: the sandbox cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2():
    result = subprocess.run(
        [sys.executable, "-m", "flinks_desktop", "sandbox", "--port", "many"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "invalid int value" in result.stderr


ANSWERS = {
    "What city were you born in?": "Montreal",
    "What is the best country on earth?": "Canada",
    "What shape do people like most?": "Triangle",
}


def answer(api: str, challenge: httpx.Response) -> httpx.Response:
    body = challenge.json()
    prompt = body["SecurityChallenges"][0]["Prompt"]
    return httpx.post(
        f"{api}/Authorize", json={"RequestId": body["RequestId"], "SecurityResponses": {prompt: [ANSWERS[prompt]]}}
    )


def test_cached_mfa_option(sandbox_process):
    port = free_port()
    process = sandbox_process("--port", str(port), "--bank-delay", "0", "--cached-mfa")
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base + "/", process)
    api = f"{base}/v3/{TOOLBOX_CUSTOMER_ID}/BankingServices"
    login = answer(
        api,
        httpx.post(
            f"{api}/Authorize",
            json={
                "Institution": "FlinksCapital",
                "Username": "Greatday",
                "Password": "Everyday",
                "MostRecentCached": False,
            },
        ),
    )
    login_id = login.json()["Login"]["Id"]
    challenge = httpx.post(f"{api}/Authorize", json={"LoginId": login_id, "MostRecentCached": True})
    assert challenge.status_code == 203 and challenge.json()["SecurityChallenges"][0]["Prompt"] in ANSWERS
    authorized = answer(api, challenge)
    assert authorized.status_code == 200 and authorized.json()["Login"]["Id"] == login_id


def test_the_command_and_an_in_process_sandbox_share_one_state_file(sandbox_process, flinks_sandbox_factory, tmp_path):
    state_file = str(tmp_path / "sandbox-state.json")
    port = free_port()
    process = sandbox_process("--port", str(port), "--bank-delay", "0", "--state-file", state_file)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base + "/", process)
    command = f"{base}/v3/{TOOLBOX_CUSTOMER_ID}/BankingServices"
    in_process = flinks_sandbox_factory(state_file=state_file).banking_url

    login_id = login_made_elsewhere(SimpleNamespace(banking_url=command))  # at the command's sandbox
    found = httpx.post(f"{in_process}/Authorize", json={"LoginId": login_id, "MostRecentCached": True})
    assert found.status_code == 200 and found.json()["Login"]["Id"] == login_id

    assert httpx.delete(f"{in_process}/DeleteCard/{login_id}").status_code == 200
    gone = httpx.post(f"{command}/Authorize", json={"LoginId": login_id, "MostRecentCached": True})
    assert gone.status_code == 401 and gone.json()["FlinksCode"] == "INVALID_LOGIN"


def test_a_damaged_state_file_is_one_sentence_and_exit_1(tmp_path):
    state_file = tmp_path / "sandbox-state.json"
    state_file.write_text("{not json", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flinks_desktop",
            "sandbox",
            "--port",
            str(free_port()),
            "--state-file",
            str(state_file),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"flinks-desktop: the sandbox state file {state_file} cannot be read: ")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert state_file.read_text(encoding="utf-8") == "{not json"
