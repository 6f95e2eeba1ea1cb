"""The Review tab's grid: the queue page as thumbnails, many selected and labelled at once.
Thumbnails load on the prefetch thread; grid items come and go with every refill, so a late
thumbnail finds its item by id and never keeps a stale one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
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
        self._items: dict[int, QListWidgetItem] = {}
        self._thumbs: dict[int, QIcon] = {}
        self._pending: set[int] = set()

    def fill(self, items: list[dict[str, Any]], root: Path) -> None:
        self.clear()
        self._items = {}
        for item in items:
            w = QListWidgetItem(f"#{item['id']} {item['predicted']}")
            w.setData(Qt.ItemDataRole.UserRole, item["id"])
            self.addItem(w)
            self._items[item["id"]] = w
            if item["id"] in self._thumbs:
                w.setIcon(self._thumbs[item["id"]])
            elif item["id"] not in self._pending:
                self._pending.add(item["id"])
                self._load_thumb(root, item)

    def selected_ids(self) -> list[int]:
        return [w.data(Qt.ItemDataRole.UserRole) for w in self.selectedItems()]

    def _load_thumb(self, root: Path, item: dict[str, Any]) -> None:
        from station.ui.loading import thumbnail

        inspection_id = item["id"]
        self.loader.submit(lambda: thumbnail(root, item), lambda img: self._thumb_loaded(inspection_id, img), lambda _m: None)

    def _thumb_loaded(self, inspection_id: int, image) -> None:
        self._pending.discard(inspection_id)
        if image is None:
            return
        self._thumbs[inspection_id] = QIcon(to_pixmap(image))
        w = self._items.get(inspection_id)
        if w is not None:
            w.setIcon(self._thumbs[inspection_id])
