"""A strip above the tabs, on every tab. Errors in plain sight: what went wrong in one line, the
whole message with the log's path one click away (the status bar alone was too easy to miss at a
line, and cut long messages off). Offers: a question with one button, such as resuming a run
that was interrupted."""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSizePolicy, QVBoxLayout, QWidget

MAX_LINE = 140
# The core's messages are shared with the command line; the window drops the command's prefix.
_CLI_PREFIX = re.compile(r"^station [\w-]+: (error: )?")
# "[Errno 111] Connection refused": the number means nothing to an operator; the words stay.
_ERRNO = re.compile(r"\[Errno -?\d+\] ")


class Banner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.summary = QLabel("")
        # One line, cut to the strip (the whole text is in Details and the tooltip): a wrapped
        # second line made the strip taller still.
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.details_btn = QPushButton("Details…")
        self.action_btn = QPushButton("")
        self.dismiss_btn = QPushButton("Dismiss")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 4, 10, 4)
        lay.addWidget(self.summary, 1)
        lay.addWidget(self.details_btn)
        lay.addWidget(self.action_btn)
        lay.addWidget(self.dismiss_btn)
        self.full = ""
        self.log_path = ""
        self.kind = ""  # "error", "alarm" or "offer"
        self._painted: tuple[str, str] | None = None
        self._action: Callable[[], None] | None = None
        self.details_btn.clicked.connect(self.show_details)
        self.action_btn.clicked.connect(self._act)
        self.dismiss_btn.clicked.connect(self.clear)
        self.hide()

    def _paint(self, background: str, border: str) -> None:
        # A camera's unreadable frames, or every FAIL with alarm.on_fail, reach here per frame:
        # a style sheet re-polishes the strip, so it is set only when the colours change.
        if self._painted == (background, border):
            return
        self._painted = (background, border)
        self.setStyleSheet(f"QFrame#banner {{ background: {background}; border: 1px solid {border}; border-radius: 6px; }}"
                           "QLabel { color: #ffffff; font-size: 17px; font-weight: 600; }")

    def above(self, content: QWidget) -> QWidget:
        """`content` with this banner above it: the window's central widget."""
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self)
        column.addWidget(content, 1)
        return central

    def show_error(self, message: str, log_path: str = "") -> None:
        text = _ERRNO.sub("", _CLI_PREFIX.sub("", message.strip()))
        first = text.splitlines()[0] if text else "something went wrong"
        self.summary.setText(first if len(first) <= MAX_LINE else first[: MAX_LINE - 1] + "…")
        self.summary.setToolTip(text)
        self.full, self.log_path = text, log_path
        self.kind, self._action = "error", None
        self._paint("#5c1f1f", "#d64541")
        self.details_btn.show()
        self.action_btn.hide()
        self.show()

    def show_alarm(self, text: str) -> None:
        """An alarm (N FAILs in a row): red like an error, no details to open."""
        self.summary.setText(text)
        self.summary.setToolTip("")
        self.full, self.kind, self._action = text, "alarm", None
        self._paint("#8b1a1a", "#ff7b72")
        self.details_btn.hide()
        self.action_btn.hide()
        self.show()

    def offer(self, text: str, action: str, do: Callable[[], None]) -> None:
        """A question with one answer button (and Dismiss); not shown over an error or an alarm."""
        if self.kind in ("error", "alarm") and self.isVisible():
            return
        self.summary.setText(text)
        self.summary.setToolTip("")
        self.kind, self._action = "offer", do
        self._paint("#4a3b12", "#d29922")
        self.details_btn.hide()
        self.action_btn.setText(action)
        self.action_btn.show()
        self.show()

    def _act(self) -> None:
        do = self._action
        self.clear()
        if do is not None:
            do()

    def show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "What went wrong", self.full, QMessageBox.StandardButton.Close, self)
        if self.log_path:
            box.setInformativeText(f"The station's log has the details: {self.log_path}")
        box.open()  # not modal: the line keeps running behind it

    def clear(self) -> None:
        self.full, self.kind, self._action = "", "", None
        self.hide()
