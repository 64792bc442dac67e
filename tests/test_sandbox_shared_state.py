"""Several sandboxes on one state file: the desktop app and the CLI each start their own in-process
sandbox (a free port each) on the same `state_file`. Here two SandboxServer instances, two ports, one
file, driven over loopback HTTP: what one of them records or deletes, the other one knows at once.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import httpx
import pytest

from flinks_desktop.sandbox import SandboxConfig, SandboxServer, SandboxStateError

ANSWERS = {
    "What city were you born in?": "Montreal",
    "What is the best country on earth?": "Canada",
    "What shape do people like most?": "Triangle",
}


class Client:
    def __init__(self, sandbox: SandboxServer):
        self.http = httpx.Client(base_url=sandbox.banking_url, timeout=10)

    def post(self, endpoint: str, body: dict) -> httpx.Response:
        return self.http.post(f"/{endpoint}", json=body)

    def login(self, username: str) -> httpx.Response:
        response = self.post(
            "Authorize",
            {"Institution": "FlinksCapital", "Username": username, "Password": "Everyday", "MostRecentCached": False},
        )
        while response.status_code == 203:
            response = self.answer(response)
        return response

    def answer(self, challenge: httpx.Response) -> httpx.Response:
        body = challenge.json()
        prompt = body["SecurityChallenges"][0]["Prompt"]
        return self.post(
            "Authorize", {"RequestId": body["RequestId"], "SecurityResponses": {prompt: [ANSWERS[prompt]]}}
        )

    def cached(self, login_id: str) -> httpx.Response:
        return self.post("Authorize", {"LoginId": login_id, "MostRecentCached": True})

    def delete(self, login_id: str) -> httpx.Response:
        return self.http.delete(f"/DeleteCard/{login_id}")

    def close(self) -> None:
        self.http.close()


def code_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json().get("FlinksCode")


def saved(state_file: Path) -> dict:
    return json.loads(state_file.read_text(encoding="utf-8"))


@pytest.fixture
def state_file(tmp_path) -> Path:
    return tmp_path / "sandbox-state.json"


@pytest.fixture
def pair(flinks_sandbox_factory, state_file):
    """Two sandboxes (two ports, as two processes would have) on one state file, and a client each."""
    a = flinks_sandbox_factory(state_file=str(state_file))
    b = flinks_sandbox_factory(state_file=str(state_file))
    assert a.port != b.port
    clients = Client(a), Client(b)
    yield clients
    for client in clients:
        client.close()


def test_a_login_made_on_one_is_found_on_the_other_and_a_deletion_too(pair, state_file):
    a, b = pair
    auth = a.login("Greatday").json()
    login_id, request_id = auth["Login"]["Id"], auth["RequestId"]

    found = b.cached(login_id)
    assert found.status_code == 200, found.text
    assert found.json()["Login"] == auth["Login"]
    assert b.login("Greatday").json()["Login"]["Id"] == login_id  # a loginId is stable, whoever asks

    assert b.delete(login_id).status_code == 200
    assert code_of(a.cached(login_id)) == (401, "INVALID_LOGIN")
    # A's own session of that card goes with it, as when the card is deleted on A itself.
    assert code_of(a.post("GetAccountsSummary", {"RequestId": request_id})) == (400, "SESSION_NONEXISTENT")
    assert code_of(a.delete(login_id)) == (401, "INVALID_LOGIN")

    again = a.login("Greatday").json()["Login"]["Id"]  # A knows the card was deleted: a new loginId
    assert again != login_id
    assert b.cached(again).status_code == 200
    assert saved(state_file) == {
        "logins": [
            {
                "login_id": again,
                "username": "Greatday",
                "last_refresh": saved(state_file)["logins"][0]["last_refresh"],
                "language": "en",
            }
        ],
        "deleted": [login_id],
    }


def test_a_refresh_on_one_shows_on_the_other(pair):
    a, b = pair
    first = a.login("greatday_nomfa").json()["Login"]
    for _ in range(10):  # quick successive writes of the same size are each seen
        refreshed = b.login("greatday_nomfa").json()["Login"]
        assert refreshed["Id"] == first["Id"]
        assert a.cached(first["Id"]).json()["Login"]["LastRefresh"] == refreshed["LastRefresh"]
        refreshed = a.login("greatday_nomfa").json()["Login"]
        assert b.cached(first["Id"]).json()["Login"]["LastRefresh"] == refreshed["LastRefresh"]


def test_concurrent_logins_and_deletions_from_both_lose_nothing(pair, state_file):
    users = ["greatday_nomfa", "test_pending", "test_dispatched", "Greatday", "greatday_cachedmfa"]
    rounds = 6
    deleted: dict[str, list[str]] = {user: [] for user in users}
    kept: dict[str, str] = {}
    failures: list[str] = []
    start = threading.Barrier(len(users))

    def run(index: int, user: str) -> None:
        try:
            start.wait(10)
            for round_ in range(rounds):
                here, there = pair[(index + round_) % 2], pair[(index + round_ + 1) % 2]
                login_id = here.login(user).json()["Login"]["Id"]
                assert there.cached(login_id).status_code in (200, 203), (user, round_)
                assert there.delete(login_id).status_code == 200, (user, round_)
                deleted[user].append(login_id)
            kept[user] = pair[index % 2].login(user).json()["Login"]["Id"]
        except Exception as exc:  # reported below, with the others
            failures.append(f"{user}: {exc!r}")

    threads = [threading.Thread(target=run, args=(i, user), daemon=True) for i, user in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a client thread did not finish"
    assert not failures, failures

    all_deleted = [login_id for ids in deleted.values() for login_id in ids]
    assert len(set(all_deleted) | set(kept.values())) == len(users) * (rounds + 1)  # never an old id again
    state = saved(state_file)
    assert set(state["deleted"]) == set(all_deleted)
    assert {login["login_id"]: login["username"] for login in state["logins"]} == {v: k for k, v in kept.items()}
    for client in pair:
        for user, login_id in kept.items():
            assert client.cached(login_id).status_code == (203 if user == "greatday_cachedmfa" else 200)
        for login_id in all_deleted[::5]:
            assert code_of(client.cached(login_id)) == (401, "INVALID_LOGIN")
    assert not [name for name in os.listdir(state_file.parent) if name.endswith(".tmp")]


def test_a_damaged_state_file_is_a_clear_error(flinks_sandbox_factory, state_file):
    state_file.write_text("{not json", encoding="utf-8")
    with pytest.raises(RuntimeError, match=f"^{re.escape(f'the sandbox state file {state_file} cannot be read: ')}"):
        SandboxServer(SandboxConfig(state_file=str(state_file)))
    state_file.write_text("[]", encoding="utf-8")
    with pytest.raises(SandboxStateError, match="it is not a JSON object"):
        SandboxServer(SandboxConfig(state_file=str(state_file)))

    state_file.unlink()
    sandbox = flinks_sandbox_factory(state_file=str(state_file))
    client = Client(sandbox)
    login_id = client.login("greatday_nomfa").json()["Login"]["Id"]

    # Damaged while it runs (by hand, or another program): each request that needs the logins says
    # so in one answer, the file is left for a person to look at, and nothing is overwritten.
    state_file.write_text('{"logins": "oops"}', encoding="utf-8")
    for attempt in (client.cached(login_id), client.login("greatday_nomfa"), client.delete(login_id)):
        assert code_of(attempt) == (500, "AGGREGATION_ERROR")
        assert attempt.json()["Message"].startswith(f"the sandbox state file {state_file} cannot be read: ")
    assert state_file.read_text(encoding="utf-8") == '{"logins": "oops"}'

    state_file.unlink()  # removed: no logins any more, and the sandbox carries on
    assert code_of(client.cached(login_id)) == (401, "INVALID_LOGIN")
    assert client.login("greatday_nomfa").json()["Login"]["Id"] == login_id
    assert [login["login_id"] for login in saved(state_file)["logins"]] == [login_id]
    client.close()
