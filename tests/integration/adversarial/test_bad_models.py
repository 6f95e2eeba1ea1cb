"""No model file can make the station pass every part: a bad card, a bad threshold override,
weights that do not match their card. Each is one line naming the file and the field, and a
model that cannot load is never made active."""

from __future__ import annotations

import json

import pytest
from common.redteam_bad_models import copy_default, edit_card, refused
from conftest import run_cli, run_json

pytestmark = pytest.mark.slow  # many command-line round trips or training


def test_promote_never_activates_a_model_that_cannot_load(tmp_path, data_dir):
    d = copy_default(tmp_path, "fine")
    run_cli("promote", str(d), "--as", "fine", data=data_dir)
    run_cli("promote", "default", data=data_dir)
    weights = data_dir / "models" / "fine" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated after registration
    refused(run_cli("promote", "fine", check=False, data=data_dir), "model.safetensors")
    active = {m["name"]: m["active"] for m in run_json("models", data=data_dir)}
    assert active["default"] and not active["fine"]
    bad = copy_default(tmp_path, "bad")
    edit_card(bad, threshold=7)
    refused(run_cli("promote", str(bad), "--as", "bad", check=False, data=data_dir), "threshold")
    assert "bad" not in {m["name"] for m in run_json("models", data=data_dir)}


def test_training_into_a_model_folder_replaces_weights_and_card_together(tmp_path, demo_images, data_dir):
    import hashlib

    out = tmp_path / "m"
    args = ("train", str(demo_images), "--out", str(out), "--arch", "small_cnn", "--epochs", "1")
    run_cli(*args, data=data_dir)
    (out / "notes.txt").write_text("line 7, night shift")
    first = (out / "model.safetensors").read_bytes()
    run_cli(*args, "--seed", "5", data=data_dir)
    weights = (out / "model.safetensors").read_bytes()
    card = json.loads((out / "card.json").read_text())
    assert weights != first and card["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert (out / "notes.txt").read_text() == "line 7, night shift", "other files in the folder move along"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [], "no temporary folder is left"
    assert run_json("inspect", image_of(demo_images), "--model", str(out), data=data_dir)["verdict"] in ("pass", "fail")


def image_of(demo_images):
    return str(next((demo_images / "crack").glob("*.png")))


def test_a_folder_whose_onnx_is_another_models_is_not_promoted(tmp_path, data_dir):
    """#29: a model folder with another model's model.onnx (hashes recomputed) judged at 0.65 on
    onnxruntime against 0.983 on torch, and promote accepted it."""
    from safetensors.numpy import load_file, save_file

    from station.core.fileutil import file_sha256

    d = copy_default(tmp_path, "mixed")
    weights = load_file(str(d / "model.safetensors"))
    weights["head.fc.weight"] = weights["head.fc.weight"][::-1].copy()  # the classes' rows swapped: another model
    weights["head.fc.bias"] = weights["head.fc.bias"][::-1].copy()
    save_file(weights, str(d / "model.safetensors"))
    edit_card(d, weights_sha256=file_sha256(d / "model.safetensors"))  # the card agrees with each file
    refused(run_cli("promote", str(d), "--as", "mixed", check=False, data=data_dir), "disagree on probe parts")
    assert [m["name"] for m in run_json("models", data=data_dir) if m["active"]] == ["default"]


def test_an_anomaly_model_whose_bank_has_the_wrong_width_is_not_promoted(tmp_path, data_dir):
    """#29: promote accepted an anomaly model whose memory bank had the wrong width (its hash
    recomputed), and every later run failed."""
    from safetensors.numpy import load_file, save_file

    from station.core.fileutil import file_sha256

    parts = tmp_path / "parts"
    run_cli("line-data", str(parts), "--line", "brick", "--good", "6", "--stream", "0", "--test", "0", "--size", "96")
    model = tmp_path / "narrow"
    run_cli("teach", str(parts / "good"), "--out", str(model), "--bank", "64", "--size", "96", data=data_dir)
    weights = load_file(str(model / "model.safetensors"))
    weights["bank"] = weights["bank"][:, :7].copy()  # patches of another trunk's width
    save_file(weights, str(model / "model.safetensors"))
    edit_card(model, weights_sha256=file_sha256(model / "model.safetensors"))
    refused(run_cli("promote", str(model), "--as", "narrow", check=False, data=data_dir), "bank")
    assert [m["name"] for m in run_json("models", data=data_dir) if m["active"]] == ["default"]
