"""Recipes through the command line: a product's model, masks and golden parts, and every
inspection, queue, export and statistic kept to its product."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, run_json


@pytest.fixture(scope="module")
def brick(tmp_path_factory) -> dict[str, Path]:
    """A fixtured brick line, taught from 30 good parts, and gravel's model as the wrong one."""
    root = tmp_path_factory.mktemp("recipes")
    run_cli("line-data", str(root / "brick"), "--line", "brick", "--good", "30", "--stream", "0", "--test", "20", "--seed", "3")
    run_cli("line-data", str(root / "gravel"), "--line", "gravel", "--good", "20", "--stream", "0", "--test", "0", "--seed", "4")
    run_cli("teach", str(root / "brick" / "good" / "good"), "--out", str(root / "m_brick"))
    run_cli("teach", str(root / "gravel" / "good" / "good"), "--out", str(root / "m_gravel"))
    return {"root": root, "line": root / "brick", "model": root / "m_brick", "other": root / "m_gravel"}


def _verdicts(data: Path) -> dict[str, tuple[str, str | None, int | None]]:
    with sqlite3.connect(data / "station.db") as db:
        return {Path(o).name: (v, r, rv) for o, v, r, rv in db.execute("SELECT origin, verdict, recipe, recipe_version FROM inspections")}


def _spot_parts(line: Path, out: Path) -> tuple[Path, Path, Path]:
    """One good part, as it is, with a plain spot at the top left, and with the same spot at the bottom right."""
    import cv2

    from station.train.defects import draw_defect

    good = sorted((line / "test" / "good").glob("*.png"))[0]
    img = cv2.imread(str(good), cv2.IMREAD_UNCHANGED).astype(np.float32) / 255.0
    out.mkdir(parents=True)
    size = img.shape[0]
    made = []
    for name, centre in (("top-left", 0.25), ("bottom-right", 0.75)):
        part = draw_defect(img.copy(), "spot", 1.0, np.random.default_rng(0), center=(centre * size, centre * size))
        path = out / f"{name}.png"
        cv2.imwrite(str(path), np.clip(part * 255 + 0.5, 0, 255).astype(np.uint8))
        made.append(path)
    plain = out / "plain.png"
    plain.write_bytes(good.read_bytes())
    return plain, made[0], made[1]


def test_a_mask_hides_a_drawn_defect_and_the_same_defect_outside_it_fails(brick, tmp_path):
    data = tmp_path / "data"
    plain, inside, outside = _spot_parts(brick["line"], tmp_path / "parts")
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    before = run_json("run", str(tmp_path / "parts"), "--recipe", "brick", data=data)
    assert before["recipe"]["name"] == "brick" and before["recipe"]["golden"] is None
    first = _verdicts(data)
    # Without a mask the spot fails wherever it is: the mask below is what makes the difference.
    assert first["top-left.png"][0] == "fail" and first["bottom-right.png"][0] == "fail" and first["plain.png"][0] == "pass"

    run_cli("recipes", "set", "brick", "masks", "0.1,0.1,0.3,0.3", data=data)
    shown = run_json("recipes", "show", "brick", data=data)
    assert shown["version"] == 2 and shown["masks"] == [[0.1, 0.1, 0.3, 0.3]] and [h["version"] for h in shown["history"]] == [1, 2]
    data2 = tmp_path / "data2"  # a fresh store, so every part is judged again under the mask
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data2)
    run_cli("recipes", "set", "brick", "masks", "0.1,0.1,0.3,0.3", data=data2)
    run_json("run", str(tmp_path / "parts"), "--recipe", "brick", data=data2)
    after = _verdicts(data2)
    assert after["top-left.png"][:2] == ("pass", "brick"), "a defect inside a mask never raises an alarm"
    assert after["bottom-right.png"][0] == "fail", "the same defect outside the mask still fails"
    assert after["plain.png"][0] == "pass" and after["plain.png"][2] == 2  # stamped with the recipe's version

    bad = run_cli("recipes", "set", "brick", "masks", "0.8,0.1,0.3,0.3", data=data2, check=False)
    assert bad.returncode == 2 and "not inside the image" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    classifier = run_cli("recipes", "add", "demo", "--model", "default", data=data2)
    assert classifier.returncode == 0
    run_cli("recipes", "set", "demo", "masks", "0.1,0.1,0.2,0.2", data=data2)
    refused = run_cli("run", str(tmp_path / "parts"), "--recipe", "demo", data=data2, check=False)
    assert refused.returncode == 2 and "cannot ignore an area" in refused.stderr


def test_golden_check_refuses_a_recipe_whose_model_was_swapped_for_a_bad_one(brick, tmp_path):
    data = tmp_path / "data"
    test = brick["line"] / "test"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    run_cli("recipes", "golden", "brick", "pass", *map(str, sorted((test / "good").glob("*.png"))[:4]), data=data)
    run_cli("recipes", "golden", "brick", "fail", *map(str, sorted((test / "scratch").glob("*.png"))[:2]), data=data)
    ok = run_json("golden", "brick", data=data)
    assert ok["passed"] and len(ok["parts"]) == 6 and ok["model"] == "m_brick"

    run_cli("recipes", "set", "brick", "model", str(brick["other"]), data=data)  # another product's model
    check = run_cli("golden", "brick", "--json", data=data, check=False)
    report = json.loads(check.stdout)
    assert check.returncode == 1 and not report["passed"] and report["wrong"] >= 1 and report["model"] == "m_gravel"
    run = run_cli("run", str(test), "--recipe", "brick", data=data, check=False)
    assert run.returncode == 2 and "golden check of brick failed" in run.stderr and "production does not start" in run.stderr
    assert _verdicts(data) == {}, "no part is judged by a recipe that failed its golden check"

    run_cli("recipes", "set", "brick", "golden_policy", "alarm", data=data)
    started = run_json("run", str(test), "--recipe", "brick", data=data)
    assert started["processed"] == 20 and started["recipe"]["golden"]["passed"] is False
    with sqlite3.connect(data / "station.db") as db:
        actions = [a for (a,) in db.execute("SELECT action FROM audit ORDER BY id")]
    assert actions.count("golden_check") == 4 and "recipe_added" in actions and "changeover" in actions


def test_queue_export_and_stats_of_one_recipe_never_include_anothers(brick, tmp_path, demo_images):
    data = tmp_path / "data"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    run_cli("recipes", "add", "demo", "--model", "default", data=data)
    run_json("run", str(brick["line"] / "test"), "--recipe", "brick", data=data)
    run_json("run", str(demo_images), "--recipe", "demo", "--limit", "12", data=data)
    listed = {r["name"]: r for r in run_json("recipes", "list", data=data)}
    assert listed["demo"]["active"] and not listed["brick"]["active"], "the last recipe run is the station's product"

    queue = {r: run_json("queue", "--recipe", r, "--limit", "100", data=data) for r in ("brick", "demo", "all")}
    assert len(queue["brick"]) == 20 and len(queue["demo"]) == 12 and len(queue["all"]) == 32
    assert len(run_json("queue", "--limit", "100", data=data)) == 12, "by default, the station's active product"
    for r in ("brick", "demo"):
        for item in queue[r][:6]:
            run_cli("label", str(item["id"]), "good" if item["verdict"] == "pass" else "scratch", "--by", "ines", data=data)
    out = run_json("export", str(tmp_path / "brick-export"), "--recipe", "brick", "--val-fraction", "0.3", data=data)
    assert out["train"] + out["val"] == 6
    with open(tmp_path / "brick-export" / "manifest.csv", newline="") as f:
        origins = [row["origin"] for row in csv.DictReader(f)]
    assert len(origins) == 6 and all(str(brick["line"]) in o for o in origins), "only brick's reviews"
    stats = {r: run_json("stats", "--recipe", r, data=data) for r in ("brick", "demo", "all")}
    assert (stats["brick"]["inspected"], stats["demo"]["inspected"], stats["all"]["inspected"]) == (20, 12, 32)
    assert stats["brick"]["recipe"] == "brick" and stats["all"]["recipe"] is None
    unknown = run_cli("queue", "--recipe", "nope", data=data, check=False)
    assert unknown.returncode == 2 and "no recipe 'nope'" in unknown.stderr and "brick" in unknown.stderr


def test_a_recipe_exported_from_one_station_imports_on_another_and_refuses_a_changed_file(brick, tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    test = brick["line"] / "test"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=here)
    run_cli("recipes", "set", "brick", "masks", "0.1,0.1,0.2,0.2", data=here)
    run_cli("recipes", "golden", "brick", "pass", *map(str, sorted((test / "good").glob("*.png"))[:2]), data=here)
    out = run_json("recipes", "export", "brick", str(tmp_path / "moved"), data=here)
    assert out["files"] >= 4 and len(out["sha256"]) == 64

    changed = tmp_path / "changed"
    import shutil

    shutil.copytree(tmp_path / "moved", changed)
    golden = next((changed / "golden").iterdir())
    golden.write_bytes(golden.read_bytes() + b"x")
    refused = run_cli("recipes", "import", str(changed), data=there, check=False)
    assert refused.returncode == 2 and "differs from the exported file" in refused.stderr
    assert run_json("recipes", "list", data=there) == [], "nothing is kept from a changed folder"

    got = run_json("recipes", "import", str(tmp_path / "moved"), data=there)
    assert got["name"] == "brick" and got["model"] == "m_brick" and got["masks"] == [[0.1, 0.1, 0.2, 0.2]]
    assert run_json("golden", "brick", data=there)["passed"], "the golden parts came along"
