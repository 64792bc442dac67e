"""The application icon, for windows and the task bar: `app.setWindowIcon(app_icon())`.

The icon is drawn once, as resources/icons/flinks-desktop.svg; packaging/make_icons.py renders it
to the PNG sizes desktops ask for (16 to 512 px), which are used here: a PNG per size needs no SVG
plugin of Qt's. They are found in the desktop bundle (PyInstaller puts resources/icons beside the
code), else in the source checkout (an editable install), else in the icon theme under the desktop
entry's name (a Linux package installs them into hicolor); else the icon is empty, and Qt shows
its default one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

#: The icon's name in the desktop entry (Icon=) and the icon theme, and its files' stem.
ICON_NAME = "flinks-desktop"
#: The PNG sizes shipped in resources/icons, as flinks-desktop-<size>.png.
SIZES = (16, 32, 48, 64, 128, 256, 512)


def icon_directory() -> Path | None:
    """resources/icons of the bundle, or of the checkout this module runs from; None if neither
    (a wheel: the icon files are not package data, a Linux package puts them in the theme)."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)  # set by PyInstaller's boot loader
    if bundle is not None:
        candidates.append(Path(bundle) / "resources" / "icons")
    candidates.append(Path(__file__).resolve().parents[2] / "resources" / "icons")
    for directory in candidates:
        if (directory / f"{ICON_NAME}.svg").is_file():
            return directory
    return None


def app_icon() -> QIcon:
    """Flinks Desktop's icon at every size shipped; the theme's, or an empty icon, when none is."""
    directory = icon_directory()
    icon = QIcon()
    for size in SIZES if directory is not None else ():
        png = directory / f"{ICON_NAME}-{size}.png"
        if png.is_file():
            icon.addFile(str(png), QSize(size, size))
    return icon if not icon.isNull() else QIcon.fromTheme(ICON_NAME)
