"""Help > About Flinks Desktop: what a support ticket needs to know about this copy of the app.

The app's name, icon and version; the Qt, PySide6 and Python it runs on; the platform; the data
directory and the cache file of the environment in use; the licence. "Copy details" puts all of it
on the clipboard as plain text, one "Name: value" line each, ready to paste into a ticket.

Built only when opened (imported inside `MainWindow.show_about`): nothing here is needed for the
first paint. Paths are shown relative to the home folder, as the settings dialog shows them: shorter,
and a pasted ticket does not carry the account's name.
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, Slot, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from flinks_desktop import __version__
from flinks_desktop.ui.dialogs import fit_height
from flinks_desktop.ui.icons import app_icon
from flinks_desktop.ui.settings_dialog import home_relative

#: The distribution's name, as pyproject.toml declares it.
DISTRIBUTION = "flinks-desktop"
#: The licence pyproject.toml declares, for when the package metadata cannot be read (the desktop
#: bundle carries none; a checkout may be installed from before the licence was declared).
#: tests/test_about_dialog.py checks that the two agree.
FALLBACK_LICENCE = "MIT"
#: Room for a data directory path on one line in most cases; longer paths wrap at their slashes.
DIALOG_WIDTH = 600
DESCRIPTION = "Manage Flinks bank connections, and demo Flinks Capital with the built-in offline sandbox."


def licence() -> str:
    """The licence of the installed package (its SPDX expression), else FALLBACK_LICENCE."""
    try:
        fields = metadata.metadata(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return FALLBACK_LICENCE
    declared = fields.get("License-Expression") or fields.get("License")
    return declared if declared and declared != "UNKNOWN" else FALLBACK_LICENCE  # old setuptools' "none"


def details(data_dir: Path, cache_path: Path, environment: str) -> list[tuple[str, str]]:
    """What the dialog shows and copies under its name and version, as (name, value) pairs."""
    return [
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Platform", f"{platform.platform()}, Qt platform {QGuiApplication.platformName()}"),
        ("Data directory", home_relative(data_dir)),
        ("Cache file", f"{home_relative(cache_path)} ({environment})"),
        ("Licence", licence()),
    ]


def details_text(rows: list[tuple[str, str]]) -> str:
    """The plain text "Copy details" puts on the clipboard."""
    return "\n".join([f"Flinks Desktop {__version__}", *(f"{name}: {value}" for name, value in rows)]) + "\n"


class AboutDialog(QDialog):
    """Opened window-modal by the main window; deleted when closed."""

    def __init__(self, parent: QWidget | None, *, data_dir: Path, cache_path: Path, environment: str):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Flinks Desktop")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.rows = details(data_dir, cache_path, environment)

        icon = QLabel(objectName="aboutIcon")
        icon.setPixmap(app_icon().pixmap(64, 64))
        icon.setFixedSize(64, 64)
        title = QLabel("Flinks Desktop", objectName="aboutTitle")
        version = QLabel(f"Version {__version__}", objectName="aboutVersion")
        description = QLabel(DESCRIPTION, objectName="aboutDescription")
        description.setWordWrap(True)
        heading = QVBoxLayout()
        heading.setSpacing(4)
        for label in (title, version, description):
            label.setTextFormat(Qt.TextFormat.PlainText)  # every label here: no text is ever markup
            heading.addWidget(label)
        heading.addStretch(1)
        top = QHBoxLayout()
        top.setSpacing(16)
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(heading, 1)

        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(6)
        grid.setColumnStretch(1, 1)
        self.value_labels: dict[str, QLabel] = {}
        for row, (name, value) in enumerate(self.rows):
            key = QLabel(name)
            key.setProperty("role", "fieldName")
            key.setTextFormat(Qt.TextFormat.PlainText)
            shown = QLabel(value, objectName="about" + "".join(w[0].upper() + w[1:] for w in name.split()))
            # Paths and platform strings are the user's and the system's text, never markup.
            shown.setTextFormat(Qt.TextFormat.PlainText)
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            shown.setWordWrap(True)
            grid.addWidget(key, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(shown, row, 1)
            self.value_labels[name] = shown

        self.copied = QLabel(objectName="aboutCopiedLabel")
        self.copied.setTextFormat(Qt.TextFormat.PlainText)
        self.copy_button = QPushButton("&Copy details", objectName="aboutCopyButton")
        self.copy_button.setToolTip("Copies everything shown here as plain text, for a support ticket")
        self.copy_button.clicked.connect(self.copy_details)
        self.close_button = QPushButton("Close", objectName="aboutCloseButton")
        self.close_button.setDefault(True)
        self.close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copied, 1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 22, 24, 18)
        layout.setSpacing(18)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addLayout(buttons)
        self.resize(DIALOG_WIDTH, 0)
        fit_height(self)  # the wrapped description and paths get the lines they need, no more
        self.close_button.setFocus()

    def text(self) -> str:
        return details_text(self.rows)

    @Slot()
    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
        self.copied.setText("Copied to the clipboard.")
