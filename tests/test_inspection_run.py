"""One inspection run for the CLI and the window, a clean stop on a real signal, and a trace left
behind: the log file, the bug dialog, one line for a missing Qt library."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, run_json
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


def _hot_folder_with_parts(tmp_path: Path, demo_images: Path, n: int) -> Path:
    hot = tmp_path / "hot"
    hot.mkdir()
    for f in sorted(demo_images.rglob("*.png"))[:n]:
        shutil.copy(f, hot / f"{f.parent.name}-{f.name}")
    return hot


def _count(db: Path) -> int:
    try:
        return sqlite3.connect(db, timeout=5).execute("SELECT count(*) FROM inspections").fetchone()[0]
    except sqlite3.Error:
        return 0


def _wait_rows(db: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _count(db) < n:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    assert _count(db) >= n


def test_sigterm_stops_a_run_cleanly_with_every_result_committed(tmp_path, demo_images, data_dir):
    """A service stop sends SIGTERM to a `station run` waiting on a hot folder: exit 0, the JSON
    summary printed, every verdict it counts is in the database, the run row is ended."""
    hot = _hot_folder_with_parts(tmp_path, demo_images, 6)
    proc = subprocess.Popen([sys.executable, "-m", "station", "run", f"watch:{hot}", "--json", "--data", str(data_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_rows(data_dir / "station.db", 6, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["state"] == "stopped" and summary["processed"] == 6
    assert _count(data_dir / "station.db") == summary["processed"]
    ended = rows(data_dir, "SELECT ended_at, processed FROM runs")
    assert len(ended) == 1 and ended[0][0] is not None and ended[0][1] == 6
    assert "SIGTERM" in err and "Traceback" not in err
    log = (data_dir / "logs" / "station.log").read_text()
    assert "station run watch:" in log and "SIGTERM: stopping after the batch in flight" in log


@pytest.mark.gui
def test_sigterm_closes_the_window_and_commits(tmp_path, demo_images, data_dir):
    """The same signal to `station gui`: the window closes the normal way, exit 0, the run row
    is ended with every verdict the window showed stored."""
    hot = _hot_folder_with_parts(tmp_path, demo_images, 4)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "-m", "station", "gui", "--source", f"watch:{hot}", "--device", "cpu",
                             "--data", str(data_dir)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_rows(data_dir / "station.db", 4, proc, timeout=180)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    ended = rows(data_dir, "SELECT ended_at, processed FROM runs")
    assert len(ended) == 1 and ended[0][0] is not None and ended[0][1] == _count(data_dir / "station.db") == 4
    log = (data_dir / "logs" / "station.log").read_text()
    assert "SIGTERM: closing the window" in log and "window closed (exit 0)" in log


@pytest.mark.gui
@pytest.mark.qt_no_exception_capture
def test_a_bug_in_a_slot_is_logged_and_shown(qtbot, data_dir):
    from station import logs
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


def test_a_missing_qt_library_is_one_line(tmp_path, data_dir):
    """Simulated: PySide6 whose QtWidgets cannot load its system library, as on a PC without libEGL."""
    fake = tmp_path / "fake" / "PySide6"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    for mod in ("QtCore", "QtGui", "QtWidgets"):
        (fake / f"{mod}.py").write_text("raise ImportError('libEGL.so.1: cannot open shared object file: No such file or directory')\n")
    proc = run_cli("gui", data=data_dir, check=False, env={"PYTHONPATH": str(tmp_path / "fake"), "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot load Qt: libEGL.so.1" in lines[0], proc.stderr
