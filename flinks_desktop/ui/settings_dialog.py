"""The settings dialog: environments, their secrets in the keyring, and where the data lives.

    changed = await SettingsDialog.ask(window, settings, secrets, data_dir)

The list on the left holds the two built-in environments and the private instances; the form on
the right shows the selected one. `Settings` and `SecretStore` (core) decide what is valid and
say why not: their sentences appear under the form as they are.

Decisions a reader should know:

- **One environment at a time, saved by Save.** Edits stay in the form until Save, which applies
  them to `Settings` and writes the file at once (`Settings.save`); a failed write takes the change
  back out of memory too. While the form has unsaved edits the list is locked: "Save" or "Discard",
  so an edit is never lost, or kept, by accident when the agent clicks another environment.
  "Clear" of a secret is immediate, like deleting a file: there is nothing to save afterwards.
- **What may change is what core lets change.** The built-ins are read-only; the Flinks toolbox
  still takes secrets (some of its calls need them), the offline sandbox needs none. A private
  instance's instance and customer id are fixed once it is added (its cache holds that customer's
  connections): only its name, Connect parameters, statements, days of transactions and the wait
  for Flinks change.
- **The wait for Flinks belongs to an environment.** The offline sandbox answers at once; a real
  instance may prepare a big connection's data for many minutes. The field takes a whole number
  of minutes or seconds (the unit beside it says which); the most a sync waits for data Flinks
  is still preparing, and no single call waits longer (`workspace.open_workspace`). Saved, it
  applies from the next sync on, without a restart.
- **A secret is never shown back.** The fields are password fields that start empty; next to each,
  "set" or "not set" from `SecretStore.is_set`. After Save the fields are emptied. A secret is never
  logged, and never put in any other widget.
- **Never `exec()`.** `ask` opens the dialog window-modal and awaits it, so the asyncio loop keeps
  running (see `dialogs.open_and_wait`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QSize, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from flinks_desktop.core.environments import DEFAULT_WAIT_LIMIT, LONGEST_WAIT_LIMIT, Environment, SettingsError
from flinks_desktop.core.secret_store import SECRET_LABELS, SecretKind, SecretStore, SecretStoreError
from flinks_desktop.core.settings import Settings
from flinks_desktop.ui.dialogs import open_and_wait

#: Days of transactions as the agent reads them.
DAYS = {"Days90": "90 days of transactions", "Days365": "365 days of transactions"}

#: The units the wait for Flinks is typed in, and their seconds.
WAIT_UNITS = {"minutes": 60, "seconds": 1}
_WAIT_HINT = "at most, while Flinks prepares the data"
_WAIT_TIP = (
    "How long a sync waits for Flinks to prepare the data before it stops and says so. No single "
    "call to Flinks waits longer than this either (nor than 3 minutes)."
)

#: objectName prefix of each secret's widgets: <prefix>Input, <prefix>Status, <prefix>Clear.
SECRET_FIELDS: dict[SecretKind, str] = {"auth-secret": "authSecret", "api-key": "apiKey"}

_KIND_LABELS = {"sandbox": "Built in", "toolbox": "Built in", "private": "Private instance"}
_KIND_HINTS = {
    "sandbox": "Built in: Flinks Capital on this computer, with no network and no real bank data.",
    "toolbox": "Built in: the public Flinks test environment. Only its secrets can be set.",
    "private": "A customer's own Flinks instance, with real bank data. Its instance and customer id are fixed.",
}
_NEW_HINT = "Flinks gives the instance name and customer id; they cannot be changed once it is added."
_PARAMETERS_HINT = "Added to the Connect URL, over the app's defaults."
_BUILT_IN_PARAMETERS_HINT = "A built-in environment opens Connect with the app's defaults."
_APP_PARAMETERS_TIP = "redirectUrl, innerRedirect and authorizeToken are set by Flinks Desktop itself."
_EDIT_TRIGGERS = (
    QAbstractItemView.EditTrigger.DoubleClicked
    | QAbstractItemView.EditTrigger.SelectedClicked
    | QAbstractItemView.EditTrigger.EditKeyPressed
    | QAbstractItemView.EditTrigger.AnyKeyPressed
)

#: Wide enough for the form's labels and fields side by side; the height follows (`_fit`).
_MIN_WIDTH = 920

_LOCKED_HINT = "Save or discard the changes to switch to another environment."


class _ParameterTable(QTableWidget):
    """Connect's parameters, a name and a value a row, edited in place. Tab goes from a name to its
    value and on to the next row, as in a spreadsheet, but out of the table after the last value
    (Shift+Tab before the first name) instead of round again: the rest of the form stays in reach."""

    def _at_edge(self, forward: bool) -> bool:
        here = (self.currentRow(), self.currentColumn())
        return here == ((self.rowCount() - 1, self.columnCount() - 1) if forward else (0, 0))

    def closeEditor(self, editor: QWidget, hint: QAbstractItemDelegate.EndEditHint) -> None:
        onward = {
            QAbstractItemDelegate.EndEditHint.EditNextItem: True,
            QAbstractItemDelegate.EndEditHint.EditPreviousItem: False,
        }
        if hint in onward and self._at_edge(onward[hint]):
            super().closeEditor(editor, QAbstractItemDelegate.EndEditHint.NoHint)  # committed already
            QWidget.focusNextPrevChild(self, onward[hint])
            return
        super().closeEditor(editor, hint)

    def focusNextPrevChild(self, forward: bool) -> bool:
        if self.hasFocus() and self.rowCount() and self._at_edge(forward):
            return QWidget.focusNextPrevChild(self, forward)
        return super().focusNextPrevChild(forward)


class SettingsDialog(QDialog):
    """Environments, secrets and the data directory (see the module)."""

    def __init__(
        self,
        settings: Settings,
        secrets: SecretStore,
        data_dir: Path,
        parent: QWidget | None = None,
        *,
        busy: Callable[[], str | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.settings = settings
        self.secrets = secrets
        self.data_dir = data_dir
        #: Why the environment in use cannot change now (a sync runs), or None: asked at each change.
        self._busy = busy or (lambda: None)
        #: Something was saved (or a secret cleared) while the dialog was open.
        self.changed = False
        #: The environment in the form; None while a new private instance is being added.
        self._environment: Environment | None = None
        self._dirty = False
        self._loading = False

        main = QHBoxLayout()
        main.setSpacing(22)
        main.addLayout(self._build_list(), 0)
        main.addLayout(self._build_form(), 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 22, 24, 18)
        layout.setSpacing(16)
        layout.addLayout(main, 1)
        layout.addWidget(self._build_footer())

        self.setMinimumWidth(_MIN_WIDTH)
        self._sized = False
        self._fill_list(select=settings.active.slug)

    # -- building ------------------------------------------------------------------------------------

    def _build_list(self) -> QVBoxLayout:
        self.environment_list = QListWidget(objectName="environmentList", accessibleName="Environments")
        self.environment_list.setFixedWidth(230)
        self.environment_list.setWordWrap(True)
        self.environment_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.environment_list.currentItemChanged.connect(self._on_selected)
        self.add_button = QPushButton("Add private instance", objectName="addEnvironmentButton")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self._add_environment)
        self.remove_button = QPushButton("Remove instance…", objectName="removeEnvironmentButton")
        self.remove_button.setAutoDefault(False)
        self.remove_button.setToolTip("Remove the selected private instance from the list (not the one in use)")
        self.remove_button.clicked.connect(self._ask_remove_environment)
        self.locked_hint = _hint(_LOCKED_HINT, "environmentListLocked")
        self.locked_hint.setFixedWidth(230)
        self.locked_hint.hide()
        column = QVBoxLayout()
        column.setSpacing(8)
        column.addWidget(_section("Environments"))
        column.addWidget(self.environment_list, 1)
        column.addWidget(self.locked_hint)
        column.addWidget(self.add_button)
        column.addWidget(self.remove_button)
        return column

    def _build_form(self) -> QVBoxLayout:
        self.form_title = QLabel(objectName="environmentTitle")
        self.form_title.setTextFormat(Qt.TextFormat.PlainText)
        self.use_button = QPushButton("Use this environment", objectName="useEnvironmentButton")
        self.use_button.setAutoDefault(False)
        self.use_button.setToolTip("The window switches to it when the settings are closed.")
        self.use_button.clicked.connect(self._use_environment)
        title_row = QHBoxLayout()
        title_row.addWidget(self.form_title, 1)
        title_row.addWidget(self.use_button)
        self.kind_hint = _hint("", "environmentKind")

        self.name_input = QLineEdit(objectName="instanceName")
        self.name_input.setPlaceholderText("Acme Corp — production")
        self.instance_input = QLineEdit(objectName="instanceId")
        self.instance_input.setPlaceholderText("acme")
        self.customer_input = QLineEdit(objectName="customerId")
        self.customer_input.setPlaceholderText("GUID given by Flinks")
        self.statements_check = QCheckBox("Statements (PDF)", objectName="statementsEnabled")
        self.days_combo = QComboBox(objectName="daysOfTransactions")
        for value, label in DAYS.items():
            self.days_combo.addItem(label, value)

        self.wait_input = QLineEdit(objectName="waitLimit")
        self.wait_input.setFixedWidth(90)
        self.wait_input.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.wait_input.setToolTip(_WAIT_TIP)
        self.wait_unit = QComboBox(objectName="waitLimitUnit")
        for unit in WAIT_UNITS:
            self.wait_unit.addItem(unit, unit)
        self.wait_unit.setToolTip(_WAIT_TIP)

        for field in (self.name_input, self.instance_input, self.customer_input, self.wait_input):
            field.textChanged.connect(self._mark_dirty)
        for field in (self.name_input, self.instance_input, self.customer_input):
            field.textEdited.connect(lambda _text, edited=field: self._mark_invalid(edited, False))
        self.statements_check.toggled.connect(self._mark_dirty)
        self.days_combo.currentIndexChanged.connect(self._mark_dirty)
        self.wait_unit.currentIndexChanged.connect(self._mark_dirty)

        self.instance_host = _hint("-api.private.fin.ag", "instanceHost")
        instance_row = QHBoxLayout()
        instance_row.setSpacing(6)
        instance_row.addWidget(self.instance_input, 1)
        instance_row.addWidget(self.instance_host)

        fetched_row = QHBoxLayout()
        fetched_row.setSpacing(18)
        fetched_row.addWidget(self.days_combo)
        fetched_row.addWidget(self.statements_check)
        fetched_row.addStretch(1)

        wait_hint = _hint(_WAIT_HINT, "waitLimitHint")
        wait_hint.setToolTip(_WAIT_TIP)
        wait_row = QHBoxLayout()
        wait_row.setSpacing(8)
        wait_row.addWidget(self.wait_input)
        wait_row.addWidget(self.wait_unit)
        wait_row.addSpacing(6)
        wait_row.addWidget(wait_hint, 1)

        fields = QGridLayout()
        fields.setHorizontalSpacing(14)
        fields.setVerticalSpacing(8)
        fields.setColumnMinimumWidth(0, 150)
        fields.setColumnStretch(1, 1)
        for row, (text, field) in enumerate(
            (
                ("Name", self.name_input),
                ("Instance", instance_row),
                ("Customer id", self.customer_input),
                ("Each sync fetches", fetched_row),
                ("Wait for Flinks", wait_row),
            )
        ):
            label = QLabel(text)
            fields.addWidget(label, row, 0, Qt.AlignmentFlag.AlignVCenter)
            if isinstance(field, QWidget):
                label.setBuddy(field)
                fields.addWidget(field, row, 1)
            else:
                label.setBuddy(field.itemAt(0).widget())
                fields.addLayout(field, row, 1)
        self.days_combo.setFixedWidth(230)

        self.parameters = _ParameterTable(0, 2, objectName="connectParameters", accessibleName="Connect parameters")
        self.parameters.setHorizontalHeaderLabels(["Parameter", "Value"])
        self.parameters.verticalHeader().hide()
        self.parameters.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.parameters.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.parameters.setFixedHeight(128)  # a header and three rows; it scrolls beyond
        self.parameters.setToolTip(_APP_PARAMETERS_TIP)
        self.parameters.itemChanged.connect(self._mark_dirty)
        self.add_parameter_button = QPushButton("Add parameter", objectName="addParameterButton")
        self.add_parameter_button.setAutoDefault(False)
        self.add_parameter_button.clicked.connect(self._add_parameter)
        self.remove_parameter_button = QPushButton("Remove parameter", objectName="removeParameterButton")
        self.remove_parameter_button.setAutoDefault(False)
        self.remove_parameter_button.clicked.connect(self._remove_parameter)
        parameter_buttons = QHBoxLayout()
        self.parameters_hint = _hint(_PARAMETERS_HINT, "connectParametersHint")
        self.parameters_hint.setToolTip(_APP_PARAMETERS_TIP)
        parameter_buttons.addWidget(self.parameters_hint, 1)
        parameter_buttons.addWidget(self.add_parameter_button)
        parameter_buttons.addWidget(self.remove_parameter_button)

        self.secrets_box = QWidget()
        secret_grid = QGridLayout(self.secrets_box)
        secret_grid.setContentsMargins(0, 0, 0, 0)
        secret_grid.setHorizontalSpacing(14)
        secret_grid.setVerticalSpacing(8)
        secret_grid.setColumnMinimumWidth(0, 150)
        secret_grid.setColumnStretch(1, 1)
        self.secret_inputs: dict[SecretKind, QLineEdit] = {}
        self.secret_status: dict[SecretKind, QLabel] = {}
        self.secret_clear: dict[SecretKind, QPushButton] = {}
        for row, (kind, prefix) in enumerate(SECRET_FIELDS.items()):
            label = QLabel(SECRET_LABELS[kind][:1].upper() + SECRET_LABELS[kind][1:])
            field = QLineEdit(objectName=f"{prefix}Input")
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.setPlaceholderText("Type a new one to replace it")
            field.textChanged.connect(self._mark_dirty)
            label.setBuddy(field)
            status = QLabel(objectName=f"{prefix}Status")
            status.setMinimumWidth(60)
            clear = QPushButton("Clear", objectName=f"{prefix}Clear")
            clear.setAutoDefault(False)
            clear.clicked.connect(lambda _checked=False, kind=kind: self._clear_secret(kind))
            secret_grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignVCenter)
            secret_grid.addWidget(field, row, 1)
            secret_grid.addWidget(status, row, 2)
            secret_grid.addWidget(clear, row, 3)
            self.secret_inputs[kind], self.secret_status[kind], self.secret_clear[kind] = field, status, clear
        self.no_secrets_hint = _hint("The offline sandbox needs no secrets.", "noSecretsHint")

        self.keyring_status = _hint(self.secrets.status.message, "keyringStatus")
        self.keyring_status.setProperty("available", "true" if self.secrets.status.available else "false")
        self.keyring_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.error = _hint("", "settingsError")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        self.saved = QLabel(objectName="settingsSaved")
        self.discard_button = QPushButton("Discard changes", objectName="discardChangesButton")
        self.discard_button.setAutoDefault(False)
        self.discard_button.clicked.connect(self._discard)
        self.save_button = QPushButton("Save", objectName="saveSettingsButton")
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self._save)
        actions = QHBoxLayout()
        actions.addWidget(self.saved, 1)
        actions.addWidget(self.discard_button)
        actions.addWidget(self.save_button)

        column = QVBoxLayout()
        column.setSpacing(8)
        column.addLayout(title_row)
        column.addWidget(self.kind_hint)
        column.addSpacing(6)
        column.addLayout(fields)
        column.addSpacing(10)
        column.addWidget(_section("Connect parameters"))
        column.addWidget(self.parameters)
        column.addLayout(parameter_buttons)
        column.addSpacing(10)
        column.addWidget(_section("Secrets"))
        column.addWidget(self.secrets_box)
        column.addWidget(self.no_secrets_hint)
        column.addWidget(self.keyring_status)
        column.addStretch(1)
        column.addSpacing(4)
        column.addWidget(self.error)
        column.addLayout(actions)
        return column

    def _build_footer(self) -> QFrame:
        footer = QFrame(objectName="settingsFooter")
        self.data_directory = QLabel(home_relative(self.data_dir), objectName="dataDirectory")
        self.data_directory.setTextFormat(Qt.TextFormat.PlainText)
        self.data_directory.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.data_directory.setWordWrap(True)
        self.data_directory.setToolTip("The settings file and each environment's cache are in this folder.")
        open_folder = QPushButton("Open folder", objectName="openDataDirectoryButton")
        open_folder.setAutoDefault(False)
        open_folder.clicked.connect(self._open_data_directory)
        close = QPushButton("Close", objectName="closeSettingsButton")
        close.setAutoDefault(False)
        close.clicked.connect(self.accept)
        row = QHBoxLayout(footer)
        row.setContentsMargins(0, 14, 0, 0)
        row.setSpacing(10)
        name = QLabel("Data directory")
        name.setProperty("role", "section")
        row.addWidget(name)
        row.addWidget(self.data_directory, 1)
        row.addWidget(open_folder)
        row.addSpacing(24)
        row.addWidget(close)
        return footer

    # -- asking --------------------------------------------------------------------------------------

    @classmethod
    async def ask(
        cls,
        parent: QWidget | None,
        settings: Settings,
        secrets: SecretStore,
        data_dir: Path,
        *,
        busy: Callable[[], str | None] | None = None,
    ) -> bool:
        """Show the settings until the agent closes them; True when something was saved. `busy`
        says why the environment in use cannot change now (a sync runs), or None."""
        dialog = cls(settings, secrets, data_dir, parent, busy=busy)
        try:
            await open_and_wait(dialog)
            return dialog.changed
        finally:
            if shiboken6.isValid(dialog):
                dialog.deleteLater()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._sized:  # once the style sheet is applied: it decides how tall a field is
            self._sized = True
            self.resize(self.sizeHint().expandedTo(QSize(_MIN_WIDTH, 700)))
        self._fit()

    def _fit(self) -> None:
        """At least as tall as the content needs at the minimum width. A window's minimum size
        ignores how tall word-wrapped labels get, and the fields would be squeezed together."""
        if not self.isVisible():
            return
        self.layout().activate()
        height = self.layout().totalHeightForWidth(_MIN_WIDTH)
        if height > 0:
            self.setMinimumHeight(height)
            if self.height() < height:
                self.resize(self.width(), height)

    # -- the list ------------------------------------------------------------------------------------

    def _fill_list(self, select: str | None) -> None:
        """List the environments and select the one whose slug is `select` (None: a new one)."""
        self.environment_list.blockSignals(True)
        self.environment_list.clear()
        active = self.settings.active.slug
        chosen = None
        for environment in self.settings.environments():
            label = "API by URL" if environment.custom_api_url is not None else _KIND_LABELS[environment.kind]
            detail = label + (" · in use" if environment.slug == active else "")
            item = QListWidgetItem(f"{environment.name}\n{detail}")
            item.setData(Qt.ItemDataRole.UserRole, environment.slug)
            self.environment_list.addItem(item)
            if environment.slug == select:
                chosen = item
        if select is None:
            chosen = QListWidgetItem("New private instance\nNot saved yet")
            self.environment_list.addItem(chosen)
        self.environment_list.blockSignals(False)
        self.environment_list.setCurrentItem(chosen or self.environment_list.item(0))
        self._on_selected(self.environment_list.currentItem())

    @Slot()
    def _on_selected(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None = None) -> None:
        if item is None:
            return
        slug = item.data(Qt.ItemDataRole.UserRole)
        environment = next((e for e in self.settings.environments() if e.slug == slug), None)
        self._show_environment(environment)

    @Slot()
    def _add_environment(self) -> None:
        self._fill_list(select=None)
        self._set_dirty(True)
        self.name_input.setFocus()

    # -- the form ------------------------------------------------------------------------------------

    def _show_environment(self, environment: Environment | None) -> None:
        """Fill the form with `environment` (None: an empty one to add), with nothing to save."""
        self._loading = True
        self._hide_error()
        self.saved.clear()
        for field in (self.name_input, self.instance_input, self.customer_input):
            self._mark_invalid(field, False)  # what the last Save found wrong was of another form
        self._environment = environment
        kind = environment.kind if environment else "private"
        editable = kind == "private"
        self.form_title.setText(environment.name if environment else "New private instance")
        self.kind_hint.setText(_KIND_HINTS[kind] if environment else _NEW_HINT)

        self.name_input.setText(environment.name if environment else "")
        by_url = environment is not None and environment.custom_api_url is not None
        if kind == "sandbox":
            self.instance_input.setText("runs on this computer")
        elif by_url:  # a server known by its URL (added with `flinks-desktop env add`): show where
            self.instance_input.setText(environment.api_url)
        else:
            self.instance_input.setText(environment.instance or "" if environment else "")
        self.instance_host.setVisible(kind != "sandbox" and not by_url)
        self.customer_input.setText(environment.customer_id if environment else "")
        self.statements_check.setChecked(environment.statements_enabled if environment else True)
        days = environment.days_of_transactions if environment else "Days90"
        self.days_combo.setCurrentIndex(self.days_combo.findData(days))
        self._show_wait_limit(environment.wait_limit if environment else DEFAULT_WAIT_LIMIT)
        self.name_input.setReadOnly(not editable)
        self.instance_input.setReadOnly(environment is not None)
        self.customer_input.setReadOnly(environment is not None)
        self.statements_check.setEnabled(editable)
        self.days_combo.setEnabled(editable)
        self.wait_input.setReadOnly(not editable)
        self.wait_unit.setEnabled(editable)

        self.parameters.setRowCount(0)
        for name, value in environment.connect_parameters.items() if environment else ():
            self._append_parameter(name, value)
        self.parameters.setEditTriggers(_EDIT_TRIGGERS if editable else QAbstractItemView.EditTrigger.NoEditTriggers)
        self.parameters.setEnabled(editable)
        self.parameters_hint.setText(_PARAMETERS_HINT if editable else _BUILT_IN_PARAMETERS_HINT)
        # A built-in's parameters cannot be changed: no table or buttons for it, a sentence instead.
        self.parameters.setVisible(editable or self.parameters.rowCount() > 0)
        self.add_parameter_button.setVisible(editable)
        self.remove_parameter_button.setVisible(editable)

        self.remove_button.setEnabled(
            environment is not None and editable and environment.slug != self.settings.active.slug
        )

        takes_secrets = kind != "sandbox"
        self.secrets_box.setVisible(takes_secrets)
        self.no_secrets_hint.setVisible(not takes_secrets)
        for field in self.secret_inputs.values():
            field.clear()
        self._show_secret_status()
        self._loading = False
        self._fit()
        self._set_dirty(environment is None)

    def _show_secret_status(self) -> None:
        """ "set" or "not set" next to each secret, never its value."""
        for kind in SECRET_FIELDS:
            state = "not set"
            if self._environment is not None and self._environment.kind != "sandbox":
                try:
                    state = "set" if self.secrets.is_set(self._environment, kind) else "not set"
                except SecretStoreError as error:
                    state = "unknown"
                    self._show_error(str(error))
            self.secret_status[kind].setText(state)
            self.secret_status[kind].setProperty("state", state.replace(" ", "-"))
            _repolish(self.secret_status[kind])
            self.secret_clear[kind].setEnabled(state == "set")

    def _show_wait_limit(self, seconds: int) -> None:
        """In minutes when it is whole minutes (as a person thinks of it), else in seconds."""
        unit = "minutes" if seconds % 60 == 0 else "seconds"
        self.wait_input.setText(str(seconds // WAIT_UNITS[unit]))
        self.wait_unit.setCurrentIndex(self.wait_unit.findData(unit))

    def _form_wait_limit(self) -> int:
        """The wait typed in, in seconds. Raises SettingsError with a sentence when it is not a
        whole number of the unit chosen, or is out of range."""
        text = self.wait_input.text().strip()
        unit = self.wait_unit.currentData()
        if not text:
            raise SettingsError("Give how long to wait for Flinks, such as 30 minutes.")
        if not re.fullmatch(r"[0-9]{1,9}", text):
            example = "30" if unit == "minutes" else "90"
            raise SettingsError(
                f"“{text}” is not a whole number of {unit}: give one such as {example}"
                + (", or choose seconds." if unit == "minutes" else ".")
            )
        seconds = int(text) * WAIT_UNITS[unit]
        if not 1 <= seconds <= LONGEST_WAIT_LIMIT:
            raise SettingsError(
                f"The wait for Flinks must be from 1 second to 24 hours "
                f"({LONGEST_WAIT_LIMIT // 60:,} minutes); {text} {unit} is not."
            )
        return seconds

    def _form_connect_parameters(self) -> dict[str, str]:
        """The table's parameters; empty rows are left out. Raises SettingsError for a repeated name."""
        parameters: dict[str, str] = {}
        for row in range(self.parameters.rowCount()):
            name = _cell_text(self.parameters, row, 0).strip()
            value = _cell_text(self.parameters, row, 1).strip()
            if not name and not value:
                continue
            if name in parameters:
                raise SettingsError(f'The Connect parameter "{name}" is given twice: keep one.')
            parameters[name] = value
        return parameters

    @Slot()
    def _add_parameter(self) -> None:
        self._append_parameter("", "")
        row = self.parameters.rowCount() - 1
        self.parameters.setCurrentCell(row, 0)
        self.parameters.editItem(self.parameters.item(row, 0))
        self._mark_dirty()

    def _append_parameter(self, name: str, value: str) -> None:
        row = self.parameters.rowCount()
        self.parameters.insertRow(row)
        self.parameters.setItem(row, 0, QTableWidgetItem(name))
        self.parameters.setItem(row, 1, QTableWidgetItem(value))

    @Slot()
    def _remove_parameter(self) -> None:
        rows = sorted({index.row() for index in self.parameters.selectedIndexes()}, reverse=True)
        if not rows and self.parameters.currentRow() >= 0:
            rows = [self.parameters.currentRow()]
        for row in rows:
            self.parameters.removeRow(row)
        if rows:
            self._mark_dirty()

    # -- saving --------------------------------------------------------------------------------------

    def _refused_while_busy(self, environment: Environment | None) -> bool:
        """Show why the environment in use cannot change now, if it cannot; True then."""
        reason = self._busy() if environment is not None and environment.slug == self.settings.active.slug else None
        if reason:
            self._show_error(reason)
        return bool(reason)

    @Slot()
    def _save(self) -> None:
        self._hide_error()
        self.saved.clear()
        if self._refused_while_busy(self._environment):
            return
        if self._said_what_is_wrong():
            return
        try:
            environment = self._save_environment()
        except SettingsError as error:
            self._show_error(str(error))
            return
        self.changed = True
        failed = self._save_secrets(environment)
        self._fill_list(select=environment.slug)  # the form shows what was saved, with nothing to save
        if failed:
            self._show_error(failed)
        else:
            self.saved.setText("Saved.")

    def _said_what_is_wrong(self) -> bool:
        """Check a private instance's fields all at once: each one wrong is marked, every sentence
        is said under the form, and the first such field has the focus. True when any was wrong."""
        current = self._environment
        if current is not None and current.kind != "private":
            return False  # a built-in: only its secrets change
        new = current is None
        problems = self.settings.private_problems(
            self.name_input.text(),
            self.instance_input.text() if new else None,
            self.customer_input.text() if new else None,
            renaming=None if new else current.name,
        )
        fields = {"name": self.name_input, "instance": self.instance_input, "customer_id": self.customer_input}
        for key, field in fields.items():
            self._mark_invalid(field, key in problems)
        if not problems:
            return False
        self._show_error("\n".join(problems[key] for key in fields if key in problems))
        fields[next(key for key in fields if key in problems)].setFocus()
        return True

    def _mark_invalid(self, field: QLineEdit, invalid: bool) -> None:
        if bool(field.property("invalid")) == invalid:
            return
        field.setProperty("invalid", invalid)
        field.setAccessibleDescription("This field is not valid: see the message under the form." if invalid else "")
        _repolish(field)

    def _save_environment(self) -> Environment:
        """Apply the form to `Settings` and write the file; on any failure, memory is as it was."""
        current = self._environment
        if current is not None and current.kind != "private":
            return current  # a built-in: only its secrets change
        parameters = self._form_connect_parameters()
        wait = self._form_wait_limit()
        statements = self.statements_check.isChecked()
        days = self.days_combo.currentData()
        if current is None:
            added = self.settings.add_private(
                self.name_input.text(),
                self.instance_input.text(),
                self.customer_input.text(),
                connect_parameters=parameters,
                statements_enabled=statements,
                days_of_transactions=days,
                wait_limit=wait,
            )
            return self._write(added, undo=lambda: self.settings.remove_private(added.name))
        updated = self.settings.update_private(
            current.name,
            new_name=self.name_input.text(),
            connect_parameters=parameters,
            statements_enabled=statements,
            days_of_transactions=days,
            wait_limit=wait,
        )
        return self._write(
            updated,
            undo=lambda: self.settings.update_private(
                updated.name,
                new_name=current.name,
                connect_parameters=current.connect_parameters,
                statements_enabled=current.statements_enabled,
                days_of_transactions=current.days_of_transactions,
                wait_limit=current.wait_limit,
            ),
        )

    def _write(self, environment: Environment, undo: Callable[[], object]) -> Environment:
        try:
            self.settings.save()
        except SettingsError:
            undo()
            raise
        return environment

    def _save_secrets(self, environment: Environment) -> str | None:
        """Keep the secrets typed in, then forget the fields. The first failure's sentence, if any."""
        if environment.kind == "sandbox":
            return None
        failure = None
        for kind, field in self.secret_inputs.items():
            if not field.text().strip():
                continue
            try:
                self.secrets.set(environment, kind, field.text())
            except SecretStoreError as error:
                failure = failure or str(error)
                continue
            field.clear()
        return failure

    @Slot()
    def _clear_secret(self, kind: SecretKind) -> None:
        if self._environment is None:
            return
        self._hide_error()
        if self._refused_while_busy(self._environment):
            return
        try:
            self.secrets.delete(self._environment, kind)
        except SecretStoreError as error:
            self._show_error(str(error))
            return
        self.changed = True
        self._show_secret_status()
        self.saved.setText(f"The {SECRET_LABELS[kind]} was cleared.")

    @Slot()
    def _use_environment(self) -> None:
        """Make the selected environment the one in use; the window switches once the dialog closes."""
        if self._environment is None or self._dirty:
            return
        self._hide_error()
        if self._refused_while_busy(self.settings.active):
            return
        previous = self.settings.active
        try:
            self.settings.set_active(self._environment.name)
            self.settings.save()
        except SettingsError as error:
            self.settings.set_active(previous.name)
            self._show_error(str(error))
            return
        self.changed = True
        self._fill_list(select=self._environment.slug)
        self.saved.setText(f"“{self._environment.name}” will be in use when the settings close.")

    @Slot()
    def _ask_remove_environment(self) -> None:
        environment = self._environment
        if environment is None or environment.kind != "private":
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove environment",
            f"Remove “{environment.name}” from the environments? Its secrets are deleted from "
            "the keyring. Its cached connections stay on disk, in its folder of the data "
            "directory, until you delete them.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("removeEnvironmentBox")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.button(QMessageBox.StandardButton.Yes).setText("Remove")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(
            lambda code: self._remove_environment(environment) if code == QMessageBox.StandardButton.Yes.value else None
        )
        box.open()

    def _remove_environment(self, environment: Environment) -> None:
        self._hide_error()
        try:
            removed = self.settings.remove_private(environment.name)
        except SettingsError as error:
            self._show_error(str(error))
            return
        try:
            self.settings.save()
        except SettingsError as error:
            self.settings._private.append(removed)  # noqa: SLF001 — memory as the file still has it
            self._show_error(str(error))
            return
        self.changed = True
        try:
            self.secrets.forget(removed)
        except SecretStoreError as error:
            self._show_error(f"“{removed.name}” was removed, but {error}")
        self._fill_list(select=self.settings.active.slug)
        self.saved.setText(f"“{removed.name}” was removed.")

    @Slot()
    def _discard(self) -> None:
        slug = self._environment.slug if self._environment else self.settings.active.slug
        self._fill_list(select=slug)

    # -- state ---------------------------------------------------------------------------------------

    @Slot()
    def _mark_dirty(self, *_args) -> None:
        if not self._loading:
            self._set_dirty(True)
            self.saved.clear()

    def _set_dirty(self, dirty: bool) -> None:
        self._dirty = dirty
        in_use = self._environment is not None and self._environment.slug == self.settings.active.slug
        self.use_button.setEnabled(not dirty and self._environment is not None and not in_use)
        self.use_button.setText("In use" if in_use else "Use this environment")
        self.environment_list.setEnabled(not dirty)
        self.add_button.setEnabled(not dirty)
        self.locked_hint.setVisible(dirty)
        self.discard_button.setEnabled(dirty)
        self.save_button.setEnabled(dirty)

    def _show_error(self, sentence: str) -> None:
        self.error.setText(sentence)
        self.error.show()
        self._fit()

    def _hide_error(self) -> None:
        self.error.clear()
        self.error.hide()

    @Slot()
    def _open_data_directory(self) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.data_dir))):
            self._show_error(
                "The folder could not be opened from here: copy its path above and open it in a file manager."
            )


def _section(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "section")
    return label


def _hint(text: str, object_name: str) -> QLabel:
    label = QLabel(text, objectName=object_name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setProperty("role", "hint")
    return label


def _cell_text(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    return item.text() if item is not None else ""


def _repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def home_relative(path: Path) -> str:
    """ "~/.local/share/flinks-desktop" rather than the whole home path: shorter, and what a person
    recognises as theirs."""
    try:
        return str(Path("~") / path.resolve().relative_to(Path.home().resolve()))
    except ValueError:  # not under the home folder
        return str(path)
