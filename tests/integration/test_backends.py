"""Two inference backends, one set of verdicts: torch (which trains) and ONNX Runtime (the default
where installed). Exports are made when a model is saved, registered or promoted, and a load
refuses an export that does not belong to its card."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from backend_checks import compare_backends
from conftest import ROOT, run_cli, run_json

from station.core.config import default_model_dir

pytestmark = pytest.mark.slow


def _decoded(folder) -> list[np.ndarray]:
    from station.core.imageio import decode, read_bytes

    return [decode(read_bytes(p)) for p in sorted(folder.rglob("*.png"))]


def test_backends_agree_on_500_generated_parts_and_the_demo(tmp_path):
    from station.train import synth

    synth.generate(tmp_path / "parts", 500, seed=2026)
    images = _decoded(tmp_path / "parts") + _decoded(ROOT / "resources" / "demo")
    assert len(images) >= 524
    got = compare_backends(default_model_dir(), images)
    print(f"\nbackends agree on {got['images']} images; worst heatmap r {got['worst_heatmap_r']:.5f}, "
          f"worst p_defect gap {got['worst_p_defect_gap']:.2e}")
    assert got["worst_p_defect_gap"] < 1e-3


def _copy_default(tmp_path):
    dst = tmp_path / "m"
    shutil.copytree(default_model_dir(), dst)
    return dst


def test_an_export_that_does_not_match_its_card_is_refused_then_promote_repairs_it(tmp_path, data_dir, demo_images):
    model = _copy_default(tmp_path)
    with open(model / "model.onnx", "ab") as f:
        f.write(b"\0")  # a copy cut short, or another model's export
    image = str(next((demo_images / "crack").glob("*.png")))
    proc = run_cli("inspect", image, "--model", str(model), "--backend", "onnxruntime", "--json", check=False, data=data_dir)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "model.onnx" in proc.stderr and "onnx_sha256" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    # auto: the verdict still comes, from torch, and the log says why.
    auto = run_json("inspect", image, "--model", str(model), data=data_dir)
    assert auto["verdict"] == "fail"
    log = (data_dir / "logs" / "station.log").read_text()
    assert "running m on torch" in log and "onnx_sha256" in log

    # Registering (promote of a folder) exports it again: the registered copy runs on onnxruntime.
    (model / "model.onnx").unlink()
    run_cli("promote", str(model), "--as", "repaired", data=data_dir)
    card = json.loads((data_dir / "models" / "repaired" / "card.json").read_text())
    from station.core.fileutil import file_sha256

    assert card["onnx_sha256"] == file_sha256(data_dir / "models" / "repaired" / "model.onnx")
    out = run_json("inspect", image, "--backend", "onnxruntime", data=data_dir)
    assert out == auto


def test_backend_flag_and_setting_choose_the_engine(tmp_path, data_dir, demo_images):
    src = str(demo_images)
    auto = run_json("run", src, "--limit", "4", data=data_dir)
    assert auto["model"]["backend"] == "onnxruntime"
    other = tmp_path / "other"
    run_cli("settings", "inference.backend", "torch", data=other)
    by_setting = run_json("run", src, "--limit", "4", data=other)
    assert by_setting["model"]["backend"] == "torch"
    flag = tmp_path / "flag"
    by_flag = run_json("run", src, "--limit", "4", "--backend", "torch", data=flag)
    assert by_flag["model"]["backend"] == "torch"
    assert by_flag["verdicts"] == by_setting["verdicts"] == auto["verdicts"]
    bad = run_cli("settings", "inference.backend", "tensorflow", check=False, data=data_dir)
    assert bad.returncode != 0 and "auto, torch or onnxruntime" in bad.stderr


def test_a_saved_model_is_exported_with_its_hash(tmp_path):
    """Every save writes model.onnx beside the weights, from the weights as saved (fp16)."""
    from station.model.directory import load_model_dir, save_model_dir

    src = load_model_dir(default_model_dir())
    out = save_model_dir(src.network, dict(src.card), tmp_path / "saved")
    card = json.loads((out / "card.json").read_text())
    from station.core.fileutil import file_sha256

    assert card["onnx_sha256"] == file_sha256(out / "model.onnx")
    assert card["weights_sha256"] == file_sha256(out / "model.safetensors")
    got = compare_backends(out, _decoded(ROOT / "resources" / "demo"))
    assert got["worst_p_defect_gap"] < 1e-3


def test_the_python_api_holds_on_the_default_backend(demo_images):
    """load_model() runs on onnxruntime, and still offers the documented torch surface."""
    import cv2
    import torch

    from station.model import load_model

    m = load_model(str(default_model_dir()))
    assert m.backend == "onnxruntime"
    image = cv2.imread(str(next((demo_images / "spot").glob("*.png"))), cv2.IMREAD_UNCHANGED)
    x = m.preprocess(image)
    assert isinstance(x, torch.Tensor) and tuple(x.shape) == (3, m.input_size, m.input_size)
    assert isinstance(m.network, torch.nn.Module) and hasattr(m.network, m.cam_layer)
    with torch.inference_mode():
        logits = m.network(x[None])
    ours = m.probabilities(x[None].numpy())
    assert np.allclose(torch.softmax(logits, 1).numpy(), ours, atol=1e-4)
    assert m.predict([image])[0].label == load_model(str(default_model_dir()), backend="torch").predict([image])[0].label
