"""The big verdict (PASS, FAIL, UNCERTAIN – CHECK, …): its type fills the space the window gives
it, so it reads from two metres on a full-screen panel PC and still fits a small window.

Two metres: ISO 9241-303 prefers characters of 20-22 arcminutes; 22' at 2 m is a capital
12.8 mm high. `READ_AT_2M_MM` is that figure; the shop-floor test checks it at 1366x768.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from station.ui import theme

READ_AT_2M_MM = 2000 * math.tan(math.radians(22 / 60))  # 12.8 mm
MIN_PX, MAX_PX = 12, 400
PADDING = 10


class VerdictLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("banner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)  # "NOT INSPECTED" takes two lines rather than a smaller type
        # Ignored: the text follows the space, never the other way round (no resize feedback).
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(200, 110)
        self._color = theme.IDLE
        self._px = 0

    def set_verdict(self, text: str, color: str) -> None:
        if text == self.text() and color == self._color and self._px:
            return  # PASS after PASS, once per frame: nothing to lay out or restyle again
        self._color = color
        self.setText(text)
        self._fit(force=True)

    def cap_height_mm(self) -> float:
        """The capital letters' height on this screen, in millimetres."""
        return QFontMetrics(self.font()).capHeight() / theme.px_per_mm(self.screen())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self, force: bool = False) -> None:
        px = self._largest_fitting()
        if px != self._px or force:
            self._px = px
            self.setStyleSheet(f"background: {self._color}; font-size: {px}px; padding: {PADDING}px;")

    def _largest_fitting(self) -> int:
        """The largest pixel size at which the (wrapped) text fits the label."""
        w = self.width() - 2 * PADDING - 8
        h = self.height() - 2 * PADDING - 4
        font = QFont(self.font())
        lo, hi = MIN_PX, MAX_PX
        while lo < hi:
            mid = (lo + hi + 1) // 2
            font.setPixelSize(mid)
            box = QFontMetrics(font).boundingRect(QRect(0, 0, max(w, 1), 100_000),
                                                  int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap), self.text())
            if box.width() <= w and box.height() <= h:
                lo = mid
            else:
                hi = mid - 1
        return lo
