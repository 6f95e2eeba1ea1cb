"""#28: a colour-only defect (a stain whose hue turns while its grey level stays) is caught from
good parts alone, on a real colour photograph (scikit-image's immunohistochemistry micrograph),
fixtured and where every part is a new piece; both backends agree."""

from __future__ import annotations

import json

import cv2
import pytest
from conftest import label_in_process, run_cli, run_json

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("line", ["ihc", "ihc-web"])
def test_a_discoloration_is_caught_from_good_parts_alone(line, tmp_path, data_dir):
    parts = tmp_path / line
    stream = "40" if line == "ihc" else "0"
    run_cli("line-data", str(parts), "--line", line, "--good", "20", "--stream", stream, "--test", "84", "--seed", "2")
    model = tmp_path / "taught"
    run_cli("teach", str(parts / "good"), "--out", str(model), "--bank", "512", data=data_dir)
    card = json.loads((model / "card.json").read_text())
    assert card["anomaly"]["colour"]["used"] and card["anomaly"]["colour"]["bank"] > 0, card["anomaly"]["colour"]
    ev = run_json("evaluate", str(parts / "test"), "--model", str(model), data=data_dir)
    per = ev["per_class"]
    # Small here (20 good parts, 6-7 discolored; the full lines in docs/learning.md catch 20 of
    # 20): fixtured, every one; every part new, all but the faintest, which its test rows' own
    # colours reach.
    assert per["discolor"]["n"] >= 5 and per["discolor"]["flagged_defect"] >= (1.0 if line == "ihc" else 0.8), per["discolor"]
    if line == "ihc":  # fixtured: no drift between the taught and the tested parts
        assert per["good"]["flagged_defect"] <= 0.1 and ev["f1"] >= 0.9, ev
    from backend_checks import compare_backends

    compare_backends(model, [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted((parts / "test").rglob("*.png"))[:32]])
    if line != "ihc":
        return
    # Reviews of a colour line retrain into a hybrid that keeps its colour memory (one lost it,
    # and then flagged every good part) and is no worse than the model it learned from.
    run_cli("run", str(parts / "line"), "--model", str(model), data=data_dir)
    for q in run_json("queue", "--limit", "100", data=data_dir):  # every part: defects too, so a classifier head is trained
        label_in_process(data_dir, q["id"], q["origin"].replace("\\", "/").split("/")[-2], "qa")
    run_cli("export", str(tmp_path / "reviewed"), data=data_dir)
    learned = run_json("train", str(tmp_path / "reviewed"), "--base", str(model), "--out", str(tmp_path / "learned"), data=data_dir)
    card = json.loads((tmp_path / "learned" / "card.json").read_text())
    assert card["anomaly"]["colour"]["used"] and learned["comparison"]["verdict"] != "worse", learned["comparison"]
    after = run_json("evaluate", str(parts / "test"), "--model", str(tmp_path / "learned"), data=data_dir)
    assert after["f1"] >= ev["f1"] - 0.05 and after["per_class"]["good"]["flagged_defect"] <= 0.1, (ev, after)
    # The reviews' patch scorer may let the faintest go (its learned offset trades them for fewer
    # false alarms); the colour memory still catches most.
    assert after["per_class"]["discolor"]["flagged_defect"] >= 0.5, after["per_class"]["discolor"]  # 5 of 7 here
