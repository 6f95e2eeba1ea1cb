"""Faults, races and hostile names: a second process, a paused writer, a damaged registry, a corrupt
or read-only database, escape sequences and link loops in file names. Each case once failed (or
would have) on the station's own CLI; each now gets one line or the right rows."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from common.one_line import one_line
from common.waiting import until
from conftest import ROOT, run_cli, run_json
from gui_helpers import rows


def _popen(data: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "station", *args, "--data", str(data)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# -- concurrency -------------------------------------------------------------------------------------------
def test_three_runs_at_once_store_one_row_per_image(demo_images, data_dir, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(demo_images, src)
    first = sorted(src.rglob("*.png"))[0]
    shutil.copy(first, src / "same-part-again.png")  # the same image twice in one folder
    run_cli("queue", data=data_dir)  # one database, so the three race on rows, not on creating it
    procs = [_popen(data_dir, "run", str(src), "--json") for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert json.loads(out)["processed"] + json.loads(out)["skipped"] == 25
    assert rows(data_dir, "SELECT count(*), count(DISTINCT sha256) FROM inspections")[0] == (24, 24)


def test_simultaneous_first_starts_all_succeed(tmp_path):
    data = tmp_path / "fresh"
    procs = [_popen(data, "queue", "--json") for _ in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert json.loads(out) == []


def test_inspecting_again_never_stores_a_second_row(demo_images, data_dir):
    """The window re-inspects a folder it opens again (skip_inspected=False): the verdicts are
    shown again, the rows stay one per image and model, and the results carry those rows' ids."""
    from station.run.inspection_run import InspectionRun, RunOptions

    def once() -> list[int | None]:
        run = InspectionRun(RunOptions(source=str(demo_images), data=str(data_dir), device="cpu", skip_inspected=False, upkeep=False))
        try:
            run.open()
            return [r.inspection_id for r in run.results()]
        finally:
            run.close()

    first, second = once(), once()
    assert len(first) == 24 and first == second and None not in first
    assert rows(data_dir, "SELECT count(*) FROM inspections")[0][0] == 24


# -- faults ------------------------------------------------------------------------------------------------
def test_a_writer_that_pauses_mid_file_still_gets_its_part_inspected(demo_images, data_dir, tmp_path):
    hot = tmp_path / "hot"
    hot.mkdir()
    part = sorted(demo_images.rglob("*.png"))[3].read_bytes()
    proc = _popen(data_dir, "run", f"watch:{hot}", "--json")

    def counted(sql: str) -> bool:
        try:
            return bool(rows(data_dir, sql)[0][0])
        except Exception:  # noqa: BLE001 (the run has not made its tables yet)
            return False

    try:
        until(lambda: counted("SELECT count(*) FROM runs"), "the run is up", proc, timeout=120)
        with open(hot / "part.png", "wb") as f:
            f.write(part[: len(part) // 2])
            f.flush()
            # The writer pauses past the settle time: the half file is judged undecodable.
            until(lambda: counted("SELECT count(*) FROM failures"), "the half file judged", proc, timeout=120)
            f.write(part[len(part) // 2:])
        until(lambda: counted("SELECT count(*) FROM inspections"), "the finished part judged", proc, timeout=120)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    import hashlib

    stored = rows(data_dir, "SELECT sha256, origin FROM inspections")
    assert stored == [(hashlib.sha256(part).hexdigest(), str(hot / "part.png"))], "the finished part is inspected, once"
    assert rows(data_dir, "SELECT origin FROM failures") == [(str(hot / "part.png"),)], "the half file, judged once"


def test_a_damaged_registry_is_one_line_or_left_out(data_dir, demo_images):
    run_cli("models", data=data_dir)
    junk = data_dir / "models" / "junk"
    junk.mkdir()
    (junk / "card.json").write_text("[]")
    shutil.copytree(data_dir / "models" / "default", data_dir / "models" / "nul")
    card = json.loads((data_dir / "models" / "nul" / "card.json").read_text())
    (data_dir / "models" / "nul" / "card.json").write_text(json.dumps({**card, "threshold": None}))
    proc = run_cli("models", "--json", data=data_dir)
    assert [m["name"] for m in json.loads(proc.stdout)] == ["default", "nul"], "the junk folder is left out, and said so"
    assert "junk is not a model" in proc.stderr
    (data_dir / "models" / "ACTIVE").write_bytes(b"\x00\xff\xfe")
    one_line(run_cli("run", str(demo_images), check=False, data=data_dir), "ACTIVE is damaged", "station promote")
    one_line(run_cli("promote", "nul", check=False, data=data_dir), "threshold")
    run_cli("promote", "default", data=data_dir)  # promoting repairs it
    assert [m["name"] for m in run_json("models", data=data_dir) if m["active"]] == ["default"]


def test_a_read_only_data_dir_is_one_line(tmp_path, demo_images):
    if os.geteuid() != 0:
        pytest.fail("a read-only bind mount needs root (the CI machine runs the suite as root)")
    data = tmp_path / "ro"
    run_cli("queue", data=data)
    (data / "station.db-wal").unlink(missing_ok=True)
    (data / "station.db-shm").unlink(missing_ok=True)
    subprocess.run(["mount", "--bind", str(data), str(data)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(data)], check=True)
        for args in (["run", str(demo_images)], ["label", "1", "good", "--by", "ann"]):
            one_line(run_cli(*args, check=False, data=data), "read-only")
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


def test_a_database_damaged_near_its_end_is_refused_before_any_write(demo_images, tmp_path):
    """Pages overwritten near the end of a working database (the file's size and header intact):
    SQLite would let `label` and `run` write into it; the quick check at open refuses them."""
    data = tmp_path / "d"
    run_cli("run", str(demo_images), data=data)
    item = run_json("queue", "--limit", "1", data=data)[0]["id"]
    db = data / "station.db"
    assert not (data / "station.db-wal").exists() or (data / "station.db-wal").stat().st_size == 0
    raw = bytearray(db.read_bytes())
    page = int.from_bytes(raw[16:18], "big") or 65536
    assert len(raw) >= 8 * page
    raw[-3 * page : -page] = os.urandom(2 * page)
    db.write_bytes(bytes(raw))
    damaged = db.read_bytes()
    for args in (["label", str(item), "good", "--by", "ann"], ["run", str(demo_images)], ["queue"]):
        one_line(run_cli(*args, check=False, data=data), "is damaged")
    assert db.read_bytes() == damaged, "nothing was written into the damaged file"
    doctor = json.loads(run_cli("doctor", "--json", "--cameras", "0", data=data, check=False).stdout)
    assert not doctor["database"]["ok"] and "damaged" in doctor["database"]["detail"], doctor["database"]
