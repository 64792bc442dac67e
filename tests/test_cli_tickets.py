"""Support tickets from a terminal: a loginId made on the customer's device, which this computer has
never seen (`sync LOGIN_ID`, `add`, `add --from-file`), loginIds shortened as git shortens commits,
`--version`, and Ctrl-C. Against the real sandbox on loopback: the logins are made through its API,
as Flinks Connect makes them on a customer's device; the CLI runs through `main()` or as a real
process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

# The CLI's own test helpers: `run` (main() in this process), a data directory of the test's own
# with no keyring (`home`, autouse), and how results are read.
from test_cli import (  # noqa: F401  (fixtures)
    ANSWERS,
    CITY,
    SUBPROCESS_TIMEOUT,
    UNKNOWN,
    bank_answers,
    home,
    one_sentence,
    run,
    table,
)

from flinks_desktop import __version__, cli
from flinks_desktop.core import paths
from flinks_desktop.core.environments import TOOLBOX_CUSTOMER_ID, offline_sandbox
from flinks_desktop.core.flinks.models import Login
from flinks_desktop.core.settings import Settings
from flinks_desktop.core.store import Store
from flinks_desktop.testing import login_made_elsewhere

CANCELLED = "flinks-desktop: Cancelled: nothing more was sent to Flinks or saved.\n"


@pytest.fixture
def sandbox(flinks_sandbox_factory):
    return flinks_sandbox_factory(pending_polls=0, bank_delay=0)


@pytest.fixture(params=["offline sandbox", "--api-url"])
def elsewhere(request, flinks_sandbox_factory, home):
    """(where the CLI works, the sandbox the customer's device talks to): the built-in offline
    sandbox (another sandbox on its state file stands for the customer's side), or a server by URL."""
    if request.param == "offline sandbox":
        state_file = Settings(home).sandbox_state_file()
        return [], flinks_sandbox_factory(state_file=str(state_file), bank_delay=0)
    server = flinks_sandbox_factory(pending_polls=0, bank_delay=0)
    return ["--api-url", server.api_url], server


def logins_of(home: Path, where: list[str]) -> list[str]:
    environment = cli.custom_api(where[1]) if where else offline_sandbox()
    with Store.open(Settings(home).cache_path(environment)) as store:
        return [login.id for login in store.logins()]


def rows_by_login(out: str) -> dict[str, str]:
    """`add`'s summary: the loginId (or the text given) -> the rest of its line."""
    return {line.split()[0]: line for line in table(out, "LOGIN ID")[1:]}


# -- sync LOGIN_ID of a login made elsewhere ------------------------------------------------------------


def test_sync_adds_a_login_id_this_computer_has_never_seen(run, elsewhere, home):
    where, sandbox = elsewhere
    login_id = login_made_elsewhere(sandbox)
    assert logins_of(home, where) == []

    linked = run(*where, "sync", login_id)
    assert linked.code == 0, linked.err
    assert linked.out.startswith(f"Added {login_id} to “") and "Saved 4 accounts" in linked.out
    [header, row] = table(run(*where, "list").out, "LOGIN ID")
    assert row.split()[:4] == [login_id, "FlinksCapital", "greatday_nomfa", "ok"]
    assert len(table(run(*where, "accounts", login_id[:8]).out, "ACCOUNT")) == 5

    again = run(*where, "sync", login_id[:6].upper())  # cached now: a refresh, by a prefix
    assert again.code == 0 and again.out.startswith("Saved 4 accounts") and "Added" not in again.out

    one_sentence(run(*where, "sync", UNKNOWN), f"Flinks does not know the loginId {UNKNOWN}", "nothing was added")
    assert logins_of(home, where) == [login_id]


def test_the_banks_question_on_a_cached_authorize_is_asked_on_the_terminal(run, sandbox, bank_answers):
    login_id = login_made_elsewhere(sandbox, "greatday_cachedmfa")
    linked = run("--api-url", sandbox.api_url, "sync", login_id, stdin=bank_answers())
    assert linked.code == 0, linked.err
    assert "asks a security question" in linked.err and "Saved 4 accounts" in linked.out


def test_a_live_sync_of_a_new_login_id_adds_it_then_asks_the_bank(run, sandbox, bank_answers):
    login_id = login_made_elsewhere(sandbox, "Greatday")
    live = run("--api-url", sandbox.api_url, "sync", login_id, "--live", stdin=bank_answers())
    assert live.code == 0, live.err
    assert live.out.startswith(f"Added {login_id}") and "Saved 4 accounts" in live.out
    assert "asks a security question" in live.err  # the live refresh: the bank asks again


def test_an_unanswered_question_adds_the_login_as_needing_mfa(run, sandbox):
    login_id = login_made_elsewhere(sandbox, "greatday_cachedmfa")
    api = ["--api-url", sandbox.api_url]
    result = run(*api, "sync", login_id, stdin="")  # the end of input: nobody answers
    one_sentence(result, "a security question that was not answered", after_prompts=True)
    assert "needs mfa" in run(*api, "list").out  # Flinks knows it: added, to answer later


# -- add ------------------------------------------------------------------------------------------------


def test_add_opens_many_and_says_what_became_of_each(run, sandbox):
    api = ["--api-url", sandbox.api_url]
    fresh, cached, asks = (
        login_made_elsewhere(sandbox, user) for user in ("greatday_nomfa", "Greatday", "greatday_cachedmfa")
    )
    assert run(*api, "sync", cached).code == 0

    result = run(*api, "add", fresh, UNKNOWN, "not-a-login-id", cached, f'"{fresh.upper()}"', asks)
    assert result.code == 1
    rows = rows_by_login(result.out)
    assert list(rows) == [fresh, UNKNOWN, cached, asks, "not-a-login-id"]  # given order, each once
    assert re.search(r"\badded\s+Saved 4 accounts", rows[fresh])
    assert "unknown to Flinks" in rows[UNKNOWN] and "Flinks does not know" in rows[UNKNOWN]
    assert "already here (refreshed)" in rows[cached]
    assert "needs MFA" in rows[asks]  # no terminal: nobody could answer
    assert "not a loginId" in rows["not-a-login-id"] and "on the command line" in rows["not-a-login-id"]
    assert result.out.rstrip().endswith(
        "5 given: 1 added, 1 unknown to Flinks, 1 already here (refreshed), 1 needs MFA, "
        "1 not a loginId; 1 repeated loginId taken once."
    )
    assert result.err.endswith("flinks-desktop: 3 of 5 were not added; see above why.\n")

    listing = run(*api, "list").out
    assert fresh in listing and cached in listing and asks in listing and UNKNOWN not in listing

    everything_here = run(*api, "add", fresh, cached)
    assert everything_here.code == 0 and everything_here.err == ""
    assert everything_here.out.rstrip().endswith("2 given: 2 already here (refreshed).")


def test_on_a_terminal_add_asks_the_banks_questions(run, sandbox, bank_answers, monkeypatch):
    login_id = login_made_elsewhere(sandbox, "greatday_cachedmfa")
    answers = bank_answers()
    monkeypatch.setattr(answers, "isatty", lambda: True, raising=False)
    result = run("--api-url", sandbox.api_url, "add", login_id, stdin=answers)
    assert result.code == 0, result.err
    assert "asks a security question" in result.err
    assert "added" in rows_by_login(result.out)[login_id]


def test_add_from_a_csv_a_text_file_and_standard_input(run, sandbox, tmp_path):
    api = ["--api-url", sandbox.api_url]
    a, b, c = (login_made_elsewhere(sandbox, user) for user in ("greatday_nomfa", "Greatday", "test_pending"))
    tickets = tmp_path / "tickets.csv"
    tickets.write_text(
        f'ticket,loginId,agent\n4521,{a},marie\n4522,"{b}",paul\n4523,b0debb48-f9f1,paul\n', encoding="utf-8"
    )
    from_csv = run(*api, "add", "--from-file", tickets)
    assert from_csv.code == 1
    rows = rows_by_login(from_csv.out)
    assert "added" in rows[a] and "added" in rows[b]
    [rejected] = [line for line in table(from_csv.out, "LOGIN ID")[1:] if "not a loginId" in line]
    assert rejected.startswith("4523,b0debb48-f9f1,paul") and f"line 4 of {tickets}" in rejected
    assert from_csv.out.rstrip().endswith("3 given: 2 added, 1 not a loginId.")

    text = tmp_path / "tickets.txt"
    text.write_text(f"\ufeff# this morning's tickets\n\n  '{a}'  \n{c.upper()}\n", encoding="utf-8")
    from_text = run(*api, "add", "--from-file", text)
    assert from_text.code == 0, from_text.out
    rows = rows_by_login(from_text.out)
    assert list(rows) == [a, c] and "already here" in rows[a] and "added" in rows[c]

    piped = run(*api, "add", b, "--from-file", "-", stdin=f"{a}\n{b}\n")
    assert piped.code == 0 and list(rows_by_login(piped.out)) == [b, a]
    assert "1 repeated loginId taken once" in piped.out

    one_sentence(run(*api, "add", "--from-file", tmp_path / "missing.txt"), "cannot be read")
    (tmp_path / "empty.txt").write_text("# nothing yet\n\n", encoding="utf-8")
    one_sentence(run(*api, "add", "--from-file", tmp_path / "empty.txt"), "There is no loginId in")
    assert run(*api, "add").code == 2  # nothing to add: a usage error


# -- loginIds shortened -------------------------------------------------------------------------------


def cache_logins(home: Path, *logins: tuple[str, str]) -> None:
    """Logins in the offline sandbox's cache, as a sync leaves them (no data needed to resolve them)."""
    at = datetime.now(UTC)
    with Store.open(Settings(home).cache_path(offline_sandbox())) as store:
        for login_id, username in logins:
            store.upsert_login(
                login_id,
                "FlinksCapital",
                at=at,
                environment=offline_sandbox().slug,
                details=Login(login_id, username, False, None, None),
            )


def test_a_unique_start_of_a_login_id_is_enough(run, home):
    first, second, third = (
        "abcd1234-0000-4000-8000-000000000001",
        "abcd1234-0000-4000-8000-000000000002",
        "abce0000-0000-4000-8000-000000000003",
    )
    cache_logins(home, (first, "alice"), (second, "bob"), (third, "carol"))

    for given in ("abce", "ABCE0000", "abce0000-0000-4", "abce-0000-0000-40", "abce0000000040", third.upper()):
        shown = run("accounts", given)
        assert shown.code == 0 and shown.out.startswith("FlinksCapital · carol"), (given, shown.err)
    assert run("transactions", "abcd1234000040008000000000000002").out.startswith("FlinksCapital · bob")
    assert run("statements", "ABCD1234-0000-4000-8000-000000000001").out.startswith("FlinksCapital · alice")
    assert run("activity", "abce").code == 0

    ambiguous = run("accounts", "abcd1234")
    assert ambiguous.code == 1 and ambiguous.out == ""
    [sentence, header, *candidates] = ambiguous.err.splitlines()
    assert sentence == (
        "flinks-desktop: 2 connections in “Offline sandbox” start with abcd1234: give more of the loginId."
    )
    assert header.split() == ["LOGIN", "ID", "INSTITUTION", "USERNAME"]
    assert [line.split() for line in candidates] == [
        [first, "FlinksCapital", "alice"],
        [second, "FlinksCapital", "bob"],
    ]
    for command in ("transactions", "statements", "activity", "sync"):
        assert run(command, "ABCD-1234").code == 1
    refused = run("delete-card", "abcd", "--yes")
    assert refused.code == 1 and refused.err.startswith(
        "flinks-desktop: 2 connections in “Offline sandbox” start with abcd: give more"
    )
    assert first in run("list").out and second in run("list").out  # nothing deleted

    for command in ("accounts", "transactions", "statements", "sync", "delete-card"):
        one_sentence(run(command, "ffff"), "There is no connection ffff in “Offline sandbox”", "flinks-desktop list")
    one_sentence(run("delete-card", "ffff", "--local-only", "--yes"), "There is no connection ffff")
    assert run("delete-card", third[:4], "--local-only", "--yes").code == 0  # by a prefix
    assert third not in run("list").out


def test_prefixes_resolve_against_logins_the_cli_made(run, sandbox):
    api = ["--api-url", sandbox.api_url]
    login_id = login_made_elsewhere(sandbox)
    assert run(*api, "sync", login_id).code == 0
    deleted = run(*api, "delete-card", login_id[:5], "--yes")
    assert deleted.code == 0, deleted.err
    assert "deleted at Flinks" in deleted.out
    gone = run(*api, "activity", login_id)  # whole: what is left of a deleted card
    assert gone.code == 0 and "LOGIN_PURGED" in gone.out


# -- a real process: --version, Ctrl-C -------------------------------------------------------------------


def process_environment(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        paths.HOME_VARIABLE: str(home),
        cli.POLL_INTERVAL_VARIABLE: "0.05",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONUNBUFFERED": "1",
    }


def test_version(home):
    result = subprocess.run(
        [sys.executable, "-m", "flinks_desktop", "--version"],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=process_environment(home),
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, f"flinks-desktop {__version__}\n", "")


class Stderr:
    """A process's stderr, read as it comes (on a thread), to wait for a prompt."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):
            self.text += chunk.decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = SUBPROCESS_TIMEOUT) -> None:
        end = time.monotonic() + timeout
        while text not in self.text:
            assert time.monotonic() < end, self.text
            time.sleep(0.02)

    def rest(self) -> str:
        self._thread.join(timeout=10)
        return self.text


def interrupted(process: subprocess.Popen, stderr: Stderr) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=SUBPROCESS_TIMEOUT)
    return code, stderr.rest()


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_ctrl_c_at_a_question_exits_130(home):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flinks_desktop",
            "login",
            "--institution",
            "FlinksCapital",
            "--username",
            "Greatday",
            "--password-stdin",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=process_environment(home),
    )
    try:
        stderr = Stderr(process)
        process.stdin.write(b"Everyday\n")
        process.stdin.flush()  # and stdin stays open: the CLI waits for the answer
        stderr.wait_for(CITY)
        code, err = interrupted(process, stderr)
    finally:
        process.kill()
    assert code == 130, err
    assert err.endswith(CANCELLED) and "Traceback" not in err
    assert process.stdout.read() == b""


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_ctrl_c_while_flinks_is_slow_exits_130(home):
    """A server that accepts the connection and never answers: the CLI waits until Ctrl-C."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flinks_desktop",
                "--api-url",
                f"http://127.0.0.1:{port}/v3/{TOOLBOX_CUSTOMER_ID}",
                "sync",
                UNKNOWN,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=process_environment(home),
        )
        try:
            stderr = Stderr(process)
            server.settimeout(SUBPROCESS_TIMEOUT)
            connection, _ = server.accept()  # the CLI's /Authorize is on its way
            with connection:
                time.sleep(0.2)
                code, err = interrupted(process, stderr)
        finally:
            process.kill()
    assert code == 130, err
    assert err == CANCELLED
    assert process.stdout.read() == b""


def test_a_damaged_sandbox_state_file_is_one_sentence_and_left_as_it_is(run, home):
    state_file = Settings(home).sandbox_state_file()
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_bytes(b"\x8b\x00 not json at all")
    result = run("sync", "b0debb48-f9f1-46c6-80a4-08d7dd88d478")
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("flinks-desktop: The offline sandbox could not start: the sandbox state file ")
    assert "Something unexpected" not in result.err and result.err.count("\n") == 1
    assert state_file.read_bytes() == b"\x8b\x00 not json at all"
