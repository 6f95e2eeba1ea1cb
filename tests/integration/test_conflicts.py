"""Identical image content with different labels is never resolved silently (the queue, label and
export say so), and `station stats` counts reviews into the yield, for a run or this shift."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import label_in_process, run_cli, run_json

pytestmark = pytest.mark.slow


def _second_model(model, out: Path) -> Path:
    """The default model with one bias nudged: a real, different model (another weights hash),
    as a retrain gives; its inspections of the same images are rows of their own."""
    import torch

    from station.model.directory import save_model_dir

    net = model.network
    with torch.no_grad():
        bias = [p for name, p in net.named_parameters() if name.endswith("bias")][-1]
        original = bias.clone()
        bias.add_(1e-3)
    try:
        card = {k: v for k, v in model.card.items() if k != "weights_sha256"} | {"name": "nudged"}
        return save_model_dir(net, card, out)
    finally:
        with torch.no_grad():
            bias.copy_(original)  # the session's shared model, exactly as it was


@pytest.fixture()
def twice(demo_images, data_dir, tmp_path, model):
    """Every demo image inspected by two models: two rows per image content."""
    other = _second_model(model, tmp_path / "nudged")
    run_cli("run", str(demo_images), data=data_dir)
    run_cli("run", str(demo_images), "--model", str(other), data=data_dir)
    return data_dir


def test_identical_images_labelled_differently_are_flagged_in_label_queue_and_export(twice, tmp_path):
    data = twice
    queue = run_json("queue", "--limit", "100", data=data)
    assert len(queue) == 48
    by_origin: dict[str, list[int]] = {}
    for q in queue:
        by_origin.setdefault(q["origin"], []).append(q["id"])
    a, b = next(ids for ids in by_origin.values() if len(ids) == 2)
    first = json.loads(run_cli("label", str(a), "crack", "--by", "ann", "--json", data=data).stdout)
    assert "conflict" not in first
    # The twin of a labelled image shows that label before anyone decides.
    twin = next(q for q in run_json("queue", "--limit", "100", data=data) if q["id"] == b)
    assert twin["same_image_labels"] == {"crack": [a]} and twin["conflict"] is None
    proc = run_cli("label", str(b), "good", "--by", "bob", "--json", data=data)
    assert json.loads(proc.stdout)["conflict"] == f"crack (#{a}), good (#{b})"
    assert "other labels" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1

    listed = run_json("queue", "--conflicts", data=data)
    assert sorted(x["id"] for x in listed) == sorted([a, b])
    assert all(x["conflict"] == ["crack", "good"] for x in listed)
    assert run_json("queue", "--conflicts", data=data) == listed  # reading changes nothing

    proc = run_cli("export", str(tmp_path / "out"), "--json", data=data)
    out = json.loads(proc.stdout)
    assert out["conflicts"] == 1 and out["train"] + out["val"] == 1, "one image, once, under its newest review"
    assert "conflicting labels" in proc.stderr
    with open(tmp_path / "out" / "manifest.csv", newline="", encoding="utf-8") as f:
        (row,) = list(csv.DictReader(f))
    assert row["label"] == "good" and row["conflict"] == f"crack (#{a}), good (#{b})"


def test_stats_count_reviews_into_the_yield_for_a_run_and_for_this_shift(twice):
    data = twice
    start = (datetime.now().astimezone() - timedelta(hours=1)).strftime("%H:%M")
    run_cli("settings", "floor.shifts", start, data=data)  # one shift a day, begun an hour ago
    bad = run_cli("settings", "floor.shifts", "25:00,06:00", data=data, check=False)
    assert bad.returncode == 2 and "25:00" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1

    before = run_json("stats", data=data)
    assert before["inspected"] == 48 and before["reviewed"] == 0
    assert before["passed"] + before["failed"] == 48 and before["yield"] == pytest.approx(before["passed"] / 48)
    queue = run_json("queue", "--limit", "100", data=data)
    false_alarm = next(q for q in queue if q["verdict"] == "fail")
    missed = next(q for q in queue if q["verdict"] == "pass")
    label_in_process(data, false_alarm["id"], "good", "qa")  # a FAIL the inspector clears
    label_in_process(data, missed["id"], "scratch", "qa")  # a PASS that was a defect
    confirmed = next(q for q in queue if q["verdict"] == "pass" and q["id"] != missed["id"])
    label_in_process(data, confirmed["id"], "good", "qa")

    after = run_json("stats", data=data)
    assert (after["reviewed"], after["overturned"]) == (3, 2)
    assert after["good"] == before["passed"] + 1 - 1
    shift = run_json("stats", "--shift", data=data)
    assert shift["shift"].startswith(start) and shift["inspected"] == 48 and shift["good"] == after["good"]
    one_run = run_json("stats", "--run", "1", data=data)
    assert one_run["inspected"] == 24
    text = run_cli("stats", "--shift", data=data).stdout
    assert f"shift {start}" in text and "yield after reviews" in text
