"""`station evaluate`: score a model on DATA/<class>/*; optionally write a report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from station.core.labels import is_defect
from station.core.progress import ProgressFn
from station.model.rules import ClassifierRules
from station.train import data as tdata
from station.train import metrics


def evaluate(
    model: ClassifierRules,
    data: str | Path,
    report_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    items = tdata.scan(Path(data))
    labels, preds, p_def = [], [], []
    worst: list[tuple[float, Path, str, str, np.ndarray, np.ndarray]] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        images = tdata.load_images(chunk)
        probs, cams = model.forward_with_cam(model.batch(images))
        for (path, label), image, p, cam in zip(chunk, images, probs, cams):
            pred = model.decide(p)
            labels.append(label)
            preds.append(pred.label)
            p_def.append(pred.p_defect)
            if report_dir is not None and is_defect(label) != is_defect(pred.label):
                wrongness = 1.0 - pred.p_defect if is_defect(label) else pred.p_defect
                worst.append((wrongness, path, label, pred.label, image, cam))
        if progress:
            progress("evaluate", min(start + batch_size, len(items)), len(items))
    out = metrics.report(labels, preds, p_def, model.classes)
    out["threshold"] = model.threshold
    out["model"] = {"name": model.name, "version": model.version}
    if report_dir is not None:
        from station.train.report import write_report

        worst.sort(key=lambda w: -w[0])
        out["report"] = str(write_report(Path(report_dir), out, labels, p_def, worst[:12]))
    return out
