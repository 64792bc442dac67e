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


def test_a_long_title_gives_way_so_the_balances_stay_in_view(qtbot, tmp_path) -> None:
    import dataclasses

    from PySide6.QtCore import Qt
    from test_store_reads import LOGIN, saved, snapshot

    from flinks_desktop.ui.accounts_view import TITLE_AT_LEAST

    title = "Compte chèques entreprise – Opérations courantes et paiements fournisseurs <principal>"
    result = snapshot(LOGIN, 10, seed=3)
    first = dataclasses.replace(result.accounts[0], title=title)
    result = dataclasses.replace(result, accounts=(first, *result.accounts[1:]))
    with Store.open(tmp_path / "cache.db") as store:
        saved(store, result)
        view = AccountsView()
        qtbot.addWidget(view)
        view.set_login(store, LOGIN)
        header = view.table.horizontalHeader()
        needed = view.table.sizeHintForColumn(0)
        others = sum(header.sectionSize(column) for column in range(1, view.model.columnCount()))
        # Room for every column, with the title shorter than it would like.
        width = others + TITLE_AT_LEAST + 120
        assert width < needed + others
        view.resize(width, 300)
        view.show()
        qtbot.waitExposed(view)
        qtbot.waitUntil(lambda: header.sectionResizeMode(0) == QHeaderView.ResizeMode.Interactive)
        assert TITLE_AT_LEAST <= header.sectionSize(0) < needed
        qtbot.waitUntil(lambda: view.table.horizontalScrollBar().maximum() == 0)  # the balances in view
        row = next(r for r in range(view.model.rowCount()) if view.model.accounts[r].title == title)
        tip = view.model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
        assert "&lt;principal&gt;" in tip and "paiements fournisseurs" in tip  # whole, as plain text

        view.resize(others + 100, 300)  # narrower than the title's least: the table scrolls
        qtbot.waitUntil(lambda: header.sectionSize(0) == TITLE_AT_LEAST)
        assert view.table.horizontalScrollBar().maximum() > 0
