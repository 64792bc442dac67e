"""Test set-up shared by every test: Qt runs offscreen, QtWebEngine without its sandbox.

CI runs as root with no display: QtWebEngine refuses to start as root unless its Chromium sandbox
is off, and there is no GPU. These must be set before Qt is imported anywhere.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")
