"""A line of stations against a real PostgreSQL and a real S3-compatible store (SeaweedFS), both
started here on loopback: concurrent stations, a reviewer elsewhere, a line-wide promotion,
ten cold starts at once, and outages of both servers mid-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from common.line import line_db, line_images, line_rows
from common.waiting import until
from conftest import ROOT, run_cli
from line_servers import PG_PASSWORD

pytestmark = pytest.mark.slow


def _start(*args: str, data: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "station", *args, "--data", str(data), "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _feed(hot: Path, files: list[Path]) -> None:
    """Parts into a hot folder, whole files only, as a camera PC writes them."""
    for f in files:
        (hot / f".{f.name}.part").write_bytes(f.read_bytes())
        os.replace(hot / f".{f.name}.part", hot / f.name)


def _wait_spooled(runner: subprocess.Popen, spool: Path, batches: int) -> None:
    """Until a station whose line is down has kept `batches` batches on its own disk."""
    deadline = time.monotonic() + 300
    while len([p for p in spool.glob("*") if not p.name.startswith(".")]) < batches:
        assert time.monotonic() < deadline and runner.poll() is None, runner.communicate()[1][-3000:] if runner.poll() is not None else "no part was kept"
        time.sleep(0.1)


def _finish(p: subprocess.Popen, timeout: float = 600) -> dict:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err
    assert "Traceback" not in err, err
    return json.loads(out)


def _committed(db: str) -> int:
    from sqlalchemy.exc import ProgrammingError

    try:
        return line_rows(db, "SELECT count(*) FROM inspections")[0][0]
    except ProgrammingError:
        return 0  # no tables yet


def test_ten_stations_start_at_once_on_an_empty_database(line, tmp_path):
    pg, _ = line
    db = line_db(pg, "cold")
    images = line_images(tmp_path, "parts", 6, 11)
    procs = [_start("run", str(images), "--db", db, "--store", "s3://cold/line", "--station", f"S{i}", data=tmp_path / f"d{i}")
             for i in range(10)]
    outs = [_finish(p) for p in procs]
    assert all(o["processed"] == 6 and o["unrecorded_count"] == 0 for o in outs)
    # One row per image and model, however many stations raced to insert it; one model row; ten runs.
    assert line_rows(db, "SELECT count(*), count(DISTINCT sha256) FROM inspections") == [(6, 6)]
    assert line_rows(db, "SELECT count(*) FROM models") == [(1,)]
    assert line_rows(db, "SELECT count(DISTINCT station) FROM runs") == [(10,)]


def test_three_stations_into_one_line_and_a_reviewer_elsewhere_reads_every_image(line, tmp_path):
    import cv2

    pg, _ = line
    db, store = line_db(pg, "three"), "s3://line/three"
    folders = [line_images(tmp_path, f"cell{n}", 30, 100 + n) for n in range(3)]
    procs = [_start("run", str(f), "--db", db, "--store", store, "--station", name, data=tmp_path / name)
             for f, name in zip(folders, "ABC", strict=True)]
    outs = [_finish(p) for p in procs]
    assert [o["processed"] for o in outs] == [30, 30, 30]

    # A fourth PC (its own, empty data dir) reviews the whole line.
    desk = tmp_path / "desk"
    common = ("--db", db, "--store", store)
    items = json.loads(run_cli("queue", *common, "--limit", "500", "--json", data=desk).stdout)
    assert len(items) == 90 and {i["station"] for i in items} == {"A", "B", "C"}
    from station.store.db import open_store

    with open_store(str(desk), db, store) as s:
        for it in items:  # every image, whichever station took it, from the line's store
            key = it["image"].removeprefix(store + "/")
            assert cv2.imdecode(np.frombuffer(s.blobs.get(key), np.uint8), cv2.IMREAD_UNCHANGED) is not None, it
    # The URL the queue gives is one `station inspect` opens (#34 item 7); a wrong key is one line.
    judged = json.loads(run_cli("inspect", items[0]["image"], "--json", data=desk).stdout)
    assert judged["verdict"] in ("pass", "fail") and judged["label"]
    missing = run_cli("inspect", store + "/no/such.png", data=desk, check=False)
    assert missing.returncode != 0 and "image not found in the store" in missing.stderr and "Traceback" not in missing.stderr
    only_b = json.loads(run_cli("queue", *common, "--from-station", "B", "--limit", "500", "--json", data=desk).stdout)
    assert len(only_b) == 30 and {i["station"] for i in only_b} == {"B"}
    picked = [next(i for i in items if i["station"] == s) for s in "ABC"] + [[i for i in items if i["station"] == "C"][1]]
    for it in picked:
        run_cli("label", str(it["id"]), "scratch" if it["verdict"] == "fail" else "good", "--by", "ines", *common, data=desk)
    stats = json.loads(run_cli("stats", *common, "--json", data=desk).stdout)
    assert {k: v["inspected"] for k, v in stats["by_station"].items()} == {"A": 30, "B": 30, "C": 30}
    assert stats["by_station"]["C"]["reviewed"] == 2
    exported = json.loads(run_cli("export", str(tmp_path / "export"), *common, "--json", data=desk).stdout)
    assert exported["train"] + exported["val"] == 4 and exported["errors"] == []
    files = sorted(p for p in (tmp_path / "export").rglob("*.png"))
    assert len(files) == 4 and all(cv2.imread(str(p)) is not None for p in files)


def test_promote_once_and_every_station_switches_between_parts(line, tmp_path):
    import shutil

    pg, _ = line
    db, store = line_db(pg, "promote"), "s3://line/promote"
    parts = tmp_path / "brick"
    run_cli("line-data", str(parts), "--line", "brick", "--good", "12", "--stream", "60", "--test", "0", "--size", "128")
    run_cli("teach", str(parts / "good"), "--out", str(tmp_path / "brick-model"), "--bank", "256", "--size", "128", "--name", "brick")
    files = sorted(p for p in (parts / "line").rglob("*") if p.is_file())
    assert len(files) == 60
    # A hot folder that gets the second part of the stream only after the promotion: the stations
    # are still running when it lands however slow the machine (a folder of 60 at a fixed pace once
    # ran out before the promote command had started). The pace makes the 40 parts after it last
    # 4 s or more, longer than a station waits between looks at the line (POLL_S, 2 s).
    stream = tmp_path / "hot"
    stream.mkdir()
    for f in files[:20]:
        shutil.copy(f, stream / f.name)
    runners = [_start("run", f"watch:{stream}", "--db", db, "--store", store, "--station", n, "--pace", "0.1",
                      "--batch-size", "1", "--limit", "60", data=tmp_path / n) for n in ("B", "C")]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and _committed(db) < 6:  # the line judges with the default model
        time.sleep(0.2)
    promoted = json.loads(run_cli("promote", str(tmp_path / "brick-model"), "--as", "brick", "--by", "eng", "--db", db,
                                  "--store", store, "--station", "A", "--json", data=tmp_path / "A").stdout)
    assert promoted["active"] == "brick" and promoted["line"]["name"] == "brick"
    _feed(stream, files[20:])
    outs = [_finish(p) for p in runners]
    for out in outs:  # the two stations see the same files: what one judged, the other skips
        assert out["processed"] + out["skipped"] == 60 and out["failed"] == 0
        assert [s["to"] for s in out["model_switches"]] == ["brick"], out["model_switches"]
        # Mid-run: before the last part. (The station behind may have only skipped before the
        # switch, and only skip after it: the one ahead already judged those files.)
        assert out["model_switches"][0]["after"] < 60
        assert out["model"]["name"] == "brick"
    assert any(out["model_switches"][0]["after"] > 0 for out in outs), "the line judged parts with the default first"
    # Rows before the switch carry the default model, after it the promoted one; both are kept.
    per_model = dict(line_rows(db, "SELECT m.name, count(*) FROM inspections i JOIN models m ON m.id = i.model_id GROUP BY m.name"))
    assert set(per_model) == {"default", "brick"} and sum(per_model.values()) >= 60
    listed = json.loads(run_cli("models", "--db", db, "--store", store, "--json", data=tmp_path / "B").stdout)
    assert next(m for m in listed["models"] if m["active"])["name"] == "brick"
    assert listed["line"][0]["name"] == "brick" and listed["line"][0]["station"] == "A"
    # A station that starts later picks the line's model up at once.
    late = json.loads(run_cli("run", str(stream), "--db", db, "--store", store, "--station", "D", "--limit", "3",
                              "--json", data=tmp_path / "D").stdout)
    assert late["model"]["name"] == "brick" and late["processed"] == 3
    # The line's first promotion can be rolled back: to what the stations ran before it.
    run_cli("rollback", "--by", "eng", "--db", db, "--store", store, "--station", "A", data=tmp_path / "A")
    listed = json.loads(run_cli("models", "--db", db, "--store", store, "--json", data=tmp_path / "B").stdout)
    assert [(e["name"], e["action"]) for e in listed["line"][:3]] == [("default", "rollback"), ("brick", "promote"),
                                                                       ("default", "baseline")], listed["line"]


def test_a_promotion_and_a_rollback_made_while_idle_judge_the_next_part_everywhere(line, tmp_path):
    """#34: three idle stations (hot folders with nothing new). A promotion, then a rollback, each
    made while no part was coming, judges the very next part on every station."""
    import shutil

    from station.line.line_registry import POLL_S

    pg, _ = line
    db, store = line_db(pg, "idle"), "s3://line/idle"
    run_cli("teach", str(line_images(tmp_path, "teach", 16, 3) / "good"), "--out", str(tmp_path / "taught"), "--bank", "256",
            "--size", "128", "--name", "taught")
    parts = sorted(line_images(tmp_path, "parts", 9, 17).rglob("*.png"))  # nine different parts: none judged twice
    folders = {n: tmp_path / f"hot-{n}" for n in "XYZ"}
    for folder in folders.values():
        folder.mkdir()
    runners = {n: _start("run", f"watch:{folder}", "--db", db, "--store", store, "--station", n, "--limit", "3",
                         "--batch-size", "1", data=tmp_path / n) for n, folder in folders.items()}

    def one_part_each(k: int) -> None:
        for i, folder in enumerate(folders.values()):
            shutil.copy(parts[(3 * k + i) % len(parts)], folder / f"part-{k}-{i}.png")
        deadline = time.monotonic() + 300
        while _committed(db) < 3 * (k + 1):
            gone = {n: p.communicate()[0][-3000:] for n, p in runners.items() if p.poll() is not None}
            assert time.monotonic() < deadline and not gone, f"a station stopped judging: {gone}"
            time.sleep(0.1)

    try:
        one_part_each(0)
        run_cli("promote", str(tmp_path / "taught"), "--as", "taught", "--by", "eng", "--db", db, "--store", store,
                "--station", "A", data=tmp_path / "A")
        # Idle for longer than a running station waits between looks at the line (a lower bound:
        # a slower machine only idles longer).
        time.sleep(POLL_S + 0.5)
        one_part_each(1)
        run_cli("rollback", "--by", "eng", "--db", db, "--store", store, "--station", "A", data=tmp_path / "A")
        time.sleep(POLL_S + 0.5)
        one_part_each(2)
        outs = {n: _finish(p) for n, p in runners.items()}
    finally:
        for p in runners.values():
            p.kill()
    judged = line_rows(db, "SELECT i.station, m.name FROM inspections i JOIN models m ON m.id = i.model_id ORDER BY i.id")
    for n in folders:
        assert [name for station, name in judged if station == n] == ["default", "taught", "default"], (n, judged)
        assert [s["to"] for s in outs[n]["model_switches"]] == ["taught", "default"], outs[n]["model_switches"]


def test_a_threshold_set_on_one_station_applies_on_every_station_of_the_line(line, tmp_path):
    """#34: a threshold changed on one PC (the Models tab, or `station threshold`) was that PC's
    alone. Now a running station judges its next part by it, and a station started later too."""
    import shutil

    from station.line.line_registry import POLL_S

    pg, _ = line
    db, store = line_db(pg, "cut"), "s3://line/cut"
    demo = ROOT / "resources" / "demo"
    # Two parts before the change, then three the default model scores between its card's
    # threshold and the new one (p_defect 0.85, 0.9965, 0.9985): they fail before, pass after.
    cracks = [demo / "crack" / "crack_2024_00012.png", demo / "crack" / "crack_2024_00020.png",
              demo / "good" / "good_2024_00009.png", demo / "crack" / "crack_2024_00029.png", demo / "stain" / "stain_2024_00027.png"]
    hot = tmp_path / "hot"
    hot.mkdir()
    runner = _start("run", f"watch:{hot}", "--db", db, "--store", store, "--station", "B", "--limit", str(len(cracks)),
                    "--batch-size", "1", data=tmp_path / "B")
    half = 2
    try:
        for p in cracks[:half]:
            shutil.copy(p, hot / p.name)
        deadline = time.monotonic() + 300
        while _committed(db) < half:
            assert time.monotonic() < deadline and runner.poll() is None, "the station did not judge"
            time.sleep(0.1)
        run_cli("threshold", "default", "0.9999", "--db", db, "--store", store, "--station", "A", data=tmp_path / "A")
        time.sleep(POLL_S + 0.5)  # longer than a running station waits between looks (a lower bound)
        for p in cracks[half:]:
            shutil.copy(p, hot / p.name)
        out = _finish(runner)
    finally:
        runner.kill()
    assert out["processed"] == len(cracks)
    judged = line_rows(db, "SELECT origin, p_defect, verdict FROM inspections ORDER BY id")
    card = json.loads((ROOT / "models" / "default" / "card.json").read_text())["threshold"]
    for origin, p, verdict in judged:
        cut = 0.9999 if Path(origin).name in {c.name for c in cracks[half:]} else card
        assert (verdict == "fail") == (p >= cut), (origin, p, verdict, cut)
    assert sum(card <= p < 0.9999 and v == "pass" for o, p, v in judged[half:]) == 3, judged
    assert line_rows(db, "SELECT version, threshold, station FROM line_thresholds")[0][1:] == (0.9999, "A")
    # A station that starts later takes the line's threshold too.
    spot = demo / "spot" / "spot_2024_00005.png"  # p_defect 0.9997: a FAIL by the card, a PASS by the line
    late = json.loads(run_cli("run", str(spot), "--db", db, "--store", store, "--station", "D", "--json", data=tmp_path / "D").stdout)
    assert late["verdicts"] == {"pass": 1, "fail": 0}, late


def test_server_restart_and_store_outage_cost_no_verdict(line, tmp_path):
    """A PostgreSQL restart, then the object store stopped, each while parts keep coming: every
    part judged during an outage waits in the spool, and everything arrives exactly once. The
    outages follow what the station has done (no fixed schedule): each server goes down after
    the parts before it are in, and comes back once the parts sent meanwhile are spooled."""
    from station.record.spool import Spool

    pg, s3 = line
    db, store = line_db(pg, "outage"), "s3://line/outage"
    files = sorted(line_images(tmp_path, "parts", 240, 7).rglob("*.png"))
    assert len(files) == 240
    hot, data = tmp_path / "hot", tmp_path / "o"
    hot.mkdir()
    spool = Spool(data / "spool")
    t0 = time.monotonic()
    runner = _start("run", f"watch:{hot}", "--db", db, "--store", store, "--station", "O", "--batch-size", "4",
                    "--limit", "240", data=data)
    events: list[str] = []
    try:
        _feed(hot, files[:40])
        until(lambda: _committed(db) == 40, "the first 40 rows", runner)
        pg.stop("fast")  # a PostgreSQL restart
        events.append(f"pg down {time.monotonic() - t0:.1f}")
        _feed(hot, files[40:80])
        until(lambda: spool.count() == 40, "40 results spooled while the database is down", runner)
        pg.start()
        events.append(f"pg up {time.monotonic() - t0:.1f}")
        _feed(hot, files[80:120])
        until(lambda: _committed(db) == 120 and not spool.pending(), "the spool forwarded, then the next 40 rows", runner)
        s3.stop_s3()  # the object store unreachable
        events.append(f"s3 down {time.monotonic() - t0:.1f}")
        _feed(hot, files[120:160])
        until(lambda: spool.count() == 40, "40 results spooled while the store is down", runner)
        s3.start_s3()
        events.append(f"s3 up {time.monotonic() - t0:.1f}")
        _feed(hot, files[160:])
        out = _finish(runner)
    finally:
        runner.kill()
    assert out["processed"] == 240 and out["unrecorded_count"] == 0 and out["spool_waiting"] == 0
    # The parts judged during the outages, and any that came while the spool was draining.
    assert 80 <= out["spooled"] < 240, out["spooled"]
    # Every verdict stored exactly once, every image in the store.
    assert line_rows(db, "SELECT count(*), count(DISTINCT sha256) FROM inspections WHERE station = 'O'") == [(240, 240)]
    assert line_rows(db, "SELECT sum(processed) FROM runs WHERE station = 'O'") == [(240,)]
    keys = [k for (k,) in line_rows(db, "SELECT image_path FROM inspections WHERE station = 'O'")]
    from station.store.db import open_store

    with open_store(str(tmp_path / "check"), db, store) as s:
        assert all(s.blobs.exists(k) for k in keys)
    assert not spool.pending(), "nothing waits in the spool"
    print(f"outage figures: {events}; run {time.monotonic() - t0:.1f} s, {out['spooled']} results spooled, "
          f"{out['images_per_s']} images/s")


def test_a_store_that_refuses_writes_for_good_is_an_alarm_and_an_exit_not_an_outage(line, tmp_path, monkeypatch):
    """#34: a store that refuses every write (a key without write rights, a full or locked
    bucket) is not a passing outage: the run keeps judging and keeps results on this PC, says
    why in one line, and exits 3, not 0 "finished"; the spool on this PC stays under its cap
    (rows kept, images past the cap left out and said so); `station doctor` fails the store.
    The next start with a good key forwards them."""
    from line_servers import READ_ONLY_KEY

    pg, s3 = line
    db, store = line_db(pg, "refused"), "s3://line/refused"
    images = line_images(tmp_path, "parts", 6, 41)
    n = len(list(images.rglob("*.png")))
    data = tmp_path / "r"
    first = line_images(tmp_path, "first", 1, 40)  # the line ran fine until now: its bucket exists
    made = json.loads(run_cli("run", str(first), "--db", db, "--store", store, "--station", "R", "--json", data=data).stdout)
    before = _committed(db)
    assert before == made["processed"] > 0
    cap = 60_000  # bytes: room for a few parts' images, not for all of them
    run_cli("settings", "disk.spool_gb", str(cap / 1024**3), data=data)
    with monkeypatch.context() as m:
        m.setenv("AWS_ACCESS_KEY_ID", READ_ONLY_KEY)
        proc = subprocess.run([sys.executable, "-m", "station", "run", str(images), "--db", db, "--store", store, "--station", "R",
                               "--json", "--forward-wait", "2", "--data", str(data)], cwd=ROOT, capture_output=True, text=True, timeout=600)
        doctor = json.loads(run_cli("doctor", "--json", "--cameras", "0", "--db", db, "--store", store, data=data).stdout)
    assert proc.returncode == 3, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["processed"] == n and out["spooled"] == n and out["spool_waiting"] == n
    assert "AccessDenied" in out["line_refused"]
    said = [line for line in proc.stderr.splitlines() if "refused" in line]
    assert said and "Traceback" not in proc.stderr
    assert _committed(db) == before
    # Bounded: every row is kept, the images that did not fit are left out, each saying why.
    left_out = out["not_stored_count"]
    assert 0 < left_out < n, out
    assert all("spool" in e["reason"] for e in out["not_stored"])
    assert 0 < out["spool_bytes"] <= cap + 3000 * n  # the images under the cap, and the rows' JSON
    store_check = doctor["store"]
    assert not store_check["ok"] and "refuses" in store_check["detail"] and "AccessDenied" in store_check["refused"]
    assert store_check["spool_waiting"] == n and store_check["spool_bytes"] == out["spool_bytes"]
    # The key is fixed: the next start forwards what this PC kept, then judges its own part
    # (with the usual cap: parts judged while the spool drains queue behind it).
    run_cli("settings", "disk.spool_gb", "20", data=data)
    one = line_images(tmp_path, "one", 1, 43)
    again = json.loads(run_cli("run", str(one), "--db", db, "--store", store, "--station", "R", "--json", data=data).stdout)
    assert again["spool_waiting"] == 0 and "line_refused" not in again
    assert _committed(db) == before + n + again["processed"]
    gone = line_rows(db, "SELECT count(*) FROM inspections WHERE image_gone LIKE 'not kept: the spool%'")[0][0]
    assert gone == left_out


def test_a_station_starts_with_the_line_database_down_and_records_everything_when_it_returns(line, tmp_path):
    """#34: a station that restarts while the line's PostgreSQL is down starts anyway, on this PC's
    model, judges and keeps its results; when the database answers, the run and every row arrive
    (the run recorded by its first forwarded batch), and later parts go straight in."""
    pg, _ = line
    db, store = line_db(pg, "downstart"), "s3://line/downstart"
    images = line_images(tmp_path, "parts", 12, 51)
    n = len(list(images.rglob("*.png")))
    data = tmp_path / "cold"
    pg.stop("fast")
    try:
        runner = _start("run", str(images), "--db", db, "--store", store, "--station", "C", "--pace", "0.3", "--batch-size", "1",
                        "--forward-wait", "120", data=data)
        _wait_spooled(runner, data / "spool", 3)  # judging, and keeping
    finally:
        pg.start()
    out, err = runner.communicate(timeout=600)
    assert runner.returncode == 0, err[-3000:]
    assert "unreachable" in err and "starting on this PC's model" in err and "Traceback" not in err
    summary = json.loads(out)
    assert summary["processed"] == n and summary["spool_waiting"] == 0 and summary["spooled"] >= 3
    assert line_rows(db, "SELECT count(*), count(DISTINCT uid), count(DISTINCT run_id) FROM inspections") == [(n, n, 1)]
    runs = line_rows(db, "SELECT station, processed, source FROM runs")
    assert runs == [("C", n, str(images))], runs


def test_a_station_whose_line_database_is_down_starts_as_the_product_it_last_ran(line, tmp_path):
    """#34: with the line's PostgreSQL down, a station starts as the product it last ran, from its
    own copy of the recipe (threshold, golden parts), not as whatever model is active on the PC;
    says so; and every part's row arrives with that recipe when the database is back."""
    pg, _ = line
    db, store = line_db(pg, "lastrecipe"), "s3://line/lastrecipe"
    data = tmp_path / "st"
    at = ("--db", db, "--store", store, "--station", "L")
    first = line_images(tmp_path, "first", 4, 61)
    run_cli("recipes", "add", "widget", "--model", "default", *at, data=data)
    run_cli("recipes", "set", "widget", "threshold", "0.9", *at, data=data)
    run_cli("run", str(first), "--recipe", "widget", *at, data=data)
    judged = dict(line_rows(db, "SELECT origin, verdict FROM inspections"))
    passed = sorted(o for o, v in judged.items() if v == "pass")[:2]
    assert passed, judged
    run_cli("recipes", "golden", "widget", "pass", *passed, *at, data=data)
    version = json.loads(run_cli("recipes", "show", "widget", "--json", *at, data=data).stdout)["version"]
    one = line_images(tmp_path, "one", 1, 63)
    run_cli("run", str(one), *at, data=data)  # the station's product, checked: this PC keeps its copy
    assert len(list((data / "recipes" / "golden").iterdir())) == len(passed)

    parts = line_images(tmp_path, "parts", 6, 64)
    n = len(list(parts.rglob("*.png")))
    pg.stop("fast")
    try:
        never = run_cli("run", str(parts), "--recipe", "gadget", *at, data=data, check=False)
        assert never.returncode == 2 and "no copy of recipe gadget" in never.stderr and len(never.stderr.strip().splitlines()) == 1
        runner = _start("run", str(parts), *at, "--pace", "0.3", "--batch-size", "1", "--forward-wait", "120", data=data)
        _wait_spooled(runner, data / "spool", 2)
    finally:
        pg.start()
    out, err = runner.communicate(timeout=600)
    assert runner.returncode == 0 and "Traceback" not in err, err[-3000:]
    assert "unreachable: " in err and f"starting as widget (version {version}), from this PC's copy of the recipe" in err
    summary = json.loads(out)
    assert summary["recipe"]["name"] == "widget" and summary["recipe"]["golden"]["passed"], summary["recipe"]
    assert summary["processed"] == n and summary["spool_waiting"] == 0
    arrived = line_rows(db, f"SELECT recipe, recipe_version, count(*) FROM inspections WHERE origin LIKE '{parts}%' GROUP BY 1, 2")
    assert arrived == [("widget", version, n)]


def test_passwords_come_from_pgpass_and_are_never_printed(line, tmp_path):
    pg, _ = line
    db = line_db(pg, "secrets")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg.port}:*:station:{PG_PASSWORD}\n")
    pgpass.chmod(0o600)
    env = {"PGPASSWORD": "", "PGPASSFILE": str(pgpass)}
    proc = run_cli("stats", "--db", db, "--json", data=tmp_path / "p", env=env)
    assert json.loads(proc.stdout)["inspected"] == 0
    doctor = json.loads(run_cli("doctor", "--db", db, "--store", "s3://line/doctor", "--station", "press-9", "--cameras", "0",
                                "--json", data=tmp_path / "p", env=env).stdout)
    assert doctor["station"] == "press-9" and doctor["database"]["ok"] and doctor["store"]["ok"], doctor
    assert doctor["store"]["kind"] == "s3" and doctor["store"]["spool_waiting"] == 0 and PG_PASSWORD not in json.dumps(doctor)
    wrong = db.replace("station@", "station:not-the-password@")
    bad = run_cli("stats", "--db", wrong, data=tmp_path / "p", env={"PGPASSWORD": ""}, check=False)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    assert "not-the-password" not in bad.stderr and "***" in bad.stderr


def test_a_station_killed_in_an_outage_forwards_its_spool_on_the_next_start(line, tmp_path):
    import signal

    from station.record.spool import Spool

    pg, _ = line
    db, store = line_db(pg, "killed"), "s3://line/killed"
    images = line_images(tmp_path, "parts", 60, 31)
    data = tmp_path / "k"
    runner = _start("run", str(images), "--db", db, "--store", store, "--station", "K", "--pace", "0.1", "--batch-size", "2",
                    data=data)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _committed(db):  # judging, some rows in
        time.sleep(0.2)
    time.sleep(0.5)
    pg.stop("fast")
    spool = Spool(data / "spool")
    deadline = time.monotonic() + 60
    while len(spool.pending()) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    runner.send_signal(signal.SIGKILL)  # a power cut: no chance to forward or to end the run
    runner.wait()
    pg.start()
    waiting = spool.count()
    committed = line_rows(db, "SELECT count(*) FROM inspections")[0][0]
    assert waiting >= 6 and committed > 0
    # The next start on this data dir forwards what the killed one kept, before and beside its own parts.
    one = line_images(tmp_path, "new", 1, 99)  # one new part
    out = json.loads(run_cli("run", str(one), "--db", db, "--store", store, "--station", "K", "--json", data=data).stdout)
    assert out["processed"] == 1 and out["spool_waiting"] == 0 and not spool.pending()
    total = committed + waiting + 1
    assert line_rows(db, "SELECT count(*), count(DISTINCT sha256) FROM inspections") == [(total, total)]
    # Each part kept the id it was given when judged, through the spool (#34).
    assert line_rows(db, "SELECT count(DISTINCT uid) FROM inspections WHERE uid IS NOT NULL") == [(total,)]


def test_stations_auditing_at_once_extend_one_chain(line, tmp_path):
    """The audit trail's hash chain on a line's PostgreSQL: eight stations refused at once (each
    refusal is an audit row) leave one chain whose every link holds."""
    pg, _ = line
    db = line_db(pg, "audited")
    env = {**os.environ, "STATION_PIN": "246810"}
    subprocess.run([sys.executable, "-m", "station", "users", "add", "eve", "--role", "engineer", "--db", db,
                    "--data", str(tmp_path / "d0")], cwd=ROOT, env=env, check=True, capture_output=True)
    procs = [subprocess.Popen([sys.executable, "-m", "station", "threshold", "default", "0.5", "--user", "eve", "--db", db,
                               "--data", str(tmp_path / f"d{i}")], cwd=ROOT, env={**env, "STATION_PIN": "000000"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(1, 9)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 2 and ("wrong PIN" in err or "wait" in err), err
    assert line_rows(db, "SELECT count(*) FROM audit WHERE action = 'sign_in_refused'") == [(8,)]
    verified = subprocess.run([sys.executable, "-m", "station", "audit", "--verify", "--json", "--db", db, "--data",
                               str(tmp_path / "d0")], cwd=ROOT, capture_output=True, text=True)
    assert verified.returncode == 0 and json.loads(verified.stdout)["rows"] == 9, verified.stderr


def test_stations_on_a_least_privilege_role_cannot_rewrite_history(line, tmp_path):
    """docs/line-role.sql on a real server: stations run, review, manage users and promote to the
    line as before, and cannot update or delete the audit, the reviews or the line's promotions."""
    import psycopg

    pg, _ = line
    owner_db, store = line_db(pg, "leastpriv"), "s3://line/leastpriv"
    run_cli("stats", "--db", owner_db, data=tmp_path / "owner")  # the owner creates the tables
    sql = (ROOT / "docs" / "line-role.sql").read_text()
    assert sql.split("CREATE ROLE", 1)[1] in (ROOT / "docs" / "line.md").read_text(), "docs/line.md quotes the file"
    owner = dict(host="127.0.0.1", port=pg.port, user="station", password=PG_PASSWORD, dbname="leastpriv")
    with psycopg.connect(**owner, autocommit=True) as conn:
        conn.execute(sql)
        conn.execute("ALTER ROLE station_line PASSWORD 'line-pw-2'")
    db = owner_db.replace("station@", "station_line@")
    env = {"PGPASSWORD": "line-pw-2", "STATION_PIN": "246810"}
    data = tmp_path / "press-1"
    run_cli("users", "add", "eve", "--role", "engineer", "--db", db, data=data, env=env)
    parts = line_images(tmp_path, "parts", 6, 3)
    ran = json.loads(run_cli("run", str(parts), "--db", db, "--store", store, "--json", data=data, env=env).stdout)
    assert ran["processed"] == 6
    first = json.loads(run_cli("queue", "--db", db, "--json", data=data, env=env).stdout)[0]
    run_cli("label", str(first["id"]), "good", "--by", "eve", "--db", db, data=data, env=env)
    from station.core.config import default_model_dir

    promoted = json.loads(run_cli("promote", str(default_model_dir()), "--as", "again", "--user", "eve", "--db", db,
                                  "--store", store, "--json", data=data, env=env).stdout)
    assert promoted["active"] == "again" and promoted["line"]["name"] == "again"
    verified = json.loads(run_cli("audit", "--verify", "--db", db, "--json", data=data, env=env).stdout)
    assert verified["ok"] and verified["rows"] >= 2, verified
    # What a station's account can do to history, directly on the server: nothing.
    with psycopg.connect(**{**owner, "user": "station_line", "password": "line-pw-2"}, autocommit=True) as conn:
        for statement in ("UPDATE audit SET action = 'nothing'", "DELETE FROM audit", "DELETE FROM reviews",
                          "UPDATE line_promotions SET name = 'default'", "DELETE FROM line_promotions"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert line_rows(owner_db, "SELECT count(*) FROM reviews")[0][0] == 1
    # A role without a grant it needs is a set-up problem: one line, exit 2, no traceback.
    with psycopg.connect(**owner, autocommit=True) as conn:
        conn.execute("REVOKE INSERT ON audit FROM station_line")
    refused = run_cli("users", "add", "bob", "--role", "operator", "--user", "eve", "--db", db, data=data,
                      env={**env, "STATION_NEW_PIN": "1357"}, check=False)
    assert refused.returncode == 2 and "permission denied for table audit" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
