"""One check, used wherever a model is made: the torch and the ONNX Runtime backends give the same
verdicts and the same heatmaps on the same images."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def compare_backends(model_dir: Path, images: list[np.ndarray], batch: int = 16) -> dict[str, float]:
    """Run both backends on `images` through the public loader; assert every verdict and label
    agree and every heatmap correlates >= 0.99. Returns what was measured."""
    from station.model.directory import load_for_inference

    torch_m = load_for_inference(model_dir, device="cpu", backend="torch")
    ort_m = load_for_inference(model_dir, device="cpu", backend="onnxruntime")
    assert (torch_m.backend, ort_m.backend) == ("torch", "onnxruntime")
    worst_r, worst_p, compared = 1.0, 0.0, 0
    for start in range(0, len(images), batch):
        x = torch_m.batch(images[start : start + batch])
        rows_t, heat_t = torch_m.forward_with_cam(x)
        rows_o, heat_o = ort_m.forward_with_cam(x)
        for i, (rt, ro, ht, ho) in enumerate(zip(rows_t, rows_o, heat_t, heat_o)):
            pt, po = torch_m.decide(rt), ort_m.decide(ro)
            assert (pt.label, pt.verdict) == (po.label, po.verdict), (start + i, pt, po)
            worst_p = max(worst_p, abs(pt.p_defect - po.p_defect))
            if ht.std() > 1e-6 or ho.std() > 1e-6:
                r = float(np.corrcoef(ht.ravel(), ho.ravel())[0, 1])
                worst_r = min(worst_r, r)
                compared += 1
    assert worst_r >= 0.99, worst_r
    assert compared >= len(images) // 2, "most heatmaps must have something to correlate"
    return {"images": len(images), "worst_heatmap_r": worst_r, "worst_p_defect_gap": worst_p, "heatmaps_compared": compared}
