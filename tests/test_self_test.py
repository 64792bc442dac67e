"""The self-test (`flinks_desktop.self_test`): passes on this installation, offscreen, in a process of
its own as a packager runs it; says which part failed, and exits 1, when a part is broken; a part
that hangs fails at its own time limit and the others still run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flinks_desktop import self_test

OK_LINES = ["ok  sandbox", "ok  connect", "ok  sync", "ok  statement"]


def offscreen_environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    """This environment with no display, as on a build machine; whatever Qt and the self-test
    write goes to a home and a temporary directory in `tmp_path`."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", self_test.BREAK_VARIABLE)
    }
    return {**environment, **variables, "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}


def run_self_test(tmp_path: Path, *, code: str = "", **variables: str) -> subprocess.CompletedProcess[str]:
    """`python -m flinks_desktop.self_test` (or `python -c code`) in a process of its own, offscreen."""
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "flinks_desktop.self_test"]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=offscreen_environment(tmp_path, **variables),
        timeout=self_test.RUN_LIMIT + 30,
        cwd=tmp_path,
    )


def test_every_part_passes_offscreen_and_it_exits_0(tmp_path) -> None:
    result = run_self_test(tmp_path)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines[:4] == OK_LINES
    assert lines[4].startswith("Self-test passed: 4 of 4 parts ok in ")
    assert not list(tmp_path.glob("flinks-desktop-self-test-*")), "its temporary data directory is removed"


def test_a_data_directory_given_keeps_what_the_self_test_made(tmp_path) -> None:
    data = tmp_path / "given" / "self-test"
    result = run_self_test(
        tmp_path,
        code="import sys, pathlib; from flinks_desktop import self_test; "
        f"sys.exit(self_test.run(pathlib.Path({str(data)!r})))",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (data / "cache.db").is_file() and (data / "sandbox-state.json").is_file()


def test_a_broken_part_prints_its_failed_line_the_others_run_and_it_exits_1(tmp_path) -> None:
    # Connect pointed at a port nothing listens on: ConnectView's own failure sentence.
    result = run_self_test(tmp_path, **{self_test.BREAK_VARIABLE: "connect"})
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert lines[0] == "ok  sandbox"
    assert lines[1].startswith("FAILED  connect: Flinks Connect could not be loaded from 127.0.0.1:")
    assert lines[2:4] == ["ok  sync", "ok  statement"]  # they do not need Connect
    assert lines[4].startswith("Self-test FAILED: 3 of 4 parts ok in ")


def test_what_needs_a_failed_part_is_not_run_and_says_so(tmp_path) -> None:
    result = run_self_test(tmp_path, **{self_test.BREAK_VARIABLE: "sync"})
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert lines[2].startswith("FAILED  sync: the login at the sandbox failed: ")
    assert "(INVALID_LOGIN)" in lines[2]
    assert lines[3] == "FAILED  statement: not run, as it needs the sync part."
    assert lines[4].startswith("Self-test FAILED: 2 of 4 parts ok")


def test_a_part_that_hangs_fails_at_its_time_limit_and_the_next_parts_still_run(monkeypatch, capsys) -> None:
    monkeypatch.setitem(self_test.TIMEOUTS, "sandbox", 5.0)
    monkeypatch.setitem(self_test.TIMEOUTS, "connect", 0.2)
    monkeypatch.setitem(self_test.TIMEOUTS, "sync", 5.0)

    async def passes(context) -> None:
        await asyncio.sleep(0)

    async def hangs(context) -> None:
        await asyncio.Event().wait()

    steps = [("sandbox", passes), ("connect", hangs), ("sync", passes)]
    context = self_test._Context(Path("."), frozenset())
    passed = asyncio.run(self_test._run_parts(steps, context))
    assert passed == 2
    assert capsys.readouterr().out.splitlines() == [
        "ok  sandbox",
        "FAILED  connect: it did not finish within 0.2 s.",
        "ok  sync",
    ]


@pytest.mark.parametrize("part", self_test.PARTS)
def test_each_part_has_a_time_limit_and_all_of_them_fit_in_the_run_limit(part) -> None:
    assert 0 < self_test.TIMEOUTS[part]
    assert sum(self_test.TIMEOUTS.values()) < self_test.RUN_LIMIT


def test_the_command_line_runs_it(tmp_path) -> None:
    """`flinks-desktop --self-test`, as a user types it (and as the bundle runs it)."""
    from app_process import run_app

    result = run_app(tmp_path, "--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines() if line.startswith("ok  ")] == [
        "sandbox",
        "connect",
        "sync",
        "statement",
    ]
    refused = run_app(tmp_path, "--self-test", "list", timeout=60)
    assert refused.returncode == 2 and "--self-test runs on its own" in refused.stderr
