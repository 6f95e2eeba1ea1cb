"""#28: a colour-only defect (a stain whose hue turns while its grey level stays) is caught from
good parts alone, on a real colour photograph (scikit-image's immunohistochemistry micrograph),
fixtured and where every part is a new piece; both backends agree."""

from __future__ import annotations

import json

import cv2
import pytest
from conftest import run_cli, run_json

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("line", ["ihc", "ihc-web"])
def test_a_discoloration_is_caught_from_good_parts_alone(line, tmp_path, data_dir):
    parts = tmp_path / line
    run_cli("line-data", str(parts), "--line", line, "--good", "20", "--stream", "0", "--test", "84", "--seed", "2")
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
