"""The desktop bundle and what a Linux desktop needs beside it.

Always: the AppStream metainfo (its required elements; `appstreamcli validate` when installed), the
desktop entry (`desktop-file-validate` when installed), the icon's PNG sizes (rendered from its SVG,
and up to date with it), the window icon, and the bundle's entry script.

With FLINKS_DESKTOP_BUNDLE_TEST=1 (PyInstaller installed: `pip install -e '.[bundle]'`): the bundle
is built by `packaging/build.py` into a temporary directory (about 40 s on 2 CPUs), then
its `flinks-desktop --self-test` and `--smoke` run offscreen with no Python on PATH.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "flinks_desktop" / "ui" / "icon"
SIZES = (16, 32, 48, 64, 128, 256, 512)
BUNDLE_VARIABLE = "FLINKS_DESKTOP_BUNDLE_TEST"


def load_script(name: str):
    """A script of packaging/ as a module (they are not part of the package)."""
    spec = importlib.util.spec_from_file_location(f"packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metainfo_file() -> Path:
    (found,) = PACKAGING.glob("*.metainfo.xml")
    return found


def desktop_entry() -> configparser.SectionProxy:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PACKAGING / "flinks-desktop.desktop", encoding="utf-8")
    return entry["Desktop Entry"]


# -- AppStream metainfo and the desktop entry ------------------------------------------------------


def test_the_metainfo_has_what_appstream_requires_and_matches_the_desktop_entry():
    path = metainfo_file()
    component = ET.parse(path).getroot()
    assert component.tag == "component" and component.get("type") == "desktop-application"
    component_id = component.findtext("id")
    assert path.name == f"{component_id}.metainfo.xml", "AppStream names the file after the component id"
    assert component.findtext("metadata_license") == "CC0-1.0"
    assert component.findtext("name") == desktop_entry()["Name"]
    summary = component.findtext("summary")
    assert summary and len(summary) <= 80 and not summary.endswith(".")
    assert component.find("description/p") is not None
    launchable = component.find("launchable")
    assert launchable.get("type") == "desktop-id" and launchable.text == "flinks-desktop.desktop"
    assert component.findtext("provides/binary") == desktop_entry()["Exec"].split()[0]
    assert component.find("content_rating").get("type") == "oars-1.1"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    releases = component.findall("releases/release")
    assert releases and releases[0].get("version") == version, "the newest release is the package's version"
    assert all(release.get("date") for release in releases)


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli is not installed (Debian: appstream)")
def test_appstreamcli_validates_the_metainfo():
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(metainfo_file())], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None,
    reason="desktop-file-validate is not installed (Debian: desktop-file-utils)",
)
def test_desktop_file_validate_accepts_the_desktop_entry():
    result = subprocess.run(
        ["desktop-file-validate", str(PACKAGING / "flinks-desktop.desktop")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_the_desktop_entry_names_the_window_class_qt_gives_the_app():
    # Qt's X11 window class is the application name that ui/app.py sets ("Flinks Desktop").
    assert desktop_entry()["StartupWMClass"] == "Flinks Desktop"
    assert desktop_entry()["Icon"] == "flinks-desktop"


# -- icons ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_each_png_size_is_the_svg_rendered_at_that_size(qapp, size):
    from PySide6.QtGui import QImage

    make_icons = load_script("make_icons")
    committed = QImage(str(ICONS / f"flinks-desktop-{size}.png"))
    assert (committed.width(), committed.height()) == (size, size)
    assert committed.hasAlphaChannel() and committed.pixelColor(0, 0).alpha() == 0, "transparent corners"
    assert committed.pixelColor(size // 2, size // 2).alpha() == 255, "an opaque middle"
    fresh = make_icons.render(size).convertToFormat(committed.format())
    difference = max(abs(a - b) for a, b in zip(bytes(fresh.constBits()), bytes(committed.constBits()), strict=True))
    assert difference <= 8, "the icon PNGs are out of date with the SVG: run packaging/make_icons.py"


def test_the_window_icon_has_every_size(qapp):
    from flinks_desktop.ui.icons import SIZES as ICON_SIZES
    from flinks_desktop.ui.icons import app_icon

    icon = app_icon()
    assert ICON_SIZES == SIZES
    assert sorted(size.width() for size in icon.availableSizes()) == list(SIZES)
    assert not icon.pixmap(48, 48).isNull()


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="the window's icon has every size there")
def test_the_window_icon_on_linux_carries_what_task_bars_draw(qapp):
    """X11 sends every size of a window's icon with the window: up to 128 px, not the 1.3 MB of
    256 and 512 px (the launchers' sizes, from the icon theme or the bundle)."""
    from flinks_desktop.ui.icons import WINDOW_SIZES, window_icon

    sizes = sorted(size.width() for size in window_icon().availableSizes())
    assert sizes == list(WINDOW_SIZES) == [16, 32, 48, 64, 128]


# -- the entry script -----------------------------------------------------------------------------


def test_the_entry_script_hands_other_arguments_to_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "entry.py"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0 and result.stdout.startswith("flinks-desktop ")


def test_the_entry_scripts_self_test_takes_no_other_argument(tmp_path):
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "entry.py"), "--self-test", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "--self-test takes nothing else" in result.stderr


def test_the_check_environment_has_no_python_on_path(tmp_path):
    build = load_script("build")
    environment = build.environment_without_python(home=tmp_path)
    assert not any(build.holds_python(entry) for entry in environment["PATH"].split(os.pathsep))
    assert not any(name.startswith("PYTHON") for name in environment)
    assert shutil.which("python3", path=environment["PATH"]) is None


# -- the bundle, built (opt-in) ------------------------------------------------------------------


@pytest.mark.skipif(
    os.environ.get(BUNDLE_VARIABLE) != "1",
    reason=f"builds the PyInstaller bundle (about 40 s): set {BUNDLE_VARIABLE}=1",
)
def test_the_built_bundle_passes_its_self_test_and_starts_with_no_python_on_path(tmp_path):
    assert importlib.util.find_spec("PyInstaller") is not None, "install it: pip install -e '.[bundle]'"
    build = load_script("build")
    dist, work = tmp_path / "dist", tmp_path / "work"
    built = subprocess.run(
        [sys.executable, str(PACKAGING / "build.py"), "--dist", str(dist), "--work", str(work)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    folder = dist / "flinks-desktop"
    data = folder / "_internal"
    for asset in (
        "flinks_desktop/sandbox/connect/index.html",
        "flinks_desktop/ui/connect_host.html",
        "flinks_desktop/ui/connect_bridge.js",
        "flinks_desktop/ui/styles/00-base.qss",
        "flinks_desktop/ui/icon/flinks-desktop-256.png",
    ):
        assert (data / asset).is_file(), f"{asset} is missing from the bundle"

    checked = build.self_test(folder)
    lines = checked.stdout.splitlines()
    assert checked.returncode == 0, checked.stdout + checked.stderr[-4000:]
    assert lines[:4] == ["ok  sandbox", "ok  connect", "ok  sync", "ok  statement"]
    assert lines[4].startswith("Self-test passed: 4 of 4 parts ok")

    home = tmp_path / "home"
    home.mkdir()
    environment = {**build.environment_without_python(home=home), "FLINKS_DESKTOP_HOME": str(home / "data")}
    smoke = subprocess.run(
        [str(folder / build.executable_name()), "--smoke"],
        cwd=home,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert smoke.returncode == 0, smoke.stderr[-4000:]
    assert "flinks-desktop: first paint after" in smoke.stderr
