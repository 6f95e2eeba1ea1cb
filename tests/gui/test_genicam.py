"""genicam: a GigE Vision camera through libaravis, against Aravis's fake GigE Vision camera on
127.0.0.1 (Debian's aravis-tools-cli): settings applied and read back, software triggers each
answered by one tagged frame, hardware-trigger mode silent until its line fires, a pulled cable
reconnected, and the PLC handshake over Modbus TCP taking one camera frame per trigger for 200 parts.

All camera tests are in this file: the fake camera holds the GVCP port (3956) on loopback."""

from __future__ import annotations

import pytest
from common.genicam import CAMERA

pytestmark = pytest.mark.slow


def test_the_window_shows_a_lost_camera_and_its_return(camera, tmp_path, qtbot):
    from PySide6.QtCore import Qt

    from station.ui.main_window import MainWindow, Options

    w = MainWindow(Options(autostart=False, device="cpu", data=str(tmp_path / "data")))
    qtbot.addWidget(w)
    w.show()
    try:
        w.live.source_bar.set_source(CAMERA)
        qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)
        lights = w.line_status.lights.lights
        qtbot.waitUntil(lambda: w.worker is not None and w.worker.snapshot().processed >= 3, timeout=60000)
        qtbot.waitUntil(lambda: "source" in lights and "source connected" in lights["source"].text(), timeout=10000)
        camera.kill()
        qtbot.waitUntil(lambda: "source reconnecting" in lights["source"].text(), timeout=15000)
        assert lights["source"].styleSheet() != "" and "#b06000" in lights["source"].styleSheet()  # orange
        qtbot.waitUntil(lambda: w.bell.last is not None and w.bell.last.kind == "lost", timeout=15000)
        assert w.banner.full.startswith("camera lost")
        seen = w.worker.snapshot().processed
        camera.start(warm=False)
        qtbot.waitUntil(lambda: "source connected" in lights["source"].text() and w.worker.snapshot().processed > seen,
                        timeout=60000)
    finally:
        w.close()
        if camera.proc is None:
            camera.start()
    assert w.worker is None
