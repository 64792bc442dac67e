"""When a window is first painted: what start-up is measured to (`flinks-desktop --smoke`, the
start-up benchmark) and what waits until the person sees the window (work that can come after)."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget


class FirstPaint(QObject):
    """`done` fires once, just after `window`'s first paint has finished; `at` is when it began
    (`time.perf_counter()` seconds)."""

    done = Signal()

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.at = 0.0
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.at:
            self.at = time.perf_counter()
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self.done.emit)  # after this paint, not inside it
        return False

    def wait(self, timeout: float = 5.0) -> bool:
        """Run Qt's events until the first paint is done (or `timeout` seconds, e.g. a window
        that is never exposed): start-up paints before it loads the rest. True when painted."""
        if not self.at:
            loop = QEventLoop()
            self.done.connect(loop.quit)
            QTimer.singleShot(int(timeout * 1000), loop.quit)
            loop.exec()
        return bool(self.at)
