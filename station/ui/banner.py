"""A strip in the tab bar's row, on every tab. Errors in plain sight: what went wrong in one line,
the whole message with the log's path one click away (the status bar alone was too easy to miss at
a line, and cut long messages off). Offers: a question with one button, such as resuming a run
that was interrupted.

It floats over the row's empty end rather than taking a place in a layout: a strip that came and
went above the tabs pushed every control down by 73 px, so a tap meant for Start landed on
whatever had moved under the finger. A floating strip moves nothing; reserving its space for good
shrank the verdict below what reads from two metres at 1366x768."""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QRect
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSizePolicy, QTabWidget, QWidget

MAX_LINE = 140
MIN_WIDTH = 420  # px: narrower than this beside the tabs, the strip covers the tab row instead
# The core's messages are shared with the command line; the window drops the command's prefix.
_CLI_PREFIX = re.compile(r"^station [\w-]+: (error: )?")
# "[Errno 111] Connection refused": the number means nothing to an operator; the words stay.
_ERRNO = re.compile(r"\[Errno -?\d+\] ")


def plain(message: str) -> str:
    """A core message as an operator reads it: no command prefix, no errno."""
    return _ERRNO.sub("", _CLI_PREFIX.sub("", message.strip()))


class ElidedLabel(QLabel):
    """One line that ends in "…" where the strip ends (clipped mid-word it read as a typo)."""

    def __init__(self) -> None:
        super().__init__("")
        self._full = ""

    def setText(self, text: str) -> None:
        self._full = text
        self._elide()

    def text(self) -> str:
        """The whole line, as set (what shows may end in "…")."""
        return self._full

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        from PySide6.QtCore import Qt

        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(self.width(), 1)))


class Banner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.summary = ElidedLabel()
        # One line, cut to the strip (the whole text is in Details and the tooltip): a wrapped
        # second line made the strip taller still.
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.details_btn = QPushButton("Details…")
        self.action_btn = QPushButton("")
        self.dismiss_btn = QPushButton("Dismiss")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 0, 0, 0)  # the buttons keep the tab row's full (touch) height
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

    def float_over(self, tabs: QTabWidget) -> None:
        """Float in `tabs`' bar row, right of the last tab; the strip follows every resize."""
        self._tabs = tabs
        self.setParent(tabs)
        tabs.installEventFilter(self)
        tabs.tabBar().installEventFilter(self)
        self.place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Move, QEvent.Type.Show, QEvent.Type.LayoutRequest):
            self.place()
        return False

    def place(self) -> None:
        tabs = getattr(self, "_tabs", None)
        if tabs is None:
            return
        bar = tabs.tabBar()
        last = max((i for i in range(bar.count()) if bar.isTabVisible(i)), default=-1)
        left = bar.mapTo(tabs, bar.tabRect(last).topRight()).x() + 12 if last >= 0 and bar.isVisible() else 0
        if tabs.width() - left < MIN_WIDTH:
            left = 0  # a narrow window: over the tabs (Ctrl+1..4 still switch), never over the controls
        height = max(bar.height() if bar.isVisible() else 0, bar.sizeHint().height())
        self.setGeometry(QRect(left, 0, max(tabs.width() - left, 1), height))
        for button in (self.details_btn, self.action_btn, self.dismiss_btn):
            button.setFixedHeight(height)
        self.raise_()

    def show_error(self, message: str, log_path: str = "") -> None:
        text = plain(message)
        first = text.splitlines()[0] if text else "something went wrong"
        self.summary.setText(first if len(first) <= MAX_LINE else first[: MAX_LINE - 1] + "…")
        self.summary.setToolTip(text)
        self.full, self.log_path = text, log_path
        self.kind, self._action = "error", None
        self._paint("#5c1f1f", "#d64541")
        self.details_btn.show()
        self.action_btn.hide()
        self._show()

    def show_alarm(self, text: str) -> None:
        """An alarm (N FAILs in a row): red like an error, no details to open."""
        text = plain(text)
        self.summary.setText(text)
        self.summary.setToolTip("")
        self.full, self.kind, self._action = text, "alarm", None
        self._paint("#8b1a1a", "#ff7b72")
        self.details_btn.hide()
        self.action_btn.hide()
        self._show()

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
        self._show()

    def _show(self) -> None:
        self.place()
        self.show()
        self.raise_()

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
