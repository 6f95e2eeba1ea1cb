"""Keyboard shortcuts, made one way: the key, the widget whose window (or children) it works in,
and what it does; and the views' keys, which work whatever has focus."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget


def shortcut(key: str, parent: QWidget, slot: Callable[[], object],
             context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut) -> QShortcut:
    s = QShortcut(QKeySequence(key), parent)
    s.setContext(context)
    s.activated.connect(slot)
    return s


class ViewKeys:
    """The views' keys as one window-level shortcut per key, sent to the view on screen.

    Keys bound to a view's own focus died by focus luck: right after launch W and H did nothing on
    Live, and after Dismiss on the banner every Review key was dead until a list was clicked. One
    shortcut per key also lets two views share a key (Space, H) without Qt calling it ambiguous."""

    def __init__(self, window: QWidget, current: Callable[[], QWidget | None]) -> None:
        self.window = window
        self.current = current
        self.slots: dict[str, dict[QWidget, Callable[[], object]]] = {}

    def add(self, view: QWidget, keys: dict[str, Callable[[], object]]) -> None:
        for key, slot in keys.items():
            if key not in self.slots:
                self.slots[key] = {}
                shortcut(key, self.window, partial(self._fire, key))
            self.slots[key][view] = slot

    def _fire(self, key: str) -> None:
        view = self.current()
        slot = self.slots[key].get(view) if view is not None else None
        if slot is not None:
            unless_typing(self.window, key, slot)


def unless_typing(view: QWidget, key: str, slot: Callable[[], object]) -> None:
    """Run a view's key, unless a text box of the view has focus: there Enter applies the box and
    nothing else happens (at 0.9.0 Enter in the Review tab's filter labelled the part on screen)."""
    typing = QApplication.focusWidget()
    if isinstance(typing, QLineEdit) and view.isAncestorOf(typing):
        if key in ("Return", "Enter"):
            typing.returnPressed.emit()
        return
    slot()
