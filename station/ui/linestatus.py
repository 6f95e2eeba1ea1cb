"""The status bar's line light: are results reaching the line's database and image store, and
which model judges now (a line promotion switches it between parts)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from station.inspection_run import RunStatus


class LineStatus(QLabel):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("lineStatus")
        self._model = ""
        self._switched = ""

    def show_status(self, s: RunStatus) -> None:
        if self._model and s.model and s.model != self._model:
            self._switched = f" (switched from {self._model})"
        self._model = s.model or self._model
        model = f"model {self._model}{self._switched}" if self._model else ""
        if s.line:
            # Judging goes on; what is not yet on the server is safe on this PC's disk.
            self.setText(f"⚠ kept on this PC: {s.line} · {model}")
            self.setStyleSheet("color: white; background: #b06000; padding: 0 6px;")
            self.setToolTip("Verdicts are given and kept on this PC's disk; they are forwarded, in order, "
                            "as soon as the database and the image store answer again.")
        else:
            self.setText(model)
            self.setStyleSheet("")
            self.setToolTip(f"{s.spooled} results went through the local spool during this run" if s.spooled else "")
        self.setVisible(bool(self.text()))
