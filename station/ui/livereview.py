"""The operator's reviews from the Live tab: Space confirms the verdict on screen, W picks the
right label (or a new defect type) through the same validated dialog the Review tab uses."""

from __future__ import annotations

from typing import Any

from station.domain import ReviewRecord
from station.ui.dialogs import LabelDialog
from station.ui.workers import LiveResult

# The window is station.ui.main_window.MainWindow (which imports this module).
MainWindow = Any


def review(window: MainWindow, r: LiveResult, label: str | None) -> None:
    if r.inspection_id is None and r.not_kept:
        window.show_message(f"nothing to review: this verdict was {r.not_kept}")
        return
    if label is None or r.inspection_id is None:
        return
    by = window.reviewer()
    if not by:
        return
    from station.store import repo

    inspection_id = r.inspection_id

    def recorded(out: ReviewRecord) -> None:
        window.live.mark_reviewed(r, out.label or "")
        window.report_review(out)

    window.db(lambda s: repo.add_review(s, inspection_id, label, by), recorded, write=True)


def relabel(window: MainWindow, r: LiveResult) -> None:
    keys = dict(window.label_keys)
    for c in window.classes:  # a class the database has not numbered yet still gets a button
        keys.setdefault(c, None)
    dialog = LabelDialog(keys, r.label, window)
    accepted = dialog.exec()
    window.activateWindow()
    window.live.setFocus()
    if accepted and dialog.label:
        review(window, r, dialog.label)
