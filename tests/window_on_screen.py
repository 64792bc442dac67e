"""The real window on a screen of a given size, for tests/test_window_geometry.py.

Not collected with the suite (its name does not start with test_): that test runs it in a pytest of
its own, with QT_QPA_PLATFORM=offscreen:configfile=... describing one screen (the offscreen
platform's screen is otherwise 800x800) and XDG_CONFIG_HOME pointing at a folder of its own, so that
the window's saved geometry is that run's alone. It prints one line, WINDOW {json}: the screen's
available area, the window's frame and status bar in screen coordinates. With
FLINKS_TEST_MOVE_TO=x,y,width,height it then moves and resizes the window there, and closing it
saves that geometry, as quitting the app does.
"""

from __future__ import annotations

import json
import os

from PySide6.QtCore import QPoint, QRect


def rect(r: QRect) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def test_the_window_on_this_screen(qtbot, make_window):
    window = make_window()
    qtbot.waitUntil(lambda: not window._tab_holders)  # every tab built, as after the first paint
    qtbot.wait(50)
    status = window.statusBar()
    print(
        "WINDOW "
        + json.dumps(
            {
                "available": rect(window.screen().availableGeometry()),
                "frame": rect(window.frameGeometry()),
                "size": [window.width(), window.height()],
                "status_bar": rect(QRect(status.mapToGlobal(QPoint(0, 0)), status.size())),
            }
        ),
        flush=True,
    )
    move_to = os.environ.get("FLINKS_TEST_MOVE_TO")
    if move_to:
        x, y, width, height = (int(part) for part in move_to.split(","))
        window.move(x, y)
        window.resize(width, height)
        qtbot.wait(50)
