"""What the test_inspection_run tests of more than one tier share."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from pathlib import Path


def hot_folder_with_parts(tmp_path: Path, demo_images: Path, n: int) -> Path:
    hot = tmp_path / "hot"
    hot.mkdir()
    for f in sorted(demo_images.rglob("*.png"))[:n]:
        shutil.copy(f, hot / f"{f.parent.name}-{f.name}")
    return hot


def count_rows(db: Path) -> int:
    try:
        return sqlite3.connect(db, timeout=5).execute("SELECT count(*) FROM inspections").fetchone()[0]
    except sqlite3.Error:
        return 0


def wait_rows(db: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and count_rows(db) < n:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    assert count_rows(db) >= n
