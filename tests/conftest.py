"""Test set-up shared by every test: Qt runs offscreen, QtWebEngine without its sandbox.

CI runs as root with no display: QtWebEngine refuses to start as root unless its Chromium sandbox
is off, and there is no GPU. The project's pytest plugin (flinks_desktop.pytest_plugin) sets these
in pytest_configure for every suite that installs it; setting them here as well makes sure they
hold before anything imports Qt, whatever order pytest loads plugins in.
"""

import os

import pytest

from flinks_desktop.pytest_plugin import OFFSCREEN_ENVIRONMENT

for _name, _value in OFFSCREEN_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture
def qasync_loop(flinks_qasync_loop):
    """Our tests' short name for the plugin's `flinks_qasync_loop`."""
    return flinks_qasync_loop


@pytest.fixture
def use_keyring():
    """`use_keyring(backend)` installs `backend` for the test; the previous one comes back after."""
    from contextlib import ExitStack

    from flinks_desktop.testing import installed_keyring

    with ExitStack() as stack:
        yield lambda backend: stack.enter_context(installed_keyring(backend))


@pytest.fixture
def memory_keyring(flinks_memory_keyring):
    """An empty in-memory keyring for the test (`.entries` holds what was stored)."""
    return flinks_memory_keyring
