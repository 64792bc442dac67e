"""The Accounts tab: the account's title stays readable at any width."""

from __future__ import annotations

from PySide6.QtWidgets import QHeaderView

from flinks_desktop.core.store import Store
from flinks_desktop.ui.accounts_view import AccountsView


def test_a_narrow_tab_scrolls_sideways_rather_than_squeeze_the_title(qtbot, tmp_path) -> None:
    from test_store_reads import LOGIN, saved, snapshot

    with Store.open(tmp_path / "cache.db") as store:
        saved(store, snapshot(LOGIN, 10, seed=3))
        view = AccountsView()
        qtbot.addWidget(view)
        view.set_login(store, LOGIN)
        header = view.table.horizontalHeader()
        needed = view.table.sizeHintForColumn(0)

        view.resize(220, 300)  # narrower than the columns need
        view.show()
        qtbot.waitExposed(view)
        qtbot.waitUntil(lambda: header.sectionResizeMode(0) == QHeaderView.ResizeMode.Interactive)
        assert header.sectionSize(0) >= needed
        assert view.table.horizontalScrollBar().maximum() > 0

        view.resize(1400, 300)  # room to spare: the title takes it
        qtbot.waitUntil(lambda: header.sectionResizeMode(0) == QHeaderView.ResizeMode.Stretch)
        qtbot.waitUntil(lambda: header.sectionSize(0) > needed)
