"""Shop-floor mode: a window that fits the line's screen, full screen on F11, and a kiosk that
keeps the operator on Live and keeps the station running.

- The first window (no saved geometry) fits the screen it opens on: at most 1280x820, never more
  than 95% of the available area, so a 1366x768 panel PC shows all of it.
- F11 toggles full screen anywhere.
- Kiosk (`station gui --kiosk`): full screen, Live's tab alone (its row holds the error banner)
  and Ctrl+2..4 ignored, so the operator stays on Live; quitting needs a confirmation, and on a station with users an
  engineer's sign-in (a glove on the wrong key, or a curious passer-by, must not stop the line).
  The source is the one an engineer set: Start and Stop work, changing it takes an engineer's
  sign-in, and no file dialog opens.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from station.ui.host import WindowHost
from station.ui.shortcuts import shortcut

FIRST_SIZE = QSize(1280, 820)
SCREEN_SHARE = 0.95
FRAME_ALLOWANCE = QSize(16, 40)  # a window manager's borders and title bar, before they are known


def first_size(window: QWidget) -> QSize:
    """The first window's size: FIRST_SIZE, shrunk to fit the screen's available area."""
    screen = window.screen()
    if screen is None:
        return FIRST_SIZE
    avail = screen.availableGeometry()
    return QSize(min(FIRST_SIZE.width(), int(avail.width() * SCREEN_SHARE)),
                 min(FIRST_SIZE.height(), int(avail.height() * SCREEN_SHARE)))


def restore_geometry(window: QWidget, saved: object) -> None:
    """The last session's place and size, on a screen that is here now: a window saved on a
    larger or a second monitor is shrunk and moved until its title bar and controls are on the
    screen (Qt's own check keeps any window that still touches a screen, even by a corner)."""
    if not isinstance(saved, QByteArray | bytes) or not window.restoreGeometry(saved):  # none saved, or not a geometry
        window.resize(first_size(window))
        return
    screen = QGuiApplication.screenAt(window.geometry().center()) or window.screen()
    if screen is None:
        return
    avail = screen.availableGeometry()
    frame, inner = window.frameGeometry(), window.geometry()
    extra_w, extra_h = frame.width() - inner.width(), frame.height() - inner.height()
    if (extra_w, extra_h) == (0, 0):  # not decorated yet (before the first show): allow a title bar
        extra_w, extra_h = FRAME_ALLOWANCE.width(), FRAME_ALLOWANCE.height()
    width = max(window.minimumWidth(), min(inner.width(), avail.width() - extra_w))
    height = max(window.minimumHeight(), min(inner.height(), avail.height() - extra_h))
    window.resize(width, height)
    x = max(avail.left(), min(frame.left(), avail.right() + 1 - width - extra_w))
    y = max(avail.top(), min(frame.top(), avail.bottom() + 1 - height - extra_h))
    window.move(x, y)  # a top-level window's move() places its frame


def toggle_full_screen(window: WindowHost) -> None:
    if window.options.kiosk:
        return  # the kiosk stays full screen
    if window.isFullScreen():
        window.showNormal()
    else:
        window.showFullScreen()


def install(window: WindowHost) -> None:
    """F11, and the kiosk lock when the window was opened with --kiosk."""
    shortcut("F11", window.as_parent(), lambda: toggle_full_screen(window))
    if window.options.kiosk:
        for i in range(window.tabs.count()):  # Live's tab alone: its row holds the banner
            window.tabs.setTabVisible(i, window.tabs.widget(i) is window.live)
        window.tabs.setCurrentWidget(window.live)
        window.setWindowTitle("Inspection station (kiosk)")
        bar = window.live.source_bar
        bar.lock(True)
        bar.change_btn.clicked.connect(lambda: unlock_source(window))
        bar.start.connect(lambda _spec: bar.lock(True))  # each start locks it again


def unlock_source(window: WindowHost) -> bool:
    """The kiosk's "Change source…": an engineer's sign-in opens the source fields (no Browse)
    until the next Start. On a station without users, the reviewer's name is asked and kept."""
    who = window.authorize("engineer", "changing the kiosk's source")
    if who is None:
        return False
    window.live.source_bar.lock(False)
    window.audit(who or "(no users)", "kiosk_source_unlocked", {"was": window.live.source_bar.spec()})
    return True


def keep_on_live(window: WindowHost) -> bool:
    """In the kiosk, any tab change goes back to Live; True when it did."""
    if window.options.kiosk and window.tabs.currentWidget() is not window.live:
        window.tabs.setCurrentWidget(window.live)
        return True
    return False


def may_quit(window: WindowHost) -> bool:
    """Outside the kiosk, always. In the kiosk: a confirmation, then (on a station with users) an
    engineer's sign-in."""
    if not window.options.kiosk or window.property("system_quit"):
        return True
    answer = QMessageBox.question(window.as_parent(), "Quit the station?",
                                  "The line stops being inspected until the station is started again. Quit?",
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    if answer != QMessageBox.StandardButton.Yes:
        return False
    who = window.authorize("engineer", "quitting the kiosk", ask_name=False)
    if who is not None:
        window.audit(who or "(no users)", "kiosk_quit", {})  # written before the window's tasks stop
    return who is not None
