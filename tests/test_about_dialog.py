"""Help > About Flinks Desktop on the real window: what a support ticket needs, and Copy details."""

from __future__ import annotations

import platform
import tomllib
from pathlib import Path

import PySide6
import shiboken6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QLabel, QPushButton

from flinks_desktop import __version__
from flinks_desktop.ui.about_dialog import FALLBACK_LICENCE, licence
from flinks_desktop.ui.settings_dialog import home_relative

ROOT = Path(__file__).resolve().parent.parent


def open_about(qtbot, window) -> QDialog:
    """Through the Help menu, as a person does."""
    help_menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Help")
    (about,) = [action for action in help_menu.actions() if action.objectName() == "aboutAction"]
    about.trigger()
    qtbot.waitUntil(lambda: window.findChild(QDialog, "aboutDialog") is not None)
    dialog = window.findChild(QDialog, "aboutDialog")
    qtbot.waitExposed(dialog)
    return dialog


def shown(dialog: QDialog, name: str) -> str:
    return dialog.findChild(QLabel, name).text()


def test_about_shows_the_version_and_the_data_directory_and_copies_them_for_a_ticket(qtbot, make_window):
    window = make_window()
    dialog = open_about(qtbot, window)
    assert dialog.windowModality() == Qt.WindowModality.WindowModal and dialog.windowTitle() == "About Flinks Desktop"
    assert __version__ in shown(dialog, "aboutVersion")
    assert shown(dialog, "aboutDataDirectory") == home_relative(window.session.data_dir)
    assert shown(dialog, "aboutCacheFile") == (
        f"{home_relative(window.workspace.cache_path)} ({window.workspace.environment.name})"
    )
    assert shown(dialog, "aboutQt") == qVersion() and shown(dialog, "aboutPySide6") == PySide6.__version__
    assert shown(dialog, "aboutPython").startswith(platform.python_version())
    assert shown(dialog, "aboutLicence") == licence()
    assert not dialog.findChild(QLabel, "aboutIcon").pixmap().isNull()
    for label in dialog.findChildren(QLabel):
        if label.objectName() != "aboutIcon":
            assert label.textFormat() == Qt.TextFormat.PlainText, label.text()  # paths are never markup

    QGuiApplication.clipboard().setText("something else")
    qtbot.mouseClick(dialog.findChild(QPushButton, "aboutCopyButton"), Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    lines = copied.splitlines()
    assert lines[0] == f"Flinks Desktop {__version__}"
    assert f"Data directory: {home_relative(window.session.data_dir)}" in lines
    assert f"Qt: {qVersion()}" in lines and f"PySide6: {PySide6.__version__}" in lines
    assert f"Licence: {licence()}" in lines
    assert any(line.startswith("Platform: ") and platform.system() in line for line in lines)
    assert "<" not in copied, "plain text, no markup"
    assert shown(dialog, "aboutCopiedLabel") == "Copied to the clipboard."


def test_about_is_keyboard_accessible_and_closes_with_enter_or_escape(qtbot, make_window):
    window = make_window()
    dialog = open_about(qtbot, window)
    copy, close = dialog.findChild(QPushButton, "aboutCopyButton"), dialog.findChild(QPushButton, "aboutCloseButton")
    assert close.isDefault() and dialog.focusWidget() is close
    assert copy.text() == "&Copy details" and copy.focusPolicy() & Qt.FocusPolicy.TabFocus
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog))  # closed, and deleted

    dialog = open_about(qtbot, window)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog))


def test_the_licence_shown_is_the_one_the_project_declares():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert declared["license"] == FALLBACK_LICENCE
    assert licence() == FALLBACK_LICENCE  # from the installed metadata, or the fallback: the same name
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith(f"{FALLBACK_LICENCE} License")
    assert "LICENSE" in declared["license-files"]
