"""Keyboard shortcuts, made one way: the key, the widget whose window (or children) it works in,
and what it does."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


def shortcut(key: str, parent: QWidget, slot: Callable[[], object],
             context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut) -> QShortcut:
    s = QShortcut(QKeySequence(key), parent)
    s.setContext(context)
    s.activated.connect(slot)
    return s


def unless_typing(view: QWidget, key: str, slot: Callable[[], object]) -> None:
    """Run a view's key, unless a text box of the view has focus: there Enter applies the box and
    nothing else happens (at 0.9.0 Enter in the Review tab's filter labelled the part on screen)."""
    from PySide6.QtWidgets import QApplication, QLineEdit

    typing = QApplication.focusWidget()
    if isinstance(typing, QLineEdit) and view.isAncestorOf(typing):
        if key in ("Return", "Enter"):
            typing.returnPressed.emit()
        return
    slot()
