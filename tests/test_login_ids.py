"""Reading loginIds from what people paste or open: ticket text, CSV columns, text files."""

from __future__ import annotations

import pytest

from flinks_desktop.core.login_ids import login_id_in, normalise, read_login_ids

A = "b0debb48-f9f1-46c6-80a4-08d7dd88d478"
B = "152b925b-22ef-4c1e-9d0a-6a4f3e2b1c0d"


@pytest.mark.parametrize(
    "pasted",
    [
        A,
        f"  {A}  ",
        f"{A}\n",
        f'"{A}"',
        f"'{A}'",
        f"“{A}”",
        A.upper(),
        f"loginId={A}",
        f"LoginId: {A}",
        f"<{A}>",
        f"{A},",
        f"Ticket 4521: {A} cannot connect since Monday",  # a line of the ticket, copied whole
        f"https://support.example/flinks/loginId/{A}/details",
        f"customer says “{A}”.",
    ],
)
def test_a_pasted_login_id_is_read_whatever_surrounds_it(pasted: str) -> None:
    assert login_id_in(pasted) == A


@pytest.mark.parametrize(
    "pasted",
    [
        "",
        "b0debb48-f9f1",
        f"{A}0",
        "4c1bb6…-45aa-4d1f-9f2c-0e6b1c9d8a11",
        f"{A} {B}",
        "Greatday",
        f"ticket {A}0 again",  # a longer run: not a loginId that stands on its own
        f"moved from {A} to {B}",  # two: which one is meant is not guessed
        f"x{A}",
    ],
)
def test_what_is_not_one_login_id_is_none(pasted: str) -> None:
    assert login_id_in(pasted) is None


def test_normalise_keeps_inner_text() -> None:
    assert normalise('  "Flinks Capital"\n') == "Flinks Capital"


def test_lines_of_text_in_order_once_each_with_the_rest_reported() -> None:
    text = f"# this morning's tickets\n{A}\n\n  {B.upper()}  \n{A}\nb0debb48-f9f1\nTicket from Bob\n"
    found = read_login_ids(text)
    assert found.login_ids == [A, B]
    assert found.repeated == 1
    assert found.rejected == [(6, "b0debb48-f9f1"), (7, "Ticket from Bob")]


def test_a_csv_column_is_taken_and_its_header_skipped() -> None:
    text = f'ticket,loginId,agent\n4521,{A},marie\n4522,"{B}",paul\n4523,,paul\n'
    found = read_login_ids(text)
    assert found.login_ids == [A, B]
    assert found.rejected == [(4, "4523,,paul")]


def test_semicolon_csv_with_windows_line_ends() -> None:
    found = read_login_ids(f"Login ID;Bank\r\n{A};FlinksCapital\r\n{B};FlinksCapital\r\n")
    assert found.login_ids == [A, B] and found.rejected == []


def test_a_line_of_ticket_text_with_one_login_id_gives_it() -> None:
    found = read_login_ids(f"Ticket 4521 from Bob: {A} cannot connect\nTicket 4522: {B.upper()}, RBC\n")
    assert found.login_ids == [A, B] and found.rejected == []


def test_two_login_ids_on_one_line_are_reported_not_guessed() -> None:
    found = read_login_ids(f"{A},{B}\n")
    assert found.login_ids == [] and found.rejected == [(1, f"{A},{B}")]
