"""What a desktop bundle or a wheel needs: package data declared, a desktop entry that matches."""

from __future__ import annotations

import configparser
import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_asset_of_the_package_is_declared_as_package_data():
    declared = pyproject()["tool"]["setuptools"]["package-data"]
    package_root = ROOT / "flinks_desktop"
    assets = [p for p in package_root.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert assets, "the package has assets (Connect page, host page, style sheet)"
    undeclared = []
    for asset in assets:
        package_dir = asset.parent
        while not (package_dir / "__init__.py").exists():
            package_dir = package_dir.parent
        package = ".".join(package_dir.relative_to(ROOT).parts)
        relative = asset.relative_to(package_dir).as_posix()
        if not any(fnmatch.fnmatch(relative, pattern) for pattern in declared.get(package, [])):
            undeclared.append(f"{package}: {relative}")
    assert undeclared == [], "add these to [tool.setuptools.package-data] or they are missing from wheels"


def test_the_desktop_entry_starts_the_console_command_and_names_an_icon_we_ship():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "packaging" / "flinks-desktop.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Name"] == "Flinks Desktop"
    assert desktop["Exec"].split()[0] in pyproject()["project"]["scripts"]
    assert (ROOT / "flinks_desktop" / "ui" / "icon" / f"{desktop['Icon']}.svg").is_file()
