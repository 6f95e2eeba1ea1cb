"""Classification metrics in plain numpy. A defect is the positive class in every binary metric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from station.core.labels import GOOD


def auroc(y_true: Sequence[int], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve by the rank-sum (Mann-Whitney U) formula, ties averaged."""
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(y_true: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    thresholds = np.r_[np.inf, np.unique(s)[::-1]]
    tpr = np.array([(s[y] >= t).mean() if y.any() else 0.0 for t in thresholds])
    fpr = np.array([(s[~y] >= t).mean() if (~y).any() else 0.0 for t in thresholds])
    return fpr, tpr


def binary(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    tp, fp, fn = int((y & p).sum()), int((~y & p).sum()), int((y & ~p).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": float((y == p).mean()) if len(y) else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def report(true_labels: Sequence[str], pred_labels: Sequence[str], p_defect: Sequence[float], classes: Sequence[str]) -> dict[str, Any]:
    """The `station evaluate` JSON body. Unknown true classes count as defects."""
    y = [int(t != GOOD) for t in true_labels]
    yhat = [int(p != GOOD) for p in pred_labels]
    out: dict[str, Any] = {"n": len(y), **binary(y, yhat), "auroc": auroc(y, p_defect)}
    labels = list(classes) + sorted(set(true_labels) - set(classes))
    index = {c: i for i, c in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(true_labels, pred_labels):
        matrix[index[t], index[p]] += 1
    per_class = {}
    for c in labels:
        rows = [i for i, t in enumerate(true_labels) if t == c]
        if not rows:
            continue
        hit = sum(pred_labels[i] == c for i in rows)
        flagged = sum(yhat[i] for i in rows)
        per_class[c] = {
            "n": len(rows),
            "recall": hit / len(rows),
            "flagged_defect": flagged / len(rows),
        }
    out["class_accuracy"] = float(np.trace(matrix) / max(1, matrix.sum()))
    # Of the defective parts: how many carry their own type (of those failed, and of all).
    defective = [i for i, t in enumerate(true_labels) if t != GOOD]
    caught = [i for i in defective if yhat[i]]
    out["type_accuracy"] = sum(pred_labels[i] == true_labels[i] for i in caught) / len(caught) if caught else None
    out["type_accuracy_all"] = sum(pred_labels[i] == true_labels[i] for i in defective) / len(defective) if defective else None
    out["per_class"] = per_class
    out["confusion"] = {"labels": labels, "matrix": matrix.tolist()}
    return out


def best_threshold(y_true: Sequence[int], p_defect: Sequence[float]) -> float:
    """The p_defect cut for the card: the middle of every cut whose validation F1 is within one
    standard error of the best (the one-standard-error rule).

    The single best cut sits at the edge of whatever gap the validation sample happens to have:
    on a 600-image split whose positives skipped 0.40-0.89, it chose 0.89, and unseen data with
    positives in that gap lost recall. Cuts within sampling noise of the best are equally good
    on the evidence, so take their middle."""
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(p_defect, dtype=np.float64)
    if not y.any() or y.all():
        return 0.5
    u = np.unique(s)
    cands = np.unique(np.concatenate([u, (u[1:] + u[:-1]) / 2, np.linspace(0.02, 0.98, 97)]))
    pos = np.sort(s[y])
    neg = np.sort(s[~y])
    tp = len(pos) - np.searchsorted(pos, cands, side="left")
    fp = len(neg) - np.searchsorted(neg, cands, side="left")
    f1 = 2 * tp / np.maximum(1, 2 * tp + fp + (len(pos) - tp))
    best = float(f1.max())
    se = float(np.sqrt(best * (1 - best) / len(pos)))  # 0 when perfectly separated: the clean gap's middle
    ok = cands[f1 >= best - se - 1e-12]
    return float(min(max(float(np.median(ok)), 0.02), 0.98))
