"""A desktop without the X11 libraries Qt needs gets one sentence and the install line, not Qt's abort."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from flinks_desktop.ui.app import XCB_LIBRARIES, missing_platform_libraries

ALL = list(XCB_LIBRARIES.values())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb platform is Linux's")
def test_only_an_x11_start_needs_them() -> None:
    none = lambda library: False  # noqa: E731 — a computer with none of them
    assert missing_platform_libraries({"DISPLAY": ":0"}, none) == ALL
    assert missing_platform_libraries({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, none) == ALL
    assert missing_platform_libraries({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, none) == []
    assert missing_platform_libraries({}, none) == []  # no display: Qt will not use X11
    assert missing_platform_libraries({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, none) == []
    present = {"libxcb-cursor.so.0"}
    assert missing_platform_libraries({"DISPLAY": ":0"}, lambda library: library in present) == ALL[1:]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb platform is Linux's")
def test_the_app_says_what_to_install_instead_of_aborting(tmp_path) -> None:
    if not missing_platform_libraries({"DISPLAY": ":0"}):
        pytest.skip("this computer has every X11 library Qt needs")
    environment = {key: value for key, value in os.environ.items() if key not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    environment.update(DISPLAY=":99", FLINKS_DESKTOP_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "flinks_desktop"], capture_output=True, text=True, env=environment, timeout=60
    )
    assert result.returncode == 1
    assert "sudo apt-get install" in result.stderr and "Qt cannot open a window" in result.stderr
    assert "Aborted" not in result.stderr and "Traceback" not in result.stderr
