"""A teach's progress bar and its Cancel, fed from the teach's own thread.

Teaching 50 parts takes tens of seconds on a quiet PC and minutes under load; without a bar the
engineer cannot tell a slow teach from a stuck one, nor stop one started on the wrong folder.
`report` is the teach's ProgressFn: it runs on the worker thread, so it only emits a signal (the
bar moves on the GUI thread) and, once Cancel was pressed, raises to end the teach there.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from station.core.errors import StationError

STAGES = {"good parts": "reading the good parts", "template": "registering a template", "coreset": "choosing the memory bank"}


class TeachProgress(QObject):
    moved = Signal(str, int, int)

    def __init__(self, parent: QWidget, name: str) -> None:
        super().__init__(parent)
        self.name = name
        self.cancelled = False
        self.dialog = QProgressDialog(f"Teaching {name}…", "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle(f"Teaching {name}")
        self.dialog.setWindowModality(Qt.WindowModality.NonModal)  # Live and Review stay usable meanwhile
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(self._cancel)
        self.moved.connect(self._move)
        self.dialog.show()

    def report(self, stage: str, done: int, total: int | None) -> None:
        """The teach's ProgressFn (worker thread)."""
        if self.cancelled:
            raise StationError(f"teaching {self.name} cancelled; nothing was registered")
        self.moved.emit(stage, int(done), int(total or 0))

    def _move(self, stage: str, done: int, total: int) -> None:
        if self.cancelled:
            return
        self.dialog.setMaximum(max(total, 1))
        self.dialog.setValue(min(done, max(total, 1)))
        self.dialog.setLabelText(f"Teaching {self.name}: {STAGES.get(stage, stage)} ({done} of {total})")

    def _cancel(self) -> None:
        self.cancelled = True
        self.dialog.setLabelText(f"Cancelling {self.name}…")

    def close(self) -> None:
        self.dialog.canceled.disconnect(self._cancel)
        self.dialog.close()
