"""ElidedLabel: a label that gives way in a narrow layout, ending in "…", never cut mid-letter."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from flinks_desktop.ui.elided_label import ElidedLabel

LONG = "Flinks Capital · jean-baptiste.desrosiers-longpre+business@tres-longue-entreprise.example.com"


@pytest.fixture
def label(qtbot):
    def make(text: str, width: int, lines: int = 1) -> ElidedLabel:
        made = ElidedLabel(text, lines=lines)
        qtbot.addWidget(made)
        made.resize(width, made.heightForWidth(width) if lines > 1 else made.sizeHint().height())
        made.show()
        qtbot.waitExposed(made)
        return made

    return make


def fits(label: ElidedLabel, line: str) -> bool:
    return label.fontMetrics().horizontalAdvance(line) <= label.contentsRect().width()


def test_a_text_too_long_ends_in_an_ellipsis_and_is_whole_in_its_tooltip(label) -> None:
    shown = label(LONG, 200)
    assert shown.text() == LONG  # what tests, the clipboard and accessibility read: whole
    assert shown.shown_text().endswith("…") and fits(shown, shown.shown_text())
    assert LONG.startswith(shown.shown_text()[:-1])
    assert shown.is_elided() and "jean-baptiste" in shown.toolTip()

    shown.resize(shown.sizeHint().width(), shown.height())  # room for all of it: whole, no tip
    assert shown.shown_text() == LONG and not shown.is_elided() and shown.toolTip() == ""


def test_it_asks_for_its_whole_text_and_accepts_much_less(label) -> None:
    shown = label(LONG, 200)
    assert shown.sizeHint().width() >= shown.fontMetrics().horizontalAdvance(LONG)
    assert shown.minimumSizeHint().width() < 100
    # In a layout too narrow for its text, it is what gives way: the button beside it is whole.
    row = QWidget()
    layout = QHBoxLayout(row)
    beside = QLabel("Save as…")
    layout.addWidget(shown, 1)
    layout.addWidget(beside)
    row.resize(260, 40)
    row.show()
    assert row.minimumSizeHint().width() <= 260
    assert beside.width() >= beside.sizeHint().width()
    row.close()


def test_several_lines_wrap_then_the_last_one_ends_in_an_ellipsis(label) -> None:
    shown = label(LONG, 240, lines=2)
    lines = shown.shown_text().split("\n")
    assert len(lines) == 2 and lines[1].endswith("…")
    assert all(fits(shown, line) for line in lines)
    assert shown.heightForWidth(240) == 2 * shown.fontMetrics().lineSpacing()
    assert shown.toolTip() and shown.is_elided()

    short = label("Flinks Capital · Greatday", 400, lines=2)  # fits: one line, its own height
    assert short.shown_text() == "Flinks Capital · Greatday" and not short.is_elided()
    assert short.heightForWidth(400) == short.fontMetrics().lineSpacing()


def test_bank_text_is_plain_text(label) -> None:
    html = "Épargne <b>bold</b> &amp; entité"
    shown = label(html, 600)
    assert shown.shown_text() == html  # the tags are text, never markup
    narrow = label(html, 90)
    assert narrow.shown_text().endswith("…")
    assert "&lt;b&gt;" in narrow.toolTip()  # escaped: the tool tip shows the tag as written


def test_an_empty_label_shows_nothing_and_asks_for_one_line(label) -> None:
    shown = label("", 100, lines=2)
    assert shown.shown_text() == "" and shown.toolTip() == "" and not shown.is_elided()
    assert shown.heightForWidth(100) == shown.fontMetrics().lineSpacing()
    with pytest.raises(ValueError):
        ElidedLabel("x", lines=0)
