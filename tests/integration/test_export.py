"""`station export`: layout, manifest, stable stratified split, idempotence, refusals, ImageFolder."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from conftest import run_cli, run_json
from sqlalchemy import create_engine, text

from station.cli import main as station

pytestmark = pytest.mark.slow  # many command-line round trips or training


@pytest.fixture()
def reviewed(demo_images, data_dir):
    """The demo set inspected, and every item labelled from its true class (its folder name)."""
    run_cli("run", str(demo_images), data=data_dir)
    queue = run_json("queue", "--limit", "100", data=data_dir)
    for item in queue:
        truth = item["origin"].replace("\\", "/").split("/")[-2]
        assert station(["label", str(item["id"]), truth, "--by", "erin", "--data", str(data_dir)]) == 0
    return data_dir, {i["id"]: i for i in queue}


def demo_images_dir(queue):
    from pathlib import Path

    return Path(next(iter(queue.values()))["origin"]).parent.parent


def manifest(out):
    with (out / "manifest.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def tree(out):
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.parent != out)


def test_layout_manifest_and_imagefolder(reviewed, tmp_path):
    data, queue = reviewed
    out = tmp_path / "export"
    summary = run_json("export", str(out), "--seed", "3", data=data)
    assert summary["train"] + summary["val"] == 24
    truth = {d.name: len(list(d.glob("*.png"))) for d in demo_images_dir(queue).iterdir() if d.is_dir()}
    assert summary["classes"] == truth
    rows = manifest(out)
    assert len(rows) == 24
    assert set(rows[0]) >= {"path", "split", "label", "predicted", "p_defect", "model_version", "reviewed_by", "reviewed_at", "sha256", "origin"}
    for r in rows:
        assert (out / r["path"]).is_file()
        assert r["path"].startswith(f"{r['split']}/{r['label']}/")
        assert r["reviewed_by"] == "erin" and r["reviewed_at"]
    for label, n in summary["classes"].items():  # stratified: every class with 2+ images has one in val
        val = sum(1 for r in rows if r["label"] == label and r["split"] == "val")
        assert val == max(1, round(n * 0.2))
    dataset = json.loads((out / "dataset.json").read_text())
    assert dataset["n"] == 24 and dataset["classes"] == summary["classes"]

    from torchvision.datasets import ImageFolder

    ds = ImageFolder(str(out / "train"))
    assert len(ds) == summary["train"]
    assert sorted(ds.classes) == sorted(summary["classes"])
    img, _ = ds[0]
    assert img.size == (256, 256)


def test_idempotent_and_splits_stable_as_reviews_grow(demo_images, data_dir, tmp_path):
    run_cli("run", str(demo_images), data=data_dir)
    queue = run_json("queue", "--limit", "100", "--order", "recent", data=data_dir)
    truth = {i["id"]: i["origin"].replace("\\", "/").split("/")[-2] for i in queue}
    ids = sorted(truth)
    for i in ids[:12]:
        station(["label", str(i), truth[i], "--by", "erin", "--data", str(data_dir)])
    out = tmp_path / "export"
    first = run_json("export", str(out), data=data_dir)
    assert first["train"] + first["val"] == 12, "unreviewed items stay out by default"
    rows1, tree1 = manifest(out), tree(out)
    run_json("export", str(out), data=data_dir)
    assert manifest(out) == rows1 and tree(out) == tree1, "a second export into the same OUT changes nothing"

    for i in ids[12:]:
        station(["label", str(i), truth[i], "--by", "erin", "--data", str(data_dir)])
    run_json("export", str(out), data=data_dir)
    split2 = {r["sha256"]: r["split"] for r in manifest(out)}
    assert len(split2) == 24
    assert all(split2[r["sha256"]] == r["split"] for r in rows1), "items keep their split across exports"

    everything = run_json("export", str(tmp_path / "all"), "--include-unreviewed", data=data_dir)
    assert everything["train"] + everything["val"] == 24


def test_same_image_twice_is_exported_once_under_its_newest_review(demo_images, data_dir, tmp_path):
    folder = tmp_path / "twice"
    shutil.copytree(demo_images / "good", folder / "a")
    shutil.copytree(demo_images / "good", folder / "b")
    run_cli("run", str(folder), data=data_dir)
    # Re-inspect under another model version, so every image surely has several rows.
    engine = create_engine(f"sqlite:///{data_dir / 'station.db'}")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO models (name, version, arch, classes, threshold, card, registered_at) "
                          "SELECT name, 'other', arch, classes, threshold, card, registered_at FROM models WHERE id = 1"))
        conn.execute(text("INSERT INTO inspections (run_id, model_id, origin, captured_at, sha256, image_path, width, height, predicted, "
                          "probabilities, p_defect, uncertainty, verdict, heatmap_path, box, timings) SELECT run_id, 2, origin, captured_at, "
                          "sha256, image_path, width, height, predicted, probabilities, p_defect, uncertainty, verdict, heatmap_path, box, timings "
                          "FROM inspections"))
        found = conn.execute(text("SELECT id, sha256 FROM inspections ORDER BY id")).all()
    engine.dispose()
    by_sha: dict[str, list[int]] = {}
    for i, sha in found:
        by_sha.setdefault(sha, []).append(i)
    assert all(len(ids) >= 2 for ids in by_sha.values())
    for ids in by_sha.values():  # early reviews say good; the newest says stain
        for i in ids[:-1]:
            station(["label", str(i), "good", "--by", "erin", "--data", str(data_dir)])
    for ids in by_sha.values():
        station(["label", str(ids[0]), "stain", "--by", "finn", "--data", str(data_dir)])
    out = tmp_path / "export"
    summary = run_json("export", str(out), data=data_dir)
    rows = manifest(out)
    assert len(rows) == len(by_sha) == len({r["sha256"] for r in rows})
    assert {r["label"] for r in rows} == {"stain"} and {r["reviewed_by"] for r in rows} == {"finn"}
    assert summary["classes"] == {"stain": len(by_sha)}


def test_refusals_stay_inside_out(reviewed, tmp_path):
    data, queue = reviewed
    victim = min(queue)
    engine = create_engine(f"sqlite:///{data / 'station.db'}")
    with engine.begin() as conn:  # another tool wrote a label the station would never accept
        conn.execute(text("UPDATE inspections SET label = '../../escaped' WHERE id = :i"), {"i": victim})
    engine.dispose()
    out = tmp_path / "box" / "export"
    summary = run_json("export", str(out), data=data)
    assert [e["id"] for e in summary["errors"]] == [victim]
    assert "invalid label" in summary["errors"][0]["error"]
    assert summary["train"] + summary["val"] == 23
    assert not any(p for p in (tmp_path / "box").rglob("*") if not str(p).startswith(str(out)))
    assert not (tmp_path / "escaped").exists()

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    proc = run_cli("export", str(tmp_path / "busy"), data=data, check=False)
    assert proc.returncode == 2 and "not empty" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    proc = run_cli("export", str(tmp_path / "x"), "--val-fraction", "1.5", data=data, check=False)
    assert proc.returncode == 2 and "--val-fraction" in proc.stderr
