"""The reject gallery: the last failed parts as thumbnails, filtered by defect type; a
double-click (or Enter, or Open) opens the inspection: the image, its heatmap and box, the
verdict, the review, where and when. For an engineer asking "what has the line been rejecting?"
without paging the review queue, which holds only unreviewed parts."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QListWidgetItem, QPushButton, QVBoxLayout

from station.ui.context import StationContext
from station.ui.dialogs import fit_to_screen
from station.ui.imageview import ImageView
from station.ui.tasks import Tasks
from station.ui.views.review_grid import BulkGrid

LAST = 60  # parts shown: a shift's rejects at a glance, cheap to read and thumbnail


class RejectsDialog(QDialog):
    def __init__(self, window: StationContext) -> None:
        super().__init__(window.as_parent())
        self.window_ = window
        self.setWindowTitle(f"The last {LAST} rejects")
        self.loader = Tasks(self, name="station-rejects")
        self.kind = QComboBox()
        self.kind.addItem("every defect type", None)
        self.grid = BulkGrid(self.loader)
        self.grid.setSelectionMode(BulkGrid.SelectionMode.SingleSelection)
        self.count = QLabel("")
        self.open_btn = QPushButton("Open")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.kind, 1)
        top.addWidget(self.count)
        bottom = QHBoxLayout()
        bottom.addWidget(self.open_btn)
        bottom.addStretch(1)
        bottom.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.grid, 1)
        lay.addLayout(bottom)
        fit_to_screen(self, 1100, 760)
        self.items: list[dict[str, Any]] = []
        self.opened: InspectionDialog | None = None
        self.kind.currentIndexChanged.connect(lambda _: self.refresh())
        self.grid.itemActivated.connect(self._open_item)
        self.open_btn.clicked.connect(self._open_selected)
        self.refresh()

    def refresh(self) -> None:
        from station.store import repo

        kind = self.kind.currentData()

        def read(s: Any) -> dict[str, Any]:
            return {"items": [repo.as_dict(r) for r in repo.rejects(s, LAST, kind)], "labels": repo.known_labels(s)}

        self.window_.db(read, self._loaded)

    def _loaded(self, data: dict[str, Any]) -> None:
        self.items = data["items"]
        if self.kind.count() == 1:  # the types, once: refilling would fire a refresh of its own
            self.kind.blockSignals(True)
            for label in data["labels"]:
                if label != "good":
                    self.kind.addItem(label, label)
            self.kind.blockSignals(False)
        self.grid.fill(self.items, lambda: self.window_.store().blobs)
        for row in range(self.grid.count()):  # the review, when there is one, beside the model's word
            item = self.items[row]
            if item["label"] is not None and item["label"] != item["predicted"]:
                self.grid.item(row).setText(f"#{item['id']} {item['predicted']} → {item['label']}")
        self.count.setText(f"{len(self.items)} shown")
        if self.items:
            self.grid.setCurrentRow(0)

    def _open_selected(self) -> None:
        row = self.grid.currentRow()
        if 0 <= row < len(self.items):
            self.open_inspection(self.items[row])

    def _open_item(self, widget: QListWidgetItem) -> None:
        self._open_selected() if widget is None else self.open_inspection(self.items[self.grid.row(widget)])

    def open_inspection(self, item: dict[str, Any]) -> None:
        self.opened = InspectionDialog(self.window_, item, self)
        self.opened.open()

    def done(self, result: int) -> None:
        self.loader.close()
        super().done(result)


class InspectionDialog(QDialog):
    """One stored inspection: what the station saw and said, and what an inspector said since."""

    def __init__(self, window: StationContext, item: dict[str, Any], parent: RejectsDialog) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Inspection #{item['id']}")
        self.image = ImageView()
        self.image.placeholder = "loading…"
        review = f"reviewed: {item['label']}" if item["label"] is not None else "not reviewed yet"
        self.text = QLabel(f"#{item['id']} · {item['verdict'].upper()} · {item['predicted']} (p_defect {item['p_defect']:.2f}) · {review}\n"
                           f"{item['origin']}\n{_when(item['captured_at'])}" + (f" · station {item['station']}" if item.get("station") else ""))
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.image, 1)
        lay.addWidget(self.text)
        lay.addWidget(close)
        fit_to_screen(self, 900, 760)
        from station.ui.loading import load_for_display

        store = window.store
        parent.loader.submit(lambda: load_for_display(store().blobs, item), self._show, window.show_error)

    def _show(self, loaded: dict[str, Any]) -> None:
        self.image.placeholder = loaded["error"] or ""
        self.image.set_image(loaded["preview"], loaded["heat"], loaded["box"])


def _when(iso: str) -> str:
    """2026-12-06T00:07:36.782679+00:00 -> 2026-12-06 00:07:36 UTC (stored in UTC)."""
    return iso[:19].replace("T", " ") + " UTC" if len(iso) >= 19 else iso
