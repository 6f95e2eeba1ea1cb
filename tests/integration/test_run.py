"""`station run`: bad inputs are reported by name and never stop a run; odd valid ones are
inspected; re-runs skip; a kill -9 leaves a sound database and the next run finishes the rest."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import kill_run_mid_way, run_json


@pytest.mark.slow
def test_kill_9_mid_run_then_resume(tmp_path, data_dir):
    from station.train import synth

    images = tmp_path / "many"
    synth.generate(images, count=160, seed=77)
    committed = kill_run_mid_way(images, data_dir, at_least=20, batch_size=4)
    db = data_dir / "station.db"
    assert 20 <= committed < 160, "the run must be killed mid-way"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    survived = con.execute("SELECT count(*) FROM inspections").fetchone()[0]
    assert survived >= committed
    for (path,) in con.execute("SELECT image_path FROM inspections"):
        assert (data_dir / path).is_file()
    con.close()
    out = run_json("run", str(images), data=data_dir)
    assert out["skipped"] == survived and out["processed"] == 160 - survived
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(DISTINCT sha256) FROM inspections").fetchone()[0] == 160
