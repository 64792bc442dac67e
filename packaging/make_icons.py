"""Render the application icon's PNG sizes from its SVG, with Qt's own SVG renderer (QSvgRenderer).

    .venv/bin/python packaging/make_icons.py       # rewrites flinks_desktop/ui/icon/flinks-desktop-<size>.png

flinks_desktop/ui/icon/flinks-desktop.svg is the icon's only source: edit it, run this, commit the PNGs.
They are what the desktop bundle, the window (flinks_desktop.ui.icons.app_icon) and an icon theme
(hicolor/<size>x<size>/apps/flinks-desktop.png) use. Runs offscreen when there is no display.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "flinks_desktop" / "ui" / "icon"  # package data: wheels and the bundle carry it
NAME = "flinks-desktop"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return ICONS / f"{NAME}-{size}.png"


def render(size: int):
    """The SVG drawn on a transparent square of `size` pixels, antialiased: a QImage."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(ICONS / f"{NAME}.svg"))
    if not renderer.isValid():
        raise RuntimeError(f"{ICONS / f'{NAME}.svg'} is not an SVG Qt can read")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def gui_application():
    """QPainter on a QImage needs a QGuiApplication; offscreen when there is no display."""
    from PySide6.QtGui import QGuiApplication

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return QGuiApplication.instance() or QGuiApplication([sys.argv[0]])


def main() -> int:
    app = gui_application()  # noqa: F841 (kept alive while rendering)
    for size in SIZES:
        if not render(size).save(str(png_path(size)), "PNG"):
            print(f"Could not write {png_path(size)}", file=sys.stderr)
            return 1
        print(f"wrote {png_path(size).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
