"""The inspector's review queue: least-certain first, one key per decision, undo, bulk labelling.

The queue is read a page at a time on the tasks thread; the next items' images are decoded ahead
on a prefetch thread; a decision moves to the next item at once and its review event is written
behind it. Undo appends an event (the store never deletes one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from station.domain import ReviewRecord
from station.labels import GOOD
from station.ui.imageview import ImageView
from station.ui.qimage import to_pixmap
from station.ui.shortcuts import shortcut
from station.ui.tasks import Tasks

PAGE = 200
PREFETCH = 2
SINCE = [("any time", None), ("last hour", timedelta(hours=1)), ("last 24 hours", timedelta(days=1)),
         ("last 7 days", timedelta(days=7))]


class ReviewView(QWidget):
    def __init__(self, window) -> None:
        super().__init__()
        self.window_ = window
        self.items: list[dict[str, Any]] = []
        self.index = 0
        self.labels: list[str] = [GOOD]
        self.keys: dict[str, int | None] = {}  # defect type -> its fixed digit
        self.cache: dict[int, dict[str, Any]] = {}
        self.undo_stack: list[tuple[dict[str, Any], int]] = []
        self.loader = Tasks(self, "station-prefetch")
        self._grid_items: dict[int, QListWidgetItem] = {}
        self._thumbs: dict[int, QIcon] = {}
        self._thumbs_pending: set[int] = set()
        self._build()

    # -- layout ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.order = QComboBox()
        for key, text in (("uncertainty", "Least certain first"), ("recent", "Most recent first"), ("defects", "Predicted defects first")):
            self.order.addItem(text, key)
        self.verdict = QComboBox()
        for verdict, text in ((None, "any verdict"), ("fail", "FAIL only"), ("pass", "PASS only")):
            self.verdict.addItem(text, verdict)
        self.predicted = QComboBox()
        self.predicted.addItem("any prediction", None)
        self.run = QComboBox()
        self.run.addItem("all runs", None)
        self.since = QComboBox()
        for text, delta in SINCE:
            self.since.addItem(text, delta)
        self.origin = QLineEdit()
        self.origin.setPlaceholderText("origin contains…")
        self.bulk = QCheckBox("Grid  [B]")
        bar = QHBoxLayout()
        for w in (self.order, self.verdict, self.predicted, self.run, self.since, self.origin, self.bulk):
            bar.addWidget(w)
        bar.setStretch(5, 1)

        self.image = ImageView()
        self.image.placeholder = "The review queue is empty"
        self.grid = QListWidget()
        self.grid.setViewMode(QListWidget.ViewMode.IconMode)
        self.grid.setIconSize(QSize(128, 128))
        self.grid.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.grid.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.grid.setMovement(QListWidget.Movement.Static)
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
        body = QHBoxLayout()
        body.addWidget(self.stack, 3)
        body.addLayout(side, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addLayout(body, 1)

        for combo in (self.order, self.verdict, self.predicted, self.run, self.since):
            combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.origin.returnPressed.connect(self.refresh)
        self.bulk.toggled.connect(self._set_bulk)
        self.confirm_btn.clicked.connect(self.confirm)
        self.skip_btn.clicked.connect(lambda: self.step(1))
        self.undo_btn.clicked.connect(self.undo)
        keys: dict[str, Callable[[], object]] = {"Return": self.confirm, "Enter": self.confirm, "Space": self.confirm, "G": lambda: self.decide(GOOD),
                "N": self.new_type, "S": lambda: self.step(1), "Right": lambda: self.step(1), "Left": lambda: self.step(-1),
                "Ctrl+Z": self.undo, "U": self.undo, "H": lambda: self.image.set_heat_visible(not self.image.show_heat),
                "+": lambda: self.image.zoom_by(1.25), "=": lambda: self.image.zoom_by(1.25), "-": lambda: self.image.zoom_by(0.8),
                "0": self.image.reset_zoom, "B": self.bulk.toggle}
        for n in range(1, 10):
            keys[str(n)] = partial(self.decide_defect, n)
        for key, slot in keys.items():
            shortcut(key, self, slot, Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # -- the queue --------------------------------------------------------------------------------------------
    def filters(self) -> dict[str, Any]:
        delta = self.since.currentData()
        return {"verdict": self.verdict.currentData(), "predicted": self.predicted.currentData(), "run_id": self.run.currentData(),
                "origin_like": self.origin.text().strip() or None,
                "since": datetime.now(UTC) - delta if delta else None}

    def refresh(self) -> None:
        from station.store import repo, stats

        order, filters = self.order.currentData(), self.filters()

        def read(s):
            rows = repo.queue(s, order, PAGE, **filters)
            return {"items": [repo.as_dict(r) for r in rows], "labels": repo.known_labels(s), "keys": repo.label_keys(s),
                    "runs": stats.runs(s, 50)}

        self.window_.db(read, self._loaded)

    def _loaded(self, data: dict[str, Any]) -> None:
        self.items = data["items"]
        self.labels = data["labels"]
        self.keys = data["keys"]
        self.index = 0
        self._refill(self.predicted, "any prediction", [(x, x) for x in self.labels])
        self._refill(self.run, "all runs", [(f"run {r['id']} · {Path(r['source']).name or r['source']}", r["id"]) for r in data["runs"]])
        self._show_keys()
        if self.bulk.isChecked():
            self._fill_grid()
        self.show_current()

    def _refill(self, combo: QComboBox, any_text: str, entries: list[tuple[str, Any]]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(any_text, None)
        for text, value in entries:
            combo.addItem(text, value)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        combo.blockSignals(False)

    def current(self) -> dict[str, Any] | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def show_current(self) -> None:
        item = self.current()
        if item is None:
            self.image.placeholder = "The review queue is empty"
            self.image.set_image(None)
            self.position.setText("Queue empty")
            self.prediction.setText("")
            self.details.setText("")
            return
        self.position.setText(f"{self.index + 1} / {len(self.items)}")
        self.prediction.setText(f"{item['verdict'].upper()} · {item['predicted']} · p_defect {item['p_defect']:.2f}")
        probs = sorted(item["probabilities"].items(), key=lambda kv: -kv[1])
        self.details.setText("<br>".join(f"{k}: <b>{v:.1%}</b>" for k, v in probs)
                             + f"<br><br>#{item['id']} · {item['origin']}<br>{item['captured_at']}")
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
        root = self.window_.data

        def done(loaded):
            item["_loading"] = False
            self.cache[item["id"]] = loaded
            if len(self.cache) > 64:
                self.cache.pop(next(iter(self.cache)))
            if self.current() is item:
                self._display(loaded)

        self.loader.submit(lambda: load_for_display(root, item), done, self.window_.show_error)

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
        name, ok = QInputDialog.getText(self, "New defect type", "Name (a-z, 0-9, _ and -):")
        self._refocus()
        if ok and name.strip():
            self.decide(name.strip().lower())

    def take_keyboard(self) -> None:
        if self.isVisible():
            self._refocus()

    def _refocus(self) -> None:
        """Keys keep working after a dialog: the queue takes the keyboard back."""
        self.window().activateWindow()
        (self.grid if self.bulk.isChecked() else self).setFocus()

    def decide(self, label: str) -> None:
        if self.bulk.isChecked():
            self._decide_many(label)
            return
        item = self.current()
        by = self.window_.reviewer() if item is not None else None
        if item is None or not by:
            return
        from station.store import repo

        # Move on at once; the event is written behind, and a refusal puts the item back.
        self.items.pop(self.index)
        self.index = min(self.index, max(0, len(self.items) - 1))
        self.show_current()

        def failed(message: str) -> None:
            self.items.insert(self.index, item)
            self.show_current()
            self.window_.show_error(message)

        self.window_.db(lambda s: repo.add_review(s, item["id"], label, by), lambda out: self._recorded(item, out), failed, write=True)

    def _recorded(self, item: dict[str, Any], out: ReviewRecord) -> None:
        self.undo_stack.append((item, out.review_id))
        if out.label is not None and out.label not in self.labels:
            self.labels.append(out.label)
            from station.store import repo

            def got(keys: dict) -> None:
                self.keys = keys
                self._show_keys()
            self.window_.db(repo.label_keys, got)
        self.log.insertItem(0, f"#{item['id']}: {out.previous} → {out.label}")
        self.window_.report_review(out)
        if not self.items:  # this page is done: fetch the next one
            self.refresh()

    def _show_keys(self) -> None:
        self.keys_label.setText("Enter confirm · G good · " + " · ".join(f"{d} {x}" for x, d in self.keys.items() if d is not None)
                          + " · N new type · S skip · Ctrl+Z undo · H heatmap · +/− zoom · B grid")

    def undo(self) -> None:
        if not self.undo_stack:
            self.window_.show_message("nothing to undo")
            return
        item, review_id = self.undo_stack.pop()
        by = self.window_.reviewer()
        if not by:
            self.undo_stack.append((item, review_id))
            return
        from station.store import repo

        def done(out: ReviewRecord) -> None:
            self.log.insertItem(0, f"#{item['id']}: undo ({out.previous} → {out.label or 'unreviewed'})")
            if out.label is None:
                self.items.insert(self.index, item)
                self.show_current()

        self.window_.db(lambda s: repo.undo_review(s, item["id"], by, expected=review_id), done, write=True)

    # -- bulk ------------------------------------------------------------------------------------------------------
    def _set_bulk(self, on: bool) -> None:
        self.stack.setCurrentIndex(1 if on else 0)
        if on:
            self._fill_grid()
            self.grid.setFocus()

    def _fill_grid(self) -> None:
        self.grid.clear()
        self._grid_items = {}
        root = self.window_.data
        for item in self.items:
            w = QListWidgetItem(f"#{item['id']} {item['predicted']}")
            w.setData(Qt.ItemDataRole.UserRole, item["id"])
            self.grid.addItem(w)
            self._grid_items[item["id"]] = w
            if item["id"] in self._thumbs:
                w.setIcon(self._thumbs[item["id"]])
            elif item["id"] not in self._thumbs_pending:
                self._thumbs_pending.add(item["id"])
                self._load_thumb(root, item)

    def _load_thumb(self, root: Path, item: dict[str, Any]) -> None:
        from station.ui.loading import thumbnail

        inspection_id = item["id"]
        self.loader.submit(lambda: thumbnail(root, item), lambda img: self._thumb_loaded(inspection_id, img), lambda _m: None)

    def _thumb_loaded(self, inspection_id: int, image) -> None:
        """Grid items come and go with every refill: find the live one by id, never keep a stale one."""
        self._thumbs_pending.discard(inspection_id)
        if image is None:
            return
        self._thumbs[inspection_id] = QIcon(to_pixmap(image))
        w = self._grid_items.get(inspection_id)
        if w is not None:
            w.setIcon(self._thumbs[inspection_id])

    def _decide_many(self, label: str | None) -> None:
        ids = [w.data(Qt.ItemDataRole.UserRole) for w in self.grid.selectedItems()]
        if not ids:
            self.window_.show_message("select items in the grid first (Ctrl+A for all)")
            return
        by = self.window_.reviewer()
        if not by:
            return
        from station.store import repo

        chosen = {it["id"]: it for it in self.items if it["id"] in ids}

        def write(s):
            return [repo.add_review(s, i, label or chosen[i]["predicted"], by, note="bulk") for i in ids]

        def done(outs):
            for out in outs:
                self._recorded(chosen[out.id], out)
            self.items = [it for it in self.items if it["id"] not in chosen]
            self.index = min(self.index, max(0, len(self.items) - 1))
            self._fill_grid()
            self.window_.show_message(f"{len(outs)} items labelled {label or 'as predicted'}")

        self.window_.db(write, done, write=True)

    def close_view(self) -> None:
        self.loader.close()
