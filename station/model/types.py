"""Naming a failed part's defect type from the region the anomaly map found, few-shot.

A head on the whole part learns what a part with a scratch looks like; with a few dozen
reviewed defects, most of the part it sees is good material and it learns the material. Here the
anomaly map says where the defect is, and only that region is described:
- the region: the cells within REGION_WITHIN logits of the map's peak, weighted by their logit;
- its description: the region's mean patch feature, and how it differs from the part's own mean
  feature (a stain is "brighter than the stone around it"), each half a unit vector;
- the name: the reviewed defect most like it (cosine similarity, best per type), or, once every
  type has a few reviews, a linear namer fitted on them. Below the cut, no reviewed defect is
  like it and the type stays `anomaly`: a type nobody has named yet.

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


LINEAR_MIN_EACH = 3  # reviewed defects of every type before the linear namer is used
LINEAR_L2 = 1.0  # ridge on the standardised descriptions, per example (as scikit-learn's C = 1)
LINEAR_STEPS = 1500


def fit_linear(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Softmax regression with an L2 ridge, by plain gradient descent for a fixed number of steps:
    deterministic, so the model fits it when it loads (milliseconds for a few hundred reviews)
    and both backends name alike. Returns (weights D x k, bias k, mean D, spread D)."""
    x = np.asarray(x, np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    n = len(z)
    w, b = np.zeros((z.shape[1], k)), np.zeros(k)
    onehot = np.eye(k)[y]
    # The loss's curvature is at most |z|^2 / (2n) + ridge: its inverse is a step that converges.
    step = 1.0 / (np.linalg.norm(z, 2) ** 2 / (2 * n) + LINEAR_L2 / n)
    for _ in range(LINEAR_STEPS):
        logits = z @ w + b
        p = np.exp(logits - logits.max(1, keepdims=True))
        g = p / p.sum(1, keepdims=True) - onehot
        w -= step * (z.T @ g / n + LINEAR_L2 / n * w)
        b -= step * g.mean(0)
    return w, b, mu, sd


@dataclass
class TypeBank:
    """Reviewed defects' region descriptions and their types. With at least LINEAR_MIN_EACH of
    every type, a linear namer (fitted here, from the bank) names the type; the nearest reviewed
    defect still decides whether the region is like any of them at all."""

    vectors: np.ndarray  # (n, 2D) unit length (region descriptions), or (n, F) shape numbers as measured
    labels: np.ndarray  # (n,) index into classes
    classes: list[str]
    cut: float  # best similarity below this: a type nobody named yet
    # Shape numbers (station.model.defect_shape) have units of their own: likeness is the cosine
    # after standardising each by the bank's own mean and spread.
    standardised: bool = False

    def __post_init__(self) -> None:
        counts = np.bincount(self.labels.astype(np.int64), minlength=len(self.classes))
        self.linear = None
        if len(self.classes) > 1 and counts.min() >= LINEAR_MIN_EACH:
            self.linear = fit_linear(self.vectors, self.labels.astype(np.int64), len(self.classes))
        v = np.asarray(self.vectors, np.float64)
        self._mu: np.ndarray = v.mean(0) if self.standardised else np.zeros(v.shape[1])
        self._sd: np.ndarray = v.std(0) + 1e-6 if self.standardised else np.ones(v.shape[1])
        self._bank = self.view(self.vectors)

    def view(self, desc: np.ndarray) -> np.ndarray:
        """Descriptions as the unit vectors whose dot product is their likeness."""
        if not self.standardised:
            return np.asarray(desc, np.float32)
        return _unit((np.asarray(desc, np.float64) - self._mu) / self._sd).astype(np.float32)

    def similarities(self, desc: np.ndarray) -> np.ndarray:
        """(N, K): per type, the best cosine similarity to one of its reviewed defects."""
        sims = self.view(desc) @ self._bank.T
        out = np.full((len(desc), len(self.classes)), -1.0, dtype=np.float32)
        for k in range(len(self.classes)):
            members = self.labels == k
            if members.any():
                out[:, k] = sims[:, members].max(1)
        return out

    def rows(self, desc: np.ndarray) -> np.ndarray:
        """(N, K + 1): probability per type, then the best similarity (for the unknown cut)."""
        s = self.similarities(desc)
        if self.linear is not None:
            w, b, mu, sd = self.linear
            logits = ((desc - mu) / sd) @ w + b
        else:
            logits = s / TEMPERATURE
        e = np.exp(logits - logits.max(1, keepdims=True))
        return np.concatenate([e / e.sum(1, keepdims=True), s.max(1, keepdims=True)], axis=1).astype(np.float32)


def fit(desc: np.ndarray, names: list[str], standardised: bool = False) -> TypeBank:
    """A bank of reviewed defects. The cut: each example's best similarity to another example of
    its own type (left out in turn); the least of those, less a margin, still counts as known."""
    classes = sorted(set(names))
    labels = np.array([classes.index(n) for n in names], dtype=np.int64)
    raw = np.asarray(desc, dtype=np.float32)
    bank = TypeBank(raw if standardised else _unit(raw), labels, classes, -1.0, standardised)
    sims = bank.view(bank.vectors) @ bank.view(bank.vectors).T
    np.fill_diagonal(sims, -np.inf)
    own = [float(sims[i, labels == labels[i]].max()) for i in range(len(labels)) if (labels == labels[i]).sum() > 1]
    bank.cut = (min(own) - CUT_MARGIN) if own else -1.0
    return bank
