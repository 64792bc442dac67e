"""The Statements tab over a real cache: filled by `Sync` from the offline sandbox, statements included.

Each test links a Flinks Capital login through the real engine (sandbox on loopback, `Sync`,
SQLite in `tmp_path`) before any widget exists, then reads that cache with its own `Store`, as
the GUI does, and drives the view as a person would: click a statement, click "Save as…".
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtPdf import QPdfDocument

from flinks_desktop.core import export
from flinks_desktop.core.flinks import FlinksClient, MfaRequired
from flinks_desktop.core.flinks.models import AccountStatements, Statement, StatementsResult
from flinks_desktop.core.redact import mask_account_number
from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import Sync
from flinks_desktop.ui.dialogs import SAVE_FOLDER_KEY, save_folder
from flinks_desktop.ui.statements_view import (
    LIST_NO_CONNECTION,
    LIST_NO_STATEMENTS,
    NO_CONNECTION,
    NO_STATEMENTS,
    StatementsView,
)

AS_OF = date(2025, 6, 15)
ANOTHER_LOGIN = "0d9f3a52-6c1e-4b7a-9e21-5f0c8d4b2a17"


# -- set-up --------------------------------------------------------------------------------------------


async def _link_with_statements(api_url: str, cache: Path) -> str:
    """What Connect and the app do: a login at Flinks gives a loginId; `Sync` caches it, with
    GetStatements "Months3" (three statements per account)."""
    async with FlinksClient(api_url) as flinks:
        result = await flinks.authorize_credentials("FlinksCapital", "greatday_nomfa", "Everyday")
        assert not isinstance(result, MfaRequired)
        login_id = result.login.id
    async with FlinksClient(api_url, poll_interval=0.01) as client:
        sync = Sync(client, cache, environment="Offline sandbox", statements="Months3")
        try:
            linked = await sync.link(login_id, "FlinksCapital")
        finally:
            await sync.close()
    assert linked.ok and linked.statements.new == 12, linked.message
    return login_id


@pytest.fixture
def linked(flinks_sandbox_factory, tmp_path) -> Iterator[tuple[Store, str]]:
    sandbox = flinks_sandbox_factory(as_of=AS_OF)
    cache = tmp_path / "data" / "cache.db"
    login_id = asyncio.run(_link_with_statements(sandbox.api_url, cache))  # before any widget
    with Store.open(cache) as store:
        yield store, login_id


@pytest.fixture
def view(qtbot, qapp) -> Iterator[StatementsView]:
    if not qapp.organizationName():
        qapp.setOrganizationName("Flinks Desktop Tests")  # QSettings needs one, as the app has
    QSettings().remove(SAVE_FOLDER_KEY)  # the folder last saved to: none yet
    view = StatementsView()
    qtbot.addWidget(view)
    view.resize(1100, 650)
    view.show()
    qtbot.waitExposed(view)
    yield view
    QSettings().remove(SAVE_FOLDER_KEY)


def groups(view: StatementsView) -> dict[str, list[str]]:
    """The list as a person reads it: {account line: [statement lines]}."""
    tree = view.findChild(type(view.list), "statementsList")
    return {
        tree.topLevelItem(g).text(0): [
            f"{tree.topLevelItem(g).child(c).text(0)} · {tree.topLevelItem(g).child(c).text(1)}"
            for c in range(tree.topLevelItem(g).childCount())
        ]
        for g in range(tree.topLevelItemCount())
    }


def click_statement(qtbot, view: StatementsView, account_title: str, position: int) -> None:
    tree = view.list
    group = next(
        tree.topLevelItem(g)
        for g in range(tree.topLevelItemCount())
        if tree.topLevelItem(g).text(0).startswith(account_title)
    )
    item = group.child(position)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())


def fetched_day(store: Store, login_id: str) -> date:
    return store.statements(login_id)[0].fetched_at.astimezone().date()


# -- the list ----------------------------------------------------------------------------------------


def test_every_statement_is_listed_under_its_account_by_period(view, linked) -> None:
    store, login_id = linked
    view.set_login(store, login_id)

    accounts = store.accounts(login_id)
    # Flinks' account order; each account's statements newest first, named by the period the sync
    # read from each PDF (Flinks does not send it): "Months3" before June 15 is May, April, March.
    assert groups(view) == {
        f"{account.title}  {mask_account_number(account.account_number)}": [
            "May 2025 · May 1 – May 31",
            "April 2025 · Apr 1 – Apr 30",
            "March 2025 · Mar 1 – Mar 31",
        ]
        for account in accounts
    }
    assert sum(len(lines) for lines in groups(view).values()) == len(store.statements(login_id)) == 12
    shown = " ".join([*groups(view), *(line for lines in groups(view).values() for line in lines)])
    assert not any(account.account_number in shown for account in accounts)
    # Nothing is opened until the user picks a statement.
    assert view.message.text().startswith("Select a statement")
    assert not view.save_button.isVisible()


def test_a_statement_whose_period_is_unknown_says_when_it_was_fetched(view, linked) -> None:
    store, login_id = linked
    chequing = next(account for account in store.accounts(login_id) if account.title == "Everyday Chequing")
    result = StatementsResult(
        request_id="not-used",
        login=None,
        institution=None,
        accounts=(
            AccountStatements(
                chequing.account_number,
                (Statement("0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F", "PDF", _base64(b"%PDF-1.4 no period printed")),),
            ),
        ),
    )
    store.save_statements(login_id, result, fetched_at=datetime.now(UTC))

    view.set_login(store, login_id)

    day = fetched_day(store, login_id)
    lines = groups(view)[f"Everyday Chequing  {mask_account_number(chequing.account_number)}"]
    assert f"Statement 1 · fetched {day:%b} {day.day}, {day:%Y}" in lines and len(lines) == 4


def test_known_periods_are_named_by_month_newest_first(qtbot, view, linked) -> None:
    store, login_id = linked
    chequing = next(account for account in store.accounts(login_id) if account.title == "Everyday Chequing")
    rows = [row for row in store.statements(login_id) if row.account_number == chequing.account_number]
    # The caller knows the periods this time (the sandbox's "Months3" before June 15: May, April,
    # March); saved in reverse so the list's order cannot come from Flinks' order.
    months = [
        (date(2025, 5, 1), date(2025, 5, 31)),
        (date(2025, 4, 1), date(2025, 4, 30)),
        (date(2025, 3, 1), date(2025, 3, 31)),
    ]
    result = StatementsResult(
        request_id="not-used",
        login=None,
        institution=None,
        accounts=(
            AccountStatements(
                chequing.account_number,
                tuple(
                    Statement(row.unique_id, "PDF", _base64(store.statement_pdf(login_id, row.unique_id)))
                    for row in reversed(rows)
                ),
            ),
        ),
    )
    store.save_statements(
        login_id,
        result,
        fetched_at=datetime.now(UTC),
        periods={row.unique_id: period for row, period in zip(rows, months)},
    )

    view.set_login(store, login_id)

    assert groups(view)[f"Everyday Chequing  {mask_account_number(chequing.account_number)}"] == [
        "May 2025 · May 1 – May 31",
        "April 2025 · Apr 1 – Apr 30",
        "March 2025 · Mar 1 – Mar 31",
    ]
    click_statement(qtbot, view, "Everyday Chequing", 0)
    # The name the command line's `statements --save` writes (the window once named it
    # "Flinks Capital - Everyday Chequing 1234 - 2025-05.pdf"): one statement, one file name.
    opened = view.current_statement
    assert (
        view.suggested_file_name()
        == export.statement_file_name(opened, chequing)
        == (f"Everyday-Chequing-{chequing.account_number[-4:]}_2025-05-31_{opened.unique_id[:8]}.pdf")
    )


# -- the viewer ----------------------------------------------------------------------------------------


def test_clicking_a_statement_opens_its_pdf_in_the_viewer(qtbot, view, linked) -> None:
    store, login_id = linked
    view.set_login(store, login_id)

    click_statement(qtbot, view, "Everyday Chequing", 0)

    document = view.findChild(QPdfDocument)
    assert document.status() == QPdfDocument.Status.Ready and document.pageCount() >= 1
    assert view.viewer.document() is document and view.viewer.isVisible()
    assert view.page_label.text() == f"Page 1 of {document.pageCount()}"
    assert view.title.text().startswith("Everyday Chequing  •••")
    assert view.subtitle.text() == "May 2025 · May 1 – May 31"
    # The zoom starts at "Fit width"; the buttons change it.
    assert view.fit_width.isChecked()
    qtbot.mouseClick(view.zoom_in, Qt.MouseButton.LeftButton)
    assert view.viewer.zoomMode() == view.viewer.ZoomMode.Custom and view.viewer.zoomFactor() > 0
    assert not view.fit_width.isChecked()
    qtbot.mouseClick(view.fit_page, Qt.MouseButton.LeftButton)
    assert view.viewer.zoomMode() == view.viewer.ZoomMode.FitInView

    # The keys of every viewer, wherever the focus is in the tab (here on the list).
    view.activateWindow()
    view.list.setFocus()
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(view.list, Qt.Key.Key_Plus, ctrl)
    assert view.viewer.zoomMode() == view.viewer.ZoomMode.Custom
    larger = view.viewer.zoomFactor()
    qtbot.keyClick(view.list, Qt.Key.Key_Minus, ctrl)
    assert view.viewer.zoomFactor() < larger
    qtbot.keyClick(view.list, Qt.Key.Key_0, ctrl)
    assert view.viewer.zoomMode() == view.viewer.ZoomMode.FitToWidth and view.fit_width.isChecked()
    assert view.zoom_in.toolTip() == "Zoom in (Ctrl++)"

    # Another statement replaces it; a reload keeps it open.
    click_statement(qtbot, view, "US Dollar Chequing", 2)
    opened = view.current_statement
    assert document.status() == QPdfDocument.Status.Ready
    view.reload()
    assert view.current_statement == opened and document.status() == QPdfDocument.Status.Ready


def test_save_as_writes_the_exact_bytes_where_the_user_chose(qtbot, view, linked, tmp_path) -> None:
    store, login_id = linked
    view.set_login(store, login_id)
    asked: list[str] = []
    target = tmp_path / "ticket 4711" / "statement.pdf"
    target.parent.mkdir()
    view.choose_path = lambda parent, suggested: asked.append(suggested) or str(target)
    click_statement(qtbot, view, "Everyday Chequing", 0)
    first_folder = save_folder()  # none saved to yet: Documents, else home

    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)

    row = view.current_statement
    assert target.read_bytes() == store.statement_pdf(login_id, row.unique_id)
    number = next(a.account_number for a in store.accounts(login_id) if a.title == "Everyday Chequing")
    assert Path(asked[0]).name == f"Everyday-Chequing-{number[-4:]}_2025-05-31_{row.unique_id[:8]}.pdf"
    assert Path(asked[0]).parent == first_folder
    assert view.notice.isVisible() and view.notice.text() == f"Saved to {target}"
    assert [p.name for p in target.parent.iterdir()] == ["statement.pdf"]  # no temporary file left

    # The next Save dialog (a statement's or an export's) opens where this one saved.
    assert save_folder() == target.parent
    view.choose_path = lambda parent, suggested: asked.append(suggested) or str(target)
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert Path(asked[1]).parent == target.parent

    # Cancelling writes nothing; a folder that cannot be written says so, in a sentence.
    target.unlink()
    view.choose_path = lambda parent, suggested: None
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert not target.exists()
    view.choose_path = lambda parent, suggested: str(tmp_path / "missing" / "statement.pdf")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert view.notice.text().startswith(f"The statement could not be saved to {tmp_path / 'missing'}")
    assert view.notice.text().endswith("Choose another folder and try again.")


class CorruptPdfs:
    """The cache, except that every statement file is damaged: an honest fake of `statement_pdf`."""

    CONTENT = b"%PDF-1.7\nthis is not a PDF any more\n%%EOF"

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def statement_pdf(self, login_id: str, unique_id: str) -> bytes | None:
        return self.CONTENT if self._store.statement_pdf(login_id, unique_id) is not None else None


def test_a_pdf_that_cannot_be_read_ends_in_a_sentence(qtbot, view, linked, tmp_path) -> None:
    store, login_id = linked
    view.set_login(CorruptPdfs(store), login_id)

    click_statement(qtbot, view, "High Interest Savings", 1)

    assert view.message.isVisible() and not view.viewer.isVisible()
    assert view.message.text() == (
        "This statement could not be opened: the file Flinks sent is not a readable PDF. You can still "
        "save the file as Flinks sent it with “Save as…”, for example to attach it to a support ticket."
    )
    assert view.page_label.text() == "" and not view.controls.isVisible()
    # What Flinks sent can still go to the ticket, as it is.
    view.choose_path = lambda parent, suggested: str(tmp_path / "damaged.pdf")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert (tmp_path / "damaged.pdf").read_bytes() == CorruptPdfs.CONTENT

    # A good statement afterwards opens normally.
    view.set_login(store, login_id)
    click_statement(qtbot, view, "High Interest Savings", 1)
    assert view.document.status() == QPdfDocument.Status.Ready and view.viewer.isVisible()


# -- empty states ----------------------------------------------------------------------------------------


def test_empty_states_say_what_to_do(qtbot, view, linked) -> None:
    store, login_id = linked
    assert view.list_placeholder.text() == LIST_NO_CONNECTION and view.list_placeholder.isVisible()
    assert view.message.text() == NO_CONNECTION == "Select a connection to see its statements."

    # A login cached without statements (GetStatements not enabled, or not fetched yet).
    store.upsert_login(ANOTHER_LOGIN, "FlinksCapital", at=datetime.now(UTC))
    view.set_login(store, ANOTHER_LOGIN)
    assert view.list_placeholder.isVisible()
    assert view.list_placeholder.text() == LIST_NO_STATEMENTS == "No statements"
    assert view.message.text() == NO_STATEMENTS and not view.save_button.isVisible()
    assert NO_STATEMENTS.startswith("Flinks has sent no statements for this connection yet. Refresh it")

    # Switching to a login with statements, then away, closes what was open.
    view.set_login(store, login_id)
    click_statement(qtbot, view, "Everyday Chequing", 0)
    assert view.document.status() == QPdfDocument.Status.Ready
    view.set_login(None, None)
    assert view.document.status() == QPdfDocument.Status.Null
    assert view.current_statement is None and view.message.text() == NO_CONNECTION


def _base64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")
