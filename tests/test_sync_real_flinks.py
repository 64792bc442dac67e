"""`Sync` against what real Flinks instances send, not only our sandbox: the loose shapes replayed
over loopback HTTP (`ScriptedServer`, the shapes of test_flinks_tolerance.py), and the sandbox
(`flinks_sandbox_factory`) where it suffices. On real SQLite files, read back as the GUI reads them.

What must hold: the snapshot is saved exactly (money to the cent, numbers kept as text), what could
not be read or kept is left out alone and said in the login's Activity (no values, ids masked), MFA
is asked wherever Flinks asks it, a question that cannot be asked here ends in a sentence sending
the agent to Flinks Connect, a damaged statement never breaks a sync, each retry of a read is its
own line of the Activity, and refresh_all reports every login on its own.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from scripted_server import Reply, ScriptedServer, json_reply
from test_flinks_retries import UNAVAILABLE, Waits, too_many
from test_flinks_tolerance import (
    CARD,
    CHEQUING,
    CUSTOMER,
    HUGE,
    LOGIN_ID,
    REQUEST_ID,
    authorized_without_login,
    loose_detail,
    loose_statements,
    one_question,
    raw_json,
    sample,
    two_questions,
)
from test_sync import AS_OF, ENVIRONMENT, connect

from flinks_desktop.core.audit import DATA_DROPPED
from flinks_desktop.core.flinks import FlinksClient, UnsupportedChallenge
from flinks_desktop.core.redact import mask_id
from flinks_desktop.core.store import Store
from flinks_desktop.core.sync import MfaPrompt, Sync, SyncResult
from flinks_desktop.sandbox.dataset import build_dataset

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
GOOD_PDF = build_dataset("Greatday", date(2026, 11, 21)).statement_pdf(
    build_dataset("Greatday", date(2026, 11, 21)).accounts()[0]["Id"], 2026, 10
)
CITY, STREET, COUNTRY = (
    "What city were you born in?",
    "Which street did you live on?",
    "What is the best country on earth?",
)
SOMEONE_ELSE = "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def unsupported_security_handler_pdf() -> bytes:
    """A PDF protected by a security handler pypdf does not implement: reading it raises
    NotImplementedError, which no `except PdfReadError` catches."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        b"<< /Filter /Adobe.PubSec /V 4 /R 4 >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.6\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [<01> <01>] >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, xref)
    )
    return out.getvalue()


DAMAGED_PDF = unsupported_security_handler_pdf()


@pytest.fixture
def server():
    with ScriptedServer() as running:
        yield running


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "data" / "cache.db"


def cached_login(cache: Path, login_id: str = LOGIN_ID) -> None:
    """A login this computer already has (linked after Connect, some days ago)."""
    with Store.open(cache) as store:
        store.upsert_login(login_id, "FlinksCapital", at=NOW, environment=ENVIRONMENT)


async def run_sync(url: str, cache: Path, use, *, client: Mapping[str, Any] | None = None, **options: Any):
    async with FlinksClient(url, poll_interval=0.001, sleep=Waits(), **(client or {})) as flinks:
        sync = Sync(flinks, cache, environment=ENVIRONMENT, **options)
        try:
            return await use(sync)
        finally:
            await sync.close()


class Person:
    """Answers the bank's questions as the customer would, and remembers what was asked."""

    ANSWERS = {CITY: "Montreal", COUNTRY: "Canada", "What shape do people like most?": "Triangle"}

    def __init__(self) -> None:
        self.asked: list[MfaPrompt] = []

    async def __call__(self, prompt: MfaPrompt) -> dict[str, list[str]]:
        self.asked.append(prompt)
        assert len(self.asked) <= 10, "asked again and again"  # a scripted server may ask forever
        return {c.prompt: [c.options[1]] if c.options else [self.ANSWERS.get(c.prompt, "?")] for c in prompt.challenges}


# -- the loose shapes, saved exactly ---------------------------------------------------------------------


def test_a_live_refresh_of_a_real_instance_is_saved_exactly_and_what_was_left_out_is_said(server, cache) -> None:
    detail = loose_detail()
    detail["Accounts"][0]["Transactions"][1]["Debit"] = "0.005"  # half a cent: the cache cannot keep it
    pdfs = (
        ("GOOD", base64.b64encode(GOOD_PDF).decode()),
        ("DAMAGED", base64.b64encode(DAMAGED_PDF).decode()),
        ("NOT-BASE64", "%PDF-1.4 not base64 at all"),
    )
    server.script(
        json_reply(203, two_questions()),
        json_reply(203, one_question(COUNTRY)),
        json_reply(200, authorized_without_login(None)),  # no Login, no RequestId: the session goes on
        json_reply(202, sample("get_accounts_detail_202_operation_pending.json") | {"RequestId": REQUEST_ID}),
        Reply(200, raw_json(detail)),
        json_reply(200, loose_statements(LOGIN_ID, REQUEST_ID, *pdfs)),
    )
    cached_login(cache)
    person = Person()
    result = asyncio.run(
        run_sync(f"{server.url}/v3/{CUSTOMER}", cache, lambda sync: sync.refresh(LOGIN_ID, live=True, mfa=person))
    )

    assert result.ok, result.message
    # Two rounds: two questions (one a choice), then one.
    assert [[(c.prompt, c.options) for c in p.challenges] for p in person.asked] == [
        [(CITY, ()), (STREET, ("Rue Sainte-Catherine", "Rue Sherbrooke", "Boulevard Saint-Laurent"))],
        [(COUNTRY, ())],
    ]
    assert json.loads(server.requests[1].body)["SecurityResponses"] == {CITY: ["Montreal"], STREET: ["Rue Sherbrooke"]}
    assert json.loads(server.requests[3].body)["RequestId"] == REQUEST_ID  # the session the MFA answer kept

    with Store.open(cache) as store:
        chequing, card = store.accounts(LOGIN_ID)
        transactions = {t.id: t for t in store.transactions(LOGIN_ID)}
        statements = {s.unique_id: s for s in store.statements(LOGIN_ID)}
        damaged_bytes = store.statement_pdf(LOGIN_ID, "DAMAGED")
        login = store.login(LOGIN_ID)
        activity = store.activity(LOGIN_ID)
    assert login.status == "ok" and login.synced_at is not None
    assert (chequing.id, chequing.transit_number, chequing.institution_number) == (CHEQUING, "12347", "777")
    assert chequing.balance.current == Decimal(HUGE)  # 9,007,199,254,740,993 cents: no float in between
    assert chequing.balance.available is None and chequing.balance.limit == Decimal("5105.50")
    assert chequing.holder.name == "Testing" and chequing.overdraft_limit == Decimal("100.50")
    assert (card.id, card.type, card.account_number, card.missing_since) == (CARD, None, "420024******4242", None)
    payroll = transactions["94584aed-7c98-42a4-9836-9f8557db63f5"]
    assert (payroll.code, payroll.credit, payroll.debit, payroll.balance) == (
        "7",
        Decimal("1500.25"),
        Decimal("1000.40"),
        Decimal("5105.60"),
    )
    older = transactions["0b9d4c55-0d5e-4f3b-8d54-3f4f1b0b1a01"]
    assert (older.date, older.debit, older.balance) == (date(2019, 5, 9), None, Decimal("5093.30"))
    assert transactions["0b9d4c55-0d5e-4f3b-8d54-3f4f1b0b1a04"].credit == Decimal("0.10")
    assert len(transactions) == 3  # the two rows that could not be read are not there
    # The damaged PDF is kept, its period unknown; the good one has its month; the other was left out.
    assert set(statements) == {"GOOD", "DAMAGED"}
    assert (statements["GOOD"].period_start, statements["GOOD"].period_end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert statements["DAMAGED"].period_start is None and damaged_bytes == DAMAGED_PDF

    assert result.message.endswith(
        "1 statement, 2 transactions and 1 field that Flinks sent could not be read or kept exactly, "
        "so they were left out. See Activity."
    )
    assert [(d.what, d.path) for d in result.dropped] == [
        ("transaction", "Accounts[0].Transactions[2].Date"),
        ("transaction", "Accounts[0].Transactions[3].Id"),
        ("field", "Transaction.Debit"),
        ("statement", "StatementsByAccount[0].Statements[2].Base64Bytes"),
    ]
    [dropped] = [row for row in activity if row.kind == "app" and row.name == DATA_DROPPED]
    assert dropped.login == mask_id(LOGIN_ID)
    assert dropped.detail["count"] == 4
    assert dropped.detail["counts"] == {"transaction": 2, "field": 1, "statement": 1}
    assert dropped.detail["message"] == (
        "1 statement, 2 transactions and 1 field that Flinks sent could not be read or kept exactly, so they "
        "were left out. Everything else was saved."
    )
    assert dropped.detail["items"][0] == {
        "what": "transaction",
        "where": "Accounts[0].Transactions[2].Date",
        "why": "missing",
        "id": mask_id("0b9d4c55-0d5e-4f3b-8d54-3f4f1b0b1a02"),
        "account": mask_id(CHEQUING),
    }
    text = json.dumps(dropped.detail)
    for value in (
        "Missing its date",
        "Missing its id",
        "0.005",
        "not base64",
        CHEQUING,
        LOGIN_ID,
        "0b9d4c55-0d5e-4f3b-8d54-3f4f1b0b1a02",
    ):
        assert value not in text
    api = [(row.name, row.status) for row in reversed(activity) if row.kind == "api"]
    assert api == [
        ("Authorize", 203),
        ("Authorize", 203),
        ("Authorize", 200),
        ("GetAccountsDetail", 202),
        ("GetAccountsDetailAsync", 200),
        ("GetStatements", 200),
    ]


def test_a_snapshot_that_left_out_rows_deletes_and_hides_nothing_on_their_account(server, cache) -> None:
    """Before: Flinks sent everything. Then an answer with an account and a transaction no one can
    read: what the cache has of them stays, neither deleted as stale nor marked missing."""
    complete = loose_detail()
    complete["Accounts"][0]["Transactions"] = [
        t for t in complete["Accounts"][0]["Transactions"] if "Id" in t and "Date" in t
    ]
    partial = loose_detail()
    del partial["Accounts"][1]["Id"]  # the card cannot be read this time
    del partial["Accounts"][0]["Transactions"][0]["Date"]  # nor the payroll
    cached_login(cache)
    server.script(
        json_reply(200, sample("authorize_200_cached.json") | {"RequestId": REQUEST_ID}),
        Reply(200, raw_json(complete)),
        json_reply(200, sample("authorize_200_cached.json") | {"RequestId": REQUEST_ID}),
        Reply(200, raw_json(partial)),
    )

    async def twice(sync: Sync) -> tuple[SyncResult, SyncResult]:
        return await sync.refresh(LOGIN_ID), await sync.refresh(LOGIN_ID)

    first, second = asyncio.run(run_sync(f"{server.url}/v3/{CUSTOMER}", cache, twice, statements=None))
    assert first.ok and second.ok and first.dropped == ()
    assert second.snapshot.removed == 0 and second.snapshot.accounts_missing == 0
    with Store.open(cache) as store:
        assert [(a.id, a.missing_since) for a in store.accounts(LOGIN_ID)] == [(CHEQUING, None), (CARD, None)]
        assert "94584aed-7c98-42a4-9836-9f8557db63f5" in {t.id for t in store.transactions(LOGIN_ID)}


def test_each_retry_of_a_read_is_its_own_line_in_activity(server, cache) -> None:
    cached_login(cache)
    server.script(
        json_reply(200, sample("authorize_200_cached.json") | {"RequestId": REQUEST_ID}),
        UNAVAILABLE,
        too_many(Retry_After="2"),
        Reply(200, raw_json(loose_detail())),
    )
    result = asyncio.run(
        run_sync(f"{server.url}/v3/{CUSTOMER}", cache, lambda sync: sync.refresh(LOGIN_ID), statements=None)
    )
    assert result.ok, result.message
    with Store.open(cache) as store:
        api = [
            (row.name, row.status, row.flinks_code, row.request)
            for row in reversed(store.activity(LOGIN_ID))
            if row.kind == "api"
        ]
    assert api == [
        ("Authorize", 200, None, mask_id(REQUEST_ID)),
        ("GetAccountsDetail", 503, None, mask_id(REQUEST_ID)),
        ("GetAccountsDetail", 429, "TOO_MANY_REQUESTS", mask_id(REQUEST_ID)),
        ("GetAccountsDetail", 200, None, mask_id(REQUEST_ID)),
    ]


# -- MFA wherever Flinks asks it -----------------------------------------------------------------------------


def test_an_image_challenge_ends_in_a_sentence_to_use_flinks_connect(server, cache) -> None:
    image = two_questions()
    image["SecurityChallenges"] = [
        {"Type": "ImageSelection", "Prompt": "Pick your image", "Iterables": ["iVBORw0KGgo=", "iVBORw0KGgp="]}
    ]
    cached_login(cache)
    cached_login(cache, SOMEONE_ELSE)
    server.otherwise = json_reply(203, image)  # every login's cached /Authorize asks it
    person = Person()

    async def refreshes(sync: Sync) -> tuple[SyncResult, list[SyncResult]]:
        return await sync.refresh(LOGIN_ID, mfa=person), await sync.refresh_all()

    single, every = asyncio.run(run_sync(f"{server.url}/v3/{CUSTOMER}", cache, refreshes))
    sentence = (
        "The bank asks a security question this app cannot show (an image to choose from). "
        "Use Flinks Connect for this connection: it shows every kind of question."
    )
    assert person.asked == []  # nobody is asked what cannot be answered here
    for result in (single, *every):
        assert (result.outcome, result.message) == ("error", sentence)
        assert isinstance(result.error, UnsupportedChallenge)
    with Store.open(cache) as store:
        assert {(login.status, login.error_message) for login in store.logins()} == {("error", sentence)}


def test_a_cached_refresh_that_flinks_questions_asks_the_person_like_a_live_one(flinks_sandbox_factory, cache) -> None:
    sandbox = flinks_sandbox_factory(as_of=AS_OF, pending_polls=0, cached_mfa=True, mfa_rounds=2)
    person = Person()

    async def scenario() -> tuple[str, SyncResult, list[SyncResult], SyncResult]:
        login_id = await connect(sandbox, "Greatday")
        async with FlinksClient(sandbox.api_url, poll_interval=0.01) as flinks:
            sync = Sync(flinks, cache, environment=ENVIRONMENT, statements=None)
            try:
                linked = await sync.link(login_id, "FlinksCapital", mfa=person)
                every = await sync.refresh_all(mfa=person)  # cached, as every morning
                unanswered = await sync.refresh(login_id)  # nobody to ask
            finally:
                await sync.close()
        return login_id, linked, every, unanswered

    login_id, linked, every, unanswered = asyncio.run(scenario())
    assert linked.ok, linked.message
    assert [(r.login_id, r.outcome) for r in every] == [(login_id, "ok")]
    assert unanswered.outcome == "needs_mfa"
    assert len(person.asked) == 4  # two rounds for the link, two for refresh all
    assert all(p.login_id == login_id and p.institution == "FlinksCapital" for p in person.asked)
    cached_authorizes = [
        json.loads(r.body) for r in sandbox.requests if r.path.endswith("/Authorize") and b"LoginId" in r.body
    ]
    assert {body["MostRecentCached"] for body in cached_authorizes} == {True}


def test_add_goes_on_when_the_mfa_answer_comes_without_login(server, cache) -> None:
    server.script(
        json_reply(203, one_question(CITY)),
        json_reply(200, authorized_without_login()),
        Reply(200, raw_json(loose_detail())),
    )
    result = asyncio.run(
        run_sync(f"{server.url}/v3/{CUSTOMER}", cache, lambda sync: sync.add(LOGIN_ID, mfa=Person()), statements=None)
    )
    assert result.ok, result.message
    with Store.open(cache) as store:
        login = store.login(LOGIN_ID)
        assert (login.institution, login.environment, login.status) == ("FlinksCapital", ENVIRONMENT, "ok")
        assert login.username == "chat_gpt"  # from the data's Login: /Authorize did not say


def test_a_direct_login_whose_answer_names_no_login_is_one_sentence(server, cache) -> None:
    server.script(json_reply(203, one_question(CITY)), json_reply(200, authorized_without_login()))
    result = asyncio.run(
        run_sync(
            f"{server.url}/v3/{CUSTOMER}",
            cache,
            lambda sync: sync.login("FlinksCapital", "Greatday", "Everyday", mfa=Person()),
        )
    )
    assert (result.outcome, result.login_id) == ("error", None)
    assert result.message.startswith("Flinks signed in at the bank but did not say which connection")
    with Store.open(cache) as store:
        assert store.logins() == []


# -- refresh all reports each login on its own -----------------------------------------------------------------


def test_one_logins_unexpected_failure_is_its_own_error_in_refresh_all(flinks_sandbox_factory, cache) -> None:
    sandbox = flinks_sandbox_factory(as_of=AS_OF, pending_polls=0)

    async def broken_dialog(prompt: MfaPrompt) -> dict[str, list[str]]:
        raise RuntimeError("a bug in the dialog")

    async def scenario() -> tuple[list[str], list[SyncResult]]:
        logins = [await connect(sandbox, username) for username in ("greatday_nomfa", "Greatday", "test_pending")]
        async with FlinksClient(sandbox.api_url, poll_interval=0.01) as flinks:
            sync = Sync(flinks, cache, environment=ENVIRONMENT, statements=None)
            try:
                for login_id in logins:
                    assert (await sync.link(login_id, "FlinksCapital")).ok
                return logins, await sync.refresh_all(live=True, mfa=broken_dialog)
            finally:
                await sync.close()

    logins, results = asyncio.run(scenario())
    assert [(r.login_id, r.outcome) for r in results] == [(logins[0], "ok"), (logins[1], "error"), (logins[2], "ok")]
    assert isinstance(results[1].error, RuntimeError)
    assert results[1].message.startswith("Something unexpected went wrong (RuntimeError)")
    with Store.open(cache) as store:
        assert [store.login(login_id).status for login_id in logins] == ["ok", "error", "ok"]
