"""One app per data directory: a second launch brings the first window forward and exits 0.

(`qtbot.waitSignal` on `activated` crashes pytest-qt's teardown once the objects are gone: the tests
count the emissions instead.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import QDir

from flinks_desktop.ui import single_instance
from flinks_desktop.ui.single_instance import SingleInstance, server_name


def test_the_name_depends_on_the_data_directory_and_hides_it(tmp_path: Path) -> None:
    first, second = server_name(tmp_path / "a"), server_name(tmp_path / "b")
    assert first != second and first == server_name(tmp_path / "a" / ".." / "a")
    assert str(tmp_path) not in first and len(first) < 60


def test_a_second_claim_asks_the_first_to_come_forward(qtbot, tmp_path: Path) -> None:
    first, second = SingleInstance(tmp_path), SingleInstance(tmp_path)
    try:
        assert first.claim()
        first.listen()
        asked: list[bool] = []
        first.activated.connect(lambda: asked.append(True))
        assert not second.claim()
        qtbot.waitUntil(lambda: asked == [True], timeout=5_000)
    finally:
        first.release()
    third = SingleInstance(tmp_path)  # the first has gone: the next launch is the first again
    try:
        assert third.claim()
    finally:
        third.release()


@pytest.mark.skipif(sys.platform == "win32", reason="a Unix socket left behind by a crash")
def test_a_socket_left_by_a_crashed_copy_is_replaced(qtbot, tmp_path: Path) -> None:
    name = server_name(tmp_path)
    path = os.path.join(QDir.tempPath(), name)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)  # bound, never listening: what a killed process leaves
    stale.close()
    assert os.path.exists(path)
    instance = SingleInstance(tmp_path)
    try:
        assert instance.claim()
        instance.listen()
        asked: list[bool] = []
        instance.activated.connect(lambda: asked.append(True))
        second = SingleInstance(tmp_path)
        assert not second.claim() and second.answered
        qtbot.waitUntil(lambda: asked == [True], timeout=5_000)
    finally:
        instance.release()


def test_a_copy_that_does_not_answer_still_keeps_the_data_directory(qtbot, tmp_path: Path, monkeypatch) -> None:
    """The lock decides, not the socket: a first copy still starting (not listening yet) or hung
    keeps a later launch out, which says so after ringing for a while."""
    first = SingleInstance(tmp_path)
    try:
        assert first.claim()  # no listen(): it has not painted yet
        monkeypatch.setattr(single_instance, "RING_TIMEOUT_S", 0.3)
        started = time.monotonic()
        second = SingleInstance(tmp_path)
        assert not second.claim() and not second.answered
        assert time.monotonic() - started >= 0.3  # it rang until its deadline
    finally:
        first.release()


def test_the_lock_goes_with_the_process_that_held_it(tmp_path: Path, monkeypatch) -> None:
    """A copy killed without a chance to clean up leaves nothing that blocks the next launch."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from flinks_desktop.ui.single_instance import SingleInstance; "
            f"assert SingleInstance({str(tmp_path)!r}).claim(); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(single_instance, "RING_TIMEOUT_S", 0.1)
        assert not SingleInstance(tmp_path).claim()
    finally:
        holder.kill()
        holder.wait(timeout=30)
        holder.stdout.close()
    after = SingleInstance(tmp_path)
    try:
        assert after.claim()
    finally:
        after.release()


@contextmanager
def first_copy(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, list[str], dict[str, str]]]:
    """The real app started on a data directory of its own (offscreen): the process, and the command
    and environment that launch it again on the same directory. Ended when the test is."""
    data_dir = tmp_path / "data"
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FLINKS_DESKTOP_HOME": str(data_dir)}
    command = [sys.executable, "-m", "flinks_desktop"]
    first = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield first, command, environment
    finally:
        first.terminate()
        first.wait(timeout=30)
        first.stdout.close()
        first.stderr.close()


def test_launching_the_app_twice_keeps_one_copy(tmp_path: Path) -> None:
    """The real app, twice on one data directory, as two processes (offscreen)."""
    with first_copy(tmp_path) as (first, command, environment):
        deadline = time.monotonic() + 60
        name = os.path.join(QDir.tempPath(), server_name(tmp_path / "data"))
        while not os.path.exists(name) and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first.poll() is None, first.stderr.read()
        assert os.path.exists(name)
        second = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=30)
        assert second.returncode == 0
        assert "already running" in second.stderr
        assert first.poll() is None  # the first copy carries on


def test_a_launch_while_the_first_is_still_starting_waits_for_it(tmp_path: Path) -> None:
    """Two launches at once (a double double-click): the second finds the lock taken before the
    first has painted, rings until the first listens, and ends; the first carries on."""
    with first_copy(tmp_path) as (first, command, environment):
        deadline = time.monotonic() + 60
        while not (tmp_path / "data" / single_instance.LOCK_FILE_NAME).exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        second = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already running with this data directory: its window was brought forward" in second.stderr
        assert first.poll() is None, first.stderr.read()  # the first copy carries on
