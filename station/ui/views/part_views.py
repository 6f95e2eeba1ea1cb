"""Every view of a part side by side, each with its own verdict and heatmap: the Live tab shows
the part's verdict large, and this row shows which side it came from. Hidden for parts of one view."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from station.ui import theme
from station.ui.imageview import ImageView
from station.ui.workers import LiveResult

HEIGHT = 190  # a row a 1366x768 screen affords under the verdict


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

    def show_view(self, v: LiveResult) -> None:
        if v.error is not None:
            self.image.placeholder = v.error
            self.image.set_image(None)
            text, color = "NOT INSPECTED", theme.FAIL
        else:
            self.image.set_image(v.preview, v.heat if v.verdict == "fail" else None, v.box)
            text = "PASS" if v.verdict == "pass" else (v.label or "FAIL").upper()
            color = theme.PASS if v.verdict == "pass" else theme.FAIL
        self.caption.setText(f"{self.name.upper()} · {text}")
        self.caption.setToolTip(v.error or f"{v.origin}\n{v.label} p_defect={v.p_defect:.3f}")
        self.caption.setStyleSheet(f"color: {color}; font-weight: bold;")


class PartViews(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(HEIGHT)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self.panels: list[_Panel] = []
        self.setVisible(False)

    def show_part(self, r: LiveResult) -> None:
        """The part's views, or hidden when it has one."""
        if not r.views:
            self.setVisible(False)
            return
        names = [v.view or "" for v in r.views]
        if [p.name for p in self.panels] != names:
            for p in self.panels:
                self._row.removeWidget(p)
                p.deleteLater()
            self.panels = [_Panel(n) for n in names]
            for p in self.panels:
                self._row.addWidget(p, 1)
        for p, v in zip(self.panels, r.views):
            p.show_view(v)
        self.setVisible(True)

    def captions(self) -> list[str]:
        """What each panel says (for a test, or a screen reader)."""
        return [p.caption.text() for p in self.panels]
