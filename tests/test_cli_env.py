"""Environments and secrets without the desktop app: `env list/add/use/remove/set-secret`, and the
secrets of the process environment (FLINKS_DESKTOP_AUTH_SECRET, FLINKS_DESKTOP_API_KEY).

The acceptance: against a sandbox started with secrets, the CLI alone, as real processes, links a
loginId made elsewhere, refreshes it and deletes its card, with the secrets given once in the process
environment and once through `env set-secret` into a keyring that outlives each process (a file,
`file_keyring.FileKeyring`); afterwards no file of the data directory holds a secret, and no
command line ever held one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from file_keyring import PATH_VARIABLE, FileKeyring
from test_cli import SUBPROCESS_TIMEOUT, home, one_sentence, run, table  # noqa: F401  (fixtures)
from test_dialogs import child, click, open_settings, parent, result_of, select  # noqa: F401  (parent)

from flinks_desktop import cli, terminal
from flinks_desktop.core import paths
from flinks_desktop.core.environments import TOOLBOX_CUSTOMER_ID
from flinks_desktop.core.secret_store import API_KEY_VARIABLE, AUTH_SECRET_VARIABLE, KEYRING_SERVICE, SecretStore
from flinks_desktop.core.settings import Settings
from flinks_desktop.testing import installed_keyring, login_made_elsewhere

LOCAL = f"http://127.0.0.1:9000/v3/{TOOLBOX_CUSTOMER_ID}"
ACME = f"https://acme-api.private.fin.ag/v3/{TOOLBOX_CUSTOMER_ID}"
AUTH_SECRET = "sk-sandbox-51f0c2d9e7"
API_KEY = "ak-sandbox-83b1e6a40c"
TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def no_secret_variables(monkeypatch) -> None:
    monkeypatch.delenv(AUTH_SECRET_VARIABLE, raising=False)
    monkeypatch.delenv(API_KEY_VARIABLE, raising=False)


@pytest.fixture
def keyring_file(tmp_path) -> Path:
    """A keyring in a file outside the data directory, installed in this process."""
    path = tmp_path / "keyring" / "keyring.json"
    path.parent.mkdir()
    with installed_keyring(FileKeyring(path)):
        yield path


def keyring_entries(path: Path) -> dict[str, str]:
    return FileKeyring(path).entries()


def environment_rows(out: str) -> dict[str, list[str]]:
    """`env list`: the environment's name -> its cells, the marker first ("*" or "")."""
    lines = table(out, "  NAME")
    header = lines[0]
    starts = [header.index(title) for title in ("KIND", "API URL", "AUTH SECRET", "API KEY")]
    rows = {}
    for line in lines[1:]:
        cells = [line[: starts[0]]] + [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None])]
        marker, name = cells[0][:1].strip(), cells[0][2:].strip()
        rows[name] = [marker, *cells[1:]]
    return rows


def files_holding(root: Path, *texts: str) -> list[Path]:
    return [
        path for path in root.rglob("*") if path.is_file() and any(text.encode() in path.read_bytes() for text in texts)
    ]


# -- env in this process ---------------------------------------------------------------------------------


def test_environments_are_listed_added_used_and_removed(run, home, keyring_file):
    listed = run("env", "list")
    assert listed.code == 0
    assert environment_rows(listed.out) == {
        "Offline sandbox": ["*", "built in", "on this computer (started by each command)", "not needed", "not needed"],
        "Flinks toolbox": [
            "",
            "built in",
            f"https://toolbox-api.private.fin.ag/v3/{TOOLBOX_CUSTOMER_ID}",
            "not set",
            "not set",
        ],
    }

    local = run("env", "add", "Local 9000", "--api-url", f"{LOCAL}/")
    assert local.code == 0, local.err
    assert local.out.startswith(f"Added “Local 9000” (API by its URL): API {LOCAL}, Connect http://127.0.0.1:9000/v2/")
    assert run("env", "add", "Acme", "--api-url", ACME).out.startswith("Added “Acme” (private instance)")
    proxied = run(
        "env",
        "add",
        "Proxied",
        "--api-url",
        f"https://proxy.example/flinks/v3/{TOOLBOX_CUSTOMER_ID}",
        "--connect-url",
        "https://proxy.example/connect/",
    )
    assert "Connect https://proxy.example/connect/" in proxied.out
    one_sentence(run("env", "add", "acme", "--api-url", LOCAL), 'There is already an environment named "acme"')
    one_sentence(run("env", "add", "Bad", "--api-url", "http://127.0.0.1:9000/"), "is not a Flinks API address")
    assert run("env", "add", "No URL").code == 2
    assert run("--env", "Acme", "env", "list").code == 2  # env names what it acts on

    settings = Settings.load(home)  # what the desktop app reads
    acme, proxy = settings.environment("Acme"), settings.environment("Proxied")
    assert (acme.kind, acme.instance) == ("private", "acme")
    assert settings.environment("local 9000").api_url == LOCAL
    assert proxy.connect_base_url == "https://proxy.example/connect/"

    used = run("env", "use", "local 9000")
    assert used.code == 0 and used.out == "Now working in “Local 9000”.\n"
    assert Settings.load(home).active.name == "Local 9000"
    assert "No connections yet in “Local 9000”" in run("list").out
    one_sentence(run("env", "use", "Nowhere"), "There is no environment named “Nowhere”")

    rows = environment_rows(run("env", "list").out)
    assert rows["Local 9000"] == ["*", "API by its URL", LOCAL, "not set", "not set"]
    assert rows["Acme"] == ["", "private instance", ACME, "not set", "not set"]
    assert rows["Offline sandbox"][0] == ""

    assert run("env", "set-secret", "Acme", "api-key", stdin="ak-acme\n").code == 0
    assert environment_rows(run("env", "list").out)["Acme"][3:] == ["not set", "set"]
    one_sentence(run("env", "remove", "Local 9000"), "is the environment in use: switch to another one")
    one_sentence(run("env", "remove", "Flinks toolbox"), "is built in and cannot be removed")
    removed = run("env", "remove", "acme")
    assert removed.code == 0, removed.err
    assert removed.out.startswith("Removed “Acme”, and its secrets from the system keyring.")
    assert keyring_entries(keyring_file) == {}  # forgotten
    assert "Acme" not in run("env", "list").out and "Acme" not in Settings.load(home).path.read_text()
    readded = run("env", "add", "Acme", "--api-url", ACME)
    assert readded.code == 0 and Settings.load(home).environment("Acme").slug != acme.slug  # never reused


def test_set_secret_reads_stdin_or_asks_without_echo_into_the_keyring(run, home, keyring_file, monkeypatch):
    assert run("env", "add", "Local", "--api-url", LOCAL).code == 0
    slug = Settings.load(home).environment("Local").slug

    saved = run("env", "set-secret", "Local", "auth-secret", stdin=f"  {AUTH_SECRET}  \r\nignored\n")
    assert saved.code == 0, saved.err
    assert saved.out == "The authorize secret key of “Local” is saved in the system keyring.\n"
    assert keyring_entries(keyring_file) == {f"{KEYRING_SERVICE}\n{slug}:auth-secret": AUTH_SECRET}

    asked = []
    monkeypatch.setattr(terminal.getpass, "getpass", lambda prompt: asked.append(prompt) or API_KEY)
    typed = run("env", "set-secret", "Local", "api-key", tty=True)
    assert typed.code == 0 and asked == ["API key of “Local” (not shown): "]
    assert keyring_entries(keyring_file)[f"{KEYRING_SERVICE}\n{slug}:api-key"] == API_KEY

    listed = run("env", "list")
    assert environment_rows(listed.out)["Local"][3:] == ["set", "set"]
    monkeypatch.setenv(API_KEY_VARIABLE, "ak-from-the-variable")
    run("env", "use", "Local")
    assert environment_rows(run("env", "list").out)["Local"][3:] == ["set", f"from ${API_KEY_VARIABLE}"]
    outputs = "".join(run(*args).out + run(*args).err for args in (["env", "list"], ["list"]))
    assert AUTH_SECRET not in outputs and API_KEY not in outputs and "ak-from-the-variable" not in outputs

    one_sentence(run("env", "set-secret", "Local", "api-key", stdin="   \n"), "The secret is empty")
    one_sentence(run("env", "set-secret", "Offline sandbox", "api-key", stdin="x\n"), "needs no API key")
    assert run("env", "set-secret", "Local", "password", stdin="x\n").code == 2
    cleared = run("env", "set-secret", "Local", "auth-secret", "--clear")
    assert cleared.code == 0 and "cleared" in cleared.out
    assert list(keyring_entries(keyring_file)) == [f"{KEYRING_SERVICE}\n{slug}:api-key"]
    assert files_holding(home, AUTH_SECRET, API_KEY, "ak-from-the-variable") == []


def test_without_a_keyring_set_secret_says_so_and_names_the_variables(run, home):
    """No keyring (the `home` fixture's "fail" backend): a secret kept in this process would be gone
    when it ends and the next command would get a 401, so nothing is taken."""
    assert run("env", "add", "Local", "--api-url", LOCAL).code == 0
    refused = run("env", "set-secret", "Local", "api-key", stdin=f"{API_KEY}\n")
    one_sentence(
        refused,
        "There is no system keyring on this computer, so the API key of “Local” cannot be saved",
        AUTH_SECRET_VARIABLE,
        API_KEY_VARIABLE,
    )
    listed = run("env", "list")
    assert environment_rows(listed.out)["Local"][3:] == ["no keyring", "no keyring"]
    assert "There is no system keyring" in listed.out
    assert files_holding(home, API_KEY) == []


# -- the acceptance: the CLI alone, as real processes -----------------------------------------------------


@pytest.mark.parametrize("secrets_from", ["the process environment", "env set-secret"])
def test_the_cli_alone_links_refreshes_and_deletes_against_a_sandbox_that_checks_secrets(
    flinks_sandbox_factory, tmp_path, secrets_from
):
    sandbox = flinks_sandbox_factory(auth_key=AUTH_SECRET, api_key=API_KEY, pending_polls=0, bank_delay=0)
    login_id = login_made_elsewhere(sandbox, auth_key=AUTH_SECRET)  # on the customer's device, through Connect
    data = tmp_path / "data"
    keyring_file = tmp_path / "keyring.json"
    environment = {
        **{name: value for name, value in os.environ.items() if name not in (AUTH_SECRET_VARIABLE, API_KEY_VARIABLE)},
        paths.HOME_VARIABLE: str(data),
        cli.POLL_INTERVAL_VARIABLE: "0.05",
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    if secrets_from == "env set-secret":
        environment |= {"PYTHON_KEYRING_BACKEND": "file_keyring.FileKeyring", PATH_VARIABLE: str(keyring_file)}
    else:
        environment["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # a headless box
    argvs: list[list[str]] = []

    def flinks_desktop(*args: str, stdin: str = "", secrets: bool = False) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "flinks_desktop", *args]
        argvs.append(argv)
        variables = {AUTH_SECRET_VARIABLE: AUTH_SECRET, API_KEY_VARIABLE: API_KEY} if secrets else {}
        return subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            env={**environment, **variables},
        )

    assert flinks_desktop("env", "add", "Secured sandbox", "--api-url", sandbox.api_url).returncode == 0
    assert flinks_desktop("env", "use", "Secured sandbox").returncode == 0

    refused = flinks_desktop("sync", login_id)  # no secret yet: Flinks refuses, nothing is added
    assert refused.returncode == 1 and refused.stderr.count("flinks-desktop: ") >= 1
    assert "Nothing was added" in refused.stderr and "Traceback" not in refused.stderr
    assert login_id not in flinks_desktop("list").stdout

    with_variables = secrets_from == "the process environment"
    if not with_variables:
        for kind, value in (("auth-secret", AUTH_SECRET), ("api-key", API_KEY)):
            saved = flinks_desktop("env", "set-secret", "Secured sandbox", kind, stdin=f"{value}\n")
            assert saved.returncode == 0, saved.stderr
        listed = flinks_desktop("env", "list")
        assert "set" in listed.stdout and AUTH_SECRET not in listed.stdout and API_KEY not in listed.stdout

    linked = flinks_desktop("sync", login_id, secrets=with_variables)
    assert linked.returncode == 0, linked.stderr
    assert linked.stdout.startswith(f"Added {login_id} to “Secured sandbox”.")
    assert "Saved 4 accounts" in linked.stdout
    assert linked.stderr == ""  # the secrets are there: no word about the keyring
    refreshed = flinks_desktop("sync", login_id[:8], secrets=with_variables)
    assert refreshed.returncode == 0 and refreshed.stdout.startswith("Saved 4 accounts"), refreshed.stderr
    accounts = flinks_desktop("accounts", login_id[:8], "--format", "json")
    assert accounts.returncode == 0 and accounts.stdout.count('"id"') == 4
    deleted = flinks_desktop("delete-card", login_id[:8], "--yes", secrets=with_variables)
    assert deleted.returncode == 0, deleted.stderr
    assert "deleted at Flinks" in deleted.stdout
    assert "No connections yet" in flinks_desktop("list").stdout

    sent = [request for request in sandbox.requests if request.path.endswith(("Authorize", "GetAccountsDetail"))]
    assert any(request.headers.get("x-api-key") == API_KEY for request in sent)
    assert [path for path in data.rglob("*") if path.is_file()]  # settings, the cache, its audit...
    assert files_holding(data, AUTH_SECRET, API_KEY) == []
    assert not any(secret in " ".join(argv) for argv in argvs for secret in (AUTH_SECRET, API_KEY))
    if not with_variables:
        assert set(keyring_entries(keyring_file).values()) == {AUTH_SECRET, API_KEY}


# -- the desktop app's settings dialog reads what the CLI wrote ------------------------------------------


def test_the_settings_dialog_edits_an_environment_the_cli_added(run, home, qtbot, parent, memory_keyring):
    from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton

    assert run("env", "add", "Local 9000", "--api-url", LOCAL).code == 0
    settings = Settings.load(home)
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), home)
    select(qtbot, dialog, "Local 9000")
    assert child(dialog, QLabel, "environmentTitle").text() == "Local 9000"
    assert child(dialog, QLineEdit, "customerId").text() == TOOLBOX_CUSTOMER_ID
    assert child(dialog, QLineEdit, "apiKeyInput").isVisible()  # it takes secrets
    name = child(dialog, QLineEdit, "instanceName")
    name.clear()
    qtbot.keyClicks(name, "Sandbox on 9000")
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))
    renamed = Settings.load(home).environment("Sandbox on 9000")
    assert renamed.api_url == LOCAL and renamed.slug == settings.environment("Sandbox on 9000").slug
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    assert result_of(qtbot, future) is True
