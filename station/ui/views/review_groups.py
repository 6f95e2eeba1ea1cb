"""The review queue's groups: a page of unnamed defects grouped by the likeness of their defect
regions (station.model.grouping), on a thread of its own: grouping a page takes seconds, and
thumbnails and the database must not wait behind it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from station.ui.context import StationContext
from station.ui.tasks import Tasks


class PageGrouper:
    def __init__(self, parent: QObject, window: StationContext) -> None:
        self.window_ = window
        self.tasks = Tasks(parent, "station-groups")
        self._page: object | None = None  # the page a grouping in flight was started for
        self._model: tuple[Path, Any] | None = None  # (model directory, loaded model)

    def start(self, items: list[dict[str, Any]], done: Callable[[list[dict[str, Any]]], None]) -> None:
        """Set each item's `group` (1 = the largest; None: its image cannot be read), then
        `done(items)` on the GUI thread, unless another page was read meanwhile."""
        page = self._page = object()
        store = self.window_.store

        def work() -> list[Any]:
            from station.model.grouping import group_stored

            return group_stored(self._loaded_model(), store().blobs,
                                [None if it.get("image_gone") else it["image_path"] for it in items])

        def grouped(placed: list[Any]) -> None:
            if self._page is not page:
                return  # a newer page: its own grouping follows
            for it, where in zip(items, placed, strict=True):
                it["group"] = where.group if where else None
            done(items)

        self.tasks.submit(work, grouped, self.window_.show_error)

    def forget(self) -> None:
        """A new page was read: a grouping still in flight is for the old one."""
        self._page = None

    def _loaded_model(self) -> Any:
        """The active model (or the window's --model), loaded once per model on this thread."""
        from station.line import settings
        from station.model import load_model
        from station.model.registry import resolve_model

        opts = self.window_.options
        path = resolve_model(opts.model, opts.data)
        if self._model is None or self._model[0] != path:
            backend = opts.backend or settings.load(opts.data).inference.backend
            self._model = (path, load_model(opts.model, opts.data, device=opts.device, backend=backend))
        return self._model[1]

    def close(self) -> None:
        self.tasks.close()
