"""Heatmap rendering and the hot region: pure functions on numpy arrays (OpenCV for resizing)."""

from __future__ import annotations

import numpy as np

from station.core.imageio import to_bgr8

BOX_GRID = 96


def upsample(cam: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A low-resolution CAM -> float32 at (H, W) of `shape`, clipped to [0, 1]."""
    import cv2

    h, w = int(shape[0]), int(shape[1])
    out = cv2.resize(np.asarray(cam, dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(out, 0.0, 1.0)


def colorize(cam: np.ndarray) -> np.ndarray:
    """CAM in [0, 1] -> BGR uint8 heatmap (JET: blue cold, red hot)."""
    import cv2

    return cv2.applyColorMap((np.clip(cam, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)


def overlay(image: np.ndarray, cam: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend a heatmap over the image at the image's own size; returns BGR uint8."""
    import cv2

    base = to_bgr8(image)
    heat = colorize(upsample(cam, base.shape))
    return cv2.addWeighted(heat, float(alpha), base, 1.0 - float(alpha), 0.0)


def hot_box(cam: np.ndarray, shape: tuple[int, ...], level: float = 0.5) -> tuple[int, int, int, int] | None:
    """[x, y, w, h] in image pixels around the hottest connected region above `level`."""
    import cv2

    # Search on a map of at most BOX_GRID px and scale back: the CAM has 14-16 cells a side,
    # so a full-resolution search finds the same region at many times the cost.
    h, w = int(shape[0]), int(shape[1])
    scale = min(1.0, BOX_GRID / max(h, w))
    full = upsample(cam, (max(1, round(h * scale)), max(1, round(w * scale))))
    if float(full.max()) <= 0.0:
        return None
    mask = (full >= level * float(full.max())).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return None
    peak = np.unravel_index(int(np.argmax(full)), full.shape)
    best = int(labels[peak]) or 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    bx, by, bw, bh = (int(v) for v in stats[best, :4])
    x0, y0 = int(bx / scale), int(by / scale)
    x1, y1 = min(w, int(round((bx + bw) / scale))), min(h, int(round((by + bh) / scale)))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def draw_box(image: np.ndarray, box: tuple[int, int, int, int] | None, color=(0, 0, 255)) -> np.ndarray:
    import cv2

    out = to_bgr8(image).copy()
    if box is not None:
        x, y, w, h = box
        thickness = max(1, round(min(out.shape[:2]) / 150))
        cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), color, thickness)
    return out
