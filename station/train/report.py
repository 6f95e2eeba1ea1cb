"""The evaluation report: confusion matrix, ROC curve, worst failures with heatmaps, one HTML page.

Drawn with OpenCV so the station carries no plotting library.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from station.core.labels import is_defect
from station.model.overlay import draw_box, hot_box, overlay
from station.train.metrics import roc_curve


def _confusion_png(labels: list[str], matrix: list[list[int]], path: Path) -> None:
    import cv2

    n = len(labels)
    cell, margin = 64, 110
    img = np.full((margin + n * cell + 10, margin + n * cell + 10, 3), 255, np.uint8)
    m = np.asarray(matrix, dtype=float)
    top = max(1.0, m.max())
    for i in range(n):
        for j in range(n):
            shade = int(255 - 200 * m[i, j] / top)
            x, y = margin + j * cell, margin + i * cell
            cv2.rectangle(img, (x, y), (x + cell, y + cell), (255, shade, shade) if i != j else (shade, 255, shade), -1)
            cv2.rectangle(img, (x, y), (x + cell, y + cell), (180, 180, 180), 1)
            cv2.putText(img, str(int(m[i, j])), (x + 10, y + 40), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, labels[i][:10], (5, margin + i * cell + 38), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, labels[i][:8], (margin + i * cell + 4, margin - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "true \\ predicted", (5, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), img)


def _roc_png(y: list[int], scores: list[float], auc: float | None, path: Path) -> None:
    import cv2

    s, pad = 360, 40
    img = np.full((s + 2 * pad, s + 2 * pad, 3), 255, np.uint8)
    cv2.rectangle(img, (pad, pad), (pad + s, pad + s), (0, 0, 0), 1)
    cv2.line(img, (pad, pad + s), (pad + s, pad), (200, 200, 200), 1)
    if auc is not None:
        fpr, tpr = roc_curve(y, scores)
        pts = np.stack([pad + fpr * s, pad + s - tpr * s], 1).round().astype(np.int32)
        cv2.polylines(img, [pts], False, (200, 80, 0), 2, cv2.LINE_AA)
    label = f"ROC  AUROC={auc:.4f}" if auc is not None else "ROC undefined (one class only)"
    cv2.putText(img, label, (pad, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), img)


def write_report(out: Path, result: dict[str, Any], labels: list[str], p_def: list[float], worst: list) -> Path:
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    _confusion_png(result["confusion"]["labels"], result["confusion"]["matrix"], out / "confusion.png")
    _roc_png([int(is_defect(l)) for l in labels], p_def, result["auroc"], out / "roc.png")
    rows = []
    for k, (_, path, truth, pred, image, cam) in enumerate(worst):
        name = f"failure_{k:02d}.png"
        vis = draw_box(overlay(image, cam), hot_box(cam, image.shape))
        cv2.imwrite(str(out / name), vis)
        rows.append(
            f"<figure><img src='{name}' width='224'><figcaption>{html.escape(path.name)}<br>"
            f"true <b>{html.escape(truth)}</b>, predicted <b>{html.escape(pred)}</b></figcaption></figure>"
        )
    summary = {k: result[k] for k in ("n", "accuracy", "precision", "recall", "f1", "auroc", "threshold")}
    page = f"""<!doctype html><meta charset="utf-8"><title>Evaluation report</title>
<style>body{{font-family:sans-serif;margin:2em}} figure{{display:inline-block;margin:.5em}}</style>
<h1>Evaluation: {html.escape(str(result['model']['name']))} ({html.escape(str(result['model']['version']))})</h1>
<pre>{html.escape(json.dumps(summary, indent=2))}</pre>
<img src="confusion.png"> <img src="roc.png">
<h2>Worst failures ({len(rows)})</h2>{''.join(rows) or '<p>None.</p>'}
"""
    (out / "index.html").write_text(page, encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return out / "index.html"
