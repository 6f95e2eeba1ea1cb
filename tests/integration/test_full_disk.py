"""A full disk, for real: the data dir on a small tmpfs (mounted here; the suite runs as root on
its CI machine). The station keeps judging to the end, exits 0 with JSON naming what it did not
store, prints no traceback, and leaves a sound database. With the guard's levels, rows are always
stored and passed parts' images go first."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

pytestmark = pytest.mark.slow  # two runs of 120 parts; `make test` runs them


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> Path:
    from station.train import synth

    out = tmp_path_factory.mktemp("parts")
    synth.generate(out, count=120, seed=77)
    return out


@pytest.fixture()
def tmpfs(tmp_path):
    mounted: list[Path] = []

    def mount(size_mb: int) -> Path:
        if os.geteuid() != 0:
            pytest.fail("mounting a tmpfs needs root (the CI machine runs the suite as root)")
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(where)], check=True)
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _station(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "station", *args, "--data", str(data)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def _db(data: Path, sql: str) -> list:
    conn = sqlite3.connect(data / "station.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _settings(data: Path, **disk: float) -> None:
    for key, value in disk.items():
        run_cli("settings", f"disk.{key}", str(value), data=data)


def test_a_full_disk_never_stops_a_run(parts, tmpfs):
    data = tmpfs(9) / "data"  # the shipped model takes 5.3 MB of it (weights and their ONNX export)
    # The guard off: the disk really fills, under the images and then under the database.
    _settings(data, warn_gb=0, warn_percent=0, critical_gb=0, critical_percent=0, reserve_gb=0)
    proc = _station(data, "run", str(parts), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Logging error" not in proc.stderr
    out = json.loads(proc.stdout)
    assert out["processed"] == 120 and out["failed"] == 0, "every part was judged to the end"
    assert out["not_stored_count"] > 0 and out["disk"]["level"] == "full"
    assert all(e["reason"].startswith("not stored: disk") or e["reason"] == "database full" for e in out["not_stored"] + out["unrecorded"])
    assert "images not stored" in proc.stderr
    assert _db(data, "PRAGMA integrity_check") == [("ok",)]
    stored = _db(data, "SELECT count(*) FROM inspections")[0][0]
    assert stored == 120 - out["unrecorded_count"], "what JSON says was recorded is in the database"
    # Every row whose image is not on disk says why.
    for (path, gone) in _db(data, "SELECT image_path, image_gone FROM inspections"):
        assert (data / path).is_file() or gone, path


def test_the_guard_keeps_rows_and_lets_passed_images_go_first(parts, tmpfs):
    data = tmpfs(12) / "data"
    run_cli("models", data=data)  # the registry and the database first, so the levels below are what is left
    run_cli("queue", data=data)
    free = os.statvfs(data).f_bavail * os.statvfs(data).f_frsize
    mb = 1024 * 1024
    # About 1.5 MB for passed parts' images, 1.5 MB more for failed ones, the rest for rows.
    _settings(data, warn_gb=(free - 0.5 * mb) / 1024**3, warn_percent=0, critical_gb=(free - 1.5 * mb) / 1024**3,
              critical_percent=0, reserve_gb=(free - 3 * mb) / 1024**3)
    proc = _station(data, "run", str(parts), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["processed"] == 120 and out["unrecorded_count"] == 0, "rows are always stored"
    assert "disk low" in proc.stderr and "disk critical" in proc.stderr, "the log says each level as it comes"
    rows = _db(data, "SELECT id, verdict, image_gone FROM inspections ORDER BY id")
    assert len(rows) == 120
    critical = [r for r in rows if r[2] == "not stored: disk critical"]
    full = [r for r in rows if r[2] == "not stored: disk full"]
    assert critical and full
    assert all(v == "pass" for _, v, _ in critical), "only passed parts lose their image at the critical level"
    first_critical = critical[0][0]
    assert any(i > first_critical and v == "fail" and gone is None for i, v, gone in rows), \
        "failed parts are still stored after passed ones stopped"
    assert {e["origin"] for e in out["not_stored"]} == {o for (o,) in _db(data, "SELECT origin FROM inspections WHERE image_gone IS NOT NULL")}
