"""Where the main window opens, and how large: fitted to the screens there are now.

The window prefers 1240x800, but a 1280x720 laptop leaves about 690 pixels under its panel, and a
1366x768 screen at 150 % scaling is 910x512 in Qt's logical pixels: there a window of the preferred
size hides its status bar (progress, Cancel, outcomes) below the screen's edge. So the first window
is its preferred size capped at 90 % of the screen's available area (what panels and task bars
leave), centred on it. A geometry saved on another screen (a large external monitor, since
unplugged) is brought onto a screen that exists now, and down to fit it.

The rules are pure functions over QRect and QSize, so that any screen can be tested without having
it; `place_first` and `fit_restored` apply them to a window, and keep it on its screen when its
minimum size grows later. Rectangles are the window's outer top-left (where the title bar is; what
`QWidget.move` takes) with its client size, in logical pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize
from PySide6.QtGui import QGuiApplication

#: The main window's size when the screen has room for it.
PREFERRED_SIZE = QSize(1240, 800)
#: The share of the screen's available area the first window may take at most: the rest leaves room
#: for the title bar and shows that the window is a window.
SCREEN_SHARE = 0.9


def fitted_size(available: QSize, preferred: QSize = PREFERRED_SIZE, minimum: QSize = QSize(0, 0)) -> QSize:
    """`preferred`, capped at SCREEN_SHARE of `available` in each direction, never below `minimum`
    (the smallest size the window's layout allows: Qt would enlarge the window to it anyway)."""
    cap = QSize(int(available.width() * SCREEN_SHARE), int(available.height() * SCREEN_SHARE))
    return preferred.boundedTo(cap).expandedTo(minimum)


def moved_inside(rect: QRect, available: QRect) -> QRect:
    """`rect` moved as little as possible to lie inside `available`, its size kept. When it is larger
    than `available`, its top-left corner is kept inside, so the title bar can still be grabbed."""
    x = max(available.left(), min(rect.left(), available.right() - rect.width() + 1))
    y = max(available.top(), min(rect.top(), available.bottom() - rect.height() + 1))
    return QRect(QPoint(x, y), rect.size())


def centred(size: QSize, available: QRect) -> QRect:
    """A rectangle of `size` centred on `available` (top-left inside it if it is larger). Not
    QRect.moveCenter: its centre rounds towards zero, a pixel off on a screen left of the primary."""
    left = available.left() + (available.width() - size.width()) // 2
    top = available.top() + (available.height() - size.height()) // 2
    return moved_inside(QRect(QPoint(left, top), size), available)


def first_geometry(available: QRect, minimum: QSize = QSize(0, 0), preferred: QSize = PREFERRED_SIZE) -> QRect:
    """The first window on a screen whose available area is `available`: fitted and centred."""
    return centred(fitted_size(available.size(), preferred, minimum), available)


def restored_geometry(saved: QRect, screens: Sequence[QRect], minimum: QSize = QSize(0, 0)) -> QRect:
    """A saved geometry made to fit the screens there are now (their available areas, the primary
    screen first). It goes on the screen it overlaps most; on the primary screen, centred, when it
    overlaps none (saved on a screen that is gone). It keeps its size when that fits the screen, else
    takes the first window's size, as if `saved`'s size were the preferred one."""
    if not screens:
        return saved
    overlaps = [_area(saved.intersected(screen)) for screen in screens]
    best = max(range(len(screens)), key=overlaps.__getitem__)
    screen = screens[best]
    fits = saved.width() <= screen.width() and saved.height() <= screen.height()
    size = saved.size().expandedTo(minimum) if fits else fitted_size(screen.size(), saved.size(), minimum)
    if overlaps[best] == 0 or not fits:
        return centred(size, screen)
    return moved_inside(QRect(saved.topLeft(), size), screen)


def available_areas() -> list[QRect]:
    """The available area of every screen, the primary screen's first."""
    primary = QGuiApplication.primaryScreen()
    others = [screen for screen in QGuiApplication.screens() if screen is not primary]
    return [screen.availableGeometry() for screen in ([primary] if primary is not None else []) + others]


def place_first(window, available: QRect | None = None) -> None:
    """Size and centre a window that has no saved geometry on its screen (or on `available`)."""
    if available is None:
        available = window.screen().availableGeometry()
    _apply(window, first_geometry(available, _minimum(window)))
    _keep_on_screen(window)


def fit_restored(window, screens: Sequence[QRect] | None = None) -> None:
    """After `restoreGeometry`: bring the window onto the screens there are now (or `screens`). A
    maximised or full-screen window is left alone: the window manager fits it, and its normal
    geometry comes back only when it is restored."""
    if window.isMaximized() or window.isFullScreen():
        return
    saved = QRect(window.pos(), window.size())
    _apply(window, restored_geometry(saved, available_areas() if screens is None else screens, _minimum(window)))
    _keep_on_screen(window)


class _KeepOnScreen(QObject):
    """Moves the window back inside its screen when its minimum size grows past the screen's edge.

    The main window builds its other tabs after the first paint, when it is already placed, and one
    of them (the transactions' filter bar) widens the layout's minimum; Qt then grows the window to
    it rightwards and downwards from where it is, past the edge of a small screen. Only such a
    growth is undone: a resize to exactly the new
    minimum, from smaller. A move or resize by the person is left alone.
    """

    def eventFilter(self, watched, event) -> bool:
        if (
            event.type() == QEvent.Type.Resize
            and event.oldSize().isValid()
            and not (watched.isMaximized() or watched.isFullScreen())
        ):
            new, old = event.size(), event.oldSize()
            if (new.width() > old.width() and new.width() == watched.minimumWidth()) or (
                new.height() > old.height() and new.height() == watched.minimumHeight()
            ):
                frame = watched.frameGeometry()
                inside = moved_inside(frame, watched.screen().availableGeometry())
                if inside.topLeft() != frame.topLeft():
                    watched.move(inside.topLeft())
        return False


def _keep_on_screen(window) -> None:
    if window.findChild(_KeepOnScreen, "keepOnScreen") is None:
        window.installEventFilter(_KeepOnScreen(window, objectName="keepOnScreen"))


def _minimum(window) -> QSize:
    return window.minimumSizeHint().expandedTo(window.minimumSize())


def _apply(window, rect: QRect) -> None:
    window.resize(rect.size())
    window.move(rect.topLeft())  # move() places the frame, title bar included


def _area(rect: QRect) -> int:
    return 0 if rect.isEmpty() else rect.width() * rect.height()
