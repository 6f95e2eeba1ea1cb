"""Running for months: retention frees exactly what the policy says and never a row; backups taken
during a run restore to a sound database with every committed review; settings are checked.
Real SQLite, real files, the real CLI in its own process."""

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

from conftest import ROOT, label_in_process, run_cli, run_json
from gui_helpers import rows


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_backup_during_a_run_restores_a_sound_database_with_every_committed_review(demo_images, data_dir, tmp_path):
    hot = tmp_path / "hot"
    hot.mkdir()
    images = sorted(demo_images.rglob("*.png"))
    env = {**os.environ, "STATION_DATA": str(data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "station", "run", f"watch:{hot}", "--json"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def drop(batch: list[Path]) -> None:
            for p in batch:
                shutil.copy(p, hot / f"{p.parent.name}_{p.name}")

        def stored() -> list:
            from sqlalchemy.exc import OperationalError

            try:
                return rows(data_dir, "SELECT id FROM inspections ORDER BY id")
            except OperationalError:
                return []  # the run has not made its tables yet

        drop(images[:12])
        deadline = time.monotonic() + 180
        while len(stored()) < 12 and time.monotonic() < deadline:
            time.sleep(0.3)
        first = [r.id for r in stored()]
        assert len(first) == 12
        for i in first[:8]:
            label_in_process(data_dir, i, "good", "ann")
        drop(images[12:])  # the run is busy storing these while the backup is taken
        backup = run_json("backup", str(tmp_path / "bk"), data=data_dir)
        for i in first[8:12]:  # after the backup: not in it
            label_in_process(data_dir, i, "scratch", "bob")
        while len(stored()) < 24 and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert json.loads(out)["processed"] == 24
    assert backup["bytes"] > 0 and backup["reviews"] == 8
    assert _integrity(tmp_path / "bk" / "station.db") == "ok"

    # Disaster recovery on a new PC: a fresh data dir gets the backup's reviews and models.
    fresh = tmp_path / "fresh"
    run_cli("restore", str(tmp_path / "bk"), data=fresh)
    assert _integrity(fresh / "station.db") == "ok"
    assert {(r.inspection_id, r.label, r.by) for r in rows(fresh, "SELECT inspection_id, label, by FROM reviews")} == \
           {(i, "good", "ann") for i in first[:8]}
    assert (fresh / "models" / "default" / "card.json").is_file()

    # In place: the station goes back to the backup's moment; what came after is saved, not lost.
    restored = run_json("restore", str(tmp_path / "bk"), data=data_dir)
    assert restored["reviews"] == 8
    assert _integrity(data_dir / "station.db") == "ok"
    assert len(rows(data_dir, "SELECT id FROM reviews")) == 8
    saved = Path(restored["saved"])
    assert len(rows(saved, "SELECT id FROM reviews")) == 12, "the database before the restore is kept whole"
    assert run_json("queue", "--limit", "100", data=data_dir), "the restored database works for the CLI"
