"""Augmentation on preprocessed CHW arrays: the notebooks' flips, ±20° rotation and 20% zoom,
plus the right-angle turns and lighting changes a texture line actually sees."""

from __future__ import annotations

import numpy as np


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    hwc = np.ascontiguousarray(x.transpose(1, 2, 0))
    hwc = np.rot90(hwc, int(rng.integers(4)))
    if rng.random() < 0.5:
        hwc = hwc[:, ::-1]
    s = hwc.shape[0]
    angle = float(rng.uniform(-20, 20))
    zoom = float(rng.uniform(0.8, 1.2))
    m = cv2.getRotationMatrix2D((s / 2, s / 2), angle, zoom)
    m[:, 2] += rng.uniform(-0.05, 0.05, 2) * s
    hwc = cv2.warpAffine(np.ascontiguousarray(hwc), m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if hwc.ndim == 2:
        hwc = hwc[:, :, None]
    hwc = hwc * float(rng.uniform(0.8, 1.2)) + float(rng.uniform(-0.3, 0.3))
    return np.ascontiguousarray(hwc.transpose(2, 0, 1), dtype=np.float32)
