"""Running for months: retention frees exactly what the policy says and never a row; backups taken
during a run restore to a sound database with every committed review; settings are checked.
Real SQLite, real files, the real CLI in its own process."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import run_cli, run_json
from gui_helpers import rows


def _files(data: Path) -> set[str]:
    return {p.relative_to(data).as_posix() for kind in ("images", "heatmaps") for p in (data / kind).rglob("*") if p.is_file()}


def _backdate(data: Path, ids: list[int], days: float) -> None:
    conn = sqlite3.connect(data / "station.db")
    with conn:
        conn.executemany("UPDATE inspections SET captured_at = datetime('now', ?) WHERE id = ?",
                         [(f"-{days} days", i) for i in ids])
    conn.close()


def _threshold(data: Path) -> float:
    return rows(data, "SELECT threshold FROM models LIMIT 1")[0][0]


def test_retention_frees_exactly_the_files_the_policy_says_and_keeps_every_row(demo_images, data_dir, tmp_path):
    run_cli("run", str(demo_images), data=data_dir)
    everything = rows(data_dir, "SELECT id, verdict, sha256, image_path, heatmap_path, p_defect FROM inspections ORDER BY id")
    assert len(everything) == 24
    threshold = _threshold(data_dir)
    passed = [r for r in everything if r.verdict == "pass" and abs(r.p_defect - threshold) >= 0.05]
    failed = [r for r in everything if r.verdict == "fail"]
    assert len(passed) >= 6 and failed, "the demo set needs clear passes and some fails"
    old = [r.id for r in everything if r.id != passed[-1].id]  # one clear pass stays recent
    _backdate(data_dir, old, 40)

    # Kept for good although old and passed: one reviewed, one reviewed then undone, one exported,
    # one made uncertain; one shares its image file with a recent row.
    reviewed, undone, exported, uncertain, shared = (r.id for r in passed[:5])
    run_cli("label", str(reviewed), "good", "--by", "ann", data=data_dir)
    run_cli("label", str(undone), "good", "--by", "ann", data=data_dir)
    from station.store import repo
    from station.store.db import open_store

    store = open_store(str(data_dir))
    with store.session.begin() as s:
        repo.undo_review(s, undone, "ann")
    store.engine.dispose()
    out = run_json("export", str(tmp_path / "ds"), data=data_dir)  # exports the reviewed one only
    assert out["train"] + out["val"] == 1
    conn = sqlite3.connect(data_dir / "station.db")
    with conn:
        conn.execute("UPDATE inspections SET exported_at = datetime('now') WHERE id = ?", (exported,))
        conn.execute("UPDATE inspections SET p_defect = ? WHERE id = ?", (threshold - 0.02, uncertain))
        # The same image judged again yesterday by another model: its file must stay.
        conn.execute("INSERT INTO models (name, version, arch, classes, threshold, card, registered_at) SELECT name, 'other-version',"
                     " arch, classes, threshold, card, registered_at FROM models LIMIT 1")
        other = conn.execute("SELECT id FROM models WHERE version = 'other-version'").fetchone()[0]
        conn.execute("INSERT INTO inspections (run_id, model_id, origin, captured_at, sha256, image_path, width, height, predicted,"
                     " probabilities, p_defect, uncertainty, verdict, heatmap_path, box, timings) SELECT run_id, ?, origin,"
                     " datetime('now', '-1 days'), sha256, image_path, width, height, predicted, probabilities, p_defect, uncertainty,"
                     " verdict, heatmap_path, box, timings FROM inspections WHERE id = ?", (other, shared))
    conn.close()
    run_cli("settings", "retention.keep_one_in", "0", data=data_dir)  # no thinned sample: every plain old pass goes

    keep_ids = {reviewed, undone, exported, uncertain, shared, passed[-1].id}
    plain = [r for r in passed if r.id not in keep_ids]
    kept_paths = {r.image_path for r in everything if r.id in keep_ids or r.verdict == "fail"} | \
                 {r.heatmap_path for r in everything if (r.id in keep_ids or r.verdict == "fail") and r.heatmap_path}
    expected = ({r.image_path for r in plain} | {r.heatmap_path for r in plain if r.heatmap_path}) - kept_paths
    before = _files(data_dir)
    expected_bytes = sum((data_dir / p).stat().st_size for p in expected)

    dry = run_json("purge", "--dry-run", data=data_dir)
    assert (dry["files"], dry["bytes"]) == (len(expected), expected_bytes)
    assert _files(data_dir) == before, "a dry run deletes nothing"
    done = run_json("purge", data=data_dir)
    assert (done["files"], done["bytes"], done["rows"]) == (len(expected), expected_bytes, len(plain))
    assert _files(data_dir) == before - expected
    assert len(rows(data_dir, "SELECT id FROM inspections")) == 25, "no row is ever deleted"
    assert rows(data_dir, "SELECT count(*) FROM parts")[0][0] == 24, "nor the record of a part"
    gone = {r.id for r in rows(data_dir, "SELECT id FROM inspections WHERE image_gone LIKE 'purged by retention%'")}
    assert gone == {r.id for r in plain}
    assert run_json("purge", data=data_dir)["files"] == 0, "a second purge finds nothing left"

    # The queue says so instead of pointing at a missing file, and export leaves them out with the reason.
    queue = {q["id"]: q for q in run_json("queue", "--limit", "100", data=data_dir)}
    some = next(i for i in gone if i in queue)
    assert queue[some]["image"] is None and queue[some]["image_gone"].startswith("purged by retention")
    run_cli("label", str(some), "good", "--by", "ann", data=data_dir)
    ex = run_json("export", str(tmp_path / "ds2"), data=data_dir)
    assert any(e["id"] == some and "purged by retention" in e["error"] for e in ex["errors"])


def test_the_thinned_sample_is_chosen_by_content_and_kept(demo_images, data_dir):
    from station.upkeep.retention import sampled

    run_cli("run", str(demo_images), data=data_dir)
    threshold = _threshold(data_dir)
    passed = rows(data_dir, "SELECT id, sha256, image_path FROM inspections WHERE verdict = 'pass' AND abs(p_defect - :t) >= 0.05",
                  t=threshold)
    _backdate(data_dir, [r.id for r in passed], 31)
    run_cli("settings", "retention.keep_one_in", "3", data=data_dir)
    lucky = {r.image_path for r in passed if sampled(r.sha256, 3)}
    assert lucky and len(lucky) < len(passed), "the demo set should have some of each"
    run_json("purge", data=data_dir)
    left = _files(data_dir)
    assert all(p in left for p in lucky)
    assert not any(r.image_path in left for r in passed if r.image_path not in lucky)
    # Younger than pass_days: nothing goes.
    assert run_json("purge", "--pass-days", "60", "--dry-run", data=data_dir)["files"] == 0


def test_a_damaged_backup_is_refused_and_nothing_changes(data_dir, tmp_path, demo_images):
    run_cli("run", str(demo_images), data=data_dir)
    run_json("backup", str(tmp_path / "bk"), data=data_dir)
    with open(tmp_path / "bk" / "station.db", "r+b") as f:
        f.seek(5000)
        f.write(bytes(range(1, 65)))  # not zeros: a page's free space may already be zeros
    before = (data_dir / "station.db").read_bytes()
    proc = run_cli("restore", str(tmp_path / "bk"), data=data_dir, check=False)
    assert proc.returncode == 2 and "changed since the backup was taken" in proc.stderr and "Traceback" not in proc.stderr
    assert (data_dir / "station.db").read_bytes() == before
    proc = run_cli("restore", str(tmp_path), data=data_dir, check=False)
    assert proc.returncode == 2 and "not a station backup" in proc.stderr
    proc = run_cli("backup", str(tmp_path / "bk"), data=data_dir, check=False)
    assert proc.returncode == 2 and "already exists" in proc.stderr
    proc = run_cli("backup", str(tmp_path / "pg"), "--db", "postgresql://u:secret@127.0.0.1:1/x", data=data_dir, check=False)
    assert proc.returncode == 2 and "secret" not in proc.stderr


def test_upkeep_backs_up_daily_keeps_n_and_purges_in_batches(demo_images, data_dir):
    from datetime import UTC, datetime, timedelta

    from station.line import settings
    from station.store.db import open_store
    from station.upkeep.backup import scheduled_backup
    from station.upkeep.periodic import Upkeep

    run_cli("run", str(demo_images), data=data_dir)
    _backdate(data_dir, [r.id for r in rows(data_dir, "SELECT id FROM inspections")], 90)
    run_cli("settings", "retention.keep_one_in", "0", data=data_dir)
    run_cli("settings", "upkeep.purge_batch", "4", data=data_dir)
    run_cli("settings", "backup.keep", "2", data=data_dir)
    conf = settings.load(str(data_dir))
    store = open_store(str(data_dir))
    try:
        upkeep = Upkeep(store, conf)
        first = upkeep.tick()
        assert first.ran and not first.errors and first.backup and first.purged is not None
        assert first.purged.examined == 4 and not first.purged.done, "one small batch per tick"
        assert upkeep.tick().backup is None, "one backup a day"
        start = datetime.now(UTC)
        for day in range(1, 4):
            assert scheduled_backup(store, conf.backup, now=start + timedelta(days=day, minutes=1)) is not None
        assert len(list((data_dir / "backups").glob("auto-*"))) == 2
        expected = run_json("purge", "--dry-run", data=data_dir)["files"] + first.purged.files
        freed = first.purged.files
        for _ in range(20):
            upkeep._rest_until = 0  # the hour's rest after a full pass is for the real clock
            r = upkeep.tick()
            freed += r.purged.files if r.purged else 0
        assert freed == expected
    finally:
        store.engine.dispose()


@pytest.mark.parametrize(("key", "value", "message"), [
    ("retention.pass_days", "-3", "within 0..36500"),
    ("retention.pass_days", "2.5", "must be a int"),
    ("disk.warn_gb", "NaN", "must be a float"),
    ("retention.bogus", "1", "unknown setting 'retention.bogus'"),
    ("backup.daily", "yes", "must be a bool"),
])
def test_a_bad_setting_is_one_line_and_changes_nothing(data_dir, key, value, message):
    proc = run_cli("settings", key, value, data=data_dir, check=False)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (data_dir / "settings.json").exists()


def test_settings_round_trip_and_a_broken_file_is_one_line(data_dir, demo_images):
    run_cli("settings", "retention.pass_days", "7", data=data_dir)
    assert run_json("settings", "retention.pass_days", data=data_dir) == {"retention.pass_days": 7}
    assert json.loads((data_dir / "settings.json").read_text())["retention"]["pass_days"] == 7
    (data_dir / "settings.json").write_text('{"retention": {"pass_days": "soon"}}')
    proc = run_cli("run", str(demo_images), data=data_dir, check=False)
    assert proc.returncode == 2 and "settings.json" in proc.stderr and "pass_days" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_product_keeps_its_images_by_its_own_retention_and_band(demo_images, data_dir):
    """Recipe settings pass_days and band, where a product differs from the station: a product
    kept 3 days loses its old clear passes; one with a wide band keeps the ones near its cut; a
    product without them, and parts judged before recipes, keep the station's 30 days."""
    for name in ("short", "wide", "plain"):
        run_cli("recipes", "add", name, "--model", "default", data=data_dir)
    run_cli("recipes", "set", "short", "pass_days", "3", data=data_dir)
    run_cli("recipes", "set", "wide", "pass_days", "3", data=data_dir)
    run_cli("recipes", "set", "wide", "band", "0.45", data=data_dir)
    refused = run_cli("recipes", "set", "wide", "band", "0.6", data=data_dir, check=False)
    assert refused.returncode == 2 and "band is a number above 0 and below 0.5" in refused.stderr
    run_cli("run", str(demo_images), "--recipe", "short", data=data_dir)
    run_cli("settings", "retention.keep_one_in", "0", data=data_dir)
    threshold = _threshold(data_dir)
    everything = rows(data_dir, "SELECT id, verdict, p_defect FROM inspections ORDER BY id")
    groups = {"short": everything[0::4], "wide": everything[1::4], "plain": everything[2::4], None: everything[3::4]}
    conn = sqlite3.connect(data_dir / "station.db")
    with conn:  # one run's parts, as if four products had been judged
        for name, part in groups.items():
            conn.executemany("UPDATE inspections SET recipe = ? WHERE id = ?", [(name, r.id) for r in part])
    conn.close()
    _backdate(data_dir, [r.id for r in everything], 10)

    def clear(part, band):
        return [r.id for r in part if r.verdict == "pass" and abs(r.p_defect - threshold) >= band]

    expected = set(clear(groups["short"], 0.05)) | set(clear(groups["wide"], 0.45))
    assert clear(groups["short"], 0.05) and len(clear(groups["wide"], 0.45)) < len(clear(groups["wide"], 0.05)), \
        "the demo set needs clear passes, and some the wide band keeps"
    done = run_json("purge", data=data_dir)
    gone = {r.id for r in rows(data_dir, "SELECT id FROM inspections WHERE image_gone LIKE 'purged by retention%'")}
    assert gone == expected and done["rows"] == len(expected)
