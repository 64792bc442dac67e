"""What the app's dialogs share: showing one without blocking the loop, and sizing one to its text.

- **Never `exec()`.** The asyncio loop runs on the GUI thread (qasync): a nested event loop inside a
  running task would stall it. `open_and_wait` shows the dialog window-modal and awaits a future
  resolved from `finished`, so the loop (and every other sync) keeps running meanwhile.
- **Wrapped text gets the height it needs.** `fit_height` sizes a fixed-width dialog from its
  layout at that width, since a window's `sizeHint` only guesses a wrapped label's width.
- **Files are saved where the person saves them.** `ask_save_path` opens the system's Save dialog
  in the folder last saved to (an export, a statement), else in Documents, else at home; never in
  whatever folder the program happened to start in.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

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


#: Where the last file was saved (QSettings): the next Save dialog opens there.
SAVE_FOLDER_KEY = "files/saveFolder"


def save_folder() -> Path:
    """The folder a Save dialog opens in: the last one saved to, if it is still there; else the
    user's Documents folder, if there is one; else their home folder."""
    from PySide6.QtCore import QSettings, QStandardPaths

    last = QSettings().value(SAVE_FOLDER_KEY)
    if isinstance(last, str) and last and Path(last).is_dir():
        return Path(last)
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if documents and Path(documents).is_dir():
        return Path(documents)
    return Path.home()


def remember_save_folder(path: Path | str) -> None:
    """The folder of `path`, just saved to, is where the next Save dialog opens."""
    from PySide6.QtCore import QSettings

    QSettings().setValue(SAVE_FOLDER_KEY, str(Path(path).parent))


def file_name(text: str) -> str:
    """`text` as a file's name on any system: no folder separators or characters Windows refuses
    (a username "DOMAIN\\agent" or "a/b" would otherwise name a folder)."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", text).strip(" .") or "export"


def ask_save_path(parent, title: str, name: str, filters: str) -> tuple[str, str]:
    """The system's Save dialog for a file suggested as `name` (made a safe file name), in
    `save_folder()`: (path, the filter chosen), ("", "") when cancelled. The folder of a path
    chosen is the next one's."""
    from PySide6.QtWidgets import QFileDialog

    path, chosen = QFileDialog.getSaveFileName(parent, title, str(save_folder() / file_name(name)), filters)
    if path:
        remember_save_folder(path)
    return path, chosen
