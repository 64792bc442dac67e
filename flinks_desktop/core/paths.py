"""Where Flinks Desktop keeps its files: every filesystem location comes from this module.

    data_dir/                                   0700: bank data lives below
      settings.json                             environments, never a secret
      environments/<slug>/cache.db              one cache per environment
      environments/offline-sandbox/sandbox-state.json   the offline sandbox's logins

The data directory is, in order: `--data-dir DIR` (the `override` argument), `$FLINKS_DESKTOP_HOME`,
then the platform's standard location for per-user application data. Each environment has its own
folder, so sandbox data can never land in a production cache.

Like qutebrowser's `--basedir`, tests must say where the data goes: under pytest, without an override
or `$FLINKS_DESKTOP_HOME`, `data_dir()` refuses rather than write into the real home.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

#: The environment variable that moves the data directory (like `--data-dir`).
HOME_VARIABLE = "FLINKS_DESKTOP_HOME"

#: Set by pytest while a test runs (https://docs.pytest.org/en/stable/example/simple.html).
_PYTEST_VARIABLE = "PYTEST_CURRENT_TEST"

#: Owner-only: the folders hold cached bank data.
_PRIVATE_DIR_MODE = 0o700

SETTINGS_FILE_NAME = "settings.json"
CACHE_FILE_NAME = "cache.db"
SANDBOX_STATE_FILE_NAME = "sandbox-state.json"
SANDBOX_SLUG = "offline-sandbox"


class DataDirError(Exception):
    """The data directory cannot be used; `str()` is one sentence saying why and what to do."""


def standard_data_dir(
    *, platform: str = sys.platform, environ: Mapping[str, str] = os.environ, home: Path | None = None
) -> Path:
    """The platform's usual place for this user's application data. Nothing is created.

    Windows uses the local (not roaming) AppData: a cache of bank data must not follow the user
    around a domain's machines.
    """
    home = home if home is not None else Path.home()
    if platform == "win32":
        local_app_data = environ.get("LOCALAPPDATA")
        base = Path(local_app_data) if local_app_data else home / "AppData" / "Local"
        return base / "Flinks Desktop"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Flinks Desktop"
    # The XDG spec says a relative $XDG_DATA_HOME is invalid and must be ignored.
    xdg_data_home = environ.get("XDG_DATA_HOME", "")
    base = Path(xdg_data_home) if os.path.isabs(xdg_data_home) else home / ".local" / "share"
    return base / "flinks-desktop"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory, created (owner-only) if it does not exist yet.

    `override` is the `--data-dir` option. Raises DataDirError when the folder cannot be created,
    or under pytest when neither `override` nor `$FLINKS_DESKTOP_HOME` says where to write.
    """
    chosen = override or os.environ.get(HOME_VARIABLE)
    if chosen:
        path = Path(chosen).expanduser().absolute()
    elif _PYTEST_VARIABLE in os.environ:
        raise DataDirError(
            f"Under pytest the data directory must be given (--data-dir or {HOME_VARIABLE}), "
            "so that a test never writes into your real home."
        )
    else:
        path = standard_data_dir()
    return ensure_private_dir(path)


def ensure_private_dir(path: Path) -> Path:
    """`path` as an existing directory; made owner-only (0700) if this call creates it.

    A folder that already exists keeps its mode: `--data-dir` may point at a folder the user
    manages, and changing its permissions behind their back would be a surprise.
    """
    try:
        path.mkdir(mode=_PRIVATE_DIR_MODE, parents=True)
        path.chmod(_PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    except FileExistsError:
        if not path.is_dir():
            raise DataDirError(f"{path} is a file, not a folder: choose another data directory.") from None
    except OSError as error:
        raise DataDirError(
            f"Flinks Desktop cannot create the folder {path} ({error.strerror or error}): "
            f"choose another data directory with --data-dir or {HOME_VARIABLE}."
        ) from error
    return path


def settings_file(data: Path) -> Path:
    return data / SETTINGS_FILE_NAME


def environment_dir(data: Path, slug: str) -> Path:
    """The folder of one environment's files, created owner-only if needed."""
    # Each level made owner-only: mkdir(parents=True) would give the parents the umask's mode.
    return ensure_private_dir(ensure_private_dir(data / "environments") / slug)


def cache_file(data: Path, slug: str) -> Path:
    """The SQLite cache of one environment (its folder exists; the file may not yet)."""
    return environment_dir(data, slug) / CACHE_FILE_NAME


def sandbox_state_file(data: Path) -> Path:
    """Where the offline sandbox keeps its logins across restarts (`SandboxConfig(state_file=...)`)."""
    return environment_dir(data, SANDBOX_SLUG) / SANDBOX_STATE_FILE_NAME
