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
