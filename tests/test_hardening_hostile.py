"""No answer ends in a Python error: whatever Flinks (or anything pretending to be it) sends, a sync
ends in a `SyncResult`, the login's status says the same, the cache stays sound, and the next good
refresh works.

Answers are served over real loopback HTTP (`ScriptedServer`) to the real client, and synced by
`Sync.refresh` into a real SQLite cache. Hypothesis generates hostile ones: Flinks' samples with
strings replaced by lone surrogates, control characters, bidirectional overrides, other JSON types,
the Login.Id of another login, ids repeated across accounts. Then the named cases, one by one.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from fault_server import LOGIN_ID, REQUEST_ID, _authorize_body, _detail_body, _statements_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scripted_server import Reply, ScriptedServer, json_reply

from flinks_desktop.core.flinks import FlinksClient
from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import Sync, SyncResult

OTHER_LOGIN = "0badc0de-1111-4222-8333-444455556666"
DETAIL = json.loads(_detail_body(6).replace(b"GEN@@@@", b"GOOD"))
AUTHORIZE = json.loads(_authorize_body())
STATEMENTS = json.loads(_statements_body())
#: Text no cache, terminal or screen should choke on.
NASTY = [
    "\ud800",
    "a\udfffb",
    "\x00",
    "\x1b[31mRED\x1b[0m",
    "\u202egnp.exe",
    "\r\n",
    "",
    " ",
    "\ufeff",
    "\U0001f600",
    "Ω≈ç√",
    "x" * 5000,
    "\x7f\x9f",
    "'; DROP TABLE transactions; --",
    'NEAR("a" "b")',
]
hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(exclude_categories=()), max_size=30),  # surrogates and controls included
)
hostile_value = st.one_of(
    hostile_text,
    st.none(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
#: Where a detail answer keeps text the cache stores.
DETAIL_PATHS = [
    ("Login", "Id"),
    ("Login", "Username"),
    ("Login", "Type"),
    ("Institution",),
    ("InstitutionName",),
    *[
        (("Accounts", a, *rest))
        for a in (0, 1)
        for rest in (
            ("Id",),
            ("Title",),
            ("AccountNumber",),
            ("Currency",),
            ("Type",),
            ("Category",),
            ("TransitNumber",),
            ("Holder", "Name"),
            ("Holder", "Email"),
            ("Holder", "Address", "City"),
            ("Holder", "Address", "POBox"),
            ("Transactions", 0, "Id"),
            ("Transactions", 1, "Description"),
            ("Transactions", 2, "Code"),
            ("Transactions", 0, "Description"),
            ("Transactions", 1, "Date"),
            ("Transactions", 2, "Debit"),
        )
    ],
]
STATEMENT_PATHS = [
    ("Login", "Id"),
    ("StatementsByAccount", 0, "AccountNumber"),
    ("StatementsByAccount", 0, "Statements", 0, "UniqueId"),
    ("StatementsByAccount", 0, "Statements", 0, "FileType"),
    ("StatementsByAccount", 0, "Statements", 0, "Base64Bytes"),
]
AUTHORIZE_PATHS = [("Login", "Id"), ("Login", "Username"), ("Institution",), ("RequestId",)]


@pytest.fixture(scope="module")
def server():
    with ScriptedServer() as running:
        yield running


def changed(document: dict, changes: list[tuple[tuple, object]]) -> dict:
    document = copy.deepcopy(document)
    for path, value in changes:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return document


def reply(document: dict) -> Reply:
    return Reply(200, json.dumps(document).encode())  # ensure_ascii: a lone surrogate goes as \ud800


def good_replies() -> list[Reply]:
    return [reply(AUTHORIZE), reply(DETAIL), reply(STATEMENTS)]


def rows(cache: Path) -> dict[str, list[tuple]]:
    """Every row of the data tables, and the integrity check."""
    with closing(sqlite3.connect(cache)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        db.execute("INSERT INTO transactions_fts (transactions_fts, rank) VALUES ('integrity-check', 1)")
        return {
            table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall()
            for table in ("accounts", "transactions", "statements")
        }


def synced(server: ScriptedServer, cache: Path, *scripts: list[Reply]) -> list[SyncResult]:
    """Link the login (good answers) on a new cache, then refresh it once per script: the results
    of the refreshes. Anything but a SyncResult (an exception) fails the test."""
    new = not cache.exists()

    async def run() -> list[SyncResult]:
        async with FlinksClient(
            f"{server.url}/v3/43387ca6-0391-4c82-857d-70d95f087ecb", poll_interval=0.001, retries=0, deadline=5
        ) as client:
            sync = Sync(client, cache, environment="hostile", statements="MostRecent")
            try:
                if new:
                    server.script(*good_replies())
                    assert (await sync.link(LOGIN_ID, "FlinksCapital")).ok
                results = []
                for script in scripts:
                    server.script(*script)
                    results.append(await sync.refresh(LOGIN_ID))
                return results
            finally:
                await sync.close()

    return asyncio.run(run())


def status(cache: Path):
    with Store.open(cache) as store:
        return store.login(LOGIN_ID)


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    detail=st.lists(st.tuples(st.sampled_from(DETAIL_PATHS), hostile_value), min_size=1, max_size=4),
    statements=st.lists(st.tuples(st.sampled_from(STATEMENT_PATHS), hostile_value), max_size=2),
    authorize=st.lists(st.tuples(st.sampled_from(AUTHORIZE_PATHS), hostile_value), max_size=1),
    same_id_twice=st.booleans(),
)
def test_any_hostile_answer_ends_in_a_result_a_recorded_status_and_a_sound_cache(
    server, detail, statements, authorize, same_id_twice
) -> None:
    answer = changed(DETAIL, detail)
    if same_id_twice:  # one transaction Id in both accounts
        answer["Accounts"][1]["Transactions"][0]["Id"] = DETAIL["Accounts"][0]["Transactions"][0]["Id"]
    hostile = [reply(changed(AUTHORIZE, authorize)), reply(answer), reply(changed(STATEMENTS, statements))]
    with tempfile.TemporaryDirectory() as directory:
        cache = Path(directory) / "cache.db"
        assert synced(server, cache) == []
        before = rows(cache)
        result, again = synced(server, cache, hostile, good_replies())

        assert isinstance(result, SyncResult) and result.outcome in ("ok", "error")
        assert result.message and "Traceback" not in result.message
        if result.ok:
            assert rows(cache)  # sound; what it holds is what the answer said
        else:
            assert rows(cache) == before or result.snapshot is None
        assert again.ok, again.message  # the next good refresh works
        login = status(cache)
        assert login.status == "ok" and login.error_message is None
    # The status of the failed one was recorded with its sentence (checked on a cache of its own).
    with tempfile.TemporaryDirectory() as directory:
        cache = Path(directory) / "cache.db"
        [result] = synced(server, cache, hostile)
        login = status(cache)
        if result.ok:
            assert login.status == "ok"
        else:
            assert (login.status, login.error_message) in {("error", result.message), ("deleted", result.message)}
            assert rows(cache)


# -- the named cases ------------------------------------------------------------------------------------


def refresh_outcome(server, tmp_path, detail, statements=None):
    """Link (good answers), then refresh with this detail answer: (result, login row, the data rows
    before and after, the cache)."""
    cache = tmp_path / "cache.db"
    synced(server, cache)
    before = rows(cache)
    [result] = synced(server, cache, [reply(AUTHORIZE), reply(detail), reply(statements or STATEMENTS)])
    login = status(cache)
    return result, login, before, rows(cache), cache


def test_an_answer_for_another_login_is_an_error_naming_login_id(server, tmp_path) -> None:
    result, login, before, after, cache = refresh_outcome(
        server, tmp_path, changed(DETAIL, [(("Login", "Id"), OTHER_LOGIN)])
    )
    assert result.outcome == "error" and "Login.Id is not the loginId asked for" in result.message
    assert (login.status, login.error_message) == ("error", result.message)
    assert after == before
    [again] = synced(server, cache, good_replies())
    assert again.ok and status(cache).status == "ok"


def test_a_login_id_in_other_letters_is_the_same_login(server, tmp_path) -> None:
    result, login, *_ = refresh_outcome(server, tmp_path, changed(DETAIL, [(("Login", "Id"), LOGIN_ID.upper())]))
    assert result.ok and login.status == "ok"


def test_a_lone_surrogate_is_an_error_naming_the_field(server, tmp_path) -> None:
    result, login, before, after, _ = refresh_outcome(
        server, tmp_path, changed(DETAIL, [(("Accounts", 1, "Transactions", 2, "Description"), "caf\udce9")])
    )
    assert result.outcome == "error"
    assert "text that is not valid Unicode in Accounts[1].Transactions[2].Description" in result.message
    assert (login.status, login.error_message) == ("error", result.message)
    assert after == before


def test_control_characters_in_an_id_are_an_error_naming_the_field(server, tmp_path) -> None:
    result, login, before, after, _ = refresh_outcome(
        server, tmp_path, changed(DETAIL, [(("Accounts", 0, "Transactions", 1, "Id"), "abc\x00\n")])
    )
    assert result.outcome == "error"
    assert "an id with control characters in Accounts[0].Transactions[1].Id" in result.message
    assert (login.status, login.error_message) == ("error", result.message)
    assert after == before


def test_control_characters_in_text_are_kept_as_sent(server, tmp_path) -> None:
    text = "LINE\nBREAK \x1b[31mRED\x00NUL \u202eRTL"
    result, login, *_, cache = refresh_outcome(
        server, tmp_path, changed(DETAIL, [(("Accounts", 0, "Transactions", 0, "Description"), text)])
    )
    assert result.ok and login.status == "ok"
    with Store.open(cache) as store:
        assert text in {row.description for row in store.transactions(LOGIN_ID)}
        assert store.count_transactions(LOGIN_ID, search="line break") == 1


def test_one_transaction_id_in_two_accounts_keeps_both(server, tmp_path) -> None:
    shared = DETAIL["Accounts"][0]["Transactions"][0]["Id"]
    result, login, *_, cache = refresh_outcome(
        server, tmp_path, changed(DETAIL, [(("Accounts", 1, "Transactions", 0, "Id"), shared)])
    )
    assert result.ok
    with Store.open(cache) as store:
        assert sorted(row.account_id for row in store.transactions(LOGIN_ID) if row.id == shared) == sorted(
            account["Id"] for account in DETAIL["Accounts"]
        )


def test_a_statement_that_is_not_ascii_is_left_out_not_a_crash(server, tmp_path) -> None:
    statements = changed(STATEMENTS, [(("StatementsByAccount", 0, "Statements", 0, "Base64Bytes"), "é\ud800")])
    result, login, *_ = refresh_outcome(server, tmp_path, DETAIL, statements)
    assert result.ok and "1 statement that Flinks sent could not be read" in result.message


def test_flinks_words_that_are_not_unicode_are_recorded_readable(server, tmp_path) -> None:
    cache = tmp_path / "cache.db"
    refusal = json_reply(
        400, {"HttpStatusCode": 400, "FlinksCode": "SOMETHING_NEW", "Message": "No \ud83d way", "RequestId": REQUEST_ID}
    )
    [result] = synced(server, cache, [refusal])
    assert result.outcome == "error" and result.message == "Flinks refused the request: No \ufffd way"
    assert status(cache).error_message == result.message


@pytest.mark.parametrize(
    ("login_id", "said"),
    [
        ("../../etc/passwd", "Login.Id is not a GUID"),
        ("b0debb48-f9f1-46c6-80a4-08d7dd88d47\ud800", "did not say which connection (loginId) it made"),
    ],
)
def test_a_direct_login_whose_login_id_is_not_a_guid_is_an_error(server, tmp_path, login_id, said) -> None:
    async def run() -> SyncResult:
        async with FlinksClient(f"{server.url}/v3/43387ca6-0391-4c82-857d-70d95f087ecb", retries=0) as client:
            sync = Sync(client, tmp_path / "cache.db", environment="hostile", statements=None)
            try:
                server.script(reply(changed(AUTHORIZE, [(("Login", "Id"), login_id)])))
                return await sync.login("FlinksCapital", "Greatday", "Everyday", mfa=None)
            finally:
                await sync.close()

    result = asyncio.run(run())
    assert result.outcome == "error" and said in result.message
    with Store.open(tmp_path / "cache.db") as store:
        assert store.logins() == []


def test_a_question_that_is_not_unicode_is_answered_as_flinks_sent_it(server, tmp_path) -> None:
    prompt = "Ville de naissance \ud83d ?"
    question = json_reply(
        203,
        {
            "HttpStatusCode": 203,
            "RequestId": REQUEST_ID,
            "Institution": "FlinksCapital",
            "SecurityChallenges": [{"Type": "QuestionAndAnswer", "Prompt": prompt}],
        },
    )
    asked = []

    async def answer(mfa_prompt):
        asked.append(mfa_prompt.challenges[0].prompt)
        return {mfa_prompt.challenges[0].prompt: ["Montréal"]}

    async def run() -> SyncResult:
        async with FlinksClient(f"{server.url}/v3/43387ca6-0391-4c82-857d-70d95f087ecb", retries=0) as client:
            sync = Sync(client, tmp_path / "cache.db", environment="hostile", statements="MostRecent")
            try:
                server.script(*good_replies())
                assert (await sync.link(LOGIN_ID, "FlinksCapital")).ok
                server.script(question, *good_replies())
                return await sync.refresh(LOGIN_ID, live=True, mfa=answer)
            finally:
                await sync.close()

    result = asyncio.run(run())
    assert result.ok, result.message
    assert asked == [prompt]
    sent = json.loads(server.requests[1].body)
    assert sent["SecurityResponses"] == {prompt: ["Montréal"]}  # the prompt exactly as Flinks wrote it
