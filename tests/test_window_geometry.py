"""The main window fits the screen it opens on (flinks_desktop.ui.geometry).

The rules over many screens, as rectangles (no such screen is needed to test them): a 1280x720 laptop
under a 30-pixel panel, 1366x768 at 150 % scaling (910x512 logical), 1920x1080, 3840x2160, and a
geometry saved on a monitor to the right that is gone. Then the real window: its minimum size fits
the small screens, a first window is fitted and centred on its screen, a geometry saved far off the
screen comes back onto it, and a minimum that grows later does not push it past the screen's edge.
Last, the real window in a pytest of its own on offscreen screens of 910x512, 3840x2160 and
1280x720 (tests/window_on_screen.py): the whole window and its status bar are on the screen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QRect, QSettings, QSize
from PySide6.QtWidgets import QApplication

from flinks_desktop.ui.geometry import (
    PREFERRED_SIZE,
    SCREEN_SHARE,
    first_geometry,
    fit_restored,
    fitted_size,
    place_first,
    restored_geometry,
)

ROOT = Path(__file__).resolve().parent.parent

#: Available areas (what panels and task bars leave), in logical pixels.
LAPTOP_720 = QRect(0, 0, 1280, 690)  # 1280x720 with a 30-pixel panel
SCALED_768 = QRect(0, 0, 910, 485)  # 1366x768 at 150 %: 910x512, less an 18-pixel panel
FULL_HD = QRect(0, 0, 1920, 1040)
UHD = QRect(0, 0, 3840, 2120)
SCREENS = {
    "1280x720": LAPTOP_720,
    "1366x768@150%": SCALED_768,
    "1920x1080": FULL_HD,
    "3840x2160": UHD,
    "panel on the left": QRect(64, 0, 1216, 720),
    "second screen at negative x": QRect(-1920, 0, 1920, 1040),
}


def margins(inner: QRect, outer: QRect) -> tuple[int, int, int, int]:
    return (
        inner.left() - outer.left(),
        inner.top() - outer.top(),
        outer.right() - inner.right(),
        outer.bottom() - inner.bottom(),
    )


# -- the rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("available", SCREENS.values(), ids=SCREENS.keys())
def test_the_first_window_is_inside_the_screen_centred_and_at_most_its_preferred_size(available):
    rect = first_geometry(available)
    assert available.contains(rect), "the whole window, status bar included, is on the screen"
    left, top, right, bottom = margins(rect, available)
    assert abs(left - right) <= 1 and abs(top - bottom) <= 1, "centred"
    assert rect.width() <= PREFERRED_SIZE.width() and rect.height() <= PREFERRED_SIZE.height()
    assert rect.width() <= available.width() * SCREEN_SHARE and rect.height() <= available.height() * SCREEN_SHARE


def test_small_screens_cap_the_size_and_large_ones_get_the_preferred_size():
    assert fitted_size(LAPTOP_720.size()) == QSize(1152, 621)
    assert fitted_size(SCALED_768.size()) == QSize(819, 436)
    assert fitted_size(FULL_HD.size()) == PREFERRED_SIZE
    assert first_geometry(UHD) == QRect(1300, 660, 1240, 800)


def test_the_layout_s_minimum_wins_over_the_cap_and_the_title_bar_stays_on_the_screen():
    assert fitted_size(SCALED_768.size(), minimum=QSize(897, 423)) == QSize(897, 436)
    rect = first_geometry(SCALED_768, minimum=QSize(897, 423))
    assert SCALED_768.contains(rect)
    too_big = first_geometry(QRect(0, 0, 640, 480), minimum=QSize(897, 500))
    assert too_big.topLeft() == QRect(0, 0, 640, 480).topLeft() and too_big.size() == QSize(897, 500)


def test_a_geometry_saved_on_a_monitor_to_the_right_that_is_gone_comes_back_centred_on_the_laptop():
    saved_on_external = QRect(1280 + 400, 120, 1800, 1100)
    rect = restored_geometry(saved_on_external, [LAPTOP_720])
    assert LAPTOP_720.contains(rect)
    assert rect.size() == QSize(1152, 621), "as large as the laptop allows, like a first window"
    left, top, right, bottom = margins(rect, LAPTOP_720)
    assert abs(left - right) <= 1 and abs(top - bottom) <= 1


def test_a_geometry_on_a_monitor_that_is_still_there_is_kept():
    external = QRect(1280, 0, 3840, 2120)
    saved = QRect(1280 + 400, 120, 1800, 1100)
    assert restored_geometry(saved, [LAPTOP_720, external]) == saved


def test_a_window_that_fits_keeps_its_size_and_is_moved_just_inside():
    half_off = QRect(900, 300, 1000, 600)  # its right and bottom parts off the laptop's screen
    rect = restored_geometry(half_off, [LAPTOP_720])
    assert rect.size() == half_off.size() and LAPTOP_720.contains(rect)
    assert rect.topLeft().x() == LAPTOP_720.right() - 1000 + 1 and rect.bottom() == LAPTOP_720.bottom()


def test_a_window_larger_than_the_smaller_screen_it_mostly_overlaps_is_fitted_to_that_screen():
    external = QRect(1280, 0, 1920, 1040)
    saved = QRect(100, 50, 1240, 800)  # mostly on the laptop, too tall for it
    rect = restored_geometry(saved, [external, LAPTOP_720])
    assert LAPTOP_720.contains(rect) and rect.size() == QSize(1152, 621)


def test_a_saved_geometry_with_a_negative_position_on_a_left_screen_that_is_gone_comes_back():
    rect = restored_geometry(QRect(-1700, 40, 1200, 700), [SCALED_768], minimum=QSize(897, 423))
    assert SCALED_768.contains(rect) and rect.size() == QSize(897, 436)


# -- the real window ------------------------------------------------------------------------------


@pytest.fixture
def no_saved_geometry(qasync_loop):
    """The tests' settings without a saved window geometry (the one there was is put back after)."""
    settings = QSettings()
    kept = settings.value("window/geometry")
    settings.remove("window/geometry")
    settings.sync()
    yield
    settings = QSettings()
    if isinstance(kept, QByteArray):
        settings.setValue("window/geometry", kept)
    settings.sync()


def settle(qtbot) -> None:
    QApplication.processEvents()  # the tabs built on use post their layout requests
    qtbot.wait(20)


def test_the_window_s_minimum_size_fits_a_1280x720_laptop_and_1366x768_at_150_percent(qtbot, make_window):
    window = make_window()
    # Every tab built and a connection's page shown, with a long bank name and username: the widest
    # rows there are (the transactions' filter bar, the connection's title and buttons).
    for view in (window.transactions_view, window.statements_view, window.activity_view):
        assert view is not None
    window.pages.setCurrentWidget(window.workspace_page)
    window.detail_stack.setCurrentIndex(1)
    window.connection_title.setText("Caisse Desjardins du Grand-Montréal · a_rather_long_username_2024")
    settle(qtbot)
    minimum = window.minimumSizeHint()
    laptop_cap = fitted_size(LAPTOP_720.size())
    assert minimum.width() <= laptop_cap.width() and minimum.height() <= laptop_cap.height(), minimum
    # 1366x768 at 150 %: the whole window, with a few pixels for its frame.
    assert minimum.width() <= SCALED_768.width() - 10 and minimum.height() <= SCALED_768.height() - 40, minimum


def test_a_first_window_is_fitted_and_centred_on_its_screen(qtbot, no_saved_geometry, make_window):
    window = make_window()
    available = window.screen().availableGeometry()
    expected = first_geometry(available, window.minimumSizeHint().expandedTo(window.minimumSize()))
    assert window.size() == expected.size()
    assert window.pos() == expected.topLeft()


def test_the_rules_move_and_size_the_real_window(qtbot, make_window):
    window = make_window()
    place_first(window, LAPTOP_720)
    assert window.size() == QSize(1152, 621) and LAPTOP_720.contains(QRect(window.pos(), window.size()))

    window.move(1280 + 400, 120)  # on an external monitor...
    window.resize(1800, 1100)
    settle(qtbot)
    fit_restored(window, [LAPTOP_720])  # ...that is gone
    assert QRect(window.pos(), window.size()) == QRect(64, 34, 1152, 621)


def test_a_geometry_saved_far_off_the_screen_opens_on_it(qtbot, no_saved_geometry, make_window):
    first = make_window()
    first.move(4000, 1500)  # where a monitor was
    first.resize(2400, 1500)
    settle(qtbot)
    first.close()  # keeps its geometry in the settings, as quitting does

    window = make_window()
    available = window.screen().availableGeometry()
    shown = QRect(window.pos(), window.size())
    assert available.contains(shown.topLeft()), "the title bar can be grabbed"
    assert shown.width() <= max(available.width(), window.minimumSizeHint().width())
    assert shown.height() <= available.height()


def test_a_window_whose_minimum_grows_past_the_screen_s_edge_is_moved_back_inside(qtbot, make_window):
    # What the tabs built just after the first paint do on a small screen: they widen the layout's
    # minimum, and Qt grows the window from its top-left corner, past the screen's edge. Here the
    # height grows: the offscreen screen (800x800) is narrower than the window's minimum width.
    window = make_window()
    available = window.screen().availableGeometry()
    place_first(window, available)
    window.resize(window.width(), 400)
    window.move(window.x(), available.bottom() - 400 - 60)  # near the bottom, still inside
    settle(qtbot)
    assert window.frameGeometry().bottom() <= available.bottom()
    window.setMinimumHeight(600)
    settle(qtbot)
    assert window.height() == 600
    frame = window.frameGeometry()
    assert available.top() <= frame.top() and frame.bottom() <= available.bottom(), (frame, available)


# -- the real window on screens of other sizes (a pytest of its own per screen) ---------------------


def on_screen(tmp_path: Path, width: int, height: int, move_to: str | None = None) -> dict:
    """tests/window_on_screen.py run on one offscreen screen of `width` x `height`; what it saw.
    Runs share tmp_path's config folder, so a geometry one run saves is the next one's."""
    config = tmp_path / f"screen-{width}x{height}.json"
    config.write_text(
        json.dumps(
            {
                "screens": [
                    {
                        "name": "screen",
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": height,
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": 1,
                    }
                ]
            }
        )
    )
    environment = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    environment.pop("FLINKS_TEST_MOVE_TO", None)
    if move_to:
        environment["FLINKS_TEST_MOVE_TO"] = move_to
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(Path(__file__).with_name("window_on_screen.py")),
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / f"run-{width}"),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("WINDOW ")]
    seen = json.loads(line.removeprefix("WINDOW "))
    return {name: QRect(*value) if len(value) == 4 else QSize(*value) for name, value in seen.items()}


def test_on_1366x768_at_150_percent_the_whole_window_and_its_status_bar_are_on_the_screen(tmp_path):
    seen = on_screen(tmp_path, 910, 512)
    assert seen["available"] == QRect(0, 0, 910, 512)
    assert seen["available"].contains(seen["frame"]), seen
    assert seen["available"].contains(seen["status_bar"]), seen


def test_a_window_left_on_a_4k_monitor_opens_fitted_on_a_1280x720_laptop(tmp_path):
    on_4k = on_screen(tmp_path, 3840, 2160, move_to="2200,1000,1800,1100")
    assert on_4k["size"] == PREFERRED_SIZE, "the first window there has its preferred size"

    seen = on_screen(tmp_path, 1280, 720)
    assert seen["available"].contains(seen["frame"]), seen
    assert seen["available"].contains(seen["status_bar"]), seen
    assert seen["size"] == QSize(1152, 648), "fitted as a first window is"
