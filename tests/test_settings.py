"""Environments, the data directory, the settings file and the secrets, all inside tmp_path.

The keyring is never the real one: each test installs a backend (an in-memory one written here,
or keyring's own "fail", "null" and "chainer" backends) and the previous one is put back after.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringLocked

from flinks_desktop.core import paths
from flinks_desktop.core.environments import (
    TOOLBOX_CUSTOMER_ID,
    Environment,
    SettingsError,
    custom_api,
    flinks_toolbox,
    offline_sandbox,
    url_environment,
)
from flinks_desktop.core.flinks import Authorized, Unauthorized
from flinks_desktop.core.paths import DataDirError, data_dir, standard_data_dir
from flinks_desktop.core.secret_store import (
    API_KEY_VARIABLE,
    AUTH_SECRET_VARIABLE,
    KEYRING_SERVICE,
    NO_KEYRING_MESSAGE,
    SecretStore,
    SecretStoreError,
    secrets_for,
)
from flinks_desktop.core.settings import Settings, SettingsFileError
from flinks_desktop.core.workspace import client_for
from flinks_desktop.testing import MemoryKeyring

CUSTOMER_ID = "5e115eac-1209-4f19-641c-08d6d484e2fe"  # GUID-shaped, not an RFC 4122 UUID
SECRET = "sk-live-7f3a9c21d4"
API_KEY = "ak-live-0b8e5d6f12"

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_containing(root: Path, text: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and text.encode() in path.read_bytes()]


# -- keyring backends ---------------------------------------------------------------------------


class LockedKeyring(MemoryKeyring):
    """Reads work, saving fails: a keyring whose unlock prompt was dismissed."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class BrokenKeyring(MemoryKeyring):
    """A backend that lets its own exception through (as jeepney's D-Bus errors do)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")


class EmptyChainer(chainer.ChainerBackend):
    """keyring's chainer when there is no backend to chain, whatever this machine has."""

    backends = ()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(paths.HOME_VARIABLE, str(tmp_path / "home"))
    return data_dir()


@pytest.fixture(autouse=True)
def no_secret_variables(monkeypatch) -> None:
    """The secrets of the process environment are each test's own choice."""
    monkeypatch.delenv(AUTH_SECRET_VARIABLE, raising=False)
    monkeypatch.delenv(API_KEY_VARIABLE, raising=False)


# -- the data directory -------------------------------------------------------------------------


@posix_only
def test_the_data_dir_option_wins_over_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.HOME_VARIABLE, str(tmp_path / "from-variable"))
    assert data_dir(str(tmp_path / "from-option")) == tmp_path / "from-option"
    assert mode(tmp_path / "from-option") == 0o700
    assert not (tmp_path / "from-variable").exists()


@posix_only
def test_the_environment_variable_is_used_without_the_option(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.HOME_VARIABLE, str(tmp_path / "nested" / "home"))
    assert data_dir() == tmp_path / "nested" / "home"
    assert mode(tmp_path / "nested" / "home") == 0o700


@posix_only
def test_an_existing_folder_keeps_its_mode(tmp_path):
    chosen = tmp_path / "mine"
    chosen.mkdir(mode=0o750)
    chosen.chmod(0o750)
    assert data_dir(chosen) == chosen and mode(chosen) == 0o750


def test_under_pytest_the_real_home_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.HOME_VARIABLE, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with pytest.raises(DataDirError, match=r"Under pytest the data directory must be given .*FLINKS_DESKTOP_HOME"):
        data_dir()
    assert list(tmp_path.iterdir()) == []


def test_outside_pytest_the_standard_location_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.HOME_VARIABLE, raising=False)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    # Every variable a platform's standard location reads points into tmp_path.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    chosen = data_dir()
    assert chosen == standard_data_dir() and chosen.is_dir()
    assert chosen.is_relative_to(tmp_path)


def test_a_file_in_the_way_is_a_sentence(tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(DataDirError, match="is a file, not a folder"):
        data_dir(tmp_path / "taken")


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {"XDG_DATA_HOME": "/xdg"}, Path("/xdg/flinks-desktop")),
        ("linux", {"XDG_DATA_HOME": "relative/is/ignored"}, Path("/h/.local/share/flinks-desktop")),
        ("linux", {}, Path("/h/.local/share/flinks-desktop")),
        ("darwin", {"XDG_DATA_HOME": "/xdg"}, Path("/h/Library/Application Support/Flinks Desktop")),
        ("win32", {"LOCALAPPDATA": "/appdata/local"}, Path("/appdata/local/Flinks Desktop")),
        ("win32", {}, Path("/h/AppData/Local/Flinks Desktop")),
    ],
)
def test_the_standard_location_of_each_platform(platform, environ, expected):
    assert standard_data_dir(platform=platform, environ=environ, home=Path("/h")) == expected


# -- the settings file --------------------------------------------------------------------------


def test_a_fresh_install_uses_the_offline_sandbox_and_writes_nothing(home):
    settings = Settings.load(home)
    assert [(e.name, e.kind) for e in settings.environments()] == [
        ("Offline sandbox", "sandbox"),
        ("Flinks toolbox", "toolbox"),
    ]
    assert settings.active.name == "Offline sandbox"
    assert not settings.path.exists()


@posix_only
def test_settings_survive_a_restart(home):
    settings = Settings.load(home)
    zeta = settings.add_private(
        "Zeta production",
        " Zeta-Prod ",
        CUSTOMER_ID.upper(),
        connect_parameters={"customerName": "Zeta Inc.", "language": "fr"},
        statements_enabled=False,
        days_of_transactions="Days365",
    )
    settings.add_private("acme staging", "acme", CUSTOMER_ID)
    settings.set_active("zeta PRODUCTION")
    settings.save()

    again = Settings.load(home)
    assert again.environments() == settings.environments()
    assert [e.name for e in again.environments()] == [
        "Offline sandbox",
        "Flinks toolbox",
        "acme staging",
        "Zeta production",
    ]
    assert again.active == zeta
    assert zeta.instance == "zeta-prod"
    assert zeta.api_url == f"https://zeta-prod-api.private.fin.ag/v3/{CUSTOMER_ID.upper()}"
    assert zeta.connect_base_url == "https://zeta-prod-iframe.private.fin.ag/v2/"
    assert mode(settings.path) == 0o600
    assert sorted(p.name for p in home.iterdir()) == ["settings.json"]  # no temporary file left


def test_a_failed_save_leaves_the_previous_file_whole(home, monkeypatch):
    settings = Settings.load(home)
    settings.add_private("Acme", "acme", CUSTOMER_ID)
    settings.save()
    before = settings.path.read_bytes()

    def crash(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    settings.add_private("Beta", "beta", CUSTOMER_ID)
    with pytest.raises(SettingsError, match=r"cannot save its settings in .*No space left on device"):
        settings.save()
    assert settings.path.read_bytes() == before
    assert sorted(p.name for p in home.iterdir()) == ["settings.json"]


def test_a_corrupt_file_is_never_overwritten_and_start_over_keeps_it(home):
    path = paths.settings_file(home)
    path.write_text('{"version": 1, "private_instances": [', encoding="utf-8")
    original = path.read_bytes()

    with pytest.raises(SettingsFileError) as caught:
        Settings.load(home)
    assert str(caught.value) == (
        f"The settings file {path} cannot be used. It is not valid JSON (line 1: Expecting value). "
        "It was left as it is, so that no environment is lost."
    )
    assert caught.value.path == path and path.read_bytes() == original

    settings, kept_as = Settings.start_over(home)
    assert kept_as == home / "settings.json.bak" and kept_as.read_bytes() == original
    assert [e.name for e in settings.environments()] == ["Offline sandbox", "Flinks toolbox"]
    settings.save()
    assert Settings.load(home).active.kind == "sandbox"

    path.write_text("[]", encoding="utf-8")
    _, kept_again = Settings.start_over(home)
    assert kept_again == home / "settings.json.2.bak" and kept_as.read_bytes() == original


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"customer_id": "123"}, 'The customer id "123" is not valid'),
        ({"slug": "../../outside"}, "has no valid folder name"),
        ({"instance": "evil.example.com/"}, 'The instance name "evil.example.com/" is not valid'),
        ({"connect_parameters": {"redirectUrl": "https://evil.example"}}, '"redirectUrl" is set by Flinks Desktop'),
        ({"statements_enabled": "yes"}, "must be true or false"),
    ],
)
def test_a_hand_edited_file_that_breaks_a_rule_is_refused(home, entry, reason):
    good = {"name": "Acme", "slug": "acme-000000", "instance": "acme", "customer_id": CUSTOMER_ID}
    document = {"version": 1, "active": "acme-000000", "private_instances": [good | entry]}
    paths.settings_file(home).write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SettingsFileError, match=reason):
        Settings.load(home)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"version": 3}, "written by a newer version of Flinks Desktop"),
        ({"version": True, "private_instances": []}, "format version is missing or unknown"),
        (
            {
                "version": 1,
                "private_instances": [
                    {"name": "Local", "slug": "local-1", "api_url": f"http://127.0.0.1:9000/v3/{CUSTOMER_ID}"}
                ],
            },
            'has no "instance"',
        ),  # version 1 has no environment known by its URL
        (
            {
                "version": 2,
                "private_instances": [
                    {
                        "name": "Local",
                        "slug": "local-1",
                        "api_url": f"http://127.0.0.1:9000/v3/{CUSTOMER_ID}",
                        "instance": "acme",
                    }
                ],
            },
            'both an "instance" and an "api_url"',
        ),
        (
            {
                "version": 2,
                "private_instances": [{"name": "Local", "slug": "local-1", "api_url": "http://127.0.0.1:9000/v2/"}],
            },
            "is not a Flinks API address",
        ),
        (
            {
                "version": 2,
                "private_instances": [
                    {"name": "Local", "slug": "local-1", "api_url": f"HTTP://127.0.0.1:9000/v3/{CUSTOMER_ID}/"}
                ],
            },
            "not written as Flinks Desktop writes them",
        ),
        ({"private_instances": []}, "format version is missing"),
        ({"version": 1, "private_instances": [{"name": "Acme"}]}, 'has no "slug"'),
        (
            {
                "version": 1,
                "private_instances": [
                    {"name": "Acme", "slug": "a", "instance": "acme", "customer_id": CUSTOMER_ID},
                    {"name": "ACME", "slug": "b", "instance": "acme", "customer_id": CUSTOMER_ID},
                ],
            },
            'There is already an environment named "ACME"',
        ),
    ],
)
def test_a_file_that_cannot_be_used_says_why(home, document, reason):
    paths.settings_file(home).write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SettingsFileError, match=reason):
        Settings.load(home)


def test_an_unknown_active_environment_falls_back_to_the_offline_sandbox(home):
    document = {"version": 1, "active": "gone", "private_instances": []}
    paths.settings_file(home).write_text(json.dumps(document), encoding="utf-8")
    assert Settings.load(home).active.kind == "sandbox"


def test_the_built_ins_cannot_be_removed_or_changed(home):
    settings = Settings.load(home)
    with pytest.raises(SettingsError, match='^"Offline sandbox" is built in and cannot be removed.$'):
        settings.remove_private("Offline sandbox")
    with pytest.raises(SettingsError, match='^"Flinks toolbox" is built in and cannot be changed.$'):
        settings.update_private("flinks toolbox", new_name="My toolbox")
    with pytest.raises(SettingsError, match='^There is no environment named "Nowhere".$'):
        settings.remove_private("Nowhere")


def test_the_environment_in_use_cannot_be_removed(home):
    settings = Settings.load(home)
    settings.add_private("Acme", "acme", CUSTOMER_ID)
    settings.set_active("Acme")
    with pytest.raises(SettingsError, match="is the environment in use: switch to another one"):
        settings.remove_private("Acme")
    settings.set_active("Flinks toolbox")
    assert settings.remove_private("Acme").name == "Acme"
    assert [e.name for e in settings.environments()] == ["Offline sandbox", "Flinks toolbox"]


@pytest.mark.parametrize(
    ("name", "instance", "customer_id", "options", "message"),
    [
        ("  ", "acme", CUSTOMER_ID, {}, "Give the environment a name."),
        ("x" * 61, "acme", CUSTOMER_ID, {}, "An environment name is at most 60 characters long."),
        ("flinks TOOLBOX", "acme", CUSTOMER_ID, {}, 'There is already an environment named "flinks TOOLBOX".'),
        (
            "Acme",
            "Acme Corp",
            CUSTOMER_ID,
            {},
            'The instance name "acme corp" is not valid: use lowercase letters, digits and hyphens, '
            'as in "acme" for acme-api.private.fin.ag.',
        ),
        (
            "Acme",
            "acme",
            "123",
            {},
            f'The customer id "123" is not valid: it is a GUID given by Flinks, such as {TOOLBOX_CUSTOMER_ID}.',
        ),
        (
            "Acme",
            "acme",
            CUSTOMER_ID,
            {"connect_parameters": {"innerRedirect": "false"}},
            'The Connect parameter "innerRedirect" is set by Flinks Desktop and cannot be changed.',
        ),
        (
            "Acme",
            "acme",
            CUSTOMER_ID,
            {"connect_parameters": {"authorizeToken": "t"}},
            'The Connect parameter "authorizeToken" is set by Flinks Desktop and cannot be changed.',
        ),
        (
            "Acme",
            "acme",
            CUSTOMER_ID,
            {"connect_parameters": {"color&x": "1"}},
            'The Connect parameter name "color&x" is not valid: use letters and digits, as in "customerName".',
        ),
        (
            "Acme",
            "acme",
            CUSTOMER_ID,
            {"connect_parameters": {"demo": True}},
            'The value of the Connect parameter "demo" must be text.',
        ),
        (
            "Acme",
            "acme",
            CUSTOMER_ID,
            {"days_of_transactions": "Days30"},
            'Days of transactions must be "Days90" or "Days365".',
        ),
    ],
)
def test_invalid_environments_are_refused_with_a_sentence(home, name, instance, customer_id, options, message):
    settings = Settings.load(home)
    with pytest.raises(SettingsError) as caught:
        settings.add_private(name, instance, customer_id, **options)
    assert str(caught.value) == message
    assert [e.name for e in settings.environments()] == ["Offline sandbox", "Flinks toolbox"]


def test_a_rename_keeps_the_cache_and_names_stay_unique(home):
    settings = Settings.load(home)
    acme = settings.add_private("Acme", "acme", CUSTOMER_ID)
    settings.add_private("Beta", "beta", CUSTOMER_ID)
    with pytest.raises(SettingsError, match='There is already an environment named "beta"'):
        settings.update_private("Acme", new_name="beta")

    renamed = settings.update_private("acme", new_name="ACME Production", connect_parameters={"language": "fr"})
    assert renamed.slug == acme.slug and settings.cache_path(renamed) == settings.cache_path(acme)
    assert renamed.instance == "acme" and dict(renamed.connect_parameters) == {"language": "fr"}
    assert settings.update_private("acme production", new_name="Acme Production").name == "Acme Production"


def test_a_new_environment_never_inherits_a_removed_ones_cache(home):
    settings = Settings.load(home)
    first = settings.add_private("Acme", "acme", CUSTOMER_ID)
    settings.remove_private("Acme")
    second = settings.add_private("Acme", "acme", CUSTOMER_ID)
    assert first.slug != second.slug and settings.cache_path(first) != settings.cache_path(second)
    assert second.slug.startswith("acme-")


@posix_only
def test_each_environment_has_its_own_cache(home):
    settings = Settings.load(home)
    private = settings.add_private("Banque Équité (prod)", "equite", CUSTOMER_ID)
    caches = [settings.cache_path(e) for e in settings.environments()]
    assert len(set(caches)) == 3
    assert caches[:2] == [
        home / "environments" / "offline-sandbox" / "cache.db",
        home / "environments" / "toolbox" / "cache.db",
    ]
    assert caches[2].parent.name == private.slug and private.slug.startswith("banque-equite-prod-")
    assert all(cache.parent.is_dir() and mode(cache.parent) == 0o700 for cache in caches)
    assert all(mode(cache.parent.parent) == 0o700 for cache in caches)  # "environments" too
    assert settings.sandbox_state_file() == home / "environments" / "offline-sandbox" / "sandbox-state.json"


def test_connect_urls_carry_the_environments_parameters_and_the_apps_own(home):
    settings = Settings.load(home)
    acme = settings.add_private("Acme", "acme", CUSTOMER_ID, connect_parameters={"customerName": "Acme & Co"})
    url = acme.connect_url(authorize_token="tok")
    assert url.startswith("https://acme-iframe.private.fin.ag/v2/?")
    assert "customerName=Acme+%26+Co" in url and "authorizeToken=tok" in url and "innerRedirect=true" in url
    assert "demo=" not in url
    assert "demo=true" in flinks_toolbox().connect_url()


def test_the_offline_sandbox_has_urls_once_it_runs():
    sandbox = offline_sandbox()
    with pytest.raises(RuntimeError, match="running_at"):
        sandbox.api_url
    running = sandbox.running_at("http://127.0.0.1:8765/")
    assert running.api_url == f"http://127.0.0.1:8765/v3/{TOOLBOX_CUSTOMER_ID}"
    assert running.connect_base_url == "http://127.0.0.1:8765/v2/"
    assert offline_sandbox("http://127.0.0.1:8765") == running
    with pytest.raises(ValueError, match="only the offline sandbox"):
        flinks_toolbox().running_at("http://127.0.0.1:1")


# -- environments known by their URL -------------------------------------------------------------


LOCAL_API = f"http://127.0.0.1:9000/v3/{CUSTOMER_ID}"


@posix_only
def test_any_server_that_speaks_the_flinks_api_is_kept_by_its_urls(home):
    settings = Settings.load(home)
    local = settings.add_from_url("Local sandbox", f" {LOCAL_API}/ ")
    proxy = settings.add_from_url(
        "Behind the proxy", f"https://proxy.example/flinks/v3/{CUSTOMER_ID}", "https://proxy.example/connect/v2"
    )
    ipv6 = settings.add_from_url("IPv6", f"http://[::1]:9000/v3/{CUSTOMER_ID}")
    assert (local.kind, local.instance, local.customer_id) == ("private", None, CUSTOMER_ID)
    assert local.api_url == LOCAL_API and local.connect_base_url == "http://127.0.0.1:9000/v2/"
    assert proxy.api_url == f"https://proxy.example/flinks/v3/{CUSTOMER_ID}"
    assert proxy.connect_base_url == "https://proxy.example/connect/v2"
    assert proxy.connect_url().startswith("https://proxy.example/connect/v2?")
    assert ipv6.api_url == f"http://[::1]:9000/v3/{CUSTOMER_ID}"
    assert ipv6.connect_base_url == "http://[::1]:9000/v2/"
    assert local.slug.startswith("local-sandbox-") and local.slug != custom_api(LOCAL_API).slug
    settings.set_active("Local sandbox")
    settings.save()

    document = json.loads(settings.path.read_text(encoding="utf-8"))
    assert document["version"] == 2
    entry = next(e for e in document["private_instances"] if e["name"] == "Local sandbox")
    assert entry["api_url"] == LOCAL_API and "instance" not in entry and "connect_url" not in entry
    again = Settings.load(home)
    assert again.environments() == settings.environments() and again.active == local
    assert mode(settings.path) == 0o600

    renamed = again.update_private("local sandbox", new_name="Sandbox on 9000", days_of_transactions="Days365")
    assert (renamed.slug, renamed.api_url) == (local.slug, LOCAL_API)
    again.set_active("Offline sandbox")
    removed = again.remove_private("Sandbox on 9000")
    readded = again.add_from_url("Sandbox on 9000", LOCAL_API)
    assert readded.slug != removed.slug  # never reused: it cannot inherit the removed one's cache


def test_a_flinks_instance_url_is_a_private_instance(home):
    settings = Settings.load(home)
    acme = settings.add_from_url("Acme", f"https://acme-api.private.fin.ag/v3/{CUSTOMER_ID}")
    assert (acme.instance, acme.custom_api_url, acme.customer_id) == ("acme", None, CUSTOMER_ID)
    same = settings.add_from_url(
        "Acme again", f"https://acme-api.private.fin.ag/v3/{CUSTOMER_ID}", "https://acme-iframe.private.fin.ag/v2/"
    )
    assert same.instance == "acme"
    elsewhere = settings.add_from_url(
        "Acme, other Connect", f"https://acme-api.private.fin.ag/v3/{CUSTOMER_ID}", "https://connect.acme.example/"
    )
    assert elsewhere.instance is None and elsewhere.connect_base_url == "https://connect.acme.example/"
    settings.save()
    assert Settings.load(home).environments() == settings.environments()


def test_a_file_of_private_instances_only_is_still_written_as_version_1(home):
    """An older Flinks Desktop reads it; one with an environment known by its URL it refuses."""
    settings = Settings.load(home)
    settings.add_private("Acme", "acme", CUSTOMER_ID)
    settings.save()
    assert json.loads(settings.path.read_text())["version"] == 1
    version_1 = {
        "version": 1,
        "active": "acme-000000",
        "private_instances": [{"name": "Acme", "slug": "acme-000000", "instance": "acme", "customer_id": CUSTOMER_ID}],
    }
    settings.path.write_text(json.dumps(version_1), encoding="utf-8")
    loaded = Settings.load(home)
    assert loaded.active.slug == "acme-000000" and loaded.active.instance == "acme"


@pytest.mark.parametrize(
    ("api_url", "connect_url", "message"),
    [
        ("http://127.0.0.1:9000/", None, "is not a Flinks API address"),
        (f"ftp://127.0.0.1/v3/{CUSTOMER_ID}", None, "is not a Flinks API address"),
        ("http://127.0.0.1:9000/v3/123", None, 'The customer id "123" is not valid'),
        (f"http://user:pw@127.0.0.1:9000/v3/{CUSTOMER_ID}", None, "no user, password, query or fragment"),
        (f"http://127.0.0.1:9000/v3/{CUSTOMER_ID}?key=1", None, "no user, password, query or fragment"),
        (LOCAL_API, "connect.example/v2/", "is not a Connect address"),
        (LOCAL_API, "https://connect.example/v2/?demo=true", "Connect's parameters are set apart"),
    ],
)
def test_bad_urls_are_refused_with_a_sentence(home, api_url, connect_url, message):
    settings = Settings.load(home)
    with pytest.raises(SettingsError, match=message):
        settings.add_from_url("Local", api_url, connect_url)
    assert [e.name for e in settings.environments()] == ["Offline sandbox", "Flinks toolbox"]


def test_an_environment_is_known_by_its_instance_or_its_url_not_both():
    with pytest.raises(SettingsError, match="not both"):
        Environment(
            name="Local",
            kind="private",
            slug="local-1",
            customer_id=CUSTOMER_ID,
            instance="acme",
            custom_api_url=LOCAL_API,
        )
    with pytest.raises(SettingsError, match="its customer id"):
        Environment(
            name="Local", kind="private", slug="local-1", customer_id=TOOLBOX_CUSTOMER_ID, custom_api_url=LOCAL_API
        )
    with pytest.raises(SettingsError, match="a Connect URL but no API URL"):
        Environment(
            name="Acme",
            kind="private",
            slug="acme-1",
            customer_id=CUSTOMER_ID,
            instance="acme",
            custom_connect_url="https://connect.example/",
        )
    assert url_environment("Local", LOCAL_API, slug="local-1").slug == "local-1"


# -- secrets ------------------------------------------------------------------------------------


def test_secrets_go_to_the_keyring_and_never_to_the_settings(home, memory_keyring, caplog):
    caplog.set_level(logging.DEBUG)
    settings = Settings.load(home)
    acme = settings.add_private("Acme", "acme", CUSTOMER_ID)
    store = SecretStore()
    assert store.status.available and store.status.backend_name == MemoryKeyring.name
    assert not store.is_set(acme, "auth-secret")

    store.set(acme, "auth-secret", f"  {SECRET}\n")
    store.set(acme, "api-key", API_KEY)
    settings.set_active("Acme")
    settings.save()

    assert store.get(acme, "auth-secret") == SECRET and store.is_set(acme, "api-key")
    assert memory_keyring.entries == {
        (KEYRING_SERVICE, f"{acme.slug}:auth-secret"): SECRET,
        (KEYRING_SERVICE, f"{acme.slug}:api-key"): API_KEY,
    }
    assert store.get(flinks_toolbox(), "api-key") is None  # each environment has its own
    for secret in (SECRET, API_KEY):
        assert files_containing(home, secret) == [] and secret not in caplog.text

    store.delete(acme, "auth-secret")
    store.delete(acme, "auth-secret")  # not set any more: nothing happens
    assert not store.is_set(acme, "auth-secret") and store.is_set(acme, "api-key")
    store.forget(acme)
    assert memory_keyring.entries == {}


def test_an_empty_secret_is_not_saved(memory_keyring):
    with pytest.raises(SecretStoreError, match="^The API key is empty: nothing was saved.$"):
        SecretStore().set(flinks_toolbox(), "api-key", "   ")
    assert memory_keyring.entries == {}


@pytest.mark.parametrize(
    "backend", [fail.Keyring(), null.Keyring(), EmptyChainer()], ids=["fail", "null", "empty chainer"]
)
def test_without_a_keyring_secrets_last_for_the_session_only(home, use_keyring, caplog, backend):
    use_keyring(backend)
    caplog.set_level(logging.DEBUG)
    store = SecretStore()
    assert not store.status.available
    assert store.status.message == NO_KEYRING_MESSAGE
    assert store.status.message.count(". ") == 0 and store.status.message.endswith(".")  # one sentence

    settings = Settings.load(home)
    acme = settings.add_private("Acme", "acme", CUSTOMER_ID)
    store.set(acme, "auth-secret", SECRET)
    settings.save()
    assert store.get(acme, "auth-secret") == SECRET and store.is_set(acme, "auth-secret")
    assert files_containing(home.parent, SECRET) == [] and SECRET not in caplog.text

    assert SecretStore().get(acme, "auth-secret") is None  # the next run starts without it
    store.delete(acme, "auth-secret")
    assert not store.is_set(acme, "auth-secret")


def test_a_locked_keyring_is_a_sentence_not_a_traceback(use_keyring, caplog):
    use_keyring(LockedKeyring())
    caplog.set_level(logging.DEBUG)
    store = SecretStore()
    with pytest.raises(SecretStoreError) as caught:
        store.set(flinks_toolbox(), "auth-secret", SECRET)
    assert str(caught.value) == (
        'The system keyring could not save the authorize secret key of "Flinks toolbox": it is locked. '
        "Unlock it and try again."
    )
    assert SECRET not in caplog.text and SECRET not in str(caught.value)


def test_a_backends_own_error_is_a_sentence_too(use_keyring):
    use_keyring(BrokenKeyring())
    with pytest.raises(
        SecretStoreError,
        match='^The system keyring could not read the API key of "Flinks toolbox": '
        "it may be locked or not running. Unlock it and try again.$",
    ):
        SecretStore().is_set(flinks_toolbox(), "api-key")


def test_client_for_sends_the_environments_secrets(flinks_sandbox_factory, memory_keyring):
    sandbox = flinks_sandbox_factory(auth_key=SECRET, api_key=API_KEY)
    environment = offline_sandbox(sandbox.base_url)
    store = SecretStore()

    async def summary() -> int:
        async with client_for(environment, store, poll_interval=0.01) as flinks:
            session = await flinks.authorize_credentials("FlinksCapital", "greatday_nomfa", "Everyday")
            assert isinstance(session, Authorized)
            return len((await flinks.get_accounts_summary(session.request_id)).accounts)

    with pytest.raises(Unauthorized):  # no secrets set yet: no header is sent
        asyncio.run(summary())

    store.set(environment, "auth-secret", SECRET)
    store.set(environment, "api-key", API_KEY)
    assert asyncio.run(summary()) > 0
    assert sandbox.requests[-1].headers["x-api-key"] == API_KEY


def test_secrets_of_the_process_environment_come_before_the_keyrings(home, memory_keyring, monkeypatch):
    settings = Settings.load(home)
    acme = settings.add_private("Acme", "acme", CUSTOMER_ID)
    store = SecretStore()
    assert secrets_for(acme, store) == (None, None)
    store.set(acme, "auth-secret", SECRET)
    store.set(acme, "api-key", API_KEY)
    assert secrets_for(acme, store) == (SECRET, API_KEY)

    monkeypatch.setenv(API_KEY_VARIABLE, " ak-from-the-environment\n")
    assert secrets_for(acme, store) == (SECRET, "ak-from-the-environment")  # each on its own
    monkeypatch.setenv(AUTH_SECRET_VARIABLE, "sk-from-the-environment")
    assert secrets_for(acme, store) == ("sk-from-the-environment", "ak-from-the-environment")
    monkeypatch.setenv(AUTH_SECRET_VARIABLE, "  ")  # blank: not given
    assert secrets_for(acme, store) == (SECRET, "ak-from-the-environment")
    assert secrets_for(acme, store, environ={}) == (SECRET, API_KEY)

    store.set(acme, "api-key", "ak-changed")  # read again at every call: no restart needed
    assert secrets_for(acme, store, environ={}) == (SECRET, "ak-changed")
    settings.save()
    for value in ("sk-from-the-environment", "ak-from-the-environment"):
        assert files_containing(home, value) == [] and value not in memory_keyring.entries.values()


def test_the_process_environment_spares_an_unreadable_keyring(use_keyring, monkeypatch):
    use_keyring(BrokenKeyring())
    monkeypatch.setenv(AUTH_SECRET_VARIABLE, SECRET)
    monkeypatch.setenv(API_KEY_VARIABLE, API_KEY)
    assert secrets_for(flinks_toolbox(), SecretStore()) == (SECRET, API_KEY)  # never read
    monkeypatch.delenv(API_KEY_VARIABLE)
    with pytest.raises(SecretStoreError, match="could not read the API key"):
        secrets_for(flinks_toolbox(), SecretStore())


def test_client_for_sends_the_process_environments_secrets(flinks_sandbox_factory, use_keyring, monkeypatch):
    use_keyring(fail.Keyring())  # a headless box: no keyring at all
    sandbox = flinks_sandbox_factory(auth_key=SECRET, api_key=API_KEY)
    monkeypatch.setenv(AUTH_SECRET_VARIABLE, SECRET)
    monkeypatch.setenv(API_KEY_VARIABLE, API_KEY)

    async def summary() -> int:
        async with client_for(offline_sandbox(sandbox.base_url), SecretStore(), poll_interval=0.01) as flinks:
            session = await flinks.authorize_credentials("FlinksCapital", "greatday_nomfa", "Everyday")
            return len((await flinks.get_accounts_summary(session.request_id)).accounts)

    assert asyncio.run(summary()) > 0
    assert sandbox.requests[-1].headers["x-api-key"] == API_KEY


def test_a_private_instance_s_problems_are_said_all_at_once(home):
    settings = Settings(home)
    settings.add_private("Acme", "acme", CUSTOMER_ID)
    assert settings.private_problems("Beta", "beta", CUSTOMER_ID) == {}
    problems = settings.private_problems("acme", "Bad Instance!", "not-a-guid")
    assert set(problems) == {"name", "instance", "customer_id"}
    assert problems["name"] == 'There is already an environment named "acme".'
    with pytest.raises(SettingsError) as raised:  # each is the sentence the save itself would give
        settings.add_private("Gamma", "gamma", "not-a-guid")
    assert problems["customer_id"] == str(raised.value)
    # Editing Acme: its own name is not taken, another's is; its instance and id are not edited.
    assert settings.private_problems("ACME", renaming="Acme") == {}
    assert set(settings.private_problems("Flinks toolbox", renaming="Acme")) == {"name"}
    assert set(settings.private_problems("  ", renaming="Acme")) == {"name"}


@pytest.mark.parametrize(
    "typed",
    [
        "acme",
        " ACME ",
        "https://acme-api.private.fin.ag",
        "acme-api.private.fin.ag/v3/" + CUSTOMER_ID,
        "https://acme-iframe.private.fin.ag/v2/?demo=true",
    ],
)
def test_an_instance_is_taken_as_typed_or_from_its_pasted_url(home, typed):
    settings = Settings(home)
    assert settings.private_problems("Acme", typed, CUSTOMER_ID) == {}
    assert settings.add_private("Acme", typed, CUSTOMER_ID).instance == "acme"
