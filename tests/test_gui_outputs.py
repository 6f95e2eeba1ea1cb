"""The window and the line's outputs: the Line outputs dialog writes the file `station run
--outputs` reads; while the station streams, each output has a light, a lost one rings the bell
and shows the banner, and every verdict still arrives once it is back."""

from __future__ import annotations

import shutil

import pytest
from plc_servers import Mosquitto, Subscriber, Webhook
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

pytestmark = pytest.mark.gui


def test_outputs_dialog_writes_the_file_and_the_window_shows_each_output(demo_images, tmp_path, qtbot):
    from station.outputs.config import load
    from station.ui.main_window import MainWindow, Options
    from station.ui.outputs_dialog import OutputsDialog
    from station.ui.settings_dialog import SettingsDialog

    broker = Mosquitto(tmp_path)
    broker.start()
    sub = Subscriber(broker.port, "station/+/verdict")
    hook = Webhook()
    hook.refusing = True
    data = tmp_path / "data"
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data), station="gui-1"))
    qtbot.addWidget(w)
    w.show()
    try:
        # Settings → Line outputs opens the dialog (closed at once here), then the form itself.
        settings = SettingsDialog(str(data), w)
        QTimer.singleShot(300, lambda: QApplication.activeModalWidget().reject())
        qtbot.mouseClick(settings.outputs_button, Qt.MouseButton.LeftButton)
        assert isinstance(settings.outputs_dialog, OutputsDialog)
        settings.reject()

        dialog = OutputsDialog(str(data), parent=w)
        qtbot.mouseClick(dialog.add_buttons["mqtt"], Qt.MouseButton.LeftButton)
        qtbot.mouseClick(dialog.add_buttons["webhook"], Qt.MouseButton.LeftButton)
        dialog.set_cell(0, 2, "127.0.0.1:not-a-port")
        save = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save)
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
        assert "use host:port" in dialog.error.text() and not (data / "outputs.json").exists()
        dialog.set_cell(0, 2, f"127.0.0.1:{broker.port}")
        dialog.set_cell(1, 1, "mes")
        dialog.set_cell(1, 2, hook.url)
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
        saved = load(data / "outputs.json")
        assert [(s.kind, s.name, s.where) for s in saved.sinks] == [
            ("mqtt", "mqtt", f"127.0.0.1:{broker.port}"), ("webhook", "mes", hook.url)]
        assert saved.sinks[0].topic == "station/{station}"

        hot = tmp_path / "hot"
        hot.mkdir()
        w.live.source_bar.set_source(f"watch:{hot}")
        qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.worker is not None and w.worker.snapshot().state == "connected", timeout=60000)
        parts = sorted(demo_images.rglob("*.png"))[:4]
        for p in parts:
            shutil.copy(p, hot / p.name)
        lights = w.line_status.lights.lights
        qtbot.waitUntil(lambda: "mes" in lights and "waiting" in lights["mes"].text(), timeout=60000)
        qtbot.waitUntil(lambda: "mqtt" in lights and lights["mqtt"].text() == "● mqtt", timeout=30000)
        assert "source connected" in lights["source"].text()
        # Down for more than a blip: the bell, and the banner says which output and that nothing is lost.
        qtbot.waitUntil(lambda: w.bell.last is not None and w.bell.last.kind == "lost", timeout=15000)
        assert "output mes lost" in w.banner.full and "kept and sent when it is back" in w.banner.full
        qtbot.waitUntil(lambda: len(sub.on("/verdict")) == 4, timeout=30000)
        hook.refusing = False
        qtbot.waitUntil(lambda: lights["mes"].text() == "● mes", timeout=30000)
        assert sorted(b["sequence"] for b in hook.bodies) == [1, 2, 3, 4]
        assert {m["station"] for m in sub.on("/verdict")} == {"gui-1"}
        assert "4 delivered" in lights["mes"].toolTip()
    finally:
        w.close()
        sub.close()
        broker.kill()
        hook.close()
    assert w.worker is None
