"""The environment's "Wait for Flinks" setting (issue 9, deadlines): how long a sync waits for data
Flinks answers 202 for, and the longest any one call may take. Kept per environment in the settings
file, edited in the Settings dialog, applied from the next sync on without a restart; the command
line's --timeout goes over it for one command.

Real parts only: settings files in tmp_path, the real dialog and the real window driven by pytest-qt,
and the loopback fault server (`fault_server`) answering 202 for ever.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_server import LOGIN_ID, PENDING, FaultServer
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton
from test_dialogs import child, click, open_settings, parent, select, shown  # noqa: F401  (parent)

from flinks_desktop import cli
from flinks_desktop.core import paths
from flinks_desktop.core.environments import DEFAULT_WAIT_LIMIT, TOOLBOX_CUSTOMER_ID, SettingsError
from flinks_desktop.core.flinks.client import DEFAULT_DEADLINE, DEFAULT_POLL_TIMEOUT
from flinks_desktop.core.secret_store import SecretStore
from flinks_desktop.core.settings import Settings, SettingsFileError
from flinks_desktop.core.workspace import open_workspace

CUSTOMER_ID = "5e115eac-1209-4f19-641c-08d6d484e2fe"
LOCAL = f"http://127.0.0.1:9000/v3/{TOOLBOX_CUSTOMER_ID}"
OUT_OF_RANGE = "The wait for Flinks must be a whole number of seconds, from 1 second to 24 hours."
#: What a sync may take on top of its wait (the good calls before the one that waits, a loaded machine).
SLACK = 4.0


@pytest.fixture(scope="module")
def flinks():
    with FaultServer(transactions=40) as server:
        yield server


@pytest.fixture
def data_dir(tmp_path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def entries(settings: Settings) -> list[dict]:
    return json.loads(settings.path.read_text(encoding="utf-8"))["private_instances"]


# -- the setting, in the settings file ----------------------------------------------------------------


def test_an_environment_waits_half_an_hour_unless_told_otherwise(data_dir) -> None:
    assert DEFAULT_WAIT_LIMIT == DEFAULT_POLL_TIMEOUT == 30 * 60  # as long as the client waits by itself
    settings = Settings(data_dir)
    settings.add_private("Acme", "acme", CUSTOMER_ID)
    assert [environment.wait_limit for environment in settings.environments()] == [1800, 1800, 1800]
    settings.save()
    assert "wait_limit_seconds" not in entries(settings)[0]  # left alone, it follows the default


def test_a_changed_wait_is_saved_and_read_back(data_dir) -> None:
    settings = Settings(data_dir)
    settings.add_private("Acme", "acme", CUSTOMER_ID, wait_limit=600)
    settings.add_from_url("Local", LOCAL)
    assert settings.update_private("local", wait_limit=45).wait_limit == 45
    settings.save()
    assert {entry["name"]: entry["wait_limit_seconds"] for entry in entries(settings)} == {"Acme": 600, "Local": 45}
    again = Settings.load(data_dir)
    assert again.environments() == settings.environments()
    assert (again.environment("Acme").wait_limit, again.environment("Local").wait_limit) == (600, 45)


def test_a_file_written_before_the_setting_existed_still_loads_and_stays_as_it_was(data_dir) -> None:
    settings = Settings(data_dir)
    older = {
        "version": 1,
        "active": "acme-000000",
        "private_instances": [
            {
                "name": "Acme",
                "slug": "acme-000000",
                "instance": "acme",
                "customer_id": CUSTOMER_ID,
                "connect_parameters": {},
                "statements_enabled": True,
                "days_of_transactions": "Days90",
            }
        ],
    }
    settings.path.write_text(json.dumps(older), encoding="utf-8")
    loaded = Settings.load(data_dir)
    assert loaded.active.wait_limit == DEFAULT_WAIT_LIMIT
    loaded.save()
    assert json.loads(settings.path.read_text(encoding="utf-8")) == older


@pytest.mark.parametrize("bad", [0, -5, 86_401, 90.5, "30", True, None])
def test_an_unusable_wait_in_the_file_is_refused_and_the_file_kept(data_dir, bad) -> None:
    settings = Settings(data_dir)
    text = json.dumps(
        {
            "version": 1,
            "active": "acme-000000",
            "private_instances": [
                {
                    "name": "Acme",
                    "slug": "acme-000000",
                    "instance": "acme",
                    "customer_id": CUSTOMER_ID,
                    "wait_limit_seconds": bad,
                }
            ],
        }
    )
    settings.path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsFileError) as caught:
        Settings.load(data_dir)
    assert OUT_OF_RANGE in str(caught.value)
    assert settings.path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("bad", [0, 86_401])
def test_a_wait_out_of_range_changes_nothing(data_dir, bad) -> None:
    settings = Settings(data_dir)
    settings.add_private("Acme", "acme", CUSTOMER_ID)
    with pytest.raises(SettingsError, match=OUT_OF_RANGE):
        settings.update_private("Acme", wait_limit=bad)
    assert settings.environment("Acme").wait_limit == DEFAULT_WAIT_LIMIT


def test_the_wait_bounds_the_202_wait_and_each_call(data_dir, memory_keyring) -> None:
    """A wait of 2 s: no call takes longer either. Half an hour: a call still ends at the client's
    own deadline (a long wait for data is not a long wait for one answer)."""
    import asyncio

    settings = Settings(data_dir)
    settings.add_from_url("Local", LOCAL)
    for wait, deadline in ((2, 2), (1800, DEFAULT_DEADLINE)):
        environment = settings.update_private("Local", wait_limit=wait)
        workspace = open_workspace(settings, SecretStore(), environment)
        try:
            assert (workspace.client.poll_timeout, workspace.client._deadline) == (wait, deadline)  # noqa: SLF001
        finally:
            asyncio.run(workspace.aclose())


# -- the setting, in the Settings dialog --------------------------------------------------------------


def wait_fields(dialog) -> tuple[QLineEdit, QComboBox]:
    return child(dialog, QLineEdit, "waitLimit"), child(dialog, QComboBox, "waitLimitUnit")


def type_wait(qtbot, dialog, text: str, unit: str) -> None:
    field, units = wait_fields(dialog)
    field.clear()
    qtbot.keyClicks(field, text)
    units.setCurrentIndex(units.findText(unit))


def test_the_wait_is_set_in_the_dialog_saved_and_shown_again(qtbot, parent, memory_keyring, data_dir) -> None:
    settings = Settings(data_dir)
    settings.add_private("Acme Corp", "acme", CUSTOMER_ID)
    settings.save()
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), data_dir)
    select(qtbot, dialog, "Acme Corp")
    field, units = wait_fields(dialog)
    assert (field.text(), units.currentText()) == ("30", "minutes")
    assert not field.isReadOnly() and units.isEnabled()

    type_wait(qtbot, dialog, "90", "seconds")
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))
    assert child(dialog, QLabel, "settingsSaved").text() == "Saved."
    assert Settings.load(data_dir).environment("Acme Corp").wait_limit == 90  # in the file
    assert settings.environment("Acme Corp").wait_limit == 90  # and in the settings the app uses
    assert (field.text(), units.currentText()) == ("90", "seconds")

    type_wait(qtbot, dialog, "45", "minutes")
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))
    assert Settings.load(data_dir).environment("Acme Corp").wait_limit == 45 * 60
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    qtbot.waitUntil(future.done)
    assert future.result() is True

    future, dialog = open_settings(qtbot, parent, Settings.load(data_dir), SecretStore(), data_dir)
    select(qtbot, dialog, "Acme Corp")
    field, units = wait_fields(dialog)
    assert (field.text(), units.currentText()) == ("45", "minutes")  # whole minutes read as minutes
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    qtbot.waitUntil(future.done)


def test_a_new_private_instance_is_added_with_its_wait(qtbot, parent, memory_keyring, data_dir) -> None:
    settings = Settings(data_dir)
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), data_dir)
    click(qtbot, child(dialog, QPushButton, "addEnvironmentButton"))
    qtbot.keyClicks(child(dialog, QLineEdit, "instanceName"), "Beta")
    qtbot.keyClicks(child(dialog, QLineEdit, "instanceId"), "beta")
    qtbot.keyClicks(child(dialog, QLineEdit, "customerId"), CUSTOMER_ID)
    assert wait_fields(dialog)[0].text() == "30"
    type_wait(qtbot, dialog, "10", "minutes")
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))
    assert Settings.load(data_dir).environment("Beta").wait_limit == 600
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    qtbot.waitUntil(future.done)


@pytest.mark.parametrize(
    ("typed", "unit", "sentence"),
    [
        ("", "minutes", "Give how long to wait for Flinks, such as 30 minutes."),
        ("soon", "minutes", "“soon” is not a whole number of minutes: give one such as 30, or choose seconds."),
        ("1.5", "minutes", "“1.5” is not a whole number of minutes: give one such as 30, or choose seconds."),
        ("-5", "seconds", "“-5” is not a whole number of seconds: give one such as 90."),
        ("0", "seconds", "The wait for Flinks must be from 1 second to 24 hours (1,440 minutes); 0 seconds is not."),
        (
            "1441",
            "minutes",
            "The wait for Flinks must be from 1 second to 24 hours (1,440 minutes); 1441 minutes is not.",
        ),
    ],
)
def test_a_wait_that_cannot_be_used_is_refused_with_a_sentence(
    qtbot, parent, memory_keyring, data_dir, typed, unit, sentence
) -> None:
    settings = Settings(data_dir)
    settings.add_private("Acme Corp", "acme", CUSTOMER_ID)
    settings.save()
    written = settings.path.read_bytes()
    future, dialog = open_settings(qtbot, parent, settings, SecretStore(), data_dir)
    select(qtbot, dialog, "Acme Corp")
    type_wait(qtbot, dialog, typed, unit)
    save = child(dialog, QPushButton, "saveSettingsButton")
    click(qtbot, save)

    error = child(dialog, QLabel, "settingsError")
    assert error.isVisible() and error.text() == sentence
    assert error.textFormat().name == "PlainText"  # it quotes what was typed
    assert settings.path.read_bytes() == written and settings.environment("Acme Corp").wait_limit == 1800
    assert save.isEnabled()  # the edit is still there, to be corrected

    click(qtbot, child(dialog, QPushButton, "discardChangesButton"))
    assert not error.isVisible()
    field, units = wait_fields(dialog)
    assert (field.text(), units.currentText()) == ("30", "minutes")
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    qtbot.waitUntil(future.done)
    assert future.result() is False


def test_the_built_ins_show_their_wait_and_keep_it(qtbot, parent, memory_keyring, data_dir) -> None:
    future, dialog = open_settings(qtbot, parent, Settings(data_dir), SecretStore(), data_dir)
    for name in ("Offline sandbox", "Flinks toolbox"):
        select(qtbot, dialog, name)
        field, units = wait_fields(dialog)
        assert (field.text(), units.currentText()) == ("30", "minutes")
        assert field.isReadOnly() and not units.isEnabled()
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    qtbot.waitUntil(future.done)


# -- applied without a restart ------------------------------------------------------------------------


def test_a_new_wait_applies_to_the_next_sync_without_a_restart(qtbot, make_window, flinks) -> None:
    def faults_environment(settings: Settings) -> None:
        settings.add_from_url("Faults", flinks.api_url)
        settings.set_active("Faults")
        settings.save()

    flinks.clear()
    window = make_window(faults_environment)
    window.on_login_captured(LOGIN_ID, "FlinksCapital")
    qtbot.waitUntil(
        lambda: window._sync_task is None and window.connections.current_login_id() == LOGIN_ID, timeout=20_000
    )
    client = window.workspace.client
    assert client.poll_timeout == DEFAULT_WAIT_LIMIT

    window.open_settings()
    dialog = shown(qtbot, window, "settingsDialog")
    assert dialog.environment_list.currentItem().text().startswith("Faults\n")  # the one in use
    type_wait(qtbot, dialog, "2", "seconds")
    click(qtbot, child(dialog, QPushButton, "saveSettingsButton"))
    click(qtbot, child(dialog, QPushButton, "closeSettingsButton"))
    qtbot.waitUntil(lambda: window.workspace.client.poll_timeout == 2)
    assert window.workspace.client is client  # nothing was closed or opened again

    flinks.fault("GetAccountsDetail", PENDING)
    flinks.fault("GetAccountsDetailAsync", PENDING)
    try:
        started = time.monotonic()
        window.refresh_selected(live=False)
        qtbot.waitUntil(lambda: window._sync_task is None, timeout=20_000)
        took = time.monotonic() - started
    finally:
        flinks.clear()
    shown_now = window.statusBar().currentMessage()
    assert shown_now.startswith("Flinks is taking too long to prepare the data: it was still preparing it after ")
    assert shown_now.endswith("and this app waits 2 s at most. Try again later."), shown_now
    assert 2 <= took < 2 + SLACK, f"{took:.1f} s"
    [login] = window.connections.model.logins
    assert login.status == "error" and login.error_message == shown_now


# -- the command line ---------------------------------------------------------------------------------


def test_the_command_line_waits_as_the_environment_says_unless_given_a_timeout(tmp_path, flinks) -> None:
    """Real processes, so that a wait the setting does not bound ends the test (time-out) rather
    than holding it for half an hour."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    settings = Settings(home)
    settings.add_from_url("Faults", flinks.api_url)
    settings.update_private("Faults", wait_limit=1)
    settings.set_active("Faults")
    settings.save()
    environ = {
        **os.environ,
        paths.HOME_VARIABLE: str(home),
        cli.POLL_INTERVAL_VARIABLE: "0.05",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    flinks.clear()
    flinks.fault("GetAccountsDetail", PENDING)
    flinks.fault("GetAccountsDetailAsync", PENDING)
    try:
        for options, said in (([], "this app waits 1 s at most"), (["--timeout", "2"], "this app waits 2 s at most")):
            result = subprocess.run(
                [sys.executable, "-m", "flinks_desktop", "sync", LOGIN_ID, *options],
                capture_output=True,
                text=True,
                env=environ,
                timeout=2 + SLACK + 10,
            )
            last = result.stderr.strip().splitlines()[-1]
            assert result.returncode == 1 and last.startswith("flinks-desktop: Flinks is taking too long"), (
                result.stderr
            )
            assert said in last, result.stderr
    finally:
        flinks.clear()
