"""A model folder is one unit: its torch weights and its ONNX export judge alike.

At 0.9.0 a folder holding another model's `model.onnx` (its hash recomputed in the card) judged
at 0.65 accuracy on onnxruntime against 0.983 on torch; promote accepted it and rows were
credited to the wrong version. Promote now loads both engines and compares them on probe
images; loading with torch also checks that an anomaly bank's width fits its taps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from station.core.errors import ModelError

TOLERANCE = 0.02  # |p_defect| between engines; the measured spread of a sound export is < 1e-4
PROBES = 6


def probe_images(size: int = 256, n: int = PROBES) -> list[np.ndarray]:
    """Fixed textured probe parts (BGR uint8): noise at a few scales, so every tap has signal."""
    import cv2

    rng = np.random.default_rng(20261205)
    out = []
    for i in range(n):
        small = rng.integers(0, 256, (4 << (i % 4), 4 << (i % 4), 3), dtype=np.uint8)
        out.append(np.ascontiguousarray(cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)))
    return out


def load_checked(directory: Path) -> None:
    """Load a model folder as promote must: on every installed engine, and where there are two,
    they give the same p_defect on the probes. ModelError in one line otherwise."""
    from station.model import backends
    from station.model.directory import load_for_inference

    if not (backends.installed("torch") and backends.installed("onnxruntime")):
        # One engine (the line bundle has no torch): the export's hash in the card is what it can check.
        load_for_inference(directory, device="cpu")
        return
    by_torch = load_for_inference(directory, device="cpu", backend="torch")
    by_ort = load_for_inference(directory, device="cpu", backend="onnxruntime")
    probes = probe_images()
    a = np.array([p.p_defect for p in by_torch.predict(probes)])
    b = np.array([p.p_defect for p in by_ort.predict(probes)])
    worst = float(np.abs(a - b).max())
    if not np.isfinite(worst) or worst > TOLERANCE:
        raise ModelError(f"{directory.name}: model.onnx and the torch weights disagree on probe parts (p_defect differs by "
                         f"up to {worst:.2f}): the folder mixes two models; export it again from its weights")
