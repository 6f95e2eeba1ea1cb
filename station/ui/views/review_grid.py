"""The Review tab's grid: the queue page as thumbnails, many selected and labelled at once.
Thumbnails load on the prefetch thread; grid items come and go with every refill, so a late
thumbnail finds its item by id and never keeps a stale one.

Grouped (the queue's "alike defects" order), each item says its group and groups alternate
their shade, so where one group ends is seen at a glance; one group is selected at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from station.ui.qimage import to_pixmap
from station.ui.tasks import Tasks

GROUP_ROLE = Qt.ItemDataRole.UserRole + 1


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
            group = item.get("group")
            w = QListWidgetItem(f"G{group} · #{item['id']}" if group else f"#{item['id']} {item['predicted']}")
            w.setData(Qt.ItemDataRole.UserRole, item["id"])
            w.setData(GROUP_ROLE, group)
            if group and group % 2 == 0:
                w.setBackground(QBrush(QColor("#1f3a5f")))
            self.addItem(w)
            self._items[item["id"]] = w
            w.setIcon(self._thumbs.get(item["id"], self._blank))
            if item["id"] not in self._thumbs and item["id"] not in self._pending:
                self._pending.add(item["id"])
                self._load_thumb(blobs, item)

    def selected_ids(self) -> list[int]:
        return [w.data(Qt.ItemDataRole.UserRole) for w in self.selectedItems()]

    def select_group(self, group: int | None = None) -> int | None:
        """Select one whole group: `group`, else the current item's, else the first one left.
        Returns the group selected (None: the grid has no groups)."""
        items = [self.item(i) for i in range(self.count())]
        grouped = [w for w in items if w.data(GROUP_ROLE)]
        if not grouped:
            return None
        if group is None:
            current = self.currentItem()
            group = current.data(GROUP_ROLE) if current is not None and current.data(GROUP_ROLE) else grouped[0].data(GROUP_ROLE)
        self.clearSelection()
        members = [w for w in grouped if w.data(GROUP_ROLE) == group]
        for w in members:
            w.setSelected(True)
        if members:
            self.setCurrentItem(members[0], self.selectionModel().SelectionFlag.NoUpdate)
            self.scrollToItem(members[0])
        return group

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
