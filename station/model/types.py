"""Naming a failed part's defect type from the region the anomaly map found, few-shot.

A head on the whole part learns what a part with a scratch looks like; with a few dozen
reviewed defects, most of the part it sees is good material and it learns the material. Here the
anomaly map says where the defect is, and only that region is described:
- the region: the cells within REGION_WITHIN logits of the map's peak, weighted by their logit;
- its description: the region's mean patch feature, and how it differs from the part's own mean
  feature (a stain is "brighter than the stone around it"), each half a unit vector;
- the name: the reviewed defect most like it (cosine similarity, best per type). Below the cut,
  no reviewed defect is like it and the type stays `anomaly`: a type nobody has named yet.

Numpy only: both backends use it, and training builds the bank with the same function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REGION_WITHIN = 2.0  # logits below the peak that still belong to the region
TEMPERATURE = 0.05  # cosine similarity -> probability across types
CUT_MARGIN = 0.05  # below the least alike reviewed pair of one type, by this much: unknown


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def describe(emb: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """(N, D, h, w) patch features and (N, h, w) defect logit maps -> (N, 2D) region descriptions."""
    n, d = emb.shape[:2]
    flat = emb.reshape(n, d, -1).astype(np.float64)
    m = maps.reshape(n, -1).astype(np.float64)
    rel = m - m.max(1, keepdims=True)
    w = np.where(rel >= -REGION_WITHIN, np.exp(rel), 0.0)
    region = (flat * w[:, None, :]).sum(-1) / w.sum(1, keepdims=True)
    context = flat.mean(-1)
    return (np.concatenate([_unit(region), _unit(region - context)], axis=1) / np.sqrt(2.0)).astype(np.float32)


@dataclass
class TypeBank:
    """Reviewed defects' region descriptions and their types."""

    vectors: np.ndarray  # (n, 2D), unit length
    labels: np.ndarray  # (n,) index into classes
    classes: list[str]
    cut: float  # best similarity below this: a type nobody named yet

    def similarities(self, desc: np.ndarray) -> np.ndarray:
        """(N, K): per type, the best cosine similarity to one of its reviewed defects."""
        sims = desc @ self.vectors.T
        out = np.full((len(desc), len(self.classes)), -1.0, dtype=np.float32)
        for k in range(len(self.classes)):
            members = self.labels == k
            if members.any():
                out[:, k] = sims[:, members].max(1)
        return out

    def rows(self, desc: np.ndarray) -> np.ndarray:
        """(N, K + 1): probability per type, then the best similarity (for the unknown cut)."""
        s = self.similarities(desc)
        e = np.exp((s - s.max(1, keepdims=True)) / TEMPERATURE)
        return np.concatenate([e / e.sum(1, keepdims=True), s.max(1, keepdims=True)], axis=1).astype(np.float32)


def fit(desc: np.ndarray, names: list[str]) -> TypeBank:
    """A bank of reviewed defects. The cut: each example's best similarity to another example of
    its own type (left out in turn); the least of those, less a margin, still counts as known."""
    classes = sorted(set(names))
    labels = np.array([classes.index(n) for n in names], dtype=np.int64)
    vectors = _unit(np.asarray(desc, dtype=np.float32))
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    own = [float(sims[i, labels == labels[i]].max()) for i in range(len(labels)) if (labels == labels[i]).sum() > 1]
    cut = (min(own) - CUT_MARGIN) if own else -1.0
    return TypeBank(vectors, labels, classes, cut)
