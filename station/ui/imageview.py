"""An image with its Grad-CAM overlay (toggle, opacity) and the hot region's box; zoom and pan.

Painting is all Qt: the heatmap arrives coloured from the worker and is blended by QPainter's
opacity, so moving the opacity slider costs no numpy work on the GUI thread.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from station.ui.qimage import to_pixmap


class ImageView(QWidget):
    painted = Signal(float)  # time.monotonic() of the first paint of a newly set image

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 180)
        self._base = QPixmap()
        self._heat = QPixmap()
        self._box: tuple[int, int, int, int] | None = None
        self.show_heat = True
        self.opacity = 0.45
        self.zoom = 1.0
        self._pan = QPointF(0, 0)
        self._drag: QPointF | None = None
        self._fresh = False
        self.placeholder = "No image"

    def set_image(self, image: np.ndarray | None, heat: np.ndarray | None = None,
                  box: tuple[int, int, int, int] | None = None, keep_zoom: bool = False) -> None:
        self._base = to_pixmap(image)
        self._heat = to_pixmap(heat)
        self._box = box
        if not keep_zoom:
            self.zoom, self._pan = 1.0, QPointF(0, 0)
        self._fresh = True
        self.update()

    def has_image(self) -> bool:
        return not self._base.isNull()

    def set_heat_visible(self, on: bool) -> None:
        self.show_heat = on
        self.update()

    def set_opacity(self, value: float) -> None:
        self.opacity = min(1.0, max(0.0, value))
        self.update()

    def zoom_by(self, factor: float) -> None:
        self.zoom = min(16.0, max(1.0, self.zoom * factor))
        if self.zoom == 1.0:
            self._pan = QPointF(0, 0)
        self.update()

    def reset_zoom(self) -> None:
        self.zoom, self._pan = 1.0, QPointF(0, 0)
        self.update()

    def _target(self) -> QRectF:
        w, h = self._base.width(), self._base.height()
        s = min(self.width() / w, self.height() / h) * self.zoom
        tw, th = w * s, h * s
        return QRectF((self.width() - tw) / 2 + self._pan.x(), (self.height() - th) / 2 + self._pan.y(), tw, th)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#101214"))
        if self._base.isNull():
            p.setPen(QColor("#8a9099"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        target = self._target()
        p.drawPixmap(target, self._base, QRectF(self._base.rect()))
        if self.show_heat and not self._heat.isNull():
            p.setOpacity(self.opacity)
            p.drawPixmap(target, self._heat, QRectF(self._heat.rect()))
            p.setOpacity(1.0)
        if self._box is not None:
            s = target.width() / self._base.width()
            x, y, w, h = self._box
            pen = QPen(QColor("#ff3b30"))
            pen.setWidth(3)
            p.setPen(pen)
            p.drawRect(QRectF(target.x() + x * s, target.y() + y * s, w * s, h * s))
        p.end()
        if self._fresh:
            self._fresh = False
            self.painted.emit(time.monotonic())

    def wheelEvent(self, event) -> None:
        if self.has_image():
            self.zoom_by(1.25 if event.angleDelta().y() > 0 else 0.8)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.zoom > 1.0:
            self._drag = event.position()

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None:
            self._pan += event.position() - self._drag
            self._drag = event.position()
            self.update()

    def mouseReleaseEvent(self, _event) -> None:
        self._drag = None

    def mouseDoubleClickEvent(self, _event) -> None:
        self.reset_zoom()
