"""A part's history, found by its serial (the PLC's, read with its Trigger): every inspection of
it with the model and recipe that judged it, the image and heatmap of the one picked, and every
review (who, when, what). The same record `station part SERIAL` prints, read on the tasks thread."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QListWidget, QVBoxLayout

from station.ui.context import StationContext
from station.ui.dialogs import fit_to_screen
from station.ui.imageview import ImageView
from station.ui.tasks import Tasks

if TYPE_CHECKING:
    from station.store.history import Judged


Found = tuple[list["Judged"], dict[int, dict[str, Any]], dict[str, list[str]]]  # inspections, their rows, sha256 -> models


class PartDialog(QDialog):
    def __init__(self, window: StationContext, serial: str) -> None:
        super().__init__(window.as_parent())
        self.window_, self.serial = window, serial
        self.setWindowTitle(f"Part {serial}")
        self.loader = Tasks(self, name="station-part")
        self.heading = QLabel(f"Part {serial}: reading…")
        self.heading.setObjectName("big")
        self.list = QListWidget()
        self.list.setMinimumWidth(380)
        self.image = ImageView()
        self.image.placeholder = ""
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        right = QVBoxLayout()
        right.addWidget(self.image, 1)
        right.addWidget(self.details)
        body = QHBoxLayout()
        body.addWidget(self.list)
        body.addLayout(right, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.heading)
        lay.addLayout(body, 1)
        lay.addWidget(close)
        fit_to_screen(self, 1100, 760)
        self.judged: list[Judged] = []
        self.trained: dict[str, list[str]] = {}  # image sha256 -> the models it went into
        self.items: dict[int, dict[str, Any]] = {}
        self.list.currentRowChanged.connect(self._pick)

        data = window.options.data

        def read(s: Any) -> Found:
            from station.model.registry import trained_with
            from station.store import history, repo

            judged = history.part(s, serial)
            return judged, {j.id: repo.as_dict(repo.get_inspection(s, j.id)) for j in judged}, trained_with({j.sha256 for j in judged}, data)

        window.db(read, self._loaded, window.show_error)

    def _loaded(self, found: "Found") -> None:
        self.judged, self.items, self.trained = found
        if not self.judged:
            self.heading.setText(f"No part with serial {self.serial}")
            self.image.placeholder = "A serial comes from the PLC with each Trigger (handshake serial in the outputs file)"
            self.image.update()
            return
        n = len(self.judged)
        self.heading.setText(f"Part {self.serial}: {n} inspection{'s' if n != 1 else ''}")
        for j in self.judged:
            said = j.verdict.upper() + (f" → {j.label}" if j.label is not None else "")
            self.list.addItem(f"#{j.id}  {j.captured_at[:19].replace('T', ' ')}  {said}  {j.predicted}")
        self.list.setCurrentRow(0)

    def _pick(self, row: int) -> None:
        if not 0 <= row < len(self.judged):
            return
        j = self.judged[row]
        product = f" · recipe {html.escape(j.recipe)} v{j.recipe_version}" if j.recipe else ""
        lines = [f"<b>{j.verdict.upper()}</b> · {html.escape(j.predicted)} (p_defect {j.p_defect:.3f}) · "
                 f"model {html.escape(j.model)} {html.escape(j.model_version)}{product}",
                 f"{html.escape(j.origin)} · station {html.escape(j.station or '-')} · {j.captured_at[:19].replace('T', ' ')} UTC"]
        if j.exported_at:
            lines.append(f"exported {j.exported_at[:19].replace('T', ' ')} UTC")
        for rv in j.reviews:
            what = "undone" if rv.label is None else f"{html.escape(rv.previous or j.predicted)} → {html.escape(rv.label)}"
            note = f" ({html.escape(rv.note)})" if rv.note else ""
            lines.append(f"reviewed {rv.at[:19].replace('T', ' ')} UTC by {html.escape(rv.by)}: {what}{note}")
        if not j.reviews:
            lines.append("not reviewed")
        if self.trained.get(j.sha256):
            lines.append(f"went into models: {html.escape(', '.join(self.trained[j.sha256]))}")
        self.details.setText("<br>".join(lines))
        from station.ui.loading import load_for_display

        item, store = self.items[j.id], self.window_.store
        self.image.placeholder = "loading…"
        self.image.set_image(None)
        self.loader.submit(lambda: load_for_display(store().blobs, item), self._show, self.window_.show_error)

    def _show(self, loaded: dict[str, Any]) -> None:
        self.image.placeholder = loaded["error"] or ""
        self.image.set_image(loaded["preview"], loaded["heat"], loaded["box"])

    def done(self, result: int) -> None:
        self.loader.close()
        super().done(result)
