"""The Qt binding the app runs on must not corrupt Python's own objects.

PySide6 6.12.0 on Python 3.11 releases a reference to None on every call of a Qt method that
returns nothing, and to True on every signal emitted from Python: the app dies after a few
thousand clicks ("Fatal Python error: none_dealloc"). pyproject.toml pins a version without it;
this test fails if a dependency change brings it back.
"""

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel


class Emitter(QObject):
    changed = Signal()


def test_calls_into_qt_keep_the_reference_counts_of_none_and_true(qapp):
    label = QLabel()
    emitter = Emitter()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(1000):
        label.setText("Flinks")
        emitter.changed.emit()
    # Python 3.12+ makes None and True immortal (huge, fixed counts): the difference is then 0 too.
    assert none_before - sys.getrefcount(None) < 100
    assert true_before - sys.getrefcount(True) < 100
