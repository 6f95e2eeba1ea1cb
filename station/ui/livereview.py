"""The operator's reviews from the Live tab: Space confirms the verdict on screen, W picks the
right label (or a new defect type) through the same validated dialog the Review tab uses. A
review that would replace one already given to the part on screen is asked about first. A
serial typed or scanned names the next part."""

from __future__ import annotations

from station.core.domain import ReviewRecord
from station.ui.dialogs import LabelDialog, ask
from station.ui.host import WindowHost
from station.ui.workers import LiveResult


def connect(window: WindowHost) -> None:
    """The Live tab's operator actions: Confirm, Wrong…, and a serial for the next part."""
    window.live.confirm.connect(lambda r: review(window, r, r.label))
    window.live.wrong.connect(lambda r: relabel(window, r))
    window.live.serial_entered.connect(lambda serial: _serial(window, serial))


def _serial(window: WindowHost, serial: str) -> None:
    if window.worker is not None:
        window.worker.set_serial(serial)
    else:
        window.show_message(f"serial {serial} not taken: nothing is running (press Start first)")


def review(window: WindowHost, r: LiveResult, label: str | None, chosen: bool = False) -> None:
    """Store `label` for the part on screen. `chosen`: the operator picked it in the label
    dialog (an explicit act); otherwise (Space) a label that replaces one given before asks first."""
    if r.inspection_id is None and r.not_kept:
        window.show_message(f"nothing to review: this verdict was {r.not_kept}")
        return
    if label is None or r.inspection_id is None:
        return
    earlier = window.live.reviewed_labels.get(r.inspection_id)
    # A key that would overwrite a correction asks first (Space after W stored scratch -> good at
    # 0.9.0 without a word); No is the default, so a second Space keeps the correction.
    if not chosen and earlier is not None and earlier != label and not _replace(window, earlier, label):
        window.show_message(f"kept: this part stays marked {earlier}")
        return
    by = window.reviewer()
    if not by:
        return
    from station.store import repo

    inspection_id = r.inspection_id
    # Known at once, not when the write comes back: a Space pressed while W's correction was
    # still being written saw the old label, did not ask, and stored the verdict over it.
    labels = window.live.reviewed_labels
    labels[inspection_id] = label

    def recorded(out: ReviewRecord) -> None:
        window.live.mark_reviewed(r, out.label or "")
        window.report_review(out)

    def failed(message: str) -> None:
        if labels.get(inspection_id) == label:  # not stored: the part is what it was
            if earlier is None:
                labels.pop(inspection_id, None)
            else:
                labels[inspection_id] = earlier
        window.show_error(message)

    window.db(lambda s: repo.add_review(s, inspection_id, label, by), recorded, failed, write=True)


def _replace(window: WindowHost, earlier: str, label: str) -> bool:
    answer = ask(window.as_parent(), "Replace the review?", f"This part is already marked {earlier}.\nReplace that with {label}?")
    window.live.setFocus()
    return answer


def relabel(window: WindowHost, r: LiveResult) -> None:
    keys = dict(window.label_keys)
    for c in window.classes:  # a class the database has not numbered yet still gets a button
        keys.setdefault(c, None)
    dialog = LabelDialog(keys, r.label, window.as_parent())
    accepted = dialog.exec()
    window.activateWindow()
    window.live.setFocus()
    if accepted and dialog.label:
        review(window, r, dialog.label, chosen=True)
