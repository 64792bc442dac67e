"""The connections panel driven as support staff use it: search (pasted loginIds, usernames, banks,
states, error codes, tags), the state / bank / last-sync filters, the counts, copying a loginId.

Real widgets offscreen (pytest-qt); the logins are LoginRow values, no cache needed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QAccessible, QAction, QContextMenuEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QMenu, QPushButton

from flinks_desktop.core.store import LoginRow
from flinks_desktop.ui.connections import (
    LOGIN_ROLE,
    ConnectionDelegate,
    ConnectionsPanel,
    looks_like_login_id,
    normalise_query,
)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

GREATDAY = "152b925b-22ef-4c5c-a1f0-3b1d2e4c9a01"
NOMFA = "b0debb48-7e6a-4d2c-9f0e-08d7dd88d478"
EDOUARD = "9a1c3f20-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
DISABLED = "0f0e0d0c-0b0a-4909-8807-060504030201"
NEWCOMER = "11112222-3333-4444-5555-666677778888"
DELETED = "aaaabbbb-cccc-4ddd-8eee-ffff00001111"


def login(
    login_id: str,
    institution: str,
    username: str | None,
    status: str = "ok",
    *,
    synced: timedelta | None,
    error_code: str | None = None,
    tag: str | None = None,
    added_days: int = 0,
) -> LoginRow:
    return LoginRow(
        id=login_id,
        institution=institution,
        environment="sandbox",
        username=username,
        type=None,
        is_scheduled_refresh=None,
        last_refresh=None,
        synced_at=None if synced is None else NOW - synced,
        status=status,
        status_at=None if status == "ok" else NOW - timedelta(hours=3),
        error_code=error_code,
        error_message=None if error_code is None else f"Flinks said {error_code}",
        added_at=NOW - timedelta(days=100 - added_days),
        tag=tag,
    )


LOGINS = [
    login(GREATDAY, "FlinksCapital", "Greatday", synced=timedelta(minutes=5), tag="ticket-123", added_days=6),
    login(NOMFA, "FlinksCapital", "greatday_nomfa", synced=timedelta(hours=30), added_days=5),
    login(
        EDOUARD,
        "Desjardins",
        "Édouard.Tremblay",
        "needs_mfa",
        synced=timedelta(days=2),
        error_code="SECURITY_QUESTION",
        tag="customer-8841 onboarding",
        added_days=4,
    ),
    login(
        DISABLED,
        "RBC",
        "test_disabled_account",
        "error",
        synced=timedelta(days=12),
        error_code="DISABLED_LOGIN",
        added_days=3,
    ),
    login(NEWCOMER, "FlinksCapital", "newcustomer", synced=None, added_days=2),
    login(
        DELETED,
        "BanqueNationale",
        "jdoe",
        "deleted",
        synced=timedelta(days=40),
        error_code="INVALID_LOGIN",
        added_days=1,
    ),
]


@pytest.fixture
def panel(qtbot):
    widget = ConnectionsPanel(now=lambda: NOW)
    qtbot.addWidget(widget)
    widget.resize(320, 700)
    widget.set_logins(LOGINS)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def shown_ids(panel: ConnectionsPanel) -> list[str]:
    return [panel.filter.index(row, 0).data(LOGIN_ROLE).id for row in range(panel.filter.rowCount())]


def counts_text(panel: ConnectionsPanel) -> str:
    return panel.findChild(QLabel, "statusCounts").text().replace("\u00a0", " ")


def choose(combo: QComboBox, data) -> None:
    index = combo.findData(data)
    assert index >= 0, f"{combo.objectName()} has no choice {data!r}"
    combo.setCurrentIndex(index)


# -- the helpers the window uses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (GREATDAY, GREATDAY),
        (f"  {GREATDAY}  \n", GREATDAY),
        (f'"{GREATDAY}"', GREATDAY),
        (f"'{GREATDAY}'", GREATDAY),
        (f"\u201c{GREATDAY}\u201d", GREATDAY),
        (f"loginId={GREATDAY}", GREATDAY),
        (f"LoginId: {GREATDAY}", GREATDAY),
        (f'"loginId": "{GREATDAY}",', GREATDAY),
        (f"https://example.com/done?loginId={GREATDAY}&institution=FlinksCapital", GREATDAY),
        (f"\u200b{GREATDAY.upper()}\r\n", GREATDAY.upper()),
        ("152b925b\u201322ef", "152b925b-22ef"),  # an en dash from a document
        ("  Flinks   Capital ", "Flinks Capital"),
        ("", ""),
    ],
)
def test_normalise_query_removes_what_a_paste_carries(text, expected):
    assert normalise_query(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (GREATDAY, GREATDAY),
        (GREATDAY.upper(), GREATDAY),
        (f' "loginId={GREATDAY.upper()}"\n', GREATDAY),
        ("152b925b-22ef", None),
        (GREATDAY.replace("-", ""), None),
        (GREATDAY + "0", None),
        (GREATDAY.replace("a", "g"), None),
        ("Greatday", None),
        ("", None),
    ],
)
def test_looks_like_login_id_accepts_only_a_whole_guid(text, expected):
    assert looks_like_login_id(text) == expected


# -- search ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (GREATDAY, [GREATDAY]),  # the whole loginId, dashes and all
        ("152b925b-22ef", [GREATDAY]),  # its beginning
        ("4a5b", [EDOUARD]),  # its end
        (GREATDAY.upper(), [GREATDAY]),
        (f'  "{GREATDAY}"\n', [GREATDAY]),
        (f"loginId={NOMFA}", [NOMFA]),
        (GREATDAY.replace("-", ""), [GREATDAY]),  # without its dashes
        ("greatday", [GREATDAY, NOMFA]),  # a username (both contain it)
        ("GREATDAY_NOMFA", [NOMFA]),
        ("edouard", [EDOUARD]),  # accents ignored
        ("Édouard", [EDOUARD]),
        ("Flinks Capital", [GREATDAY, NOMFA, NEWCOMER]),  # the bank's name
        ("FlinksCapital", [GREATDAY, NOMFA, NEWCOMER]),  # its institution id
        ("flinkscapital greatday", [GREATDAY, NOMFA]),  # every word must match
        ("Desjardins", [EDOUARD]),
        ("error", [DISABLED]),  # a state, by its value or label
        ("needs_mfa", [EDOUARD]),
        ("Needs MFA", [EDOUARD]),
        ("pending", [NEWCOMER]),  # never synced
        ("deleted", [DELETED]),
        ("disabled_login", [DISABLED]),  # the error code
        ("SECURITY_QUESTION", [EDOUARD]),
        ("ticket-123", [GREATDAY]),  # the Connect tag
        ("TICKET", [GREATDAY]),
        ("onboarding 8841", [EDOUARD]),
        ("nobody-here", []),
        ("", [GREATDAY, NOMFA, EDOUARD, DISABLED, NEWCOMER, DELETED]),
    ],
)
def test_search_matches_every_word_on_every_field(qtbot, panel, text, expected):
    panel.search.setText(text)
    assert shown_ids(panel) == expected
    total = len(LOGINS)
    assert panel.count.text() == (
        f"{total} connections" if len(expected) == total else f"{len(expected)} of {total} connections"
    )


def test_the_search_is_no_regular_expression(panel):
    """The old filter compared the regex-escaped text: "Flinks\\ Capital" matched nothing."""
    panel.search.setText("Flinks Capital")
    assert panel.filter.query == "Flinks Capital"
    assert panel.filter.filterRegularExpression().pattern() == ""
    assert panel.filter.rowCount() == 3


def test_a_pasted_login_id_selects_its_connection(qtbot, panel):
    assert panel.current_login_id() == ""
    with qtbot.waitSignal(panel.selected, timeout=1000) as signal:
        panel.search.setText(f' "loginId={EDOUARD.upper()}"\n')
    assert signal.args == [EDOUARD]
    assert panel.current_login_id() == EDOUARD
    assert panel.current_login().username == "Édouard.Tremblay"


def test_a_login_id_hidden_by_the_filters_is_found_when_pasted(qtbot, panel):
    choose(panel.state_filter, "error")
    choose(panel.institution_filter, "RBC")
    choose(panel.synced_filter, "never")
    assert shown_ids(panel) == []
    panel.search.setText(GREATDAY)
    assert panel.current_login_id() == GREATDAY
    assert shown_ids(panel) == [GREATDAY]
    assert [c.currentIndex() for c in (panel.state_filter, panel.institution_filter, panel.synced_filter)] == [0, 0, 0]


def test_a_unique_match_is_selected_and_several_are_not(qtbot, panel):
    panel.search.setText("flinks")
    assert panel.filter.rowCount() == 3 and panel.current_login_id() == ""
    panel.search.setText("flinks newcustomer")
    assert panel.current_login_id() == NEWCOMER


def test_clearing_the_search_of_a_single_connection_does_not_select_it(qtbot):
    widget = ConnectionsPanel(now=lambda: NOW)
    qtbot.addWidget(widget)
    widget.set_logins([LOGINS[1]])
    widget.search.setText("zzz")
    assert widget.filter.rowCount() == 0
    widget.search.setText("")
    assert widget.filter.rowCount() == 1 and widget.current_login_id() == ""
    assert widget.count.text() == "1 connection"


def test_an_unknown_login_id_offers_to_look_it_up_at_flinks(qtbot, panel):
    unknown = "00000000-0000-4000-8000-00000000ABCD"
    asked: list[str] = []
    panel.lookUpRequested.connect(asked.append)
    panel.search.setText(f" '{unknown}'\n")
    empty = panel.findChild(QLabel, "connectionsEmpty")
    button = panel.findChild(QPushButton, "lookUpLoginButton")
    assert panel.filter.rowCount() == 0 and empty.isVisible() and button.isVisible()
    assert empty.text().startswith("This loginId is not on this computer yet.")
    qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert asked == [unknown.lower()] * 2

    panel.search.setText("nobody-here")
    assert empty.text() == "No connection matches the search and filters."
    assert not button.isVisible()
    qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    assert len(asked) == 2  # not a loginId: nothing to look up
    panel.search.clear()
    assert not empty.isVisible()


def test_enter_on_a_login_id_in_the_list_selects_it_without_asking(qtbot, panel):
    asked: list[str] = []
    panel.lookUpRequested.connect(asked.append)
    login_id = panel.model.logins[-1].id
    panel.list.clearSelection()
    panel.search.setText(login_id.upper())
    qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    assert panel.current_login_id() == login_id and asked == []
    assert not panel.findChild(QPushButton, "lookUpLoginButton").isVisible()


# -- filters and counts ----------------------------------------------------------------------------


def test_the_filters_offer_states_the_banks_present_and_sync_times(panel):
    states = panel.findChild(QComboBox, "statusFilter")
    banks = panel.findChild(QComboBox, "institutionFilter")
    synced = panel.findChild(QComboBox, "syncedFilter")
    assert [states.itemText(i) for i in range(states.count())] == [
        "Any status",
        "OK",
        "Needs MFA",
        "Error",
        "Pending",
        "Deleted",
    ]
    assert [banks.itemText(i) for i in range(banks.count())] == [
        "Any bank",
        "BanqueNationale",
        "Desjardins",
        "Flinks Capital",
        "RBC",
    ]
    assert banks.itemData(3) == "FlinksCapital"
    assert [synced.itemText(i) for i in range(synced.count())] == [
        "Any time",
        "Last 24 hours",
        "Last 7 days",
        "Older than 7 days",
        "Never synced",
    ]


@pytest.mark.parametrize(
    "state, expected",
    [
        ("ok", [GREATDAY, NOMFA]),  # a login never synced is not OK yet: it is pending
        ("needs_mfa", [EDOUARD]),
        ("error", [DISABLED]),
        ("pending", [NEWCOMER]),
        ("deleted", [DELETED]),
        (None, [GREATDAY, NOMFA, EDOUARD, DISABLED, NEWCOMER, DELETED]),
    ],
)
def test_state_filter(panel, state, expected):
    choose(panel.state_filter, state)
    assert shown_ids(panel) == expected


@pytest.mark.parametrize(
    "institution, expected",
    [
        ("FlinksCapital", [GREATDAY, NOMFA, NEWCOMER]),
        ("Desjardins", [EDOUARD]),
        ("RBC", [DISABLED]),
    ],
)
def test_institution_filter(panel, institution, expected):
    choose(panel.institution_filter, institution)
    assert shown_ids(panel) == expected


@pytest.mark.parametrize(
    "choice, expected",
    [
        ("24h", [GREATDAY]),
        ("7d", [GREATDAY, NOMFA, EDOUARD]),
        ("older", [DISABLED, DELETED]),
        ("never", [NEWCOMER]),
        ("any", [GREATDAY, NOMFA, EDOUARD, DISABLED, NEWCOMER, DELETED]),
    ],
)
def test_last_sync_filter(panel, choice, expected):
    choose(panel.synced_filter, choice)
    assert shown_ids(panel) == expected


def test_filters_combine_with_each_other_and_the_search(panel):
    choose(panel.institution_filter, "FlinksCapital")
    assert shown_ids(panel) == [GREATDAY, NOMFA, NEWCOMER]
    panel.search.setText("greatday")
    assert shown_ids(panel) == [GREATDAY, NOMFA]
    choose(panel.synced_filter, "24h")
    assert shown_ids(panel) == [GREATDAY]
    assert panel.count.text() == "1 of 6 connections"
    choose(panel.state_filter, "pending")
    assert shown_ids(panel) == []
    assert panel.count.text() == "0 of 6 connections"
    choose(panel.synced_filter, "any")
    panel.search.clear()
    assert shown_ids(panel) == [NEWCOMER]


def test_counts_by_state_follow_the_other_filters(panel):
    assert counts_text(panel) == "2 OK · 1 needs MFA · 1 error · 1 pending · 1 deleted"
    assert panel.count.text() == "6 connections"
    choose(panel.institution_filter, "FlinksCapital")
    assert counts_text(panel) == "2 OK · 1 pending"
    assert panel.count.text() == "3 of 6 connections"
    # The state filter does not change the counts: they say what each state would show.
    choose(panel.state_filter, "ok")
    assert counts_text(panel) == "2 OK · 1 pending"
    assert panel.count.text() == "2 of 6 connections"
    choose(panel.institution_filter, None)
    panel.search.setText("login")  # the two error codes ending in _LOGIN
    assert counts_text(panel) == "1 error · 1 deleted"
    assert shown_ids(panel) == []


def test_counts_use_plurals(qtbot):
    widget = ConnectionsPanel(now=lambda: NOW)
    qtbot.addWidget(widget)
    widget.set_logins(
        [
            LOGINS[2],
            login(DISABLED, "RBC", "a", "needs_mfa", synced=None, error_code="X"),
            login(NOMFA, "RBC", "b", "error", synced=None, error_code="Y"),
            login(DELETED, "RBC", "c", "error", synced=None, error_code="Y"),
        ]
    )
    assert counts_text(widget) == "2 need MFA · 2 errors"


def test_clear_filters_shows_every_connection(qtbot, panel):
    button = panel.findChild(QPushButton, "clearConnectionFilters")
    assert not button.isVisible()
    choose(panel.state_filter, "error")
    panel.search.setText("zzz")
    assert button.isVisible() and shown_ids(panel) == []
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert panel.search.text() == "" and panel.state_filter.currentIndex() == 0
    assert len(shown_ids(panel)) == 6 and not button.isVisible()


def test_the_bank_filter_follows_the_logins(panel):
    choose(panel.institution_filter, "RBC")
    panel.set_logins([row for row in LOGINS if row.institution != "RBC"])
    assert panel.institution_filter.currentIndex() == 0
    assert panel.filter.institution is None
    assert len(shown_ids(panel)) == 5
    choose(panel.institution_filter, "Desjardins")
    panel.set_logins(LOGINS)  # a reload keeps a choice that still exists
    assert panel.institution_filter.currentData() == "Desjardins"
    assert shown_ids(panel) == [EDOUARD]


# -- select() --------------------------------------------------------------------------------------


def test_select_clears_only_the_filters_that_hide_the_row(qtbot, panel):
    panel.search.setText("flinks")
    choose(panel.state_filter, "error")
    choose(panel.synced_filter, "never")
    choose(panel.institution_filter, "FlinksCapital")
    assert shown_ids(panel) == []
    with qtbot.waitSignal(panel.selected, timeout=1000, check_params_cb=lambda value: value == GREATDAY):
        assert panel.select(GREATDAY) is True
    assert panel.current_login_id() == GREATDAY
    assert panel.state_filter.currentIndex() == 0 and panel.synced_filter.currentIndex() == 0
    assert panel.search.text() == "flinks"  # it shows the row: kept
    assert panel.institution_filter.currentData() == "FlinksCapital"  # idem
    assert shown_ids(panel) == [GREATDAY, NOMFA, NEWCOMER]


def test_select_clears_the_search_and_the_bank_when_they_hide_the_row(panel):
    panel.search.setText("jdoe")
    choose(panel.institution_filter, "BanqueNationale")
    assert panel.select(EDOUARD) is True
    assert panel.search.text() == "" and panel.institution_filter.currentIndex() == 0
    assert panel.current_login_id() == EDOUARD
    assert panel.select("00000000-0000-4000-8000-000000000000") is False
    assert panel.current_login_id() == EDOUARD


def test_set_logins_keeps_the_selection(panel):
    panel.select(DISABLED)
    panel.set_logins(list(reversed(LOGINS)))
    assert panel.current_login_id() == DISABLED
    panel.set_logins(LOGINS, keep=NOMFA)
    assert panel.current_login_id() == NOMFA


# -- copy the loginId ------------------------------------------------------------------------------


# A popup menu on the offscreen platform: it cannot raise a window or grab the keyboard (no display).
@pytest.mark.qt_log_ignore(
    "This plugin does not support raise\\(\\)", "This plugin does not support grabbing the keyboard"
)
def test_copy_login_id_from_the_context_menu(qtbot, panel):
    QGuiApplication.clipboard().setText("something else")
    action = panel.findChild(QAction, "copyLoginIdAction")
    assert action.text() == "Copy loginId" and not action.isEnabled()  # no row yet
    row = panel.filter.mapFromSource(panel.model.index(panel.model.row_of(EDOUARD)))
    pos = panel.list.visualRect(row).center()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, panel.list.viewport().mapToGlobal(pos))
    QApplication.sendEvent(panel.list.viewport(), event)
    menu = panel.findChild(QMenu, "connectionsMenu")
    qtbot.waitUntil(menu.isVisible, timeout=2000)
    assert action in menu.actions() and action.isEnabled()
    assert panel.current_login_id() == EDOUARD  # the row right-clicked
    with qtbot.waitSignal(panel.copied, timeout=1000) as signal:
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    assert QGuiApplication.clipboard().text() == EDOUARD
    assert signal.args == ["loginId 9a1c…4a5b copied"]


def test_ctrl_c_on_the_list_copies_the_full_login_id(qtbot, panel):
    # A window-wide Copy must not take Ctrl+C from the list (it would copy the row's text, or nothing).
    window_copy = QAction("Copy", panel)
    window_copy.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
    window_copy.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    panel.addAction(window_copy)
    taken = []
    window_copy.triggered.connect(lambda: taken.append(True))
    QGuiApplication.clipboard().setText("something else")
    panel.select(DISABLED)
    panel.activateWindow()
    panel.list.setFocus()
    qtbot.waitUntil(panel.list.hasFocus, timeout=2000)
    with qtbot.waitSignal(panel.copied, timeout=1000):
        qtbot.keyClick(panel.list, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == DISABLED
    assert taken == []


def test_ctrl_c_with_no_row_copies_nothing(qtbot, panel):
    QGuiApplication.clipboard().setText("something else")
    panel.search.setText("nobody-here")  # (focus on a list with rows makes its first row current)
    panel.list.setFocus()
    with qtbot.assertNotEmitted(panel.copied):
        qtbot.keyClick(panel.list, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "something else"


# -- rows and plain text ---------------------------------------------------------------------------


def test_rows_say_who_which_login_and_when(panel):
    assert isinstance(panel.delegate, ConnectionDelegate)
    assert panel.delegate.details(LOGINS[0]) == "Greatday · 152b…9a01 · synced 5 min ago"
    assert panel.delegate.details(LOGINS[4]) == "newcustomer · 1111…8888 · never synced"
    assert panel.delegate.details(LOGINS[3]) == "test_disabled_account · 0f0e…0201 · DISABLED_LOGIN 3 h ago"
    tip = panel.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert GREATDAY in tip and "tag ticket-123" in tip


def test_text_from_the_bank_is_plain(qtbot, panel):
    hostile = login(
        "cccccccc-0000-4000-8000-000000000001",
        "<b>Bank</b>",
        "<img src=x>",
        "error",
        synced=None,
        error_code="<i>CODE</i>",
        tag="<a href='x'>t</a>",
    )
    panel.set_logins([*LOGINS, hostile])
    for label in panel.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()
    tip = panel.model.index(panel.model.row_of(hostile.id)).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("<p ") and "<i>" not in tip and "<a " not in tip  # escaped: shown as typed
    assert "&lt;i&gt;CODE&lt;/i&gt;" in tip and "&lt;a href='x'&gt;t&lt;/a&gt;" in tip
    panel.search.setText("<b>bank</b>")
    assert shown_ids(panel) == [hostile.id]
    banks = panel.institution_filter
    assert banks.findData("<b>Bank</b>") >= 0
    panel.grab()  # paints the hostile row through the delegate


@pytest.fixture
def styled_panel(qtbot):
    """`styled_panel(logins, height)`: a panel shown under the app's style sheet, for the test. It,
    and any panel of an earlier test still waiting to be deleted, is deleted before the style sheet
    is taken away again: a panel alive at its removal makes Qt crash in the next setStyleSheet (a
    segfault in the next test's window; the app itself never removes its style sheet)."""
    import shiboken6

    from flinks_desktop.ui.app import style_sheet

    app = QApplication.instance()
    previous = app.styleSheet()
    app.setStyleSheet(style_sheet())
    made: list[ConnectionsPanel] = []

    def make(logins: list[LoginRow], height: int = 700) -> ConnectionsPanel:
        panel = ConnectionsPanel(now=lambda: NOW)
        made.append(panel)
        panel.resize(320, height)
        panel.set_logins(logins)
        panel.show()
        qtbot.waitExposed(panel)
        return panel

    yield make
    for panel in made:
        shiboken6.delete(panel)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the earlier tests' panels too
    app.setStyleSheet(previous)


def test_the_panel_paints_with_the_app_style_sheet(styled_panel):
    """15-connections.qss parses (Qt warns, and the test fails, otherwise) and styles the panel."""
    panel = styled_panel(LOGINS)
    choose(panel.state_filter, "error")
    assert panel.state_filter.property("active") is True
    assert panel.institution_filter.property("active") is False
    image = panel.grab().toImage()
    assert image.width() == panel.width() and not image.isNull()


def test_a_screen_reader_hears_each_card_as_it_is_shown(panel):
    """Each row's accessible name is the card's words (bank, username, status, last sync), not the
    model's bare "bank username"; its description is the tool tip's lines, as plain text."""
    rows = QAccessible.queryAccessibleInterface(panel.list)
    said = {}
    for index in range(rows.childCount()):
        row = rows.child(index)
        said[row.text(QAccessible.Text.Name)] = row.text(QAccessible.Text.Description)
    names = sorted(said)
    assert len(names) == len(LOGINS)
    assert any(name.startswith("Desjardins, Édouard.Tremblay, Needs MFA, synced here ") for name in names)
    assert any(name.startswith("Flinks Capital, newcustomer, Pending, synced here never") for name in names)
    error = next(name for name in names if name.startswith("RBC, test_disabled_account, Error, "))
    assert said[error].split("\n") == [
        f"loginId {DISABLED}",
        error.split(", ", 3)[2] + " · " + error.split(", ", 3)[3],
        "Flinks said DISABLED_LOGIN (DISABLED_LOGIN)",
    ]
    assert "<" not in said[error]  # plain text: the tool tip's markup is not read out


def test_the_list_s_scroll_bar_is_painted_whole(styled_panel):
    """More connections than fit: below its handle, the list's scroll bar shows the panel's colour
    (with the default bar over the list's transparent background, that part was left black)."""
    logins = [
        login(f"{n:08x}-0000-4000-8000-000000000000", "FlinksCapital", f"user{n}", synced=None) for n in range(30)
    ]
    panel = styled_panel(logins, height=520)
    bar = panel.list.verticalScrollBar()
    assert bar.isVisible() and bar.value() == 0
    image = panel.grab().toImage()
    below_handle = bar.mapTo(panel, bar.rect().center())
    below_handle.setY(bar.mapTo(panel, bar.rect().bottomLeft()).y() - 20)
    assert image.pixelColor(below_handle).name() == "#eef2f8"  # QWidget#connectionsPanel's background


def test_a_failed_look_up_says_why_until_the_search_changes(qtbot, panel):
    unknown = "00000000-0000-4000-8000-00000000abcd"
    panel.search.setText(unknown)
    panel.show_look_up_failure(unknown, "Flinks does not know the loginId, so nothing was added.")
    empty = panel.findChild(QLabel, "connectionsEmpty")
    assert empty.text() == "Flinks does not know the loginId, so nothing was added."
    # Said as a failure (the style sheet's error tone), with the button offering to try again.
    assert empty.property("tone") == "error" and panel.look_up_button.text() == "Try again"
    panel.search.setText("00000000-0000-4000-8000-00000000abce")
    assert empty.text().startswith("This loginId is not on this computer yet.")
    assert empty.property("tone") == "" and panel.look_up_button.text() == "Look up at Flinks"
