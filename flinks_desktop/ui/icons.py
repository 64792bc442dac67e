"""The application icon, for windows and the task bar: `app.setWindowIcon(window_icon())`.

The icon is drawn once, as flinks_desktop/ui/icon/flinks-desktop.svg; packaging/make_icons.py renders
it to the PNG sizes desktops ask for (16 to 512 px), which are used here: a PNG per size needs no SVG
plugin of Qt's. They are package data, beside this module, so the same lookup finds them in a source
checkout, an installed wheel and the desktop bundle (PyInstaller collects the package's data files
in the same layout). Failing that, the icon theme's under the desktop entry's name (a Linux package
installs them into hicolor); else the icon is empty, and Qt shows its default one.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

#: The icon's name in the desktop entry (Icon=) and the icon theme, and its files' stem.
ICON_NAME = "flinks-desktop"
#: The PNG sizes shipped in the icon folder, as flinks-desktop-<size>.png.
SIZES = (16, 32, 48, 64, 128, 256, 512)
#: The sizes the window's icon carries on Linux, where each size goes to the window system with the
#: window (on X11 the _NET_WM_ICON property: 256 and 512 px add 1.3 MB to it, ~9 ms before the first
#: paint): what task bars and window switchers draw. Launchers take the larger ones from the icon
#: theme or the bundle.
WINDOW_SIZES = (16, 32, 48, 64, 128)


def icon_directory() -> Path | None:
    """The icon's package-data folder, or None if its files are missing (a broken install)."""
    directory = Path(__file__).resolve().parent / "icon"
    return directory if (directory / f"{ICON_NAME}.svg").is_file() else None


def app_icon(sizes: Sequence[int] = SIZES) -> QIcon:
    """Flinks Desktop's icon at each of `sizes` shipped; the theme's, or an empty icon, when none is."""
    directory = icon_directory()
    icon = QIcon()
    for size in sizes if directory is not None else ():
        png = directory / f"{ICON_NAME}-{size}.png"
        if png.is_file():
            icon.addFile(str(png), QSize(size, size))
    return icon if not icon.isNull() else QIcon.fromTheme(ICON_NAME)


def window_icon() -> QIcon:
    """The icon for `app.setWindowIcon`: every size on macOS (the Dock draws it large) and Windows
    (which takes the two sizes it needs), `WINDOW_SIZES` elsewhere."""
    return app_icon(SIZES if sys.platform in ("darwin", "win32") else WINDOW_SIZES)
