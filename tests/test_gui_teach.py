"""The engineer's cold start in the window: New product line… teaches from a folder of good
parts on its own thread, registers the model, and it inspects once made active."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from conftest import run_cli
from gui_helpers import rows
from station.ui.main_window import MainWindow, Options

pytestmark = pytest.mark.gui


def test_new_product_line_from_a_folder_then_inspect(qtbot, tmp_path, data_dir, monkeypatch):
    line = tmp_path / "line"
    run_cli("line-data", str(line), "--line", "brick", "--good", "12", "--stream", "8", "--test", "0", "--seed", "5")
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(line / "good")))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Bad Name!", True)))
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

        monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("brick-line", True)))
        qtbot.mouseClick(w.models.new_line, Qt.MouseButton.LeftButton)
        assert not w.models.new_line.isEnabled()  # one teach at a time
        qtbot.waitUntil(lambda: any(m["name"] == "brick-line" for m in w.models.models), timeout=180_000)
        m = next(m for m in w.models.models if m["name"] == "brick-line")
        assert m["kind"] == "anomaly" and not m["active"]
        assert w.models.new_line.isEnabled()

        w.models.list.setCurrentRow([x["name"] for x in w.models.models].index("brick-line"))
        qtbot.mouseClick(w.models.activate, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: any(x["name"] == "brick-line" and x["active"] for x in w.models.models), timeout=20_000)

        w.tabs.setCurrentWidget(w.live)
        w.live.source_bar.set_source(str(line / "line"))
        qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.worker is None, timeout=120_000)
        stored = rows(data_dir, "SELECT m.name, i.predicted FROM inspections i JOIN models m ON m.id = i.model_id")
        assert len(stored) == 8 and {r[0] for r in stored} == {"brick-line"}
        assert {r[1] for r in stored} <= {"good", "anomaly"}
    finally:
        w.close()
