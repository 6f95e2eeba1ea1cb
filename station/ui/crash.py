"""What the window does with a bug and with Qt's own messages, and how it leaves on a signal.

- A Python exception nobody caught in a slot is logged with its traceback (station.core.logs) and the
  operator gets a dialog that says the station is still running and where the log is. The
  dialog is opened, not exec'd: a second bug while it is up must not stack modal loops.
- Qt's messages go to the same log (warnings to the file only: the offscreen and xcb plugins
  chatter; critical ones to stderr too).
- SIGTERM, SIGINT (and SIGBREAK, which Windows sends when its console is closed) close the
  window the normal way: the worker finishes the batch in flight, it is committed, exit 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from station.core import logs

log = logging.getLogger("station.ui")
qt_log = logging.getLogger("station.qt")

_QT_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.DEBUG,
              QtMsgType.QtWarningMsg: logging.INFO, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}

dialog: QMessageBox | None = None  # the last bug dialog shown (tests look at it)
_signal_timer: QTimer | None = None


def _qt_message(kind: QtMsgType, context: Any, message: str) -> None:
    qt_log.log(_QT_LEVELS.get(kind, logging.INFO), "%s", message)


def install(window: QWidget) -> None:
    """Route uncaught exceptions and Qt messages to the log, and show bugs to the operator."""
    qInstallMessageHandler(_qt_message)
    if logs.log_path() is None:
        logs.setup(getattr(getattr(window, "options", None), "data", None), "gui")

    def on_uncaught(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.critical("uncaught exception in the window", exc_info=(exc_type, exc, tb))
        if threading.current_thread() is threading.main_thread() and QApplication.instance() is not None:
            _show(window, f"{exc_type.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")

    sys.excepthook = on_uncaught


def _show(parent: QWidget, line: str) -> None:
    global dialog
    where = logs.log_path()
    box = QMessageBox(QMessageBox.Icon.Critical, "Internal error",
                      "The station hit a bug and kept running.\n\n" + line +
                      (f"\n\nThe details are in the log:\n{where}" if where else "") +
                      "\n\nPlease send that file with a support request (station doctor --json adds the rest).",
                      QMessageBox.StandardButton.Ok, parent)
    box.setModal(False)
    box.open()
    dialog = box


def close_on_signals(app: QApplication, window: QWidget) -> None:
    """Close `window` (the usual, committing way) on SIGTERM, SIGINT or SIGBREAK."""
    global _signal_timer

    def handler(signum: int, _frame: object) -> None:
        log.warning("%s: closing the window after the batch in flight", signal.Signals(signum).name)
        window.setProperty("system_quit", True)  # a service stop or a shutdown: the kiosk does not ask
        QTimer.singleShot(0, window.close)

    for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)
    # Python runs signal handlers between bytecodes only, and Qt's event loop is C++: a timer lets
    # the interpreter in five times a second.
    _signal_timer = QTimer(app)
    _signal_timer.timeout.connect(lambda: None)
    _signal_timer.start(200)
