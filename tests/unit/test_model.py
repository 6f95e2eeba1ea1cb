"""Model files load safely; broken ones fail in one line naming the file; the API works."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import run_cli

from station.core.config import default_model_dir
from station.core.errors import ModelError
from station.model.directory import load_model_dir


def _copy_default(tmp_path):
    dst = tmp_path / "m"
    shutil.copytree(default_model_dir(), dst)
    return dst


def test_default_model_card(model):
    card = model.card
    assert model.classes[0] == "good" and len(model.classes) >= 4
    for key in ("arch", "classes", "input_size", "normalization", "threshold", "training_data", "metrics", "created", "parent"):
        assert key in card
    assert 0 < model.threshold < 1
    assert len(card["training_data"]["sha256"]) == 64
    assert model.cam_layer == "backbone" and hasattr(model.network, model.cam_layer)


def test_corrupt_truncated_and_mismatched_models(tmp_path):
    corrupt = _copy_default(tmp_path / "a")
    (corrupt / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match=r"model\.safetensors.*corrupt or truncated"):
        load_model_dir(corrupt)

    truncated = _copy_default(tmp_path / "b")
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"model\.safetensors.*corrupt or truncated"):
        load_model_dir(truncated)

    mismatched = _copy_default(tmp_path / "c")
    card = json.loads((mismatched / "card.json").read_text())
    card["classes"] = card["classes"] + ["dent"]
    (mismatched / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"tensor head\.fc\.weight has shape"):
        load_model_dir(mismatched)

    bad_json = _copy_default(tmp_path / "d")
    (bad_json / "card.json").write_text("{not json")
    with pytest.raises(ModelError, match=r"card\.json: not valid JSON"):
        load_model_dir(bad_json)

    with pytest.raises(ModelError, match="not found"):
        load_model_dir(tmp_path / "nothing-here")


def test_broken_model_via_cli_is_one_line(tmp_path, demo_images):
    broken = _copy_default(tmp_path)
    (broken / "model.safetensors").write_bytes(b"garbage")
    image = next((demo_images / "spot").glob("*.png"))
    proc = run_cli("inspect", str(image), "--model", str(broken), check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "model.safetensors" in lines[0] and "Traceback" not in proc.stderr


def test_preprocess_accepts_every_layout(model):
    rng = np.random.default_rng(0)
    cases = [
        rng.integers(0, 256, (300, 200), dtype=np.uint8),
        rng.integers(0, 65536, (64, 64), dtype=np.uint16),
        rng.random((50, 80, 3), dtype=np.float32),
        rng.integers(0, 256, (40, 40, 4), dtype=np.uint8),
        rng.integers(0, 256, (1, 1, 1), dtype=np.uint8),
    ]
    for img in cases:
        x = model.prepare(img)
        assert tuple(x.shape) == (3, model.input_size, model.input_size)
        assert np.isfinite(x).all()
    # A gray image and the same image as BGR must be judged identically.
    gray = cases[0]
    bgr = np.repeat(gray[:, :, None], 3, axis=2)
    assert np.allclose(model.prepare(gray), model.prepare(bgr), atol=1e-6)


def _autograd_gradcam(head, features, target):
    """Grad-CAM the long way, through torch.autograd on the head (the reference for the closed form)."""
    import torch

    leaf = features.detach().clone().requires_grad_(True)
    (grads,) = torch.autograd.grad(head(leaf).gather(1, target.view(-1, 1)).sum(), leaf)
    cams = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * leaf).sum(dim=1)).detach()
    empty = cams.flatten(1).amax(dim=1) <= 0
    cams[empty] = torch.relu((grads[empty] * leaf[empty]).sum(dim=1)).detach()
    return cams.numpy(), empty.numpy()


def test_closed_form_gradcam_equals_autograd_through_the_head(model, demo_images):
    """The CAM needs no autograd: from the map and the head's weights alone (what an ONNX runtime
    path has), it equals autograd's, on real maps and where the HiResCAM fallback applies."""
    import cv2
    import torch

    from station.model.cam import gradcam, normalize
    from station.model.network import Head

    paths = [p for c in ("spot", "crack", "stain", "scratch", "good") for p in sorted((demo_images / c).glob("*.png"))[:2]]
    x = model.batch([cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in paths])
    with torch.no_grad():
        features = model.network.backbone(torch.from_numpy(x))
    head = model.network.head.eval()
    k = head.fc.out_features
    target = torch.arange(len(paths)) % k  # every class, good included
    ref, empty = _autograd_gradcam(head, features, target)
    ours = gradcam(features.numpy(), head.fc.weight.detach().numpy(), target.numpy())
    assert np.allclose(ours, normalize(ref), atol=1e-5)

    # A head whose average branch outweighs its max branch: every Grad-CAM map cancels to zero,
    # and both fall back to gradient x activation, cell for cell.
    odd = Head(features.shape[1], 2).eval()
    with torch.no_grad():
        odd.fc.weight[:, : features.shape[1]] = -2.0
        odd.fc.weight[:, features.shape[1]:] = 1.0
    ref, empty = _autograd_gradcam(odd, features, torch.zeros(len(paths), dtype=torch.long))
    assert empty.all(), "the case must exercise the fallback"
    ours = gradcam(features.numpy(), odd.fc.weight.detach().numpy(), np.zeros(len(paths), dtype=np.int64))
    assert np.allclose(ours, normalize(ref), atol=1e-5) and (ours.reshape(len(ours), -1).max(axis=1) == 1).all()
