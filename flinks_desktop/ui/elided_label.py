"""A label that gives way in a narrow layout without clipping its text mid-letter.

    title = ElidedLabel(objectName="connectionTitle", lines=2)   # wraps, then ends in "…"
    scope = ElidedLabel(objectName="activityScope")             # one line, ends in "…"

A plain `QLabel` asks its layout for its whole text's width: a long bank name or username then
makes the window's minimum wider than a small screen, or (given a minimum it cannot have) is cut
off mid-letter. An `ElidedLabel` asks for its whole text (`sizeHint`), accepts much less
(`minimumSizeHint`), and shows what fits: up to `lines` lines wrapped at word boundaries (anywhere
in a word too long for a line), the last one ending in "…" when the text goes on. When anything is
left out, the whole text is its tool tip. `text()` is always the whole text, and the text is
always plain (bank text is never read as HTML).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from flinks_desktop.ui.formatting import plain_tooltip

if TYPE_CHECKING:
    from PySide6.QtGui import QPaintEvent, QResizeEvent

#: The narrowest an elided label agrees to be, in average characters: room for a word and "…".
_MINIMUM_CHARACTERS = 6


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, *, lines: int = 1, **properties: object) -> None:
        super().__init__(text, parent, **properties)
        if lines < 1:
            raise ValueError("an elided label shows at least one line")
        self._lines = lines
        self._shown: list[str] = []
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(lines > 1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._update_tooltip()

    # -- what the layout is told -------------------------------------------------------------------

    def minimumSizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        margins = self.contentsMargins()
        width = metrics.averageCharWidth() * _MINIMUM_CHARACTERS + margins.left() + margins.right()
        return QSize(width, metrics.height() + margins.top() + margins.bottom())

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins()
        # +2: the advance is rounded, and eliding measures the text unrounded.
        width = self.fontMetrics().horizontalAdvance(self.text()) + 2 + margins.left() + margins.right()
        return QSize(max(width, self.minimumSizeHint().width()), self.heightForWidth(width))

    def hasHeightForWidth(self) -> bool:
        return self._lines > 1

    def heightForWidth(self, width: int) -> int:
        margins = self.contentsMargins()
        inner = max(width - margins.left() - margins.right(), 1)
        shown = max(len(self._layout(inner)), 1)
        return shown * self.fontMetrics().lineSpacing() + margins.top() + margins.bottom()

    # -- what is shown ---------------------------------------------------------------------------

    def setText(self, text: str) -> None:
        super().setText(text)
        self._update_tooltip()
        self.update()

    def shown_text(self) -> str:
        """What is on screen now, its lines joined by line breaks (for tests and accessibility)."""
        return "\n".join(self._layout(self.contentsRect().width()))

    def is_elided(self) -> bool:
        return "".join(self.shown_text().split()) != "".join(self.text().split())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_tooltip()

    def paintEvent(self, event: QPaintEvent) -> None:
        area = self.contentsRect()
        lines = self._layout(area.width())
        spacing = self.fontMetrics().lineSpacing()
        block = len(lines) * spacing
        top = area.top()
        alignment = self.alignment()
        if alignment & Qt.AlignmentFlag.AlignVCenter:
            top += max((area.height() - block) // 2, 0)
        elif alignment & Qt.AlignmentFlag.AlignBottom:
            top += max(area.height() - block, 0)
        horizontal = alignment & Qt.AlignmentFlag.AlignHorizontal_Mask
        painter = QPainter(self)
        for number, line in enumerate(lines):
            rect = area.adjusted(0, 0, 0, 0)
            rect.setTop(top + number * spacing)
            rect.setHeight(spacing)
            self.style().drawItemText(
                painter,
                rect,
                int(horizontal | Qt.AlignmentFlag.AlignVCenter),
                self.palette(),
                self.isEnabled(),
                line,
                self.foregroundRole(),
            )
        painter.end()

    # -- helpers ---------------------------------------------------------------------------------

    def _layout(self, width: int) -> list[str]:
        """The lines of the text at `width`: at most `lines`, the last ending in "…" if cut."""
        text = self.text()
        if not text:
            return []
        metrics = self.fontMetrics()
        if self._lines == 1 or width <= 0:
            return [metrics.elidedText(" ".join(text.split()), Qt.TextElideMode.ElideRight, max(width, 0))]
        if "\n" not in text and metrics.horizontalAdvance(text) <= width:
            return [text]  # one line is enough (most titles): no text layout needed
        # Loaded when first wrapped: PySide6 making these types costs the first paint ~5 ms.
        from PySide6.QtGui import QTextLayout, QTextOption

        layout = QTextLayout(text, self.font())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        lines: list[str] = []
        layout.beginLayout()
        while len(lines) < self._lines:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            start = line.textStart()
            if len(lines) == self._lines - 1:
                rest = " ".join(text[start:].split())
                lines.append(metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width))
                break
            lines.append(text[start : start + line.textLength()].strip())
        layout.endLayout()
        return lines

    def _update_tooltip(self) -> None:
        self.setToolTip(plain_tooltip(self.text()) if self.text() and self.is_elided() else "")
