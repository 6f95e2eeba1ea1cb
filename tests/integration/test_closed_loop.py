"""The loop the station exists for: inspect parts the model never saw, have an inspector label a
few, export, retrain from the active model, and check the new model is better on the rest."""

from __future__ import annotations

import random
import shutil

import pytest
from conftest import run_cli, run_json

from station.cli import main as station

pytestmark = pytest.mark.slow


def truth_of(origin: str) -> str:
    return origin.replace("\\", "/").split("/")[-2]


def test_label_export_retrain_beats_the_original_on_held_out_items(tmp_path, data_dir):
    # Granite is a texture family the default model was never trained on. A random 80 of the 200
    # parts are held out before anything runs: the judge never passes through the queue.
    generated = tmp_path / "generated"
    run_cli("demo-data", str(generated), "--count", "200", "--seed", "31", "--families", "granite")
    files = sorted(generated.rglob("*.png"))
    random.Random(0).shuffle(files)
    for i, f in enumerate(files):
        dest = tmp_path / ("held_out" if i < 80 else "line") / f.parent.name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, dest)
    held_out = tmp_path / "held_out"
    run_json("run", str(tmp_path / "line"), data=data_dir)

    queue = run_json("queue", "--limit", "1000", data=data_dir)
    assert len(queue) == 120
    k = 60
    for item in queue[:k]:  # the inspector labels the first K of the uncertainty order
        assert station(["label", str(item["id"]), truth_of(item["origin"]), "--by", "qa", "--data", str(data_dir)]) == 0

    exported = run_json("export", str(tmp_path / "reviewed"), data=data_dir)
    assert exported["train"] + exported["val"] == k
    trained = run_json("train", str(tmp_path / "reviewed"), "--base", "default", "--out", str(tmp_path / "new"),
                       "--epochs", "20", "--views", "2", data=data_dir)
    assert trained["classes"][0] == "good"

    before = run_json("evaluate", str(held_out), data=data_dir)
    after = run_json("evaluate", str(held_out), "--model", str(tmp_path / "new"), data=data_dir)
    print(f"held-out F1 {before['f1']:.3f} -> {after['f1']:.3f}, accuracy {before['accuracy']:.3f} -> {after['accuracy']:.3f}")
    assert after["n"] == before["n"] == 80
    assert after["accuracy"] > before["accuracy"]
    assert after["f1"] > before["f1"]

    promoted = run_cli("promote", str(tmp_path / "new"), "--as", "granite-1", data=data_dir)
    assert promoted.returncode == 0
    models = {m["name"]: m for m in run_json("models", data=data_dir)}
    assert models["granite-1"]["active"] and not models["default"]["active"], "the old model is kept, no longer active"


def test_cli_reproduces_the_app_retrain(demo_images, data_dir, tmp_path):
    """The app's Retrain (station.learn.retrain) and the documented CLI steps give the same model metrics."""
    from station.learn.retrain import export_dir, retrain

    run_cli("run", str(demo_images), data=data_dir)
    for item in run_json("queue", "--limit", "100", data=data_dir):
        station(["label", str(item["id"]), truth_of(item["origin"]), "--by", "qa", "--data", str(data_dir)])
    app = retrain(str(data_dir), epochs=8)
    exported = export_dir(str(data_dir))
    cli_model = tmp_path / "cli-model"
    run_json("train", str(exported), "--base", "default", "--out", str(cli_model), "--epochs", "8", data=data_dir)
    cli_new = run_json("evaluate", str(exported / "val"), "--model", str(cli_model), data=data_dir)
    cli_active = run_json("evaluate", str(exported / "val"), data=data_dir)
    for key in ("n", "accuracy", "f1", "confusion"):
        assert cli_new[key] == app.new[key]
        assert cli_active[key] == app.active[key]
