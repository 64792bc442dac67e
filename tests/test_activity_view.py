"""The Activity tab over a real cache: the API calls and Connect events `Sync` and its `Audit` recorded.

Each test runs the real engine against the offline sandbox first (a link with statements, a live
refresh of a login whose bank is down, Connect events handed to the audit), then reads the cache
with its own `Store`, as the GUI does, and looks at the table as a person would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from flinks_desktop.core.flinks import FlinksClient, MfaRequired
from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import Sync
from flinks_desktop.sandbox import state as sandbox_state
from flinks_desktop.ui.activity_view import ActivityModel, ActivityView

AS_OF = date(2025, 6, 15)
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
RETRY_LATER = "The bank could not be reached. Try again later."


# -- set-up --------------------------------------------------------------------------------------------


async def _connect(api_url: str) -> str:
    """What Flinks Connect does for the customer: a login at the bank through Flinks -> a loginId."""
    async with FlinksClient(api_url) as flinks:
        result = await flinks.authorize_credentials("FlinksCapital", "greatday_nomfa", "Everyday")
        assert not isinstance(result, MfaRequired)
        return result.login.id


def _failing_login(sandbox) -> str:
    """A login Connect made before its bank started failing (the sandbox's test_service_unavailable)."""
    login_id = sandbox.state.login_id_for("test_service_unavailable")
    stamp = sandbox_state.flinks_timestamp(datetime.now(UTC))
    sandbox.state.logins[login_id] = sandbox_state.Login(login_id, "test_service_unavailable", stamp)
    return login_id


async def _record(api_url: str, cache: Path, failing: str) -> str:
    """Connect events, a link with statements, and a live refresh the bank cannot answer."""
    login_id = await _connect(api_url)
    async with FlinksClient(api_url, poll_interval=0.01) as client:
        sync = Sync(client, cache, environment="Offline sandbox", statements="Months3")
        try:
            audit = sync.audit
            assert audit.record_connect_event({"step": "APP_MOUNTED"})
            assert audit.record_connect_event({"step": "INSTITUTION_SELECTED", "institution": "FlinksCapital"})
            assert audit.record_connect_event('{"step": "COMPONENT_LOAD_MFA", "mfaTypes": ["QuestionAndAnswer"]}')
            assert audit.record_connect_event(
                {"flinksCode": "INVALID_SECURITY_RESPONSE", "institution": "FlinksCapital"}
            )
            assert audit.record_connect_event({"step": "<b>NEW_STEP</b>"})  # text from outside, not markup
            redirect = f"https://flinks-desktop.invalid/connected?loginId={login_id}&institution=FlinksCapital"
            assert audit.record_connect_event({"step": "REDIRECT", "institution": "FlinksCapital", "url": redirect})
            assert (await sync.link(login_id, "FlinksCapital")).ok
            assert (await sync.link(failing, "FlinksCapital")).ok  # cached data is still there
            refreshed = await sync.refresh(failing, live=True)
            assert (refreshed.outcome, refreshed.error_code) == ("error", "RETRY_LATER")
        finally:
            await sync.close()  # writes what the audit queued
    return login_id


@pytest.fixture
def recorded(flinks_sandbox_factory, tmp_path) -> Iterator[tuple[Store, str, str]]:
    sandbox = flinks_sandbox_factory(as_of=AS_OF)
    cache = tmp_path / "data" / "cache.db"
    failing = _failing_login(sandbox)
    login_id = asyncio.run(_record(sandbox.api_url, cache, failing))  # before any widget
    with Store.open(cache) as store:
        yield store, login_id, failing


@pytest.fixture
def view(qtbot) -> ActivityView:
    view = ActivityView()
    qtbot.addWidget(view)
    view.resize(1100, 650)
    view.show()
    qtbot.waitExposed(view)
    return view


def cells(view: ActivityView) -> list[dict[str, str]]:
    """The table as a person reads it, one {header: text} per row, top to bottom."""
    table = view.findChild(type(view.table), "activityTable")
    model = table.model()
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    return [{headers[c]: model.index(r, c).data() for c in range(model.columnCount())} for r in range(model.rowCount())]


# -- what the table shows ---------------------------------------------------------------------------------


def test_a_sync_shows_every_api_call_in_words_with_masked_ids(view, recorded) -> None:
    store, login_id, _ = recorded
    view.set_login(store, login_id)

    rows = cells(view)
    api = [row for row in rows if row["Kind"] == "API call"]
    # Newest first: the link's calls read bottom to top as they happened.
    assert [row["What"] for row in reversed(api)] == [
        "Authorize",
        "Accounts detail",
        "Accounts detail (waiting)",
        "Accounts detail (waiting)",
        "Statements",
    ]
    endpoints = [entry.row.name for entry in reversed(view.entries) if entry.row.kind == "api"]
    assert endpoints == [
        "Authorize",
        "GetAccountsDetail",
        "GetAccountsDetailAsync",
        "GetAccountsDetailAsync",
        "GetStatements",
    ]
    assert [row["Result"] for row in reversed(api)] == [
        "200 OK",
        "202 OPERATION_PENDING",
        "202 OPERATION_PENDING",
        "200 OK",
        "200 OK",
    ]
    assert api[-2]["Meaning"] == "Flinks is still preparing the data; the app asks again in a moment."
    assert {row["Meaning"] for row in api if row["Result"] == "200 OK"} == {""}
    assert all(row["Duration"].endswith(" ms") or row["Duration"].endswith(" s") for row in api)
    assert all(row["Ids (login, request)"].startswith(mask_id(login_id) + "  ") for row in api)
    times = [entry.row.at for entry in view.entries]
    assert times == sorted(times, reverse=True)

    # No whole loginId anywhere on screen: cells, tool tips, the detail of every row.
    on_screen = [text for row in rows for text in row.values()]
    model = view.table.model()
    on_screen += [
        model.index(r, c).data(Qt.ItemDataRole.ToolTipRole) or ""
        for r in range(model.rowCount())
        for c in range(model.columnCount())
    ]
    for row in range(model.rowCount()):
        view.table.selectRow(row)
        on_screen.append(view.detail.toPlainText())
    assert all(login_id not in text for text in on_screen)
    assert mask_id(login_id) in view.detail.toPlainText()


def test_a_failed_refresh_says_what_the_flinks_code_means(qtbot, view, recorded) -> None:
    store, _, failing = recorded
    view.set_login(store, failing)

    [failure] = [row for row in cells(view) if row["Result"].endswith("RETRY_LATER")]
    assert failure["What"] == "Authorize" and failure["Kind"] == "API call"
    assert failure["Meaning"] == RETRY_LATER
    error_index = next(r for r in range(view.model.rowCount()) if view.model.entries[r].is_error)
    colour = view.model.index(error_index, ActivityModel.RESULT).data(Qt.ItemDataRole.ForegroundRole)
    assert colour.name() == "#b3261e"  # failures read in red

    errors = view.findChild(type(view.buttons["errors"]), "activityFilterErrors")
    assert errors.text() == "Errors (1)"
    qtbot.mouseClick(errors, Qt.MouseButton.LeftButton)
    assert [row["Meaning"] for row in cells(view)] == [RETRY_LATER]
    assert view.footer.text().startswith("1 of ")

    qtbot.mouseClick(view.buttons["api"], Qt.MouseButton.LeftButton)
    assert {row["Kind"] for row in cells(view)} == {"API call"} and len(cells(view)) > 1
    qtbot.mouseClick(view.buttons["all"], Qt.MouseButton.LeftButton)
    assert len(cells(view)) == view.model.count("all")


def test_connect_events_appear_as_plain_steps(qtbot, view, recorded) -> None:
    store, login_id, _ = recorded
    view.set_login(store, None)  # every login: Connect events before REDIRECT have no login yet

    qtbot.mouseClick(view.buttons["connect"], Qt.MouseButton.LeftButton)
    rows = cells(view)
    assert [row["What"] for row in reversed(rows)] == [
        "Connect opened",
        "Institution selected · Flinks Capital",
        "Security question shown",
        "Connect error · Flinks Capital",
        "<b>new step</b>",
        "Connected (redirect) · Flinks Capital",
    ]
    assert {row["Kind"] for row in rows} == {"Connect"}
    error = rows[-4]
    assert error["Result"] == "INVALID_SECURITY_RESPONSE"
    assert error["Meaning"].startswith("The answer to the security question")
    redirect = rows[0]
    assert redirect["Ids (login, request)"] == mask_id(login_id)
    # Text from outside is text: a tool tip escapes it rather than letting Qt read it as markup.
    tip = view.model.index(1, ActivityModel.WHAT).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;new step&lt;/b&gt;" in tip
    # The whole event is one click away, its ids masked by the store.
    view.table.selectRow(0)
    assert f"loginId={mask_id(login_id)}" in view.detail.toPlainText()
    assert login_id not in view.detail.toPlainText()

    qtbot.mouseClick(view.buttons["errors"], Qt.MouseButton.LeftButton)
    assert sorted(row["Result"] for row in cells(view)) == ["401 RETRY_LATER", "INVALID_SECURITY_RESPONSE"]


def test_empty_states(qtbot, view, recorded) -> None:
    store, login_id, _ = recorded
    assert view.empty.isVisible() and not view.table.isVisible()
    assert view.empty.text().startswith("No activity yet")

    view.set_login(store, login_id)
    assert view.table.isVisible()
    qtbot.mouseClick(view.buttons["errors"], Qt.MouseButton.LeftButton)
    assert view.empty.isVisible() and view.empty.text().startswith("No errors recorded")
    assert view.buttons["errors"].text() == "Errors"

    view.set_login(None, None)
    assert view.empty.isVisible() and view.model.rowCount() == 0


def test_a_deletion_says_whether_flinks_deleted_the_card_first(view, tmp_path) -> None:
    from flinks_desktop.testing import generated_connection

    ids = [f"0b6c1f0e-7d3a-4c55-9a8e-2f41d1b6a9{n:02d}" for n in range(3)]
    with Store.open(tmp_path / "cache.db") as store:
        for login_id in ids:
            store.upsert_login(login_id, "FlinksCapital", at=NOW)
            store.save_snapshot(login_id, generated_connection(8, login_id=login_id, as_of=AS_OF), synced_at=NOW)
        store.purge_login(ids[0], at=NOW, by="agent Tremblay", at_flinks=True)
        store.purge_login(ids[1], at=NOW, by="agent Tremblay", at_flinks=False)
        store.purge_login(ids[2], at=NOW, by="an earlier version")  # recorded before it was said
        view.set_login(store, None)
        said = {row["Ids (login, request)"]: (row["What"], row["Meaning"]) for row in cells(view)}
    assert said[mask_id(ids[0])] == ("Card deleted at Flinks and on this computer", "Asked by agent Tremblay.")
    assert said[mask_id(ids[1])] == ("Connection deleted from this computer only", "Asked by agent Tremblay.")
    assert said[mask_id(ids[2])] == ("Connection deleted from this computer", "Asked by an earlier version.")
