"""The whole part while one of its views is reviewed: every view side by side, each with its
verdict and heatmap, the one under review marked. A defect seen from the side is easier to name
with the top in view; each view is still labelled on its own (each has its own model)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from station.ui.views.part_views import PartViews, ViewShown

if TYPE_CHECKING:
    from station.ui.context import StationContext
    from station.ui.tasks import Tasks


class ReviewPart:
    def __init__(self, window: "StationContext", loader: "Tasks") -> None:
        self.window_, self.loader = window, loader
        self.widget = PartViews()
        self._for: int | None = None  # the item whose part is being shown (a late answer for another is dropped)

    def show(self, item: dict[str, Any] | None) -> None:
        """The part of `item` (hidden for a part of one view). Read and loaded off the GUI thread."""
        part = item.get("part") if item is not None and item.get("view") else None
        if item is None or part is None:
            self._for = None
            self.widget.setVisible(False)
            return
        self._for = item["id"]
        wanted = item["id"]
        self.window_.db(lambda s: _views(s, part), lambda views: self._read(wanted, views))

    def _read(self, wanted: int, views: list[dict[str, Any]]) -> None:
        if self._for != wanted:
            return
        from station.ui.loading import load_for_display

        store = self.window_.store
        self.widget.show_views([_shown(v, None, v["id"] == wanted) for v in views])

        def load() -> list[dict[str, Any]]:
            blobs = store().blobs
            return [load_for_display(blobs, v, 384) for v in views]

        def done(loaded: list[dict[str, Any]]) -> None:
            if self._for == wanted:
                self.widget.show_views([_shown(v, got, v["id"] == wanted) for v, got in zip(views, loaded)])

        self.loader.submit(load, done, self.window_.show_error)


def _views(s: Any, part: str) -> list[dict[str, Any]]:
    from station.store import repo

    return repo.part_views(s, part)


def _shown(v: dict[str, Any], loaded: dict[str, Any] | None, current: bool) -> ViewShown:
    failed = v["verdict"] == "fail"
    label = v["label"] or v["predicted"]
    text = ("PASS" if label == "good" else label.upper()) + (" (reviewed)" if v["label"] else "")
    return ViewShown(v["view"] or "", loaded["preview"] if loaded else None, loaded["heat"] if loaded and failed else None,
                     loaded["box"] if loaded else None, text, failed if not v["label"] else label != "good",
                     f"#{v['id']} · {v['origin']}\np_defect {v['p_defect']:.3f}", loaded["error"] if loaded else None, current)
