"""The main window by keyboard alone, as a support agent who never takes the mouse works it: Tab
walks every control of the connection's page in reading order and comes back to the search; a
table is one stop (the arrows move inside it, Tab leaves it) rather than a trap of one stop per
cell; Shift+Tab walks the same way back. Each stop has a name a screen reader can say (Qt's
accessibility interface, as assistive technology reads it), not only a placeholder or a tooltip."""

from __future__ import annotations

import pytest
from focus_walk import spoken_name, walk
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QTableView, QTabWidget, QTreeWidget, QWidget

from flinks_desktop.testing import ConnectPage, login_made_elsewhere

#: What every connection tab starts with: the connections panel, the connection's actions, its tabs.
COMMON = [
    "connectionSearch",
    "statusFilter",
    "institutionFilter",
    "syncedFilter",
    "connectionsList",
    "refreshButton",
    "liveRefreshButton",
    "exportButton",
    "deleteCardButton",
    "qt_tabwidget_tabbar",
]
#: Then each tab's own controls, in the order they are read.
TABS = {
    "Accounts": ["accountsTable"],
    # A date field is a stop per part (year, month, day), as Qt's date fields are everywhere.
    "Transactions": [
        "transactionSearch",
        "transactionAccountFilter",
        "transactionPeriod",
        "transactionFrom",
        "transactionTo",
        "transactionsTable",
    ],
    "Statements": [
        "statementsList",
        "saveStatementButton",
        "statementViewer",
        "zoomOutButton",
        "zoomInButton",
        "fitWidthButton",
        "fitPageButton",
    ],
    "Activity": ["activityFilterAll", "reloadActivityButton", "activityTable", "activityDetail"],
}


@pytest.fixture
def connected(qtbot, make_window):
    """The main window with a loginId made elsewhere opened in it, its accounts on screen."""
    window = make_window()
    window.activateWindow()
    window.look_up_login(login_made_elsewhere(window.session.sandbox))
    accounts = window.findChild(QTableView, "accountsTable")
    qtbot.waitUntil(lambda: accounts.model().rowCount() == 4, timeout=15_000)
    return window


def current_tab(tabs: QTabWidget) -> str:
    return tabs.tabText(tabs.currentIndex()).replace("&", "")


def test_tab_walks_each_tab_of_a_connection_and_comes_back(qtbot, connected):
    window = connected
    search = window.findChild(QLineEdit, "connectionSearch")
    tabs = window.findChild(QTabWidget, "connectionTabs")

    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        name = current_tab(tabs)
        if name == "Statements":  # with a statement open: its actions and the page itself
            statements = window.findChild(QTreeWidget, "statementsList")
            qtbot.waitUntil(lambda: statements.topLevelItemCount() > 0, timeout=5_000)
            statements.setCurrentItem(statements.topLevelItem(0).child(0))
            qtbot.waitUntil(lambda: window.findChild(QWidget, "statementViewer").isVisible(), timeout=5_000)
        if name == "Activity":
            activity = window.findChild(QTableView, "activityTable")
            qtbot.waitUntil(lambda: activity.isVisible() and activity.model().rowCount() > 0, timeout=5_000)
        expected = COMMON[1:] + TABS[name]
        assert walk(qtbot, search, Qt.Key.Key_Tab) == expected, name
        assert walk(qtbot, search, Qt.Key.Key_Backtab) == expected[::-1], name


def test_arrows_move_between_rows_and_tab_leaves_the_table(qtbot, connected):
    window = connected
    table = window.findChild(QTableView, "accountsTable")
    table.setFocus()
    table.setCurrentIndex(table.model().index(0, 0))
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentIndex().row() == 2
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is window.findChild(QLineEdit, "connectionSearch")


def test_ctrl_tab_switches_tabs_from_inside_one(qtbot, connected):
    table = connected.findChild(QTableView, "accountsTable")
    tabs = connected.findChild(QTabWidget, "connectionTabs")
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert current_tab(tabs) == "Transactions"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert current_tab(tabs) == "Statements"
    back = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab, back)
    assert current_tab(tabs) == "Transactions"


def test_the_welcome_page_by_keyboard(qtbot, make_window):
    window = make_window()  # a first start: the welcome page
    window.activateWindow()
    connect = window.findChild(QWidget, "connectButton")
    assert walk(qtbot, connect, Qt.Key.Key_Tab) == [
        "welcomeLoginId",
        "welcomeLookUpButton",
        "welcomeOpenLoginIdsButton",
    ]
    assert spoken_name(window.findChild(QLineEdit, "welcomeLoginId")) == "Customer's loginId"


def test_connect_takes_the_keyboard_when_it_opens(qtbot, make_window):
    window = make_window()
    window.activateWindow()
    button = window.findChild(QWidget, "connectButton")
    button.setFocus()
    qtbot.keyClick(button, Qt.Key.Key_Space)  # Connect an account, by keyboard
    page = ConnectPage(qtbot, window)
    assert page.wait_for_screen("consent") == "consent"
    # Focus is in Connect's page (not on the timeline beside it), inside Connect's own frame.
    view = window.findChild(QWidget, "connectWebView")
    qtbot.waitUntil(lambda: view.isAncestorOf(QApplication.focusWidget()), timeout=5_000)
    assert page.js("document.hasFocus()") is True
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: page.js("document.activeElement.id") == "consent-accept", timeout=5_000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)  # Allow access, by keyboard
    assert page.wait_for_screen("institutions") == "institutions"


def shows_focus(qtbot, widget: QWidget, elsewhere: QWidget) -> bool:
    """Whether `widget` looks different with the keyboard's focus than without it."""
    elsewhere.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(elsewhere.hasFocus)
    without = widget.grab().toImage()
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(widget.hasFocus)
    return widget.grab().toImage() != without


def test_every_stop_shows_where_the_focus_is(qtbot, connected):
    """A person on the keyboard sees where Tab went: the white buttons, the red one, the blue
    (checked) filter and the selected connection's card each look different with the focus."""
    window = connected
    search = window.findChild(QLineEdit, "connectionSearch")
    tabs = window.findChild(QTabWidget, "connectionTabs")
    tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == "Activity"))
    activity = window.findChild(QTableView, "activityTable")
    qtbot.waitUntil(lambda: activity.isVisible() and activity.model().rowCount() > 0, timeout=5_000)
    names = ["connectionsList", "refreshButton", "exportButton", "deleteCardButton"]
    names += ["activityFilterAll", "reloadActivityButton"]
    for name in names:
        assert shows_focus(qtbot, window.findChild(QWidget, name), search), name

    # The Statements tab's Save as… (blue), and the link-like Clear filters of the connections.
    tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == "Statements"))
    statements = window.findChild(QTreeWidget, "statementsList")
    qtbot.waitUntil(lambda: statements.topLevelItemCount() > 0, timeout=5_000)
    statements.setCurrentItem(statements.topLevelItem(0).child(0))
    save = window.findChild(QWidget, "saveStatementButton")
    qtbot.waitUntil(save.isVisible, timeout=5_000)
    assert shows_focus(qtbot, save, search)
    search.setText("no connection is called this")  # a filter on: Clear filters shows
    clear = window.findChild(QWidget, "clearConnectionFilters")
    qtbot.waitUntil(clear.isVisible)
    assert shows_focus(qtbot, clear, search)


def test_the_welcome_page_s_buttons_show_the_focus(qtbot, make_window):
    window = make_window()
    window.activateWindow()
    field = window.findChild(QLineEdit, "welcomeLoginId")
    for name in ("connectButton", "welcomeLookUpButton", "welcomeOpenLoginIdsButton"):
        assert shows_focus(qtbot, window.findChild(QWidget, name), field), name
