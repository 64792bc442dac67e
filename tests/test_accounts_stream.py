"""GetAccountsDetail read as it comes (`AccountsStream`): the same answer as `parse_accounts` reads
whole, whatever Flinks sends and wherever the text is cut between two reads of the file.

The property: for any answer, `read_accounts` (the stream, its batches put back in their accounts)
and `parse_accounts(loads(...))` give the same `AccountsResult`, `Dropped` list and all, or the
same `ProtocolError`. Checked on the published samples, on hostile variants of them (Hypothesis),
with the fields of an account in another order (its Id after its transactions, as Flinks' sample
has it), and with reads of a few bytes, so that every value is cut in two somewhere.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from fault_server import _detail_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flinks_desktop.core.flinks import Dropped, ProtocolError, models
from flinks_desktop.core.flinks.models import (
    AccountEnd,
    AccountsStream,
    TransactionBatch,
    loads,
    parse_accounts,
    read_accounts,
)

SAMPLES = Path(__file__).parent / "fixtures" / "flinks-samples"
DETAIL = json.loads(_detail_body(7).replace(b"GEN@@@@", b"GOOD"))


def whole(raw: bytes) -> object:
    """What `parse_accounts` says of `raw`: the result, or ("refused", the ProtocolError's detail)."""
    try:
        return parse_accounts(loads(raw))
    except ProtocolError as error:
        return ("refused", error.detail)


def streamed(raw: bytes) -> object:
    try:
        return read_accounts(io.BytesIO(raw))
    except ProtocolError as error:
        return ("refused", error.detail)


@pytest.fixture
def tiny_reads(monkeypatch):
    """Reads of `size` bytes: every value of a small answer is cut between two of them somewhere."""

    def reads_of(size: int) -> None:
        monkeypatch.setattr(models, "_STREAM_READ", size)

    return reads_of


@pytest.mark.parametrize("name", sorted(path.name for path in SAMPLES.glob("*.json")))
def test_every_published_sample_reads_the_same_streamed(name: str, tiny_reads) -> None:
    raw = (SAMPLES / name).read_bytes()
    assert streamed(raw) == whole(raw)
    tiny_reads(3)
    assert streamed(raw) == whole(raw)


@pytest.mark.parametrize("size", [1, 2, 5, 7, 64])
def test_a_window_of_any_size_reads_the_same(size: int, tiny_reads) -> None:
    raw = json.dumps(DETAIL, indent=1, ensure_ascii=False).encode()  # white space and UTF-8 everywhere
    expected = whole(raw)
    tiny_reads(size)
    assert streamed(raw) == expected
    assert len(expected.accounts) == 2 and len(expected.accounts[0].transactions) == 4


#: Where the answer holds values its reader must take in every shape (docs/flinks-compatibility.md).
PATHS = [
    ("RequestId",),
    ("Login",),
    ("Login", "Id"),
    ("Institution",),
    ("InstitutionId",),
    ("Accounts",),
    *[
        (("Accounts", a, *rest))
        for a in (0, 1)
        for rest in (
            (),
            ("Id",),
            ("Title",),
            ("Balance",),
            ("Balance", "Current"),
            ("Holder",),
            ("Transactions",),
            ("Transactions", 0),
            ("Transactions", 0, "Id"),
            ("Transactions", 1, "Date"),
            ("Transactions", 2, "Debit"),
            ("Transactions", 2, "Credit"),
            ("Transactions", 3, "Code"),
            ("Transactions", 1, "Description"),
        )
    ],
]
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["2025-01-31", "2025/1/31", "2025-02-30", "12.345", "-7", "", " 7.00 ", "\ud800", "é\U0001f600"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["Id", "Date", "x"]), st.text(max_size=4), max_size=2),
)


def changed(document: dict, changes: list[tuple[tuple, object]]) -> dict:
    document = copy.deepcopy(document)
    for path, value in changes:
        target = document
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # an earlier change took that path away
            pass
    return document


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(st.tuples(st.sampled_from(PATHS), values), max_size=4),
    id_last=st.booleans(),
    size=st.sampled_from([1, 3, 16, 1024 * 1024]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32-le"]),
    ascii_only=st.booleans(),
)
def test_any_answer_reads_the_same_streamed_as_whole(
    changes, id_last: bool, size: int, encoding: str, ascii_only: bool
) -> None:
    """Whatever the answer holds, and in any encoding json.loads reads (a lone surrogate in UTF-8
    included, which it keeps, and the sync then refuses naming the field)."""
    document = changed(DETAIL, changes)
    accounts = document.get("Accounts")
    if id_last and isinstance(accounts, list):  # each account's fields after its transactions, its Id last
        for account in accounts:
            if isinstance(account, dict):
                for key in [key for key in account if key != "Transactions"]:
                    account[key] = account.pop(key)
                if "Id" in account:
                    account["Id"] = account.pop("Id")
    raw = json.dumps(document, ensure_ascii=ascii_only).encode(encoding, "surrogatepass")
    expected = whole(raw)
    models._STREAM_READ, kept = size, models._STREAM_READ
    try:
        assert streamed(raw) == expected
    finally:
        models._STREAM_READ = kept


def test_batches_come_per_account_with_their_places_then_the_account() -> None:
    document = copy.deepcopy(DETAIL)
    document["Accounts"][0]["Transactions"][1] = "not a transaction"
    for account in document["Accounts"]:  # the Id after the transactions
        account["Id"] = account.pop("Id")
    stream = AccountsStream(io.BytesIO(json.dumps(document).encode()), batch=2)
    parts = list(stream)
    shape = [
        (type(part).__name__, part.account if isinstance(part, TransactionBatch) else part.index) for part in parts
    ]
    assert shape == [
        ("TransactionBatch", 0),
        ("TransactionBatch", 0),
        ("AccountEnd", 0),
        ("TransactionBatch", 1),
        ("TransactionBatch", 1),
        ("AccountEnd", 1),
    ]
    assert [part.positions for part in parts if isinstance(part, TransactionBatch)] == [(0, 2), (3,), (0, 1), (2,)]
    ends = [part for part in parts if isinstance(part, AccountEnd)]
    assert [end.account.id for end in ends] == [account["Id"] for account in DETAIL["Accounts"]]
    assert ends[0].account.unread_transactions == 1 and ends[0].account.transactions == ()
    # The transaction left out is of the account whose Id came after it.
    assert stream.result.dropped == (
        Dropped(
            "transaction",
            "Accounts[0].Transactions[1]",
            "expected an object, got str",
            None,
            DETAIL["Accounts"][0]["Id"],
        ),
    )


def test_an_account_without_an_id_takes_its_streamed_transactions_and_their_faults_with_it() -> None:
    document = copy.deepcopy(DETAIL)
    del document["Accounts"][0]["Id"]
    document["Accounts"][0]["Transactions"][0]["Date"] = "never"
    parts = list(stream := AccountsStream(io.BytesIO(json.dumps(document).encode()), batch=100))
    assert isinstance(parts[0], TransactionBatch) and parts[0].account == 0  # it came before the account's end
    assert parts[1] == AccountEnd(0, None)
    assert stream.result.dropped == (Dropped("account", "Accounts[0].Id", "missing"),)
    assert [account.id for account in stream.result.accounts] == [DETAIL["Accounts"][1]["Id"]]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b'{"RequestId": "r", "Accounts": [], "Accounts": []}', "Accounts: sent twice"),
        (
            b'{"RequestId": "r", "Accounts": [{"Id": "a", "Transactions": [], "Transactions": []}]}',
            "Accounts[0].Transactions: sent twice",
        ),
        (b'{"Accounts": [{"Id": "a", "Transactions": [{"Id": "t", "Date": "2025-01-01"}]}]}', "RequestId: missing"),
        (b'{"RequestId": "r", "Accounts": {}}', "Accounts: expected a list, got dict"),
        (b'{"RequestId": "r"} {}', "body is not JSON (JSONDecodeError)"),
        (b'{"RequestId": "r", "Accounts": [{"Id": "a"},]}', "body is not JSON (JSONDecodeError)"),
        (b'{"RequestId": "\xff"}', "body is not JSON (UnicodeDecodeError)"),
        (
            b'{"RequestId": "r", "Accounts": [{"Id": "a", "Transactions": [{"Debit": NaN}]}]}',
            "body is not JSON (ValueError)",
        ),  # as `loads` says it
        (b"[" * 100_000, "body is not JSON (RecursionError)"),
    ],
)
def test_what_cannot_be_read_whole_is_one_protocol_error(text: bytes, why: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        read_accounts(io.BytesIO(text))
    assert caught.value.detail == why


def test_an_answer_cut_anywhere_is_refused_never_half_read(tiny_reads) -> None:
    raw = json.dumps(DETAIL).encode()
    tiny_reads(5)
    for end in range(0, len(raw) - 1, 7):
        with pytest.raises(ProtocolError):
            read_accounts(io.BytesIO(raw[:end]))


def test_the_file_is_closed_when_read_and_when_left() -> None:
    read, left = io.BytesIO(json.dumps(DETAIL).encode()), io.BytesIO(json.dumps(DETAIL).encode())
    list(AccountsStream(read))
    with AccountsStream(left) as stream:
        next(iter(stream))
    assert read.closed and left.closed
    with pytest.raises(RuntimeError):
        stream.result  # noqa: B018 - not read to its end
