"""Shop-floor mode through the real window (pytest-qt, offscreen): the first window fits a small
panel PC, F11 toggles full screen, and the kiosk keeps the operator on Live and does not quit on
one stray click."""

from __future__ import annotations

import pytest
from conftest import run_cli
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from station.ui.main_window import MainWindow, Options

pytestmark = pytest.mark.gui


def test_the_first_window_fits_the_screen_and_f11_toggles_full_screen(qtbot, data_dir):
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir)))
    qtbot.addWidget(w)
    with qtbot.waitExposed(w):
        w.show()
    avail = w.screen().availableGeometry()
    assert w.width() <= avail.width() and w.height() <= avail.height(), (w.size(), avail)
    # Whatever the screen, the layout itself must fit a 1366x768 panel PC.
    hint = w.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768, hint
    qtbot.keyClick(w, Qt.Key.Key_F11)
    assert w.isFullScreen()
    qtbot.keyClick(w, Qt.Key.Key_F11)
    assert not w.isFullScreen()
    w.close()


def _answer_quit(answer: QMessageBox.StandardButton, then=None) -> list[str]:
    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        seen.append(type(box).__name__)
        if isinstance(box, QMessageBox):
            box.button(answer).click()
            if then is not None:
                QTimer.singleShot(50, then)

    QTimer.singleShot(50, click)
    return seen


def test_the_kiosk_keeps_the_operator_on_live_and_guards_quitting(qtbot, data_dir):
    run_cli("users", "add", "eve", "--role", "engineer", data=data_dir, env={"STATION_PIN": "1234"})
    run_cli("users", "add", "otto", "--role", "operator", "--user", "eve", data=data_dir,
            env={"STATION_PIN": "1234", "STATION_NEW_PIN": "5555"})
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir), kiosk=True))
    qtbot.addWidget(w)
    with qtbot.waitExposed(w):
        w.showFullScreen()
    assert w.tabs.currentWidget() is w.live and not w.tabs.tabBar().isVisible()
    qtbot.keyClick(w, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)  # the Models tab, elsewhere
    assert w.tabs.currentWidget() is w.live
    qtbot.keyClick(w, Qt.Key.Key_F11)
    assert w.isFullScreen(), "the kiosk stays full screen"

    # A stray close: the confirmation's default is No, and the station keeps running.
    seen = _answer_quit(QMessageBox.StandardButton.No)
    w.close()
    assert seen == ["QMessageBox"] and w.isVisible()

    # Yes, then an operator's PIN: refused in the sign-in dialog; cancelled, the kiosk stays.
    refused: list[str] = []

    def operator_signs_in() -> None:
        dialog = QApplication.activeModalWidget()
        dialog.name.setText("otto")
        dialog.pin.setText("5555")
        dialog._check()
        refused.append(dialog.error.text())
        dialog.reject()

    seen = _answer_quit(QMessageBox.StandardButton.Yes, then=operator_signs_in)
    w.close()
    assert refused == ["otto is an operator; quitting the kiosk needs an engineer"] and w.isVisible()

    # An engineer may quit.
    def engineer_signs_in() -> None:
        dialog = QApplication.activeModalWidget()
        dialog.name.setText("eve")
        dialog.pin.setText("1234")
        dialog._check()

    _answer_quit(QMessageBox.StandardButton.Yes, then=engineer_signs_in)
    w.close()
    assert not w.isVisible()


def test_a_service_stop_closes_the_kiosk_without_asking(qtbot, data_dir):
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir), kiosk=True))
    qtbot.addWidget(w)
    w.showFullScreen()
    w.setProperty("system_quit", True)  # what the SIGTERM handler sets (station.ui.crash)
    w.close()
    assert not w.isVisible()
