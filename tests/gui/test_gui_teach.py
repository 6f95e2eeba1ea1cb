"""The engineer's cold start in the window: New product line… teaches from a folder of good
parts on its own thread, registers the model, and it inspects once made active."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from gui_helpers import rows
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from station.ui.main_window import MainWindow, Options

pytestmark = pytest.mark.gui


def test_new_product_line_from_a_folder_then_inspect(qtbot, tmp_path, data_dir, monkeypatch):
    line = tmp_path / "line"
    run_cli("line-data", str(line), "--line", "brick", "--good", "12", "--stream", "8", "--test", "0", "--seed", "5")
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(line / "good")))
    suggested: list[str] = []
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: suggested.append(k.get("text")) or ("Bad Name!", True)))
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir)))
    qtbot.addWidget(w)
    w.show()
    w.set_reviewer("eve")  # making a model active records who did it
    try:
        w.tabs.setCurrentWidget(w.models)
        # An invalid name is refused with the label rule, and nothing is taught.
        qtbot.mouseClick(w.models.new_line, Qt.MouseButton.LeftButton)
        assert "invalid label" in w.statusBar().currentMessage() or w.models.new_line.isEnabled()
        assert w.models.teaching is None
        assert suggested == ["line"], "the product's folder, not `good`, is the suggested name"

        monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("brick-line", True)))
        qtbot.mouseClick(w.models.new_line, Qt.MouseButton.LeftButton)
        assert not w.models.new_line.isEnabled()  # one teach at a time
        bar = w.models.teach_progress.dialog
        assert bar.isVisible() and not bar.isModal()  # the window stays usable while it teaches
        qtbot.waitUntil(lambda: bar.value() > 0 or not bar.isVisible(), timeout=180_000)
        qtbot.waitUntil(lambda: any(m.name == "brick-line" for m in w.models.models), timeout=180_000)
        assert not bar.isVisible()
        m = next(m for m in w.models.models if m.name == "brick-line")
        assert m.kind == "anomaly" and not m.active
        assert w.models.new_line.isEnabled()

        w.models.list.setCurrentRow([x.name for x in w.models.models].index("brick-line"))
        qtbot.mouseClick(w.models.activate, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: any(x.name == "brick-line" and x.active for x in w.models.models), timeout=20_000)

        w.tabs.setCurrentWidget(w.live)
        w.live.source_bar.set_source(str(line / "line"))
        qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.worker is None, timeout=120_000)
        stored = rows(data_dir, "SELECT m.name, i.predicted FROM inspections i JOIN models m ON m.id = i.model_id")
        assert len(stored) == 8 and {r[0] for r in stored} == {"brick-line"}
        assert {r[1] for r in stored} <= {"good", "anomaly"}
    finally:
        w.close()


def test_new_line_from_camera_frames_the_operator_confirms(qtbot, tmp_path, data_dir, monkeypatch):
    """Grab frames from the Live tab's source (a video standing in for the USB camera, read by
    the same capture code), untick the ones that are not good parts, teach from the rest."""
    import cv2

    line = tmp_path / "line"
    run_cli("line-data", str(line), "--line", "brick", "--good", "10", "--stream", "0", "--test", "0", "--seed", "6")
    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (256, 256))
    for f in sorted((line / "good").rglob("*.png")):
        writer.write(cv2.imread(str(f)))
    writer.release()
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("cam-line", True)))
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (9, True)))
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir)))
    qtbot.addWidget(w)
    w.show()
    try:
        w.live.source_bar.set_source(str(video))
        w.tabs.setCurrentWidget(w.models)
        qtbot.mouseClick(w.models.new_line_camera, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.models.confirm is not None and w.models.confirm.isVisible(), timeout=60_000)
        sheet = w.models.confirm
        assert sheet.sheet.count() == 9 and len(sheet.kept()) == 9
        assert not sheet.teach.autoDefault() and "9" in sheet.teach.text()
        # The operator unticks frames 2 and 3 by keyboard: Space toggles the current frame.
        sheet.sheet.setCurrentRow(1)
        qtbot.keyClick(sheet, Qt.Key.Key_Space)
        sheet.sheet.setCurrentRow(2)
        qtbot.keyClick(sheet, Qt.Key.Key_Space)
        assert len(sheet.kept()) == 7 and "7" in sheet.teach.text()
        qtbot.mouseClick(sheet.teach, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: any(m.name == "cam-line" for m in w.models.models), timeout=180_000)
        m = next(m for m in w.models.models if m.name == "cam-line")
        assert m.kind == "anomaly"
        frames = data_dir / "lines" / "cam-line" / "frames"
        assert sorted(p.name for p in (frames.parent / "not-good").iterdir()) == ["frame-0002.png", "frame-0003.png"]
        assert len(list(frames.glob("*.png"))) == 7
        card = json.loads((data_dir / "models" / "cam-line" / "card.json").read_text())
        assert card["training_data"]["n_good"] == 7
        assert w.models.new_line_camera.isEnabled()
    finally:
        w.close()


def test_the_line_build_window_says_where_training_happens(qtbot, data_dir, monkeypatch):
    """Without torch (the line build) the training buttons are off and say why, and the model
    panel names the engine that inspects: onnxruntime."""
    import station.ui.views.models as models_view

    monkeypatch.setattr(models_view, "installed", lambda name: name != "torch")
    w = MainWindow(Options(device="cpu", data=str(data_dir)))  # autostart: the demo
    qtbot.addWidget(w)
    w.show()
    try:
        w.tabs.setCurrentWidget(w.models)
        for button in (w.models.retrain, w.models.new_line, w.models.new_line_camera):
            assert not button.isEnabled() and "engineering PC" in button.toolTip()
        assert w.models.trains_elsewhere.isVisible() and "export the reviews" in w.models.trains_elsewhere.text()
        qtbot.waitUntil(lambda: "(onnxruntime)" in w.models.running.text(), timeout=60_000)
    finally:
        w.close()


def test_a_teach_shows_progress_and_cancel_leaves_nothing(qtbot, tmp_path, data_dir):
    """#30/#28: teaching had no progress bar and no Cancel (276 s under load)."""
    line = tmp_path / "line"
    run_cli("line-data", str(line), "--line", "brick", "--good", "24", "--stream", "0", "--test", "0", "--seed", "6")
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir)))
    qtbot.addWidget(w)
    w.show()
    try:
        w.tabs.setCurrentWidget(w.models)
        # An empty camera source once grabbed the working directory's images ("grab from :").
        w.live.source_bar.set_source("")
        w.models._new_line_from_camera()
        assert "choose the camera" in w.message.text(), w.message.text()
        assert w.models.teaching is None

        w.models.teach_folder(str(line / "good"), "cancelled-line")
        progress = w.models.teach_progress
        moved: list[int] = []
        progress.moved.connect(lambda *a: moved.append(1))
        qtbot.waitUntil(lambda: bool(moved), timeout=180_000)
        qtbot.mouseClick(progress.dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)  # Cancel
        qtbot.waitUntil(lambda: w.models.new_line.isEnabled(), timeout=180_000)
        assert "cancelled" in w.message.text(), w.message.text()
        w.models.refresh()
        assert "cancelled-line" not in [m.name for m in w.models.models]
        assert not (data_dir / "models" / "cancelled-line").exists()
    finally:
        w.close()
