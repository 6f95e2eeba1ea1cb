"""A product's areas, drawn over a frame: the region judged (ROI) and the masks that never raise
an alarm (station.line.recipes.Mask). An engineer drags rectangles with a finger or the mouse
over the part on the Live tab, or the product's newest stored part when nothing runs.

Areas are kept as fractions of the image, so they hold at any resolution the camera is set to.
Saving is a new version of the recipe (audited, with who); a run in progress judges with it
from the next part on, after the golden check."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPen, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from station.ui.qimage import to_pixmap

if TYPE_CHECKING:
    from station.line.recipes import Mask, Recipe
    from station.ui.host import WindowHost

Rect = tuple[float, float, float, float]  # x, y, w, h as fractions of the image
MIN_SIDE = 0.01  # a tap, not a drag: no area


class AreaCanvas(QWidget):
    """The frame with the ROI (green) and the masks (grey, hatched); a drag draws a new one."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(480, 360)
        self._image = QPixmap()
        self.roi: Rect | None = None
        self.masks: list[Rect] = []
        self.drawing = "mask"  # what a drag makes: "mask" or "roi"
        self._start: QPointF | None = None
        self._now: QPointF | None = None

    def set_image(self, image: np.ndarray | None) -> None:
        self._image = to_pixmap(image)
        self.update()

    def has_image(self) -> bool:
        return not self._image.isNull()

    def frame_rect(self) -> QRectF:
        """Where the image is drawn in the widget (kept whole, centred)."""
        if self._image.isNull():
            return QRectF(self.rect())
        w, h = self._image.width(), self._image.height()
        s = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * s) / 2, (self.height() - h * s) / 2, w * s, h * s)

    def to_widget(self, fx: float, fy: float) -> QPointF:
        """A point given as fractions of the image, in the widget's coordinates."""
        r = self.frame_rect()
        return QPointF(r.x() + fx * r.width(), r.y() + fy * r.height())

    def _fraction(self, p: QPointF) -> tuple[float, float]:
        r = self.frame_rect()
        return (min(1.0, max(0.0, (p.x() - r.x()) / r.width())), min(1.0, max(0.0, (p.y() - r.y()) / r.height())))

    def _rect(self, a: QPointF, b: QPointF) -> Rect:
        (x0, y0), (x1, y1) = self._fraction(a), self._fraction(b)
        return (round(min(x0, x1), 4), round(min(y0, y1), 4), round(abs(x1 - x0), 4), round(abs(y1 - y0), 4))

    def undo(self) -> None:
        """The newest mask goes (or the ROI, when there are no masks)."""
        if self.masks:
            self.masks.pop()
        else:
            self.roi = None
        self.changed.emit()
        self.update()

    def clear(self) -> None:
        self.roi, self.masks = None, []
        self.changed.emit()
        self.update()

    def mousePressEvent(self, event: Any) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.has_image():
            self._start = self._now = event.position()

    def mouseMoveEvent(self, event: Any) -> None:
        if self._start is not None:
            self._now = event.position()
            self.update()

    def mouseReleaseEvent(self, event: Any) -> None:
        if self._start is None:
            return
        rect = self._rect(self._start, event.position())
        self._start = self._now = None
        if rect[2] >= MIN_SIDE and rect[3] >= MIN_SIDE:
            if self.drawing == "roi":
                self.roi = rect  # one region judged: a new one replaces it
            else:
                self.masks.append(rect)
            self.changed.emit()
        self.update()

    def paintEvent(self, _event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#101214"))
        if self._image.isNull():
            p.setPen(QColor("#8a9099"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No frame yet: start the line, or inspect one part of this product")
            return
        frame = self.frame_rect()
        p.drawPixmap(frame, self._image, QRectF(self._image.rect()))

        def box(r: Rect) -> QRectF:
            return QRectF(frame.x() + r[0] * frame.width(), frame.y() + r[1] * frame.height(),
                          r[2] * frame.width(), r[3] * frame.height())

        if self.roi is not None:  # outside the ROI is dimmed: nothing there raises an alarm
            outside = QColor(0, 0, 0, 140)
            inner = box(self.roi)
            for part in (QRectF(frame.topLeft(), QPointF(frame.right(), inner.top())),
                         QRectF(QPointF(frame.left(), inner.bottom()), frame.bottomRight()),
                         QRectF(QPointF(frame.left(), inner.top()), QPointF(inner.left(), inner.bottom())),
                         QRectF(QPointF(inner.right(), inner.top()), QPointF(frame.right(), inner.bottom()))):
                p.fillRect(part, outside)
            p.setPen(QPen(QColor("#34c759"), 3))
            p.drawRect(inner)
        for m in self.masks:
            p.fillRect(box(m), QColor(120, 120, 120, 150))
            p.fillRect(box(m), Qt.BrushStyle.BDiagPattern)
            p.setPen(QPen(QColor("#d0d0d0"), 2))
            p.drawRect(box(m))
        if self._start is not None and self._now is not None:
            p.setPen(QPen(QColor("#34c759" if self.drawing == "roi" else "#ffcc00"), 2, Qt.PenStyle.DashLine))
            p.drawRect(QRectF(self._start, self._now).normalized())
        p.end()


class AreasDialog(QDialog):
    """Draw, then Save (an engineer's sign-in): the recipe's next version."""

    def __init__(self, host: "WindowHost", recipe: "Recipe", image: np.ndarray | None) -> None:
        super().__init__(host.as_parent())
        self.host, self.recipe = host, recipe
        self.setWindowTitle(f"Areas of {recipe.name}")
        self.resize(900, 700)
        self.canvas = AreaCanvas()
        self.canvas.masks = [_rect(m) for m in recipe.masks]
        self.canvas.roi = _rect(recipe.roi) if recipe.roi else None
        self.canvas.set_image(image)
        # Big targets: a gloved finger picks what a drag draws.
        self.mask_mode = QRadioButton("Never alarm here (mask)")
        self.roi_mode = QRadioButton("Judge only here (region)")
        self.mask_mode.setChecked(True)
        self.mask_mode.toggled.connect(lambda on: setattr(self.canvas, "drawing", "mask" if on else "roi"))
        self.undo = QPushButton("Undo last  [Del]")
        self.clear = QPushButton("Clear all")
        self.save = QPushButton("Save")
        self.save.setObjectName("primary")
        self.cancel = QPushButton("Cancel  [Esc]")
        for b in (self.mask_mode, self.roi_mode, self.undo, self.clear, self.save, self.cancel):
            b.setMinimumHeight(48)
        self.summary = QLabel("")
        self.summary.setObjectName("muted")
        modes = QHBoxLayout()
        for w in (self.mask_mode, self.roi_mode, self.undo, self.clear):
            modes.addWidget(w)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.save)
        lay = QVBoxLayout(self)
        lay.addLayout(modes)
        lay.addWidget(self.canvas, 1)
        lay.addLayout(buttons)
        self.undo.clicked.connect(self.canvas.undo)
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self, self.canvas.undo)
        self.clear.clicked.connect(self.canvas.clear)
        self.cancel.clicked.connect(self.reject)
        self.save.clicked.connect(self._save)
        self.canvas.changed.connect(self._show_summary)
        self._show_summary()

    def _show_summary(self) -> None:
        n = len(self.canvas.masks)
        region = "the whole image judged" if self.canvas.roi is None else "one region judged"
        self.summary.setText(f"{region}; {n} mask{'s' if n != 1 else ''}; drag over the part to draw")

    def areas(self) -> tuple[tuple["Mask", ...], "Mask | None"]:
        from station.line.recipes import Mask

        return (tuple(Mask(*m) for m in self.canvas.masks), Mask(*self.canvas.roi) if self.canvas.roi else None)

    def _save(self) -> None:
        from station.core.errors import StationError
        from station.line import recipes
        from station.line.settings import station_name

        try:
            masks, roi = self.areas()
        except StationError as exc:
            self.host.show_error(str(exc))
            return
        who = self.host.authorize("engineer", f"changing the areas of {self.recipe.name}")
        if who is None:
            return
        station = station_name(self.host.options.station, self.host.options.data)
        name = self.recipe.name

        def write(s: Any) -> int:
            newest = recipes.get(s, name)  # another station may have changed it meanwhile: only the areas change
            return recipes.save(s, replace(newest, masks=masks, roi=roi), who, station).version

        def saved(version: int) -> None:
            self.host.change_product(name, who, again=True)  # a run judges with it from the next part on
            self.host.show_message(f"areas of {name} saved (version {version}): judged so from the next part on")
            self.accept()

        self.host.db(write, saved, self.host.show_error, write=True)


def _rect(m: "Mask") -> Rect:
    return (m.x, m.y, m.w, m.h)


def open_areas(host: "WindowHost", name: str, frame: np.ndarray | None) -> None:
    """The areas dialog for product `name`, over `frame` (the Live tab's part) or, when there is
    none, the product's newest stored part, read on the tasks thread."""
    from station.line import recipes
    from station.store import repo

    def read(s: Any) -> tuple["Recipe", dict[str, Any] | None]:
        recipe = recipes.get(s, name)
        row = repo.newest(s, name) if frame is None else None
        return recipe, repo.as_dict(row) if row is not None else None

    def show(found: tuple["Recipe", dict[str, Any] | None]) -> None:
        recipe, item = found
        if frame is not None or item is None:
            AreasDialog(host, recipe, frame).open()
            return
        from station.ui.loading import load_for_display

        def loaded(shown: dict[str, Any]) -> None:
            AreasDialog(host, recipe, shown["preview"]).open()

        host.tasks.submit(lambda: load_for_display(host.store().blobs, item), loaded, host.show_error)

    host.db(read, show, host.show_error)
