"""One inspection run for the CLI and the window, a clean stop on a real signal, and a trace left
behind: the log file, the bug dialog, one line for a missing Qt library."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from common.inspection_run import count_rows, hot_folder_with_parts, wait_rows
from conftest import ROOT, run_json
from gui_helpers import rows
from PySide6.QtCore import Qt, QTimer

from station.ui.main_window import MainWindow, Options

COLUMNS = "origin, sha256, predicted, round(p_defect, 5), verdict, width, height, box"


def _rows(data: Path) -> list:
    return sorted(rows(data, f"SELECT {COLUMNS} FROM inspections"))


@pytest.mark.gui
def test_the_cli_and_the_window_store_the_same_rows(qtbot, tmp_path, demo_images):
    """`station run` and the window's worker are both InspectionRun: the same folder gives the
    same rows, verdicts, scores and boxes, whichever way it was inspected."""
    cli_data, gui_data = tmp_path / "cli", tmp_path / "gui"
    summary = run_json("run", str(demo_images), data=cli_data)
    w = MainWindow(Options(autostart=False, device="cpu", data=str(gui_data)))
    qtbot.addWidget(w)
    w.show()
    try:
        finished = []
        w.live.source_bar.set_source(str(demo_images))
        qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)
        w.worker.finished.connect(finished.append)
        qtbot.waitUntil(lambda: w.worker is None and bool(finished), timeout=120_000)
    finally:
        w.close()
    cli, gui = _rows(cli_data), _rows(gui_data)
    assert len(cli) == summary["processed"] == 24
    assert gui == cli
    assert finished and finished[0].processed == summary["processed"]
    assert finished[0].verdicts == summary["verdicts"]


@pytest.mark.gui
def test_sigterm_closes_the_window_and_commits(tmp_path, demo_images, data_dir):
    """The same signal to `station gui`: the window closes the normal way, exit 0, the run row
    is ended with every verdict the window showed stored."""
    hot = hot_folder_with_parts(tmp_path, demo_images, 4)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "-m", "station", "gui", "--source", f"watch:{hot}", "--device", "cpu",
                             "--data", str(data_dir)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_rows(data_dir / "station.db", 4, proc, timeout=180)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    ended = rows(data_dir, "SELECT ended_at, processed FROM runs")
    assert len(ended) == 1 and ended[0][0] is not None and ended[0][1] == count_rows(data_dir / "station.db") == 4
    log = (data_dir / "logs" / "station.log").read_text()
    assert "SIGTERM: closing the window" in log and "window closed (exit 0)" in log


@pytest.mark.gui
@pytest.mark.qt_no_exception_capture
def test_a_bug_in_a_slot_is_logged_and_shown(qtbot, data_dir):
    from station.core import logs
    from station.ui import crash

    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir)))
    qtbot.addWidget(w)
    w.show()
    saved = sys.excepthook
    try:
        logs.setup(str(data_dir), "gui")
        crash.install(w)

        def buggy_slot() -> None:
            raise ZeroDivisionError("a bug in a slot")

        QTimer.singleShot(0, buggy_slot)
        qtbot.waitUntil(lambda: crash.dialog is not None and crash.dialog.isVisible(), timeout=10_000)
        assert "ZeroDivisionError: a bug in a slot" in crash.dialog.text()
        assert str(data_dir / "logs" / "station.log") in crash.dialog.text()
        log = (data_dir / "logs" / "station.log").read_text()
        assert "uncaught exception in the window" in log and "Traceback" in log and "buggy_slot" in log
        assert w.isVisible()  # the station keeps running
        crash.dialog.close()
    finally:
        sys.excepthook = saved
        w.close()
