"""The inspector's review queue: least-certain first, one key per decision, undo, bulk labelling.

The queue is read a page at a time on the tasks thread; the next items' images are decoded ahead
on a prefetch thread; a decision moves to the next item at once and its review event is written
behind it. Undo appends an event (the store never deletes one).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QListWidget, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from station.core.domain import ReviewRecord
from station.core.labels import GOOD
from station.line.settings import station_name
from station.ui.context import StationContext
from station.ui.dialogs import ask
from station.ui.imageview import ImageView
from station.ui.tasks import Tasks
from station.ui.views.review_filters import QUEUE_ORDER, ReviewFilters, fill_recipes, recipe_scope, refill
from station.ui.views.review_grid import BulkGrid
from station.ui.views.review_groups import PageGrouper
from station.ui.views.review_part import ReviewPart

PAGE = 200
PREFETCH = 2


class ReviewView(QWidget):
    def __init__(self, window: StationContext) -> None:
        super().__init__()
        self.window_ = window
        self.items: list[dict[str, Any]] = []
        self.total = self._page = 0  # the queue's size under the filters, and the page read of it
        self.index = 0
        self.labels: list[str] = [GOOD]
        self.keys: dict[str, int | None] = {}  # defect type -> its fixed digit
        self.cache: dict[int, dict[str, Any]] = {}
        # One entry per step an inspector took: a key press is one review, a bulk label many; Ctrl+Z undoes a step.
        self.undo_stack: list[list[tuple[dict[str, Any], int]]] = []
        self.in_flight, self.undo_waiting = 0, False  # a Ctrl+Z right after a key waits for that key's write
        self.loader = Tasks(self, "station-prefetch")
        self.grouper = PageGrouper(self, window)
        self.part = ReviewPart(window, self.loader)  # a part seen from several sides: all its views, beside the one reviewed
        self._build()

    # -- layout ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.filter_bar = ReviewFilters(self.refresh)
        f = self.filter_bar
        self.order, self.verdict, self.predicted, self.run, self.station, self.since, self.origin = (
            f.order, f.verdict, f.predicted, f.run, f.station, f.since, f.origin)
        self.bulk = QCheckBox("Grid  [B]")
        bar = QHBoxLayout()
        for w in (self.order, f.recipe, self.verdict, self.predicted, self.run, self.station, self.since, self.origin, self.bulk):
            bar.addWidget(w)
        bar.setStretch(7, 1)

        self.image = ImageView()
        self.image.placeholder = "The review queue is empty"
        self.grid = BulkGrid(self.loader)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.image)
        self.stack.addWidget(self.grid)

        self.position = QLabel("")
        self.position.setObjectName("big")
        self.prediction = QLabel("")
        self.prediction.setObjectName("bannerDetail")
        self.prediction.setWordWrap(True)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.keys_label = QLabel("")
        self.keys_label.setObjectName("muted")
        self.keys_label.setWordWrap(True)
        self.log = QListWidget()
        self.log.setMaximumHeight(160)
        buttons = QHBoxLayout()
        self.confirm_btn, self.skip_btn, self.undo_btn = QPushButton("Confirm [Enter]"), QPushButton("Skip [S]"), QPushButton("Undo [Ctrl+Z]")
        for b in (self.confirm_btn, self.skip_btn, self.undo_btn):
            buttons.addWidget(b)
        side = QVBoxLayout()
        for label in (self.position, self.prediction, self.details, self.keys_label):
            side.addWidget(label)
        side.addStretch(1)
        side.addLayout(buttons)
        side.addWidget(QLabel("This session"))
        side.addWidget(self.log)
        left = QVBoxLayout()
        left.addWidget(self.stack, 1)
        left.addWidget(self.part.widget)
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addLayout(side, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addLayout(body, 1)

        self.bulk.toggled.connect(self._set_bulk)
        self.confirm_btn.clicked.connect(self.confirm)
        self.skip_btn.clicked.connect(lambda: self.step(1))
        self.undo_btn.clicked.connect(self.undo)
        keys: dict[str, Callable[[], object]] = {"Return": self.confirm, "Enter": self.confirm, "Space": self.confirm, "G": lambda: self.decide(GOOD),
                "N": self.new_type, "S": lambda: self.step(1), "Right": lambda: self.step(1), "Left": lambda: self.step(-1),
                "Ctrl+Z": self.undo, "U": self.undo, "H": lambda: self.image.set_heat_visible(not self.image.show_heat),
                "+": lambda: self.image.zoom_by(1.25), "=": lambda: self.image.zoom_by(1.25), "-": lambda: self.image.zoom_by(0.8),
                "0": self.image.reset_zoom, "B": self.bulk.toggle, "A": self.grid.select_group}
        for n in range(1, 10):
            keys[str(n)] = partial(self.decide_defect, n)
        self.key_slots = keys  # the window sends them here whatever has focus (ui.shortcuts.ViewKeys)

    # -- the queue --------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        from station.store import conflicts, repo, stats

        order, filters = self.order.currentData(), self.filter_bar.values()
        order = QUEUE_ORDER.get(order, order)

        def read(s):
            scope = recipe_scope(s, filters["recipe"], station_name(self.window_.options.station, self.window_.options.data))
            filters["recipe"] = scope[0]
            rows = repo.queue(s, order, PAGE, **filters)
            same = conflicts.labels_of(s, [r.sha256 for r in rows])
            items = [{**repo.as_dict(r), "same_image_labels": same.get(r.sha256, {})} for r in rows]
            return {"items": items, "labels": repo.known_labels(s), "keys": repo.label_keys(s), "runs": stats.runs(s, 50),
                    "total": repo.queue_size(s, order, **filters), "stations": stats.stations(s), "recipes": scope}

        self.window_.db(read, self._loaded)

    def _loaded(self, data: dict[str, Any]) -> None:
        self.items = data["items"]
        self.total, self._page = data["total"], len(self.items)  # the whole queue, not just this page
        self.labels = data["labels"]
        self.keys = data["keys"]
        self.index = 0
        refill(self.predicted, "any prediction", [(x, x) for x in self.labels])
        refill(self.run, "all runs", [(f"run {r['id']} · {Path(r['source']).name or r['source']}", r["id"]) for r in data["runs"]])
        refill(self.station, "all stations", [(n, n) for n in data["stations"]])
        self.station.setVisible(len(data["stations"]) > 1)
        fill_recipes(self.filter_bar, data["recipes"][1], data["recipes"][0])
        self._show_keys()
        self.grouper.forget()
        if self.order.currentData() == "groups" and self.items:  # grouped by likeness; then one key names a group
            self.bulk.setChecked(True)
            self.window_.show_message(f"grouping {len(self.items)} unnamed defects by likeness…")
            self.grouper.start(list(self.items), self._grouped)
        if self.bulk.isChecked():
            self._fill_grid()
        self.show_current()

    def current(self) -> dict[str, Any] | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def show_current(self) -> None:
        item = self.current()
        self.part.show(item)
        if item is None:
            self.image.placeholder = "The review queue is empty"
            self.image.set_image(None)
            self.position.setText("Queue empty")
            self.prediction.setText("")
            self.details.setText("")
            return
        left = self.total - (self._page - len(self.items))  # decided since the page was read
        self.position.setText(f"{self.index + 1} / {left:,}")
        self.prediction.setText(f"{item['verdict'].upper()} · {item['predicted']} · p_defect {item['p_defect']:.2f}")
        probs = sorted(item["probabilities"].items(), key=lambda kv: -kv[1])
        same = item.get("same_image_labels") or {}
        # The same image content already labelled elsewhere: say so before the inspector decides.
        seen = "" if not same else (
            f"<br><br><span style='color:{'#ff7b72' if len(same) > 1 else '#d29922'}; font-weight:bold'>"
            f"{'Conflict: ' if len(same) > 1 else ''}the same image is labelled "
            + ", ".join(f"{html.escape(label)} (#{', #'.join(map(str, ids))})" for label, ids in sorted(same.items())) + "</span>")
        self.details.setText("<br>".join(f"{k}: <b>{v:.1%}</b>" for k, v in probs)
                             + f"<br><br>#{item['id']} · {html.escape(item['origin'])}<br>{item['captured_at']}"
                             + (f"<br>part {html.escape(item['serial'])}" if item.get("serial") else "") + seen)
        loaded = self.cache.get(item["id"])
        if loaded is not None:
            self._display(loaded)
        else:
            self.image.placeholder = "loading…"
            self.image.set_image(None)
            self._load(item)
        for k in range(1, PREFETCH + 1):
            if self.index + k < len(self.items):
                self._load(self.items[self.index + k])

    def _load(self, item: dict[str, Any]) -> None:
        from station.ui.loading import load_for_display

        if item["id"] in self.cache or item.get("_loading"):
            return
        item["_loading"] = True
        store = self.window_.store  # its image store is where images and heatmaps are read (any thread)

        def done(loaded):
            item["_loading"] = False
            self.cache[item["id"]] = loaded
            if len(self.cache) > 64:
                self.cache.pop(next(iter(self.cache)))
            if self.current() is item:
                self._display(loaded)

        self.loader.submit(lambda: load_for_display(store().blobs, item), done, self.window_.show_error)

    def _display(self, loaded: dict[str, Any]) -> None:
        # A file gone from the data dir says so where the image would be; the item stays reviewable.
        self.image.placeholder = loaded["error"] or "loading…"
        self.image.set_image(loaded["preview"], loaded["heat"], loaded["box"])

    def step(self, delta: int) -> None:
        if self.items:
            self.index = max(0, min(len(self.items) - 1, self.index + delta))
            self.show_current()

    # -- decisions ----------------------------------------------------------------------------------------
    def confirm(self) -> None:
        if self.bulk.isChecked():
            self._decide_many(None)
        elif (item := self.current()) is not None:
            self.decide(item["predicted"])

    def decide_defect(self, n: int) -> None:
        """Digit n is the defect type that holds it, whatever types were added since."""
        label = next((k for k, d in self.keys.items() if d == n), None)
        if label is not None:
            self.decide(label)

    def new_type(self) -> None:
        from station.ui.dialogs import TypeNameDialog

        dialog = TypeNameDialog(self)
        taken = dialog.exec() and dialog.label
        self._refocus()
        if taken:
            self.decide(taken)

    def _refocus(self) -> None:
        """Keys keep working after a dialog: the queue takes the keyboard back."""
        self.window().activateWindow()
        (self.grid if self.bulk.isChecked() else self).setFocus()

    def decide(self, label: str) -> None:
        if self.bulk.isChecked():
            self._decide_many(label)
            return
        item = self.current()
        loaded = self.cache.get(item["id"]) if item is not None else None
        if item is None or (loaded and loaded["error"] and not item.get("image_gone")):  # never confirmed unseen
            if loaded:
                self.window_.show_error(f"not recorded: a review needs the image, which cannot be shown ({loaded['error']})")
            return
        if not (by := self.window_.reviewer()):
            return
        from station.store import repo

        # Move on at once; the event is written behind, and a refusal puts the item back.
        self.items.pop(self.index)
        self.index = min(self.index, max(0, len(self.items) - 1))
        self.show_current()

        def failed(message: str) -> None:
            self.in_flight -= 1
            self.items.insert(self.index, item)
            self.show_current()
            self.window_.show_error(message)

        self.in_flight += 1
        self.window_.db(lambda s: repo.add_review(s, item["id"], label, by), lambda out: self._recorded(item, out), failed, write=True)

    def _recorded(self, item: dict[str, Any], out: ReviewRecord, step: list[tuple[dict[str, Any], int]] | None = None) -> None:
        if step is None:
            self.in_flight -= 1
            self.undo_stack.append([(item, out.review_id)])
        else:
            step.append((item, out.review_id))
        if out.label is not None and out.label not in self.labels:
            self.labels.append(out.label)
            from station.store import repo

            def got(keys: dict) -> None:
                self.keys = keys
                self._show_keys()
            self.window_.db(repo.label_keys, got)
        self.log.insertItem(0, f"#{item['id']}: {out.previous or 'unreviewed'} → {out.label}")  # not 'None → good'
        self.window_.report_review(out)
        if not self.items:  # this page is done: fetch the next one
            self.refresh()
        if self.undo_waiting and not self.in_flight:
            self.undo_waiting = False
            self.undo()

    def _show_keys(self) -> None:
        self.keys_label.setText("Enter confirm · G good · " + " · ".join(f"{d} {x}" for x, d in self.keys.items() if d is not None)
                          + " · N new type · S skip · Ctrl+Z undo · H heatmap · +/− zoom · B grid · A group")

    def undo(self) -> None:
        """Undo the last step: one review, or every item of a bulk label at once (all or none:
        when someone reviewed one of them since, nothing is undone and the message says who)."""
        if self.in_flight:  # the step to undo is still being written: undone when it lands
            self.undo_waiting = True
            return
        if not self.undo_stack:
            self.window_.show_message("nothing to undo")
            return
        step = self.undo_stack.pop()
        by = self.window_.reviewer()
        if not by:
            self.undo_stack.append(step)
            return
        from station.store import repo

        def write(s):
            return [repo.undo_review(s, item["id"], by, expected=review_id) for item, review_id in step]

        def done(outs: list[ReviewRecord]) -> None:
            back = []
            for (item, _), out in zip(step, outs, strict=True):
                self.log.insertItem(0, f"#{item['id']}: undo ({out.previous} → {out.label or 'unreviewed'})")
                if out.label is None:
                    back.append(item)
            self.items[self.index:self.index] = back
            if len(step) > 1:
                self.window_.show_message(f"undid the bulk label of {len(step)} items")
            if self.bulk.isChecked():
                self._fill_grid()
            self.show_current()

        def failed(message: str) -> None:
            # Someone reviewed one of these since (repo.undo_review refuses): this step can never
            # be undone, so it goes. Anything else (a database hiccup) can be tried again.
            if "nothing undone" not in message:
                self.undo_stack.append(step)
            self.window_.show_error(message)

        self.window_.db(write, done, failed, write=True)

    # -- bulk ------------------------------------------------------------------------------------------------------
    def _set_bulk(self, on: bool) -> None:
        self.stack.setCurrentIndex(1 if on else 0)
        if on:
            self._fill_grid()
            self.grid.setFocus()

    def _fill_grid(self) -> None:
        self.grid.fill(self.items, lambda: self.window_.store().blobs)

    def _decide_many(self, label: str | None) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            self.window_.show_message("select items in the grid first (Ctrl+A for all)")
            return
        by = self.window_.reviewer()
        if not by or len(ids) > 1 and not ask(self, "Label many?", f"Label {len(ids)} items {label or 'as predicted'}?"):
            return
        from station.store import repo
        chosen = {it["id"]: it for it in self.items if it["id"] in ids}

        def write(s):
            return [repo.add_review(s, i, label or chosen[i]["predicted"], by, note="bulk") for i in ids]

        def done(outs):
            step: list[tuple[dict[str, Any], int]] = []
            self.undo_stack.append(step)  # one Ctrl+Z undoes the whole bulk label
            for out in outs:
                self._recorded(chosen[out.id], out, step)
            self.items = [it for it in self.items if it["id"] not in chosen]
            self.index = min(self.index, max(0, len(self.items) - 1))
            self._fill_grid()
            self.grid.select_group()  # grouped: the next group is selected, ready for its key
            self.window_.show_message(f"{len(outs)} items labelled {label or 'as predicted'}")

        self.window_.db(write, done, write=True)

    # -- groups -------------------------------------------------------------------------------------------
    def _grouped(self, items: list[dict[str, Any]]) -> None:
        self.items.sort(key=lambda it: it.get("group") or len(items) + 1)  # what was decided meanwhile stays out
        self.index = 0
        self.show_current()
        self._fill_grid()
        self.grid.select_group()
        self.grid.setFocus()
        found = len({it["group"] for it in items if it.get("group")})
        self.window_.show_message(f"{len(items)} unnamed defects in {found} groups: a digit names the selected group "
                                  "(Ctrl+click leaves a part out), A selects the group under the cursor")

    def close_view(self) -> None:
        self.loader.close()
        self.grouper.close()
