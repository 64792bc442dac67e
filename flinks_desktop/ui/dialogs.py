"""What the app's dialogs share: showing one without blocking the loop, and sizing one to its text.

- **Never `exec()`.** The asyncio loop runs on the GUI thread (qasync): a nested event loop inside a
  running task would stall it. `open_and_wait` shows the dialog window-modal and awaits a future
  resolved from `finished`, so the loop (and every other sync) keeps running meanwhile.
- **Wrapped text gets the height it needs.** `fit_height` sizes a fixed-width dialog from its
  layout at that width, since a window's `sizeHint` only guesses a wrapped label's width.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import shiboken6
from PySide6.QtWidgets import QDialog


async def open_and_wait(dialog: QDialog, *, shown: Callable[[], None] | None = None) -> int:
    """Show `dialog` window-modal and wait, without blocking the loop, until it finishes.

    Returns its result code (`QDialog.DialogCode`). A dialog destroyed under the wait (its parent
    window closed) counts as rejected. When the waiting task is cancelled, the dialog is rejected
    so it does not stay on screen with nobody waiting for it. `shown()` is called once the dialog
    is on screen. Shared by the app's dialogs; a dialog shown again and again (the window's MFA
    dialog) keeps no connection from an earlier wait.
    """
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def resolve(code: int) -> None:
        if not future.done():
            future.set_result(code)

    def destroyed() -> None:
        resolve(QDialog.DialogCode.Rejected.value)

    dialog.finished.connect(resolve)
    dialog.destroyed.connect(destroyed)
    dialog.open()  # window-modal to the parent, and returns at once
    if shown is not None:
        shown()
    try:
        return await future
    finally:
        if shiboken6.isValid(dialog):
            dialog.finished.disconnect(resolve)
            dialog.destroyed.disconnect(destroyed)
            if dialog.isVisible():
                dialog.reject()


def fit_height(dialog: QDialog) -> None:
    """Give a fixed-width dialog the height its word-wrapped labels need at that width.

    A top-level window sizes itself from `sizeHint`, which guesses a wrapped label's width; asking
    the layout for its height at the real width is what keeps the text from being clipped, or
    floating in empty space.
    """
    height = dialog.layout().totalHeightForWidth(dialog.width())
    if height > 0:
        dialog.setMinimumHeight(height)
        dialog.resize(dialog.width(), height)
