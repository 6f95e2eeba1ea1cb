"""#30's walk: one shift through the real window at 1366x768 with the station's theme, as the
operator, the inspector and the engineer. Every key is typed into whatever has the focus after
the last tap (as on the floor), every tab's controls are measured, and every act that changes
many labels or the line's model asks first."""

from __future__ import annotations

import pytest
from conftest import run_cli
from gui_helpers import gui_thread_sql, modal_dialog, rows
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QApplication, QCheckBox, QComboBox, QLineEdit, QPushButton, QWidget

from station.ui.main_window import MainWindow, Options

pytestmark = pytest.mark.gui


def _small(tab: QWidget, need: float) -> dict[str, int]:
    found = [c for kind in (QPushButton, QComboBox, QCheckBox, QLineEdit, QAbstractSpinBox) for c in tab.findChildren(kind)
             if c.isVisible() and not isinstance(c.parent(), QAbstractSpinBox)]  # a spin box's own editor: the box is measured
    assert found, f"nothing to tap on {type(tab).__name__}"
    return {f"{type(c).__name__}:{c.text() if isinstance(c, QAbstractButton | QLineEdit) else ''}": c.height()
            for c in found if c.height() < need - 0.5}


def _press(qtbot, w: MainWindow, key: Qt.Key, mod=Qt.KeyboardModifier.NoModifier) -> None:
    """A key typed at the station: it goes to whatever has the focus now, not to a chosen widget."""
    qtbot.keyClick(QApplication.focusWidget() or w, key, mod)


def _reviews(data) -> list[tuple]:
    return [tuple(r) for r in rows(data, "SELECT inspection_id, label, by, note FROM reviews ORDER BY id")]


def _answer(qtbot, asked: list[str], yes: bool) -> None:
    from PySide6.QtWidgets import QMessageBox

    box = modal_dialog(qtbot)
    asked.append(box.windowTitle() or box.text())
    box.button(QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No).click()


@pytest.fixture()
def gui_thread_queries():
    with gui_thread_sql() as seen:
        yield seen


def test_a_shift_as_operator_inspector_and_engineer(qtbot, data_dir, demo_images, themed, gui_thread_queries):
    from station.core.config import default_model_dir
    from station.model.registry import list_models

    run_cli("promote", str(default_model_dir()), "--as", "line-v2", data=data_dir)  # so there is something to roll back
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir)))
    qtbot.addWidget(w)
    w.resize(1366, 768)
    with qtbot.waitExposed(w):
        w.show()
    w.activateWindow()
    # From here on the window never waits on the database: a slow or restarting line server would
    # freeze it (a users query per review key froze it for 1.26 s behind a 1 s database).
    gui_thread_queries.clear()
    need = themed.TOUCH_MM * themed.px_per_mm(w.screen())
    small: dict[str, dict[str, int]] = {}

    # -- the operator: Start by a tap, then keys typed wherever the tap left the focus ----------------
    w.set_reviewer("otto")
    w.live.source_bar.set_source(str(demo_images))
    qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.worker is None, timeout=120_000)
    small["live"] = _small(w.live, need)
    shown = w.live.current
    assert shown is not None and shown.inspection_id is not None
    _press(qtbot, w, Qt.Key.Key_Space)  # the verdict on screen is right
    qtbot.waitUntil(lambda: len(_reviews(data_dir)) == 1, timeout=10_000)
    assert _reviews(data_dir)[0][:3] == (shown.inspection_id, shown.label, "otto")
    qtbot.mouseClick(w.live.heat_box, Qt.MouseButton.LeftButton)  # a tap elsewhere on Live ...
    heat = w.live.heat_box.isChecked()
    _press(qtbot, w, Qt.Key.Key_H)  # ... and the keys still work
    assert w.live.heat_box.isChecked() is not heat

    def name_it() -> None:
        dialog = modal_dialog(qtbot)
        dialog.new.setText("burr")
        qtbot.keyClick(dialog.new, Qt.Key.Key_Return)

    QTimer.singleShot(0, name_it)
    _press(qtbot, w, Qt.Key.Key_W)  # it was wrong: a burr
    qtbot.waitUntil(lambda: len(_reviews(data_dir)) == 2, timeout=10_000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=10_000)
    asked: list[str] = []
    QTimer.singleShot(0, lambda: _answer(qtbot, asked, yes=False))
    _press(qtbot, w, Qt.Key.Key_Space)  # would overwrite the correction: asks, and No keeps it
    assert len(asked) == 1
    qtbot.waitUntil(lambda: "stays marked burr" in w.message.text(), timeout=10_000)
    assert [r[1] for r in _reviews(data_dir)] == [shown.label, "burr"]
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=10_000)  # the keys' window again

    # -- the inspector: the Review tab by its key, the queue by keys, a bulk that asks ----------------
    w.set_reviewer("ines")
    _press(qtbot, w, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert w.tabs.currentWidget() is w.review
    qtbot.waitUntil(lambda: w.review.current() is not None, timeout=10_000)
    small["review"] = _small(w.review, need)
    first = w.review.current()["id"]
    qtbot.mouseClick(w.review.log, Qt.MouseButton.LeftButton)  # a tap on the log takes the focus
    _press(qtbot, w, Qt.Key.Key_G)
    qtbot.waitUntil(lambda: len(_reviews(data_dir)) == 3, timeout=10_000)
    assert _reviews(data_dir)[-1][:3] == (first, "good", "ines")
    _press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo
    qtbot.waitUntil(lambda: len(_reviews(data_dir)) == 4, timeout=10_000)
    assert _reviews(data_dir)[-1][:2] == (first, None)
    _press(qtbot, w, Qt.Key.Key_B)  # the grid
    assert w.review.bulk.isChecked()
    qtbot.waitUntil(lambda: w.review.grid.count() > 3, timeout=20_000)
    _press(qtbot, w, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTimer.singleShot(0, lambda: _answer(qtbot, asked, yes=False))
    _press(qtbot, w, Qt.Key.Key_G)
    assert len(asked) == 2 and len(_reviews(data_dir)) == 4, "a bulk label never acts unasked"
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=10_000)
    _press(qtbot, w, Qt.Key.Key_B)  # back to one at a time
    assert not w.review.bulk.isChecked()

    # -- the engineer: Models by its key, a rollback that asks ----------------------------------------
    _press(qtbot, w, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.tabs.currentWidget() is w.models, timeout=10_000)
    small["models"] = _small(w.models, need)
    QTimer.singleShot(0, lambda: _answer(qtbot, asked, yes=False))
    qtbot.mouseClick(w.models.rollback, Qt.MouseButton.LeftButton)
    assert len(asked) == 3 and [m.name for m in list_models(str(data_dir)) if m.active] == ["line-v2"]
    QTimer.singleShot(0, lambda: _answer(qtbot, asked, yes=True))
    qtbot.mouseClick(w.models.rollback, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [m.name for m in list_models(str(data_dir)) if m.active] == ["default"], timeout=10_000)
    _press(qtbot, w, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.tabs.currentWidget() is w.stats, timeout=10_000)
    small["statistics"] = _small(w.stats, need)

    assert not any(small.values()), f"under 15 mm ({need:.0f} px): {small}"
    assert len(_reviews(data_dir)) == 4, "nothing was labelled that the walk did not label"
    assert gui_thread_queries == [], "the database was queried on the GUI thread:\n" + "\n".join(sorted(set(gui_thread_queries)))
    w.close()
