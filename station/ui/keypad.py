"""An on-screen keypad for PINs and numbers, and a row of names to tap: a panel PC at the line
has a touch screen and no keyboard, and an operator in gloves cannot use the system's tiny one.

The keys never take the focus, so the field keeps it: a typed digit and a tapped one land in
the same place, and Enter still means the dialog's OK.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLineEdit, QPushButton, QWidget

BACKSPACE = "⌫"
CLEAR = "Clear"
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", CLEAR, "0", BACKSPACE)
MAX_NAMES = 8  # more than this and the row would not fit a 1366 px screen: the field is for typing


def _key(text: str, press: Callable[[], object], parent: QWidget | None = None) -> QPushButton:
    button = QPushButton(text, parent)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setAutoDefault(False)  # a dialog's Enter stays its OK
    button.setMinimumWidth(72)
    button.clicked.connect(lambda _checked=False: press())
    return button


class Keypad(QWidget):
    """Digits, Clear and backspace into `target`."""

    def __init__(self, target: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.target = target
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.keys: dict[str, QPushButton] = {}
        for i, text in enumerate(KEYS):
            self.keys[text] = _key(text, partial(self.press, text))
            grid.addWidget(self.keys[text], i // 3, i % 3)

    def press(self, key: str) -> None:
        if key == BACKSPACE:
            self.target.backspace()
        elif key == CLEAR:
            self.target.clear()
        else:
            self.target.insert(key)
        self.target.setFocus()


class NameButtons(QWidget):
    """A button per name: a tap fills `target` and hands the focus on to `then` (the PIN)."""

    def __init__(self, names: Sequence[str], target: QLineEdit, then: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = self.row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.target, self.then = target, then
        self.buttons: dict[str, QPushButton] = {}
        for name in list(names)[:MAX_NAMES]:
            self.buttons[name] = _key(name, partial(self.pick, name))
            row.addWidget(self.buttons[name])
        row.addStretch(1)

    def set_names(self, names: Sequence[str]) -> None:
        """The names, once read (off the GUI thread); those already there are replaced."""
        row = self.row
        for button in self.buttons.values():
            row.removeWidget(button)
            button.deleteLater()
        self.buttons = {}
        for i, name in enumerate(list(names)[:MAX_NAMES]):
            self.buttons[name] = _key(name, partial(self.pick, name), self)  # a child at once: never a window of its own
            row.insertWidget(i, self.buttons[name])  # (before the stretch)

    def pick(self, name: str) -> None:
        self.target.setText(name)
        self.then.clear()
        self.then.setFocus()
