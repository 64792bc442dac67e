"""The application icon, for windows and the task bar: `app.setWindowIcon(app_icon())`.

The icon is drawn once, as flinks_desktop/ui/icon/flinks-desktop.svg; packaging/make_icons.py renders
it to the PNG sizes desktops ask for (16 to 512 px), which are used here: a PNG per size needs no SVG
plugin of Qt's. They are package data, beside this module, so the same lookup finds them in a source
checkout, an installed wheel and the desktop bundle (PyInstaller collects the package's data files
in the same layout). Failing that, the icon theme's under the desktop entry's name (a Linux package
installs them into hicolor); else the icon is empty, and Qt shows its default one.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

#: The icon's name in the desktop entry (Icon=) and the icon theme, and its files' stem.
ICON_NAME = "flinks-desktop"
#: The PNG sizes shipped in the icon folder, as flinks-desktop-<size>.png.
SIZES = (16, 32, 48, 64, 128, 256, 512)


def icon_directory() -> Path | None:
    """The icon's package-data folder, or None if its files are missing (a broken install)."""
    directory = Path(__file__).resolve().parent / "icon"
    return directory if (directory / f"{ICON_NAME}.svg").is_file() else None


def app_icon() -> QIcon:
    """Flinks Desktop's icon at every size shipped; the theme's, or an empty icon, when none is."""
    directory = icon_directory()
    icon = QIcon()
    for size in SIZES if directory is not None else ():
        png = directory / f"{ICON_NAME}-{size}.png"
        if png.is_file():
            icon.addFile(str(png), QSize(size, size))
    return icon if not icon.isNull() else QIcon.fromTheme(ICON_NAME)
