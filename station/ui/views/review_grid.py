"""The Review tab's grid: the queue page as thumbnails, many selected and labelled at once.
Thumbnails load on the prefetch thread; grid items come and go with every refill, so a late
thumbnail finds its item by id and never keeps a stale one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from station.ui.qimage import to_pixmap
from station.ui.tasks import Tasks


class BulkGrid(QListWidget):
    def __init__(self, loader: Tasks) -> None:
        super().__init__()
        self.loader = loader
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(128, 128))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.setMovement(QListWidget.Movement.Static)
        # A fixed cell and a blank icon until the thumbnail arrives: laid out once, the grid stays
        # in place as thumbnails come in (they used to land on top of one another at first).
        self.setGridSize(QSize(148, 168))
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        blank = QPixmap(128, 128)
        blank.fill(QColor("#2d333b"))
        self._blank = QIcon(blank)
        self._items: dict[int, QListWidgetItem] = {}
        self._thumbs: dict[int, QIcon] = {}
        self._pending: set[int] = set()

    def fill(self, items: list[dict[str, Any]], blobs: Callable[[], Any]) -> None:
        self.clear()
        self._items = {}
        for item in items:
            w = QListWidgetItem(f"#{item['id']} {item['predicted']}")
            w.setData(Qt.ItemDataRole.UserRole, item["id"])
            self.addItem(w)
            self._items[item["id"]] = w
            w.setIcon(self._thumbs.get(item["id"], self._blank))
            if item["id"] not in self._thumbs and item["id"] not in self._pending:
                self._pending.add(item["id"])
                self._load_thumb(blobs, item)

    def selected_ids(self) -> list[int]:
        return [w.data(Qt.ItemDataRole.UserRole) for w in self.selectedItems()]

    def _load_thumb(self, blobs: Callable[[], Any], item: dict[str, Any]) -> None:
        from station.ui.loading import thumbnail

        inspection_id = item["id"]
        self.loader.submit(lambda: thumbnail(blobs(), item), lambda img: self._thumb_loaded(inspection_id, img), lambda _m: None)

    def _thumb_loaded(self, inspection_id: int, image) -> None:
        self._pending.discard(inspection_id)
        if image is None:
            return
        self._thumbs[inspection_id] = QIcon(to_pixmap(image))
        w = self._items.get(inspection_id)
        if w is not None:
            w.setIcon(self._thumbs[inspection_id])
