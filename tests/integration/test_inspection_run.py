"""One inspection run for the CLI and the window, a clean stop on a real signal, and a trace left
behind: the log file, the bug dialog, one line for a missing Qt library."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from common.inspection_run import count_rows, hot_folder_with_parts, wait_rows
from conftest import ROOT, run_cli
from gui_helpers import rows


def test_sigterm_stops_a_run_cleanly_with_every_result_committed(tmp_path, demo_images, data_dir):
    """A service stop sends SIGTERM to a `station run` waiting on a hot folder: exit 0, the JSON
    summary printed, every verdict it counts is in the database, the run row is ended."""
    hot = hot_folder_with_parts(tmp_path, demo_images, 6)
    proc = subprocess.Popen([sys.executable, "-m", "station", "run", f"watch:{hot}", "--json", "--data", str(data_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_rows(data_dir / "station.db", 6, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["state"] == "stopped" and summary["processed"] == 6
    assert count_rows(data_dir / "station.db") == summary["processed"]
    ended = rows(data_dir, "SELECT ended_at, processed FROM runs")
    assert len(ended) == 1 and ended[0][0] is not None and ended[0][1] == 6
    assert "SIGTERM" in err and "Traceback" not in err
    log = (data_dir / "logs" / "station.log").read_text()
    assert "station run watch:" in log and "SIGTERM: stopping after the batch in flight" in log


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
