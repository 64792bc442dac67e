"""Build the desktop bundle: PyInstaller, one folder (onedir), from packaging/flinks-desktop.spec.

    .venv/bin/pip install -e '.[bundle]'          # PyInstaller, once
    .venv/bin/python packaging/build.py            # -> dist/flinks-desktop/flinks-desktop
    .venv/bin/python packaging/build.py --check    # then its self-test, with no Python on PATH

The folder dist/flinks-desktop/ is the whole app: copy it anywhere (same OS and CPU kind) and run
`flinks-desktop` in it; it needs no Python. `--check` runs `flinks-desktop --self-test` from the
built folder offscreen, with every directory that holds a Python removed from PATH and no PYTHON*
variable, and fails the build if the self-test fails. Exit status: 0 built (and checked), 1 not.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "flinks-desktop.spec"
NAME = "flinks-desktop"
#: The self-test ends within its own watchdog (about a minute); this is for a bundle that hangs anyway.
CHECK_TIMEOUT = 180


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Flinks Desktop bundle with PyInstaller (onedir).")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the bundle's folder goes (dist/)")
    parser.add_argument(
        "--work",
        type=Path,
        default=ROOT / "build" / "pyinstaller",
        help="PyInstaller's work directory (build/pyinstaller/)",
    )
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's caches first")
    parser.add_argument(
        "--check", action="store_true", help="then run the built binary's --self-test with no Python on PATH"
    )
    args = parser.parse_args(argv)

    if importlib.util.find_spec("PyInstaller") is None:
        print(
            f"PyInstaller is not installed in {sys.prefix}: run "
            f"{Path(sys.executable).parent / 'pip'} install -e '.[bundle]'",
            file=sys.stderr,
        )
        return 1
    started = time.monotonic()
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(args.dist),
        "--workpath",
        str(args.work),
        str(SPEC),
    ]
    if args.clean:
        command.insert(3, "--clean")
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        print("The bundle was not built: PyInstaller failed (see above).", file=sys.stderr)
        return 1
    folder = args.dist / NAME
    print(
        f"Built {folder} in {time.monotonic() - started:.0f} s: {size_of(folder) / 2**20:.0f} MiB, "
        f"run {folder / executable_name()}"
    )
    if args.check:
        result = self_test(folder)
        sys.stdout.write(result.stdout)
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
            print(f"The bundle's self-test failed (exit status {result.returncode}).", file=sys.stderr)
            return 1
    return 0


def executable_name() -> str:
    return f"{NAME}.exe" if sys.platform == "win32" else NAME


def size_of(folder: Path) -> int:
    """Bytes in the folder's files (links not followed)."""
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def self_test(folder: Path, timeout: float = CHECK_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`flinks-desktop --self-test` from the bundle in `folder`, offscreen, as on a machine with no
    Python: none on PATH, no PYTHON* variable, run from an empty directory."""
    with tempfile.TemporaryDirectory(prefix="flinks-desktop-bundle-check-") as cwd:
        return subprocess.run(
            [str(folder / executable_name()), "--self-test"],
            cwd=cwd,
            env=environment_without_python(home=Path(cwd)),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def environment_without_python(home: Path) -> dict[str, str]:
    """This process's environment, less any trace of Python: PATH without the directories that
    hold a python executable, no PYTHON*/VIRTUAL_ENV variable; no display (offscreen); HOME and
    TMPDIR in `home`, so what Qt writes stays there."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PYTHON")
        and name not in ("VIRTUAL_ENV", "CONDA_PREFIX", "DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    kept = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry and not holds_python(entry)]
    environment["PATH"] = os.pathsep.join(kept)
    environment["HOME"] = str(home)
    environment["TMPDIR"] = str(home)
    return environment


def holds_python(directory: str) -> bool:
    """Whether `directory` has a python, python3, python3.12, python.exe, py.exe... in it."""
    try:
        names = [entry.name.lower() for entry in Path(directory).iterdir()]
    except OSError:
        return False
    return any(name.startswith("python") or name in ("py", "py.exe") for name in names)


if __name__ == "__main__":
    sys.exit(main())
