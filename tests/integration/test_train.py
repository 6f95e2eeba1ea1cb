"""Training end to end on a tiny set, `--base` adding a class, evaluation with a report."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import run_cli, run_json

pytestmark = pytest.mark.slow  # many command-line round trips or training


def test_tiny_training_run_and_evaluate(tmp_path):
    run_cli("demo-data", str(tmp_path / "set"), "--count", "40", "--seed", "8")
    out = run_json("train", str(tmp_path / "set"), "--out", str(tmp_path / "m"), "--epochs", "15", "--views", "1")
    assert out["classes"][0] == "good" and len(out["classes"]) == 5
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["training_data"]["n_train"] + card["training_data"]["n_val"] == 40
    assert 0 < card["threshold"] < 1 and card["parent"] is None
    # What it learned from, by content: `station part` finds the models a part went into.
    import hashlib

    learned = set((tmp_path / "m" / "trained_on.txt").read_text().split())
    assert learned == {hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "set").rglob("*.png")}
    ev = run_json("evaluate", str(tmp_path / "set"), "--model", str(tmp_path / "m"), "--report", str(tmp_path / "r"))
    assert ev["n"] == 40 and 0 <= ev["f1"] <= 1
    assert sum(map(sum, ev["confusion"]["matrix"])) == 40
    for name in ("index.html", "confusion.png", "roc.png", "metrics.json"):
        assert (tmp_path / "r" / name).is_file()

    # An inspector named a new defect type: --base learns it and keeps the parent's classes.
    shutil.copytree(tmp_path / "set" / "spot", tmp_path / "set" / "dent")
    for p in (tmp_path / "set" / "dent").iterdir():
        p.rename(p.with_name("dent_" + p.name))
    out2 = run_json("train", str(tmp_path / "set"), "--out", str(tmp_path / "m2"), "--base", str(tmp_path / "m"), "--epochs", "5", "--views", "1")
    assert out2["classes"][:5] == out["classes"] and out2["classes"][5] == "dent"
    card2 = json.loads((tmp_path / "m2" / "card.json").read_text())
    assert card2["parent"]["version"] == card["weights_sha256"][:12]
    assert set((tmp_path / "m2" / "trained_on.txt").read_text().split()) == learned, "the dent copies are the same images"


def test_imbalanced_training_does_not_call_everything_defective(tmp_path):
    """The hazelnut notebook: 391 good vs 10 defects predicted all defective. Class weights and a
    calibrated threshold must keep good parts good."""
    from station.train import synth

    root = tmp_path / "imb"
    synth.generate(root, count=60, seed=21)
    for label in ("crack", "scratch", "stain"):
        shutil.rmtree(root / label)
    spots = sorted((root / "spot").glob("*.png"))
    for p in spots[3:]:
        p.unlink()
    run_json("train", str(root), "--out", str(tmp_path / "m"), "--epochs", "30", "--views", "2")
    only_good = tmp_path / "only" / "good"
    shutil.copytree(root / "good", only_good)
    ev = run_json("evaluate", str(tmp_path / "only"), "--model", str(tmp_path / "m"))
    # evaluating only good parts: the share flagged defective must be small
    flagged = ev["per_class"]["good"]["flagged_defect"]
    assert flagged < 0.5, flagged


def test_small_cnn_baseline_and_finetune_paths(tmp_path):
    """The from-scratch baseline and the optional last-stage fine-tune both produce loadable models."""
    from station.model.directory import load_model_dir
    from station.train import synth
    from station.train.config import TrainConfig
    from station.train.fit import train

    synth.generate(tmp_path / "s", count=20, seed=3)
    tuned = train(tmp_path / "s", tmp_path / "tuned", TrainConfig(epochs=2, views=1, finetune_epochs=1))
    scratch = train(tmp_path / "s", tmp_path / "cnn", TrainConfig(arch="small_cnn", epochs=1))
    for out, arch, size in ((tuned, "efficientnet_lite0", 256), (scratch, "small_cnn", 128)):
        m = load_model_dir(out["model"])
        assert m.card["arch"] == arch and m.input_size == size
        assert m.card["training"]["finetune_epochs"] == (1 if arch == "efficientnet_lite0" else 0)
        assert len(m.predict([m.cam(np.zeros((32, 32), np.uint8))])) == 1
