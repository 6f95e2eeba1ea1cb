"""The anomaly map's nearest-neighbour search, in numpy: every backend (torch, ONNX Runtime) and
teaching measure a patch's distance to the memory bank with this one function, so a threshold
set while teaching means the same on every station."""

from __future__ import annotations

import numpy as np

CHUNK = 4096  # query patches per matrix product: bounds memory at CHUNK x bank x 4 bytes


def nearest_distance(queries: np.ndarray, bank: np.ndarray, bank_sq: np.ndarray | None = None,
                     chunk: int = CHUNK) -> np.ndarray:
    """Euclidean distance from each query row to its nearest bank row."""
    bank = np.asarray(bank, dtype=np.float32)
    bsq = (bank * bank).sum(1) if bank_sq is None else np.asarray(bank_sq, dtype=np.float32)
    q_all = np.asarray(queries, dtype=np.float32)
    out = np.empty(len(q_all), dtype=np.float32)
    for start in range(0, len(q_all), chunk):
        q = q_all[start : start + chunk]
        d2 = (q * q).sum(1, keepdims=True) - 2.0 * (q @ bank.T) + bsq[None, :]
        out[start : start + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def flatten(emb: np.ndarray) -> np.ndarray:
    """(N, D, h, w) -> (N*h*w, D)."""
    return np.ascontiguousarray(np.asarray(emb).transpose(0, 2, 3, 1)).reshape(-1, emb.shape[1])


def anomaly_maps(emb: np.ndarray, bank: np.ndarray, bank_sq: np.ndarray | None = None) -> np.ndarray:
    """(N, D, h, w) patch features -> (N, h, w) nearest-neighbour distance maps, smoothed."""
    n, _, h, w = emb.shape
    return smooth(nearest_distance(flatten(emb), bank, bank_sq).reshape(n, h, w))


def smooth(maps: np.ndarray) -> np.ndarray:
    """A 3x3 binomial blur with replicated edges: one noisy patch is not a defect, and the map
    reads as a region. Separable: [1, 2, 1] / 4 down the rows, then across."""
    p = np.pad(maps, ((0, 0), (1, 1), (1, 1)), mode="edge")
    rows = (p[:, :-2, :] + 2.0 * p[:, 1:-1, :] + p[:, 2:, :]) * 0.25
    return ((rows[:, :, :-2] + 2.0 * rows[:, :, 1:-1] + rows[:, :, 2:]) * 0.25).astype(np.float32)
