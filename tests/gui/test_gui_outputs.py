"""The window and the line's outputs: the Line outputs dialog writes the file `station run
--outputs` reads; while the station streams, each output has a light, a lost one rings the bell
and shows the banner, and every verdict still arrives once it is back."""

from __future__ import annotations

import shutil

import pytest
from gui_helpers import modal_dialog
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


def test_verdicts_a_down_output_did_not_get_are_kept_shown_and_sent_at_the_next_start(demo_images, tmp_path, qtbot):
    """#30 item 5: with the sink down at a run's end, 300 verdicts were dropped while the window
    said they were kept, and the light went out. Now they stay on disk, a light and a line say
    how many, and the next Start sends them."""
    import json

    from station.ui.main_window import MainWindow, Options

    hook = Webhook()
    hook.refusing = True
    data = tmp_path / "data"
    data.mkdir()
    (data / "outputs.json").write_text(json.dumps({"sinks": [{"kind": "webhook", "name": "mes", "url": hook.url}]}))
    parts = tmp_path / "parts"
    parts.mkdir()
    for p in sorted(demo_images.rglob("*.png"))[:4]:
        shutil.copy(p, parts / p.name)
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data), station="gui-2"))
    qtbot.addWidget(w)
    w.show()
    try:
        w.live.source_bar.set_source(str(parts))
        qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.worker is None, timeout=120_000)
        assert "mes: 4 verdicts kept on this PC for the next start" in w.message.text()
        for _ in range(2):  # two status polls after the run: the light stays
            with qtbot.waitSignal(w._poll.timeout, timeout=10_000):
                pass
        lights = w.line_status.lights
        assert lights.isVisible() and "mes: 4 kept for the next start" in lights.lights["mes"].text()
        assert hook.bodies == []
        hook.refusing = False
        qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)  # nothing new: all skipped
        qtbot.waitUntil(lambda: w.worker is None, timeout=120_000)
        assert sorted(b["sequence"] for b in hook.bodies) == [1, 2, 3, 4]
        assert "kept on this PC" not in w.message.text()
    finally:
        w.close()
        hook.close()


def test_an_output_that_refuses_the_station_is_red_and_rings_at_once(demo_images, tmp_path, qtbot):
    """#34: a receiver that answers 403 (a token missing) is no passing outage: its light is red
    and says refused, the bell rings at once rather than after the blip allowance, and nothing is
    lost: the verdicts go at the next Start once the receiver takes them."""
    import json

    from station.ui.main_window import MainWindow, Options

    hook = Webhook()
    hook.refusing, hook.status = True, 403
    data = tmp_path / "data"
    data.mkdir()
    (data / "outputs.json").write_text(json.dumps({"sinks": [{"kind": "webhook", "name": "mes", "url": hook.url}]}))
    hot = tmp_path / "hot"
    hot.mkdir()
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data), station="gui-3"))
    qtbot.addWidget(w)
    w.show()
    try:
        w.live.source_bar.set_source(f"watch:{hot}")
        qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.worker is not None and w.worker.snapshot().state == "connected", timeout=60000)
        for p in sorted(demo_images.rglob("*.png"))[:2]:
            shutil.copy(p, hot / p.name)
        lights = w.line_status.lights.lights
        qtbot.waitUntil(lambda: "mes" in lights and "refused" in lights["mes"].text(), timeout=60000)
        assert "#b00020" in lights["mes"].styleSheet(), "a refusal is red, not the orange of a retry"
        qtbot.waitUntil(lambda: w.bell.last is not None, timeout=15000)
        assert "refuses this station" in w.banner.full and "HTTP 403" in w.banner.full
        # Both parts judged in this run before Stop (the first verdict alone rings the bell): a
        # part judged at the next Start would take the next run's sequence block.
        qtbot.waitUntil(lambda: w.worker is not None and w.worker.snapshot().processed == 2, timeout=60000)
        qtbot.mouseClick(w.live.source_bar.stop_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.worker is None, timeout=60000)
        assert hook.bodies == []
        hook.refusing = False
        w.live.source_bar.set_source(str(hot))
        qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)  # nothing new: what waits goes first
        qtbot.waitUntil(lambda: w.worker is None, timeout=120_000)
        assert sorted(b["sequence"] for b in hook.bodies) == [1, 2]
    finally:
        w.close()
        hook.close()


def test_the_io_test_panel_sends_a_test_verdict_and_watches_the_handshake(tmp_path, qtbot):
    """#30: the PLC programmer's I/O test panel. A test PASS reaches the webhook from the form as
    typed (not yet saved); a FAIL asks first (it may move the gate); the handshake's Trigger and
    Ack show as the PLC sets them."""
    from plc_servers import ModbusPlc

    from station.ui.main_window import MainWindow, Options
    from station.ui.outputs_dialog import OutputsDialog

    hook, plc = Webhook(), ModbusPlc()
    plc.start()
    data = tmp_path / "data"
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data), station="gui-1"))
    qtbot.addWidget(w)
    w.show()
    try:
        dialog = OutputsDialog(str(data), parent=w, who="eve", station="gui-1")
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.mouseClick(dialog.add_buttons["webhook"], Qt.MouseButton.LeftButton)
        dialog.set_cell(0, 2, hook.url)
        dialog.protocol.setCurrentText("modbus")
        dialog.hs_address.setText(f"127.0.0.1:{plc.port}")
        panel = dialog.io_test
        qtbot.mouseClick(panel.pass_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "delivered in" in panel.result.text(), timeout=20_000)
        assert [(b["sequence"], b["verdict"], b["origin"], b["station"]) for b in hook.bodies] == [(0, "pass", "io-test", "gui-1")]
        assert not (data / "outputs.json").exists(), "tested from the form; nothing saved"

        QTimer.singleShot(0, lambda: modal_dialog(qtbot).reject())  # No, the default
        qtbot.mouseClick(panel.fail_btn, Qt.MouseButton.LeftButton)
        assert len(hook.bodies) == 1, "No: no FAIL sent"

        panel.watch.setChecked(True)
        qtbot.waitUntil(lambda: "Trigger low" in panel.handshake.text() and "Ack low" in panel.handshake.text(), timeout=20_000)
        plc.set_coil("trigger", True)
        qtbot.waitUntil(lambda: "Trigger HIGH" in panel.handshake.text(), timeout=20_000)
        dialog.reject()
        assert not panel.timer.isActive()
    finally:
        hook.close()
        plc.close()
        w.close()
    from conftest import run_json

    assert ("eve", "io_test") in [(e["user"], e["action"]) for e in run_json("audit", data=data)]
