"""Every view of a part side by side, each with its own verdict and heatmap: the Live tab shows
the part's verdict large and this row which side it came from; the Review tab shows the whole
part while one of its views is reviewed. Hidden for parts of one view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from station.ui import theme
from station.ui.imageview import ImageView
from station.ui.workers import LiveResult

HEIGHT = 190  # a row a 1366x768 screen affords under the verdict


@dataclass(frozen=True)
class ViewShown:
    """One view as a panel shows it: its picture and heatmap, and what it was judged."""

    name: str
    preview: Any = None
    heat: Any = None  # shown only where the view failed
    box: tuple[int, int, int, int] | None = None
    text: str = ""  # PASS, the defect's type, NOT INSPECTED
    failed: bool = False
    tip: str = ""
    error: str | None = None  # why there is no picture
    current: bool = False  # the view being reviewed


def from_live(v: LiveResult) -> ViewShown:
    if v.error is not None:
        return ViewShown(v.view or "", text="NOT INSPECTED", failed=True, tip=v.error, error=v.error)
    fail = v.verdict == "fail"
    return ViewShown(v.view or "", v.preview, v.heat if fail else None, v.box, (v.label or "FAIL").upper() if fail else "PASS",
                     fail, f"{v.origin}\n{v.label} p_defect={v.p_defect:.3f}")


class _Panel(QWidget):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.caption = QLabel(name.upper())
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setObjectName("viewCaption")
        self.image = ImageView()
        self.image.setMinimumSize(160, 120)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.caption)
        lay.addWidget(self.image, 1)

    def show_view(self, v: ViewShown) -> None:
        self.image.placeholder = v.error or "loading…"
        self.image.set_image(v.preview, v.heat, v.box)
        self.caption.setText(f"{'▶ ' if v.current else ''}{self.name.upper()} · {v.text}")
        self.caption.setToolTip(v.tip)
        color = theme.FAIL if v.failed else theme.PASS
        self.caption.setStyleSheet(f"color: {color}; font-weight: bold;" + (" text-decoration: underline;" if v.current else ""))


class PartViews(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(HEIGHT)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self.panels: list[_Panel] = []
        self.setVisible(False)

    def show_part(self, r: LiveResult) -> None:
        """A judged part's views (the Live tab), or hidden when it has one."""
        self.show_views([from_live(v) for v in r.views])

    def show_views(self, views: list[ViewShown]) -> None:
        if not views:
            self.setVisible(False)
            return
        names = [v.name for v in views]
        if [p.name for p in self.panels] != names:
            for p in self.panels:
                self._row.removeWidget(p)
                p.deleteLater()
            self.panels = [_Panel(n) for n in names]
            for p in self.panels:
                self._row.addWidget(p, 1)
        for p, v in zip(self.panels, views):
            p.show_view(v)
        self.setVisible(True)

    def captions(self) -> list[str]:
        """What each panel says (for a test, or a screen reader)."""
        return [p.caption.text() for p in self.panels]
