"""Reading a statement's period from its first page (Flinks does not send it)."""

from __future__ import annotations

from datetime import date

import pytest

from flinks_desktop.core.statement_period import period_from_pdf, period_from_text
from flinks_desktop.sandbox.dataset import build_dataset

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


@pytest.mark.parametrize(
    "text",
    [
        "Account Statement\nOctober 1, 2026 to October 31, 2026\nStatement date: October 31, 2026",
        "Statement period: Oct 1, 2026 - Oct 31, 2026",
        "Period 2026-10-01 to 2026-10-31",
        "Relevé de compte du 1er octobre 2026 au 31 octobre 2026",
        "Période : 1 octobre 2026 – 31 octobre 2026",
    ],
)
def test_the_common_shapes_of_a_period(text):
    assert period_from_text(text) == OCTOBER


def test_the_first_plausible_range_wins():
    assert period_from_text("Sept. 1, 2026 – Sept. 30, 2026 ... Oct 1, 2026 - Oct 31, 2026") == (
        date(2026, 9, 1),
        date(2026, 9, 30),
    )
    # Not a statement period: backwards, too long, impossible dates, or no range at all.
    assert period_from_text("October 31, 2026 to October 1, 2026") is None
    assert period_from_text("January 1, 2020 to December 31, 2026") is None
    assert period_from_text("February 30, 2026 to March 31, 2026") is None
    assert period_from_text("Member since 2019. Balance 1,234.56") is None


def test_the_sandbox_statements_carry_their_month():
    dataset = build_dataset("Greatday", date(2026, 11, 21))
    account = dataset.accounts()[0]["Id"]
    assert period_from_pdf(dataset.statement_pdf(account, 2026, 10)) == OCTOBER
    assert period_from_pdf(dataset.statement_pdf(account, 2026, 2)) == (date(2026, 2, 1), date(2026, 2, 28))


@pytest.mark.parametrize("content", [b"", b"not a pdf", b"%PDF-1.4 truncated", b"\x00" * 100])
def test_what_is_not_a_readable_pdf_has_no_period(content):
    assert period_from_pdf(content) is None


def test_a_pdf_that_makes_pypdf_raise_anything_has_no_period():
    """A statement under a security handler pypdf does not implement raises NotImplementedError."""
    import io

    from pypdf import PdfReader
    from test_sync_real_flinks import DAMAGED_PDF

    with pytest.raises(NotImplementedError):  # what pypdf does with it: the test holds only if so
        PdfReader(io.BytesIO(DAMAGED_PDF)).pages[0].extract_text()
    assert period_from_pdf(DAMAGED_PDF) is None


@pytest.mark.parametrize(
    "error",
    [
        AttributeError("'NullObject' has no attribute 'get'"),
        RecursionError(),
        NotImplementedError("filter"),
        ZeroDivisionError(),
        MemoryError("bomb"),
    ],
)
def test_whatever_the_pdf_reader_raises_the_period_is_unknown(monkeypatch, error):
    import pypdf

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(pypdf, "PdfReader", failing)
    dataset = build_dataset("Greatday", date(2026, 11, 21))
    pdf = dataset.statement_pdf(dataset.accounts()[0]["Id"], 2026, 10)
    assert period_from_pdf(pdf) is None  # a decompression bomb's MemoryError too: the file's doing
