"""Errors in plain sight: a red strip above the tabs says what went wrong in one line, whatever tab
is open, and the whole message with the log's path is one click away. The status bar alone was
too easy to miss at a line, and cut long messages off."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

MAX_LINE = 140
# The core's messages are shared with the command line; the window drops the command's prefix.
_CLI_PREFIX = re.compile(r"^station [\w-]+: (error: )?")


class ErrorBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setStyleSheet("QFrame#errorBanner { background: #5c1f1f; border: 1px solid #d64541; border-radius: 6px; }"
                           "QLabel { color: #ffffff; font-size: 17px; font-weight: 600; }")
        self.summary = QLabel("")
        self.details_btn = QPushButton("Details…")
        self.dismiss_btn = QPushButton("Dismiss")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 4, 10, 4)
        lay.addWidget(self.summary, 1)
        lay.addWidget(self.details_btn)
        lay.addWidget(self.dismiss_btn)
        self.full = ""
        self.log_path = ""
        self.details_btn.clicked.connect(self.show_details)
        self.dismiss_btn.clicked.connect(self.clear)
        self.hide()

    def above(self, content: QWidget) -> QWidget:
        """`content` with this banner above it: the window's central widget."""
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self)
        column.addWidget(content, 1)
        return central

    def show_error(self, message: str, log_path: str = "") -> None:
        text = _CLI_PREFIX.sub("", message.strip())
        first = text.splitlines()[0] if text else "something went wrong"
        self.summary.setText(first if len(first) <= MAX_LINE else first[: MAX_LINE - 1] + "…")
        self.summary.setToolTip(text)
        self.full, self.log_path = text, log_path
        self.show()

    def show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "What went wrong", self.full, QMessageBox.StandardButton.Close, self)
        if self.log_path:
            box.setInformativeText(f"The station's log has the details: {self.log_path}")
        box.open()  # not modal: the line keeps running behind it

    def clear(self) -> None:
        self.full = ""
        self.hide()
