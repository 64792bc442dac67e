"""Walking a window's focus chain with Tab, as a keyboard user does (`tests/test_keyboard.py`,
`tests/test_dialogs.py`)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication, QWidget


def spoken_name(widget: QWidget) -> str:
    """What a screen reader says the widget is called (a combo box's value is said apart)."""
    return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name).strip()


def walk(qtbot, start: QWidget, key: Qt.Key, presses: int = 60) -> list[str]:
    """The objectName of each widget focus lands on, pressing `key` from `start` until it comes
    back (a stop that spans several presses, like a date field's parts, is named once)."""
    assert spoken_name(start), f"{start.objectName()} has no accessible name"
    start.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is start, timeout=2_000)
    stops: list[str] = []
    for _ in range(presses):
        qtbot.keyClick(QApplication.focusWidget(), key)
        widget = QApplication.focusWidget()
        assert widget is not None and widget.isVisible() and widget.isEnabled(), stops
        assert spoken_name(widget), f"{widget.objectName()} has no accessible name"
        if widget is start:
            return stops
        if not stops or stops[-1] != widget.objectName():
            stops.append(widget.objectName())
    pytest.fail(f"focus never came back to {start.objectName()} in {presses} presses: {stops}")
