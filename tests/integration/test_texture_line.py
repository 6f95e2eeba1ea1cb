"""#28: where every part is a new piece of stone (no template applies), the texture memory finds
plain defects the patch memory alone lets through, on real photographs (scikit-image's gravel),
without flagging more good parts; both backends agree."""

from __future__ import annotations

import json
import shutil

import cv2
import pytest
from conftest import run_cli, run_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stone(tmp_path_factory):
    """A gravel-web line with every defect drawn plainly, and a model taught on its good parts."""
    root = tmp_path_factory.mktemp("stone")
    parts = root / "gravel-web"
    run_cli("line-data", str(parts), "--line", "gravel-web", "--good", "40", "--stream", "0", "--test", "80",
            "--strength", "1", "--seed", "4")
    taught = root / "taught"
    said = run_json("teach", str(parts / "good"), "--out", str(taught), "--bank", "1024")
    return parts, taught, said


def test_plain_defects_on_stone_are_found_by_the_texture_memory(stone, tmp_path, data_dir):
    parts, with_texture, said = stone
    card = json.loads((with_texture / "card.json").read_text())
    assert said["texture"] is True and card["anomaly"]["texture"]["used"] and not card["anomaly"]["template"]["used"]
    # The patch memory alone: the same bank and cut, the texture memory taken off the card.
    without = tmp_path / "patches-only"
    shutil.copytree(with_texture, without)
    card["anomaly"]["texture"] = {"used": False, "reason": "taken off for the comparison"}
    (without / "card.json").write_text(json.dumps(card))

    ev = run_json("evaluate", str(parts / "test"), "--model", str(with_texture), data=data_dir)
    bare = run_json("evaluate", str(parts / "test"), "--model", str(without), data=data_dir)
    caught = lambda e: sum(c["n"] * c["flagged_defect"] for k, c in e["per_class"].items() if k != "good")  # noqa: E731
    false_alarms = lambda e: e["per_class"]["good"]["n"] * e["per_class"]["good"]["flagged_defect"]  # noqa: E731
    # The patch memory's features read a plain crack or scratch across the stones as one more
    # gap between them; the texture memory sees the line and the smoothed patch.
    assert caught(ev) >= caught(bare) + 8 and ev["f1"] > bare["f1"] + 0.15, (ev, bare)
    assert false_alarms(ev) <= false_alarms(bare) + 2, (ev["per_class"]["good"], bare["per_class"]["good"])
    from backend_checks import compare_backends

    compare_backends(with_texture, [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted((parts / "test").rglob("*.png"))[:16]])


def test_teach_texture_off_keeps_the_patch_memory_alone(stone, tmp_path, data_dir):
    parts, _, _ = stone
    few = tmp_path / "few"
    few.mkdir()
    for p in sorted((parts / "good").rglob("*.png"))[:5]:
        shutil.copy(p, few / p.name)
    said = run_cli("teach", str(few), "--out", str(tmp_path / "m"), "--bank", "64", "--texture", "off", data=data_dir).stdout
    assert "texture memory: no" in said, said
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["anomaly"]["texture"] == {"used": False, "reason": "turned off (--texture off)"}


def test_a_card_whose_texture_measures_differ_is_one_line(stone, tmp_path, data_dir):
    parts, taught, _ = stone
    model = tmp_path / "edited"
    shutil.copytree(taught, model)
    card_path = model / "card.json"
    card = json.loads(card_path.read_text())
    card["anomaly"]["texture"]["measures"][0] = "energy 99"  # a card from a station that measures otherwise
    card_path.write_text(json.dumps(card))
    image = str(next((parts / "good").rglob("*.png")))
    r = run_cli("inspect", image, "--model", str(model), check=False, data=data_dir)
    assert r.returncode == 2 and "texture memory measures energy 99" in r.stderr and "Traceback" not in r.stderr, r.stderr
    card["anomaly"]["texture"]["mu"] = [1.0]
    card_path.write_text(json.dumps(card))
    r = run_cli("inspect", image, "--model", str(model), check=False, data=data_dir)
    assert r.returncode == 2 and "anomaly.texture.mu" in r.stderr and "Traceback" not in r.stderr, r.stderr
