"""The headless CLI, end to end: against the offline sandbox it starts itself, against any server
that speaks the documented Flinks API (`--api-url`), in-process through `main()` for speed and as a
real subprocess where stdin, stdout and exit codes must be the real thing."""

from __future__ import annotations

import asyncio
import base64
import copy
import csv
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from scripted_server import Reply, ScriptedServer, json_reply

from flinks_desktop import cli, terminal
from flinks_desktop.cli import Col, Progress, main, print_table
from flinks_desktop.core import paths
from flinks_desktop.core.audit import describe
from flinks_desktop.core.environments import TOOLBOX_CUSTOMER_ID, SettingsError, custom_api, offline_sandbox
from flinks_desktop.core.flinks import SecurityChallenge
from flinks_desktop.core.redact import mask_account_number
from flinks_desktop.core.settings import Settings
from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import MfaPrompt, SyncProgress

SAMPLES = Path(__file__).parent / "fixtures" / "flinks-samples"
GREATDAY = ["login", "--institution", "FlinksCapital", "--username", "Greatday", "--password-stdin"]
CITY = "What city were you born in?"
UNKNOWN = "0badc0de-0000-4000-8000-000000000000"
#: Flinks Capital's questions; a sandbox that keeps running asks them in turn.
ANSWERS = {
    CITY: "Montreal",
    "What is the best country on earth?": "Canada",
    "What shape do people like most?": "Triangle",
}
SUBPROCESS_TIMEOUT = 60


@dataclass
class Run:
    code: int
    out: str
    err: str


class TerminalInput(io.StringIO):
    """stdin as a terminal: the confirmation and password prompts need one."""

    def isatty(self) -> bool:
        return True


class TerminalText(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """A data directory of the test's own, fast polling, and no keyring (as on a headless box)."""
    monkeypatch.setenv(paths.HOME_VARIABLE, str(tmp_path / "home"))
    monkeypatch.setenv(cli.POLL_INTERVAL_VARIABLE, "0.05")
    monkeypatch.delenv(cli.DEBUG_VARIABLE, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield tmp_path / "home"
    keyring.set_keyring(previous)


class BankAnswers(io.StringIO):
    """stdin that answers whichever of Flinks Capital's questions the CLI just asked."""

    def __init__(self, asked: list[str]) -> None:
        super().__init__()
        self._asked = asked

    def readline(self, *_: object) -> str:
        return ANSWERS[self._asked[-1].strip()] + "\n"


@pytest.fixture
def bank_answers(monkeypatch):
    """`bank_answers()`: a stdin for `run` that answers the bank's question, whichever it is."""
    asked: list[str] = []
    ask = terminal.ask
    monkeypatch.setattr(terminal, "ask", lambda question: asked.append(question) or ask(question))
    return lambda: BankAnswers(asked)


@pytest.fixture
def run(monkeypatch, capsys):
    """`run(*args, stdin="...", tty=False)`: main() in this process, stdin fed, output captured."""

    def run_cli(*args: object, stdin: str | io.StringIO = "", tty: bool = False) -> Run:
        stream = stdin if isinstance(stdin, io.StringIO) else (TerminalInput if tty else io.StringIO)(stdin)
        monkeypatch.setattr(sys, "stdin", stream)
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run_cli


@pytest.fixture(params=["offline sandbox", "--api-url"])
def where(request, flinks_sandbox_factory) -> list[str]:
    """The built-in offline sandbox (started by the CLI), or a sandbox server given by its URL."""
    if request.param == "offline sandbox":
        return []
    return ["--api-url", flinks_sandbox_factory().api_url]


def cache_of(home: Path, where: list[str]) -> Path:
    environment = custom_api(where[1]) if where else offline_sandbox()
    return Settings(home).cache_path(environment)


def log_in_greatday(run, where: list[str], answers: str = "Montreal\n") -> str:
    result = run(*where, *GREATDAY, stdin=f"Everyday\n{answers}")
    assert result.code == 0, result.err
    return re.search(r"^Login ID: (\S+)$", result.out, re.MULTILINE)[1]


def one_sentence(result: Run, *parts: str, after_prompts: bool = False) -> None:
    """Exit 1 and one line on stderr (the last one, after the bank's questions if any were asked)."""
    assert result.code == 1, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 or after_prompts, result.err
    assert lines[-1].startswith("flinks-desktop: ") and result.err.count("flinks-desktop:") == 1, result.err
    assert "Traceback" not in result.err
    for part in parts:
        assert part in lines[-1]


def table(out: str, first_title: str) -> list[str]:
    """The lines of the table whose header starts with `first_title`, header first."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_title))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def right_edge(line: str, text: str) -> int:
    return line.index(text) + len(text)


# -- the acceptance path ------------------------------------------------------------------------------


def test_the_whole_support_path_from_the_command_line(run, where, home, tmp_path, bank_answers):
    # Log in as Greatday: a wrong answer brings the bank's message and the question back.
    login = run(*where, *GREATDAY, stdin="Everyday\nToronto\nMontreal\n")
    assert login.code == 0, login.err
    login_id = re.search(r"^Login ID: (\S+)$", login.out, re.MULTILINE)[1]
    assert "Saved 4 accounts" in login.out
    assert login.err.count(CITY) == 2 and "The bank says: The security response is invalid" in login.err

    listing = run(*where, "list")
    assert listing.code == 0
    [header, row] = table(listing.out, "LOGIN ID")
    assert row.split()[:4] == [login_id, "FlinksCapital", "Greatday", "ok"]  # the loginId whole

    cached = run(*where, "sync", login_id)
    assert cached.code == 0 and cached.out.startswith("Saved 4 accounts") and CITY not in cached.err
    live = run(*where, "sync", login_id, "--live", stdin=bank_answers())
    assert live.code == 0 and live.out.startswith("Saved 4 accounts")
    assert "asks a security question" in live.err

    cache = cache_of(home, where)
    with Store.open(cache) as store:
        accounts = store.accounts(login_id)
        transactions = store.transactions(login_id)
        statements = store.statements(login_id)
        tim = store.count_transactions(login_id, search="tim hort")
        since = transactions[40].date
        recent = store.count_transactions(login_id, since=since)
    assert len(accounts) == 4 and transactions and statements and tim

    # Accounts: masked numbers, amounts right-aligned with separators and the currency.
    shown = run(*where, "accounts", login_id)
    assert shown.code == 0
    [header, *rows] = table(shown.out, "ACCOUNT")
    for account, line in zip(accounts, rows, strict=True):
        current = f"{account.balance.current:,.2f} {account.currency}"
        assert line.startswith(account.title) and mask_account_number(account.account_number) in line
        assert account.account_number not in shown.out
        assert right_edge(line, current) == right_edge(header, "CURRENT")

    # Transactions as CSV and JSON: exactly the cache, amounts as decimal strings.
    exported = run(*where, "transactions", login_id, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(exported.out)))
    assert [row["id"] for row in rows] == [t.id for t in transactions]
    for row, transaction in zip(rows, transactions, strict=True):
        assert row["date"] == transaction.date.isoformat() and row["description"] == transaction.description
        for field in ("debit", "credit", "balance"):
            value = getattr(transaction, field)
            assert row[field] == ("" if value is None else f"{value:.2f}")
    items = json.loads(run(*where, "transactions", login_id, "--format", "json").out)
    assert [{key: "" if value is None else value for key, value in item.items()} for item in items] == rows
    assert all(isinstance(item["balance"], str) for item in items)

    found = run(*where, "transactions", login_id, "--search", "tim hort")
    [header, *lines] = table(found.out, "DATE")
    assert len(lines) == tim and all("TIM HORTONS" in line for line in lines)
    assert f"{tim:,} transactions matching “tim hort”." in found.out
    newer = run(*where, "transactions", login_id, "--since", since.isoformat(), "--format", "json")
    newer = json.loads(newer.out)
    assert len(newer) == recent and all(item["date"] >= since.isoformat() for item in newer)
    limited = run(*where, "transactions", login_id, "--limit", "5")
    assert len(table(limited.out, "DATE")) == 6 and f"5 of {len(transactions):,} transactions." in limited.out

    # Statements saved as files; a second run leaves them; a changed file is never overwritten silently.
    folder = tmp_path / "ticket"
    saved = run(*where, "statements", login_id, "--save", folder)
    assert saved.code == 0
    files = [Path(line.split(maxsplit=1)[1]) for line in saved.out.splitlines()]
    assert len(files) == len(statements) and all(file.read_bytes().startswith(b"%PDF") for file in files)
    assert all(
        line.startswith("unchanged") for line in run(*where, "statements", login_id, "--save", folder).out.splitlines()
    )
    files[0].write_bytes(b"notes of the agent")
    one_sentence(run(*where, "statements", login_id, "--save", folder), "already exists", "--overwrite")
    assert files[0].read_bytes() == b"notes of the agent"
    replaced = run(*where, "statements", login_id, "--save", folder, "--overwrite")
    assert replaced.code == 0 and f"replaced   {files[0]}" in replaced.out
    assert files[0].read_bytes().startswith(b"%PDF")

    activity = run(*where, "activity", login_id)
    assert activity.code == 0
    assert "POST Authorize" in activity.out and "GET GetAccountsDetailAsync" in activity.out
    assert describe("OPERATION_PENDING") in activity.out and login_id not in activity.out  # masked

    deleted = run(*where, "delete-card", login_id, "--yes")
    assert deleted.code == 0, deleted.err
    assert "deleted at Flinks" in deleted.out and f"{len(transactions):,} transactions" in deleted.out
    assert "No connections yet" in run(*where, "list").out
    assert "LOGIN_PURGED" in run(*where, "activity").out
    on_disk = b"".join(file.read_bytes() for file in cache.parent.glob(cache.name + "*"))
    for account in accounts:
        assert account.account_number.encode() not in on_disk
    assert login_id.encode() not in on_disk and b"TIM HORTONS" not in on_disk


def test_a_server_that_speaks_the_documented_api_fills_the_cache_with_all_it_returned(run, home, tmp_path):
    """Not our sandbox: a server replaying the documented sample answers, byte for byte."""
    login_id, request_id = "b0debb48-f9f1-46c6-80a4-08d7dd88d478", "006fd2f3-055b-4ef6-a9fc-c1261cd76ec6"
    detail = documented_detail(login_id, request_id)
    pdf = b"%PDF-1.4 the documented statement"
    statements = sample("get_statements_200.json")
    statements["Login"]["Id"], statements["RequestId"] = login_id, request_id
    statements["StatementsByAccount"][0]["Statements"][0]["Base64Bytes"] = base64.b64encode(pdf).decode()
    with ScriptedServer() as server:
        api = ["--api-url", f"{server.url}/v3/{TOOLBOX_CUSTOMER_ID}"]
        server.script(
            sample_reply("authorize_203_mfa.json", 203),
            sample_reply("authorize_200_cached.json"),
            sample_reply("get_accounts_detail_202_operation_pending.json", 202),
            json_reply(200, detail),
            json_reply(200, statements),
        )
        login = run(*api, *GREATDAY, stdin="Everyday\nTriangle\n")
        assert login.code == 0, login.err
        assert f"Login ID: {login_id}" in login.out and "What shape do people like most?" in login.err
        assert [request.path.split("/")[-1] for request in server.requests] == [
            "Authorize",
            "Authorize",
            "GetAccountsDetail",
            request_id,
            "GetStatements",
        ]

        accounts = json.loads(run(*api, "accounts", login_id, "--format", "json").out)
        transactions = json.loads(run(*api, "transactions", login_id, "--format", "json").out)
        sent = json.loads(json.dumps(detail), parse_float=Decimal)["Accounts"]
        assert [a["id"] for a in accounts] == [a["Id"] for a in sent]
        assert [a["account_number"] for a in accounts] == [a["AccountNumber"] for a in sent]
        assert [Decimal(a["balance_available"]) for a in accounts] == [a["Balance"]["Available"] for a in sent]
        sent_transactions = {t["Id"]: t for a in sent for t in a["Transactions"]}
        assert {t["id"] for t in transactions} == set(sent_transactions)
        for item in transactions:
            original = sent_transactions[item["id"]]
            assert item["date"] == original["Date"] and item["description"] == original["Description"]
            for field in ("Debit", "Credit", "Balance"):
                value = item[field.lower()]
                assert (None if value is None else Decimal(value)) == original[field]
        saved = run(*api, "statements", login_id, "--save", tmp_path / "statements")
        [file] = [Path(line.split(maxsplit=1)[1]) for line in saved.out.splitlines()]
        assert file.read_bytes() == pdf

        # The support ticket: the bank is down. The connection says so, and when.
        server.script(
            json_reply(
                401,
                {
                    "FlinksCode": "RETRY_LATER",
                    "HttpStatusCode": 401,
                    "Message": "The bank is down",
                    "RequestId": request_id,
                },
            )
        )
        one_sentence(
            run(*api, "sync", login_id, "--live"), "The bank could not be reached. Try again later. (RETRY_LATER)"
        )
        listing = run(*api, "list")
        assert "error: RETRY_LATER" in listing.out
        assert "    The bank could not be reached. Try again later." in listing.out
        assert describe("RETRY_LATER") in run(*api, "activity", login_id).out


def test_sync_opens_an_unseen_login_id_on_a_server_that_speaks_the_documented_api(run, home):
    """The support ticket on a fresh data directory, against a server that is not our sandbox: a
    cached /Authorize that Flinks questions (203, answered on the terminal), then the data."""
    login_id, request_id = "b0debb48-f9f1-46c6-80a4-08d7dd88d478", "006fd2f3-055b-4ef6-a9fc-c1261cd76ec6"
    statements = sample("get_statements_200.json")
    statements["Login"]["Id"], statements["RequestId"] = login_id, request_id
    with ScriptedServer() as server:
        api = ["--api-url", f"{server.url}/v3/{TOOLBOX_CUSTOMER_ID}"]
        server.script(
            sample_reply("authorize_203_mfa.json", 203),
            sample_reply("authorize_200_cached.json"),
            json_reply(200, documented_detail(login_id, request_id)),
            json_reply(200, statements),
        )
        synced = run(*api, "sync", login_id, stdin="Triangle\n")
        assert synced.code == 0, synced.err
        assert "What shape do people like most?" in synced.err
        first = json.loads(server.requests[0].body)
        assert first == {"LoginId": login_id, "MostRecentCached": True}
        assert json.loads(server.requests[1].body)["SecurityResponses"] == {
            "What shape do people like most?": ["Triangle"]
        }
        accounts = json.loads(run(*api, "accounts", login_id, "--format", "json").out)
        assert len(accounts) == 2
        assert login_id in run(*api, "list").out


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def sample_reply(name: str, status: int = 200) -> Reply:
    return Reply(status, (SAMPLES / name).read_bytes())


def documented_detail(login_id: str, request_id: str) -> dict:
    """The documented GetAccountsDetail answer, for this login, with a second account and amounts
    that floats would get wrong."""
    detail = sample("get_accounts_detail_200.json")
    detail["Login"]["Id"], detail["RequestId"] = login_id, request_id
    second = copy.deepcopy(detail["Accounts"][0])
    second.update(
        Id="5c1d3ad2-7a3e-4bb5-9c44-0a6f7e0c9d11", Title="Épargne, « plus »", AccountNumber="3519999", Currency="USD"
    )
    second["Transactions"] = [
        {
            "Id": f"6f1f0e7e-0000-4000-8000-00000000000{n}",
            "Date": f"2025-01-{10 + n}",
            "Code": None,
            "Description": description,
            "Debit": debit,
            "Credit": credit,
            "Balance": balance,
        }
        for n, (description, debit, credit, balance) in enumerate(
            [
                ('VIREMENT, "INTERAC"', 0.1, None, 0.3),
                ("DÉPÔT\nPAIE", None, 12345678.9, 12345679.2),
                ("=SUM(A1)", 1000.4, None, 12344678.8),
            ]
        )
    ]
    detail["Accounts"].append(second)
    return detail


# -- logging in -----------------------------------------------------------------------------------------


def test_a_wrong_password_is_one_sentence_with_its_code_in_a_real_process(home):
    result = subprocess.run(
        [sys.executable, "-m", "flinks_desktop", "--data-dir", str(home), *GREATDAY],
        input="Everynight\n",
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
    )
    one_sentence(Run(result.returncode, result.stdout, result.stderr), "(INVALID_LOGIN)")
    assert result.stdout == ""


def test_a_bank_that_cannot_be_reached_says_retry_later(run):
    result = run(
        "login",
        "--institution",
        "FlinksCapital",
        "--username",
        "test_service_unavailable",
        "--password-stdin",
        stdin="Everyday\n",
    )
    one_sentence(result, "The bank could not be reached. Try again later. (RETRY_LATER)")


def test_a_real_process_logs_in_with_piped_answers_and_exports(home):
    def flinks_desktop(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flinks_desktop", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            env={
                **os.environ,
                paths.HOME_VARIABLE: str(home),
                cli.POLL_INTERVAL_VARIABLE: "0.05",
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            },
        )

    login = flinks_desktop(*GREATDAY, stdin="Everyday\nMontreal\n")
    assert login.returncode == 0, login.stderr
    login_id = re.search(r"^Login ID: (\S+)$", login.stdout, re.MULTILINE)[1]
    assert CITY in login.stderr and "Waiting" not in login.stderr  # no progress when not a terminal
    exported = flinks_desktop("transactions", login_id, "--since", "30d", "--format", "csv")
    assert exported.returncode == 0 and exported.stderr == ""
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert rows and all(re.fullmatch(r"-?\d+\.\d\d", row["balance"]) for row in rows)
    assert all(date.fromisoformat(row["date"]) >= date.today() - timedelta(days=30) for row in rows)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full, the device that is always full")
def test_output_to_a_full_disk_is_one_sentence(home):
    """`flinks-desktop list > file` on a full disk: says so in one sentence, exit 1, no traceback."""
    (home / "data").mkdir(parents=True, exist_ok=True)
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "flinks_desktop", "--data-dir", str(home / "data"), "list"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
        )
    assert result.returncode == 1
    assert result.stderr == (
        "flinks-desktop: The output could not be written: No space left on device. "
        "Free some space, or write it elsewhere.\n"
    )


def test_the_password_is_asked_on_a_terminal_and_never_taken_from_a_pipe_unasked(run, monkeypatch):
    asked = []
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: asked.append(prompt) or "Everyday")
    without_option = GREATDAY[:-1]
    result = run(*without_option, stdin="Montreal\n", tty=True)
    assert result.code == 0, result.err
    assert asked == ["Password for Greatday at FlinksCapital: "]
    assert run(*GREATDAY, stdin="Montreal\n", tty=True).code == 0  # --password-stdin on a terminal: no echo
    assert len(asked) == 2
    one_sentence(run(*without_option, stdin="Everyday\n"), "--password-stdin")
    one_sentence(run(*GREATDAY, stdin="\n"), "The password is empty")


def test_the_end_of_input_at_a_question_cancels_it_and_ctrl_c_stops_the_command(run, monkeypatch):
    one_sentence(run(*GREATDAY, stdin="Everyday\n"), "the login was cancelled", after_prompts=True)
    login_id = log_in_greatday(run, [])

    def ctrl_c() -> str:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr("builtins.input", ctrl_c)
        stopped = run("sync", login_id, "--live")
    assert stopped.code == 130 and stopped.out == ""
    assert stopped.err.endswith("\nflinks-desktop: Cancelled: nothing more was sent to Flinks or saved.\n")
    assert " ok " in table(run("list").out, "LOGIN ID")[1]  # stopped before anything was saved

    unanswered = run("sync", login_id, "--live")  # the end of input: no answer
    one_sentence(unanswered, "a security question that was not answered", after_prompts=True)
    assert "needs mfa" in run("list").out
    assert run("sync", login_id).code == 0  # a cached refresh asks nothing, and the status is ok again
    everything = run("sync", "--all")
    assert everything.code == 0 and everything.out.startswith(f"{login_id}  ok  ")


def test_a_question_with_options_takes_a_number_or_the_text(monkeypatch, capsys):
    challenge = SecurityChallenge("MultipleChoice", "Pick your colour", ("Red", "Blue", "2"))
    prompt = MfaPrompt(None, "FlinksCapital", (challenge,))
    ask = cli.TerminalMfa(Progress(io.StringIO()))
    for typed, answer in (("1\n", "Red"), ("\nBlue\n", "Blue"), ("2\n", "2"), ("", None)):
        monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
        assert asyncio.run(ask(prompt)) == (None if answer is None else {"Pick your colour": [answer]})
    err = capsys.readouterr().err
    assert "  1. Red\n  2. Blue\n  3. 2\n" in err and "An empty answer cannot be sent" in err


# -- deleting ------------------------------------------------------------------------------------------------


def test_delete_card_asks_to_type_delete_on_a_terminal_and_needs_yes_in_a_script(run):
    login_id = log_in_greatday(run, [])
    one_sentence(run("delete-card", login_id), "no terminal to confirm on", "--yes")
    kept = run("delete-card", login_id, stdin="keep it\n", tty=True)
    assert kept.code == 1 and kept.err.endswith("flinks-desktop: Nothing was deleted.\n")
    assert "It cannot be undone." in kept.err and 'Type "delete" to confirm: ' in kept.err
    assert login_id in run("list").out
    assert run("delete-card", login_id, stdin="", tty=True).code == 1  # Ctrl-D: nothing deleted
    local = run("delete-card", login_id, "--local-only", stdin="delete\n", tty=True)
    assert local.code == 0 and "Flinks still holds the card" in local.out
    assert "No connections yet" in run("list").out


def test_an_unknown_login_id_is_one_sentence_and_a_malformed_one_a_usage_error(run):
    for command in ("accounts", "transactions", "statements"):
        one_sentence(run(command, UNKNOWN), f"There is no connection {UNKNOWN}", "flinks-desktop list")
    one_sentence(run("sync", UNKNOWN), f"Flinks does not know the loginId {UNKNOWN}", "nothing was added")
    one_sentence(run("delete-card", UNKNOWN, "--local-only", "--yes"), "nothing to remove")
    one_sentence(run("delete-card", UNKNOWN, "--yes"), "nothing was removed", "(INVALID_LOGIN)")
    for malformed in ("not-a-login", "b0d", "b0debb48-f9f1-46c6-80a4-08d7dd88d478a", "b0de bb48"):
        result = run("accounts", malformed)
        assert result.code == 2 and "is not a loginId" in result.err, malformed
    # As pasted from a ticket or a chat: taken as the loginId it is, as `add` takes it.
    for pasted in (f'"{UNKNOWN}"', UNKNOWN.replace("-", "\u2010").upper(), f"loginId={UNKNOWN}", f" {UNKNOWN}\n"):
        one_sentence(run("accounts", pasted), f"There is no connection {UNKNOWN}")
    page = "x" * 10_000
    result = run("accounts", page)
    assert result.code == 2 and "is not a loginId" in result.err and len(result.err) < 1_000


def test_usage_errors_exit_2_in_a_real_process(home):
    for args in (
        ["transactions"],
        ["transactions", UNKNOWN, "--format", "xml"],
        ["--env", "x", "--api-url", f"http://127.0.0.1:1/v3/{TOOLBOX_CUSTOMER_ID}", "list"],
        ["activity", "--limit", "0"],
        ["transactions", UNKNOWN, "--since", "yesterday"],
        ["--api-url", "http://x/v2", "list"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "flinks_desktop", "--data-dir", str(home), *args],
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
        )
        assert result.returncode == 2, (args, result.stderr)
        assert "usage:" in result.stderr and "Traceback" not in result.stderr


# -- environments, the keyring, the desktop app -----------------------------------------------------------


def test_an_api_url_has_its_own_stable_cache_and_bad_ones_are_refused():
    local = custom_api(f"http://127.0.0.1:8765/v3/{TOOLBOX_CUSTOMER_ID}/")
    assert local.api_url == f"http://127.0.0.1:8765/v3/{TOOLBOX_CUSTOMER_ID}"
    assert local.slug == custom_api(f"http://127.0.0.1:8765/v3/{TOOLBOX_CUSTOMER_ID}").slug
    assert local.slug not in {
        custom_api(f"http://127.0.0.1:8766/v3/{TOOLBOX_CUSTOMER_ID}").slug,
        offline_sandbox().slug,
    }
    behind = custom_api(f"https://proxy.example/flinks/v3/{TOOLBOX_CUSTOMER_ID}")
    assert behind.api_url == f"https://proxy.example/flinks/v3/{TOOLBOX_CUSTOMER_ID}"
    acme = custom_api(f"https://acme-api.private.fin.ag/v3/{TOOLBOX_CUSTOMER_ID}")
    assert acme.kind == "private" and acme.instance == "acme" and acme.is_production
    for bad in (
        "http://127.0.0.1:8765/",
        "ftp://host/v3/" + TOOLBOX_CUSTOMER_ID,
        "http://host/v3/not-a-guid",
        f"http://user:secret@host/v3/{TOOLBOX_CUSTOMER_ID}",
        "127.0.0.1:8765",
    ):
        with pytest.raises(SettingsError):
            custom_api(bad)


def test_the_keyring_is_mentioned_only_where_a_secret_is_needed(run, monkeypatch):
    private = ["--api-url", f"https://acme-api.private.fin.ag/v3/{TOOLBOX_CUSTOMER_ID}"]
    result = run(*private, "sync", "--all")  # nothing to refresh: no network needed
    assert result.code == 0 and "There are no connections to refresh" in result.out
    assert result.err == (
        "flinks-desktop: There is no system keyring on this computer, so no secret of “API at "
        "acme-api.private.fin.ag” is kept on this computer: give the secrets in FLINKS_DESKTOP_AUTH_SECRET "
        "and FLINKS_DESKTOP_API_KEY for each command instead.\n"
    )
    assert run("sync", "--all").err == ""  # the offline sandbox needs no secret
    monkeypatch.setenv("FLINKS_DESKTOP_AUTH_SECRET", "s3cret")
    monkeypatch.setenv("FLINKS_DESKTOP_API_KEY", "k3y")
    assert run(*private, "sync", "--all").err == ""  # the secrets are given


def test_global_options_go_before_or_after_the_command(run, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    login_id = log_in_greatday(run, ["--data-dir", elsewhere])
    assert login_id in run("list", "--data-dir", elsewhere).out
    assert login_id not in run("list").out  # $FLINKS_DESKTOP_HOME is another data directory
    assert "No connections yet in “Flinks toolbox”" in run("list", "--env", "flinks TOOLBOX").out
    one_sentence(run("--env", "Nowhere", "list"), "no environment named “Nowhere”", "“Offline sandbox”")


def test_with_no_command_the_desktop_app_starts_with_the_data_dir(run, monkeypatch, tmp_path):
    import flinks_desktop.ui.app

    started = []
    monkeypatch.setattr(flinks_desktop.ui.app, "run", lambda **options: started.append(options) or 0)
    assert run("--data-dir", tmp_path).code == 0
    assert run().code == 0
    assert run("--smoke").code == 0
    assert started == [
        {"data_dir": str(tmp_path), "smoke": False},
        {"data_dir": None, "smoke": False},
        {"data_dir": None, "smoke": True},
    ]
    assert run("--env", "Flinks toolbox").code == 2


def test_the_reading_commands_import_neither_qt_nor_the_sandbox(home):
    script = (
        "import sys\n"
        "from flinks_desktop.cli import main\n"
        "assert main(['list']) == 0 and main(['activity']) == 0\n"
        "loaded = [name for name in sys.modules if name.startswith(('PySide6', 'flinks_desktop.sandbox', "
        "'flinks_desktop.ui'))]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env={**os.environ, paths.HOME_VARIABLE: str(home)},
    )
    assert result.returncode == 0, result.stderr


# -- the terminal --------------------------------------------------------------------------------------------


def test_progress_is_one_updating_line_on_a_terminal_and_nothing_otherwise(run, monkeypatch):
    login_id = log_in_greatday(run, [])
    terminal = TerminalText()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert run("sync", login_id).code == 0
    written = terminal.getvalue()
    assert "\r\x1b[KSigning in at Flinks…" in written and "\r\x1b[KWaiting for Flinks… 0 s" in written
    assert written.endswith("\r\x1b[K") and "\n" not in written  # cleared: the terminal is left clean

    progress = Progress(terminal := TerminalText())
    progress(SyncProgress(login_id, "waiting", endpoint="GetAccountsDetail", attempt=2, elapsed=12.3))
    assert terminal.getvalue() == "\r\x1b[KWaiting for Flinks… 12 s"
    quiet = io.StringIO()
    Progress(quiet)(SyncProgress(login_id, "authorize"))
    assert quiet.getvalue() == ""


def test_tables_align_wide_text_and_show_bank_text_as_plain_text():
    out = io.StringIO()
    print_table(
        [Col("NAME", width=12), Col("AMOUNT", right=True)],
        [
            ["東京 \x1b[31mRED\x1b[0m\r\n", "1.00 CAD"],
            ["a\u202eb", "1,234.50 CAD"],
            ["A very long bank description", "0.00 CAD"],
        ],
        out=out,
    )
    lines = out.getvalue().splitlines()
    assert "\x1b" not in out.getvalue() and "\u202e" not in out.getvalue() and "\r" not in out.getvalue()
    assert len({terminal.width(line) for line in lines}) == 1  # the amounts end in one column
    assert lines[3].startswith("A very long…")


#: Every command, as `flinks-desktop --help` lists them.
COMMANDS = "login sync add list accounts transactions statements activity check delete-card env sandbox".split()
ENV_ACTIONS = "list add use remove set-secret".split()


@pytest.mark.parametrize("columns", ["80", "120"])
def test_every_help_page_reads_whole_at_a_terminal_s_width(monkeypatch, capsys, columns) -> None:
    """`--help` of the program and of each command: exit 0, every command listed, and a URL never
    cut across two lines (argparse cuts a word longer than its column)."""
    monkeypatch.setenv("COLUMNS", columns)
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    assert all(f"\n    {name} " in top for name in COMMANDS), top
    pages = [["--help"], *([name, "--help"] for name in COMMANDS), *(["env", name, "--help"] for name in ENV_ACTIONS)]
    for argv in pages:
        assert main(argv) == 0
        text = capsys.readouterr().out
        urls = [word for word in text.split() if "://" in word]
        assert all(re.match(r"https?://\S+$", url) for url in urls), (argv, urls)


def test_login_says_the_cache_is_unusable_before_the_bank_is_asked(run, home):
    from flinks_desktop.core.environments import offline_sandbox
    from flinks_desktop.core.settings import Settings

    cache = Settings(home).cache_path(offline_sandbox())
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"not a database at all, " * 200)
    result = run(*GREATDAY, stdin="Everyday\nMontreal\n")
    assert result.code == 1 and result.out == ""
    assert "Connected" not in result.out and CITY not in result.err  # no question was asked
    assert result.err.startswith("flinks-desktop: ") and "cache" in result.err.lower(), result.err
    assert cache.read_bytes() == b"not a database at all, " * 200  # and it is left as it was
