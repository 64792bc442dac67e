"""A narrow window: half of a 1920-pixel screen (960), a 1366x768 screen at 150 % (910).

What gives way, and what does not: the connections panel narrows first, down to its minimum, and
comes back as the window widens; the Transactions filters take two lines rather than squeeze the
table; the money columns are as wide as the amounts they show, not as the widest amount one could
imagine; the account column goes when it would repeat one account on every row; the panel's
filters read as what they filter by. Real caches, the real view and the real window.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyleOptionViewItem,
    QTableView,
    QTabWidget,
)

from flinks_desktop.core.store import Store
from flinks_desktop.testing import generated_connection, login_made_elsewhere
from flinks_desktop.ui.app import style_sheet
from flinks_desktop.ui.connections import MINIMUM_WIDTH, ConnectionsPanel
from flinks_desktop.ui.main_window import CONNECTIONS_WIDTH, WORKSPACE_PAGE_ROOM
from flinks_desktop.ui.transactions_view import ACCOUNT, BALANCE, CREDIT_COLUMN, DEBIT, PAGE_SIZE, TransactionsView

AS_OF = date(2025, 6, 15)
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
MONEY = (DEBIT, CREDIT_COLUMN, BALANCE)
#: The cells' padding in the style sheet: 12 px each side, and 3 px the item view adds to each.
PADDING = 30


def save(path, result) -> str:
    with Store.open(path) as writer:
        writer.upsert_login(result.login.id, "FlinksCapital", at=NOW)
        writer.save_snapshot(result.login.id, result, synced_at=NOW)
    return result.login.id


def with_debit(result, account: int, index: int, amount: str):
    """`result` with transaction `index` of account `account` debited `amount`."""
    chosen = result.accounts[account]
    changed = list(chosen.transactions)
    changed[index] = dataclasses.replace(changed[index], debit=Decimal(amount), credit=None)
    accounts = list(result.accounts)
    accounts[account] = dataclasses.replace(chosen, transactions=tuple(changed))
    return dataclasses.replace(result, accounts=tuple(accounts))


@pytest.fixture
def open_view(qtbot):
    stores: list[Store] = []

    def open_(path, login_id, width=1100) -> TransactionsView:
        store = Store.open(path)
        stores.append(store)
        view = TransactionsView(today=lambda: AS_OF)
        qtbot.addWidget(view)
        view.resize(width, 650)
        view.show()
        qtbot.waitExposed(view)
        view.set_login(store, login_id)
        return view

    yield open_
    for store in stores:
        store.close()


def cell(view, row: int, column: int) -> str:
    return view.model.index(row, column).data()


def fits(view, row: int, column: int) -> bool:
    """Whether the cell's text is shown whole: its column is as wide as the text and its padding."""
    return (
        view.table.columnWidth(column) >= view.table.fontMetrics().horizontalAdvance(cell(view, row, column)) + PADDING
    )


def shown_whole(label) -> bool:
    """Whether a label shows all its text: on one line, or wrapped onto as many as it needs."""
    if label.wordWrap():
        return label.height() >= label.heightForWidth(label.width())
    return label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()


def visible_rows(view) -> range:
    table = view.table
    first = table.rowAt(0)
    last = table.rowAt(table.viewport().height() - 1)
    return range(first, (last if last >= 0 else view.model.rowCount() - 1) + 1)


def test_money_columns_are_as_wide_as_the_amounts_shown(qtbot, open_view, tmp_path):
    small = generated_connection(300, login_id="0b6c1f0e-7d3a-4c55-9a8e-2f41d1b6a901", as_of=AS_OF)
    # The oldest transaction of the first account (a row of the last page) is a very large debit.
    big = with_debit(
        generated_connection(300, login_id="0b6c1f0e-7d3a-4c55-9a8e-2f41d1b6a902", as_of=AS_OF), 0, -1, "1234567.89"
    )
    path = tmp_path / "cache.db"
    small_id, big_id = save(path, small), save(path, big)

    view = open_view(path, small_id)
    table = view.table
    metrics = table.fontMetrics()
    # Room for the amounts there are, not for "-US$88,888.88" (the width each column used to take).
    for column in MONEY:
        assert all(fits(view, row, column) for row in visible_rows(view)), column
        assert table.columnWidth(column) < metrics.horizontalAdvance("-US$88,888.88") + PADDING, column

    view.set_login(view._store, big_id)
    debit_before = table.columnWidth(DEBIT)
    in_order = view._store.transactions(big_id, limit=1000)  # as the view orders them, newest first
    row = next(r for r, transaction in enumerate(in_order) if transaction.debit == Decimal("1234567.89"))
    assert row >= PAGE_SIZE  # not among the rows read yet: the column grows when it is shown
    assert metrics.horizontalAdvance(cell(view, row, DEBIT)) + PADDING > debit_before
    table.scrollTo(view.model.index(row, DEBIT))
    qtbot.waitUntil(lambda: fits(view, row, DEBIT))
    assert cell(view, row, DEBIT) == "$1,234,567.89"
    # ...and stays as wide back at the top: the columns do not jump as the person scrolls.
    widened = table.columnWidth(DEBIT)
    table.scrollToTop()
    qtbot.wait(50)
    assert table.columnWidth(DEBIT) == widened

    view.set_login(view._store, small_id)  # another connection: its own amounts' width again
    assert table.columnWidth(DEBIT) < widened
    assert all(fits(view, row, DEBIT) for row in visible_rows(view))


def test_the_account_column_goes_when_one_account_is_shown(open_view, tmp_path):
    four = generated_connection(80, login_id="0b6c1f0e-7d3a-4c55-9a8e-2f41d1b6a903", as_of=AS_OF)
    one = dataclasses.replace(
        generated_connection(80, login_id="0b6c1f0e-7d3a-4c55-9a8e-2f41d1b6a904", as_of=AS_OF),
    )
    one = dataclasses.replace(one, accounts=one.accounts[:1])
    path = tmp_path / "cache.db"
    four_id, one_id = save(path, four), save(path, one)

    view = open_view(path, four_id)
    assert not view.table.isColumnHidden(ACCOUNT)
    view.account_filter.setCurrentIndex(1)  # one account chosen
    assert view.table.isColumnHidden(ACCOUNT)
    view.account_filter.setCurrentIndex(0)
    assert not view.table.isColumnHidden(ACCOUNT)

    view.set_login(view._store, one_id)  # a connection of one account: every row would repeat it
    assert view.model.rowCount() == 20
    assert view.table.isColumnHidden(ACCOUNT)


def test_the_dates_take_a_line_of_their_own_in_a_narrow_view(qtbot, open_view, tmp_path):
    path = tmp_path / "cache.db"
    login_id = save(path, generated_connection(50, login_id="0b6c1f0e-7d3a-4c55-9a8e-2f41d1b6a905", as_of=AS_OF))
    view = open_view(path, login_id)
    filters = (view.search, view.account_filter, view.period, view.date_from, view.date_to)

    def laid_out_whole() -> bool:  # no filter squeezed below what it needs
        return all(w.width() >= w.minimumSizeHint().width() for w in filters)

    assert not view.dates_on_own_line
    one_line = view.search.geometry().center().y()
    assert view.date_to.mapTo(view, view.date_to.rect().center()).y() == pytest.approx(one_line, abs=2)
    assert laid_out_whole()

    view.resize(600, 650)
    qtbot.waitUntil(lambda: view.dates_on_own_line)
    assert view.width() == 600  # the view may be that narrow: its minimum is that of two lines
    assert view.minimumWidth() <= 600
    qtbot.waitUntil(laid_out_whole)
    below = view.date_to.mapTo(view, view.date_to.rect().topLeft()).y()
    assert below > view.search.geometry().bottom()
    assert view.table.mapTo(view, view.table.rect().topLeft()).y() > below  # the table below both lines

    view.resize(1100, 650)
    qtbot.waitUntil(lambda: not view.dates_on_own_line)
    qtbot.waitUntil(laid_out_whole)


def test_the_connections_panel_gives_way_first_and_comes_back(qtbot, make_window):
    settings = QSettings()
    settings.remove("window/connectionsWidth")
    settings.remove("window/splitter")
    try:
        window = make_window()
        window.look_up_login(login_made_elsewhere(window.session.sandbox))
        accounts = window.findChild(QTableView, "accountsTable")
        qtbot.waitUntil(lambda: accounts.model().rowCount() == 4, timeout=15_000)
        window.findChild(QTabWidget, "connectionTabs").setCurrentWidget(window.transactions_view)
        panel, page, splitter = window.connections, window.detail_stack, window.workspace_splitter

        window.resize(1400, 800)
        qtbot.waitUntil(lambda: panel.width() == CONNECTIONS_WIDTH)

        window.resize(1060, 800)  # the panel gives the page its room: the filters on one line
        qtbot.waitUntil(lambda: panel.width() < CONNECTIONS_WIDTH)
        assert panel.width() > MINIMUM_WIDTH
        assert page.width() == WORKSPACE_PAGE_ROOM
        assert not window.transactions_view.dates_on_own_line
        for width in (960, 910):  # half of a 1920-pixel screen; 1366x768 at 150 %
            window.resize(width, 800)
            qtbot.waitUntil(lambda: panel.width() == MINIMUM_WIDTH)  # narrowest, still readable
            qtbot.waitUntil(lambda: window.transactions_view.dates_on_own_line)  # rather than squeeze
            assert window.width() == width

        window.resize(1400, 800)  # room again: the panel's width comes back
        qtbot.waitUntil(lambda: panel.width() == CONNECTIONS_WIDTH)

        splitter.moveSplitter(0, 1)  # dragged to the edge: the connections stay, at their narrowest
        qtbot.waitUntil(lambda: panel.width() == MINIMUM_WIDTH)
        assert panel.isVisible()
        # Dragged wider by the person: kept, and kept for the next window.
        splitter.moveSplitter(400, 1)
        qtbot.waitUntil(lambda: panel.width() == 400)
        assert splitter.panel_width == 400
        window.resize(1000, 800)
        qtbot.waitUntil(lambda: panel.width() < 400)
        window.resize(1400, 800)
        qtbot.waitUntil(lambda: panel.width() == 400)
        window.resize(1000, 800)  # closed while narrowed: the width chosen is what is kept
        qtbot.waitUntil(lambda: panel.width() < 400)
        window.close()

        again = make_window()
        again.look_up_login(login_made_elsewhere(again.session.sandbox))
        qtbot.waitUntil(lambda: again._built("workspace_splitter"), timeout=15_000)
        again.resize(1400, 800)
        qtbot.waitUntil(lambda: again.connections.width() == 400)
    finally:
        settings.remove("window/connectionsWidth")
        settings.remove("window/splitter")


def test_the_panel_s_filters_say_what_they_filter_by(qtbot, tmp_path):
    with Store.open(tmp_path / "cache.db") as store:
        for n in range(12):
            store.upsert_login(f"0b6c1f0e-7d3a-4c55-9a8e-2f41d1b6a9{n:02d}", "FlinksCapital", at=NOW)
        logins = store.logins()
    QApplication.instance().setStyleSheet(style_sheet())  # as the app (and `make_window`) has it
    panel = ConnectionsPanel()
    panel.set_logins(logins)
    qtbot.addWidget(panel)
    panel.resize(MINIMUM_WIDTH, 600)
    panel.show()
    qtbot.waitExposed(panel)
    combos = [panel.findChild(QComboBox, name) for name in ("statusFilter", "institutionFilter", "syncedFilter")]
    assert [c.face_text() for c in combos] == ["Status", "Bank", "Synced"]  # whole, at the narrowest
    assert [c.currentText() for c in combos] == ["Any status", "Any bank", "Any time"]  # in their lists
    combos[0].setCurrentIndex(combos[0].findData("needs_mfa"))
    assert combos[0].face_text() != "Status"
    assert combos[0].face_text().startswith(combos[0].currentText()[:3])
    qtbot.waitUntil(lambda: panel.clear_filters_button.isVisible())  # a filter on
    assert panel.count.text() == "0 of 12 connections"
    qtbot.waitUntil(lambda: shown_whole(panel.count))  # beside Clear filters, wrapped, not cut
    search = panel.findChild(QLineEdit, "connectionSearch")
    assert search.width() >= search.minimumSizeHint().width()


def test_long_names_and_a_narrow_window_squeeze_no_button_and_cut_no_letter(qtbot, make_window):
    """A support agent's connection with a long e-mail for a username, in a window of 910 pixels:
    the title takes two lines at most and ends in "…" (whole in its tool tip), and no button of
    the tabs is squeezed below the width its text needs ("Whole page" once read "hole pa")."""
    login_id = "0b6c1f0e-7d3a-4c55-9a8e-2f41d1b6a9aa"
    username = "jean-baptiste.desrosiers-longpre+business@tres-longue-entreprise-de-gestion.example.com"

    def prepare(settings) -> None:
        result = generated_connection(40, login_id=login_id, as_of=AS_OF)
        result = dataclasses.replace(result, login=dataclasses.replace(result.login, username=username))
        path = settings.cache_path(settings.active)
        path.parent.mkdir(parents=True, exist_ok=True)
        save(path, result)

    window = make_window(prepare)
    window.resize(910, 640)
    assert window.connections.select(login_id)
    title = window.connection_title
    qtbot.waitUntil(lambda: title.text().endswith(username) and title.width() > 0)
    lines = title.shown_text().split("\n")
    assert len(lines) == 2 and lines[1].endswith("…") and username in title.toolTip()
    assert title.height() <= 2 * title.fontMetrics().lineSpacing() + 2

    # A connection with statements (the sandbox's): its zoom buttons and the activity's filters.
    window.look_up_login(login_made_elsewhere(window.session.sandbox))
    qtbot.waitUntil(lambda: window.syncing is None and len(window.connections.model.logins) == 2, timeout=15_000)
    tabs = window.findChild(QTabWidget, "connectionTabs")
    for name in ("Statements", "Activity"):
        tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == name))
        page = tabs.currentWidget()
        if name == "Statements":  # the page and zoom buttons show with a statement on screen
            login = window.selected_login()
            first = window.store.statements(login.id)[0]
            assert window.statements_view.select_statement(first.unique_id)

        def buttons() -> list[QPushButton]:
            return [button for button in page.findChildren(QPushButton) if button.isVisible()]  # noqa: B023

        qtbot.waitUntil(lambda: len(buttons()) >= 4)
        qtbot.waitUntil(lambda: all(b.width() >= b.sizeHint().width() for b in buttons()))  # noqa: B023
        # ...even in the narrowest window the layouts allow.
        window.resize(window.minimumSizeHint().width(), 640)
        qtbot.waitUntil(lambda: all(b.width() >= b.sizeHint().width() for b in buttons()))  # noqa: B023
        window.resize(910, 640)
    assert window.minimumSizeHint().width() <= 860  # still fits a 1366x768 screen at 150 %, with room


def test_the_connect_timeline_shows_each_step_whole_in_a_narrow_window(qtbot, make_window):
    """Each step wraps onto the lines it needs ("Consent accepted" was cut to "Consent …": the
    items' side padding was left out of the width their text was measured at)."""
    window = make_window()
    window.resize(900, 600)
    timeline = window.timeline  # the Connect page, built on use (Connect itself is not opened)
    window.pages.setCurrentWidget(window.connect_page)
    qtbot.waitUntil(lambda: timeline.isVisible() and timeline.width() < 260)
    steps = ["APP_MOUNTED", "CONSENT_ACCEPTED", "INSTITUTION_SELECTED", "SUBMIT_CREDENTIAL", "SUBMIT_MFA"]
    for step in steps:
        window.on_connect_event({"step": step})
    window.on_connect_event({"step": None, "flinksCode": "INVALID_SECURITY_RESPONSE"})
    metrics = timeline.fontMetrics()
    for width in range(170, 240, 6):  # however narrow the panel is made
        timeline.setFixedWidth(width)
        qtbot.waitUntil(lambda: timeline.width() == width)  # noqa: B023
        qtbot.wait(30)  # the items laid out again at that width (a delayed layout)
        for row in range(timeline.count()):
            item = timeline.item(row)
            # Where the style paints the item's text (inside its padding), and what it needs there.
            option = QStyleOptionViewItem()
            timeline.initViewItemOption(option)
            option.rect = timeline.visualItemRect(item)
            option.text = item.text()
            option.features |= QStyleOptionViewItem.ViewItemFeature.WrapText
            area = timeline.style().subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, timeline)
            flags = int(Qt.TextFlag.TextWordWrap)
            needed = metrics.boundingRect(0, 0, area.width(), 10_000, flags, item.text())
            assert needed.height() <= area.height(), (width, item.text())  # every line of it in view
            assert option.rect.right() < timeline.viewport().width(), (width, item.text())  # none cut at the side
    assert "INVALID_SECURITY_RESPONSE" in timeline.item(timeline.count() - 1).toolTip()
