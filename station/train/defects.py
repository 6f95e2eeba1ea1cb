"""Defects drawn on real photographs for the measured product lines (station.train.photolines).

Drawn before the camera blur, so they are as sharp as the texture, with their contrast in units
of the part's own grey-level spread, so a defect as plain on brick is as plain on gravel:
- scratch: a thin straight line, darker or brighter;
- crack: a dark jagged polyline;
- stain: a soft blotch that shifts brightness;
- spot: a small dark or bright disc;
- wear: an abraded patch, worn smooth and lighter;
- discolor (colour parts only): a soft blotch whose hue changes and whose grey level does not,
  to the last bit before rounding, so only a model that sees colour can find it.
Each has a strength drawn from [0.3, 1]; about a third are faint (below 0.5), hard to see by eye.
Every type is plain at full strength: a defect nobody could see is not a faint defect, it is a
wrong label (an earlier `wear`, a blur alone, was invisible on a flat brick face).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

GREY_DEFECTS = ("scratch", "crack", "stain", "spot", "wear")
COLOUR_DEFECTS = ("discolor",)
GREY_WEIGHTS = np.array([0.114, 0.587, 0.299], dtype=np.float32)  # BGR, as cv2's grey conversion


def grey(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else img @ GREY_WEIGHTS


def _mask(shape: tuple[int, ...], draw: Callable[[np.ndarray], object], soften: float) -> np.ndarray:
    import cv2

    m = np.zeros(shape[:2], np.float32)
    draw(m)
    if soften > 0:
        m = np.asarray(cv2.GaussianBlur(m, (0, 0), sigmaX=soften), dtype=np.float32)
    return m / max(float(m.max()), 1e-6)


def _add(img: np.ndarray, delta: np.ndarray) -> None:
    """Add a grey-level change to every channel (a colour part stays its colour, lighter or darker)."""
    img += delta if img.ndim == 2 else delta[:, :, None]


def draw_defect(img: np.ndarray, kind: str, strength: float, rng: np.random.Generator,
                center: tuple[float, float] | None = None) -> np.ndarray:
    """Draw one defect of `kind` at `strength` (0.3 faint .. 1 plain) on a float image (H x W, or
    H x W x 3 BGR), in place, around `center` (x, y) or a random place."""
    import cv2

    size = img.shape[0]
    # Visible means visible against this texture: contrast in units of the part's own grey-level
    # spread (brick ~0.09, gravel ~0.16), so a defect is as plain on gravel as on brick.
    amp = strength * max(float(grey(img).std()), 0.06)
    sign = rng.choice([-1.0, 1.0])
    cx, cy = center if center is not None else rng.uniform(0.2 * size, 0.8 * size, 2)
    if kind == "scratch":
        ang, length = rng.uniform(0, np.pi), rng.uniform(0.2, 0.45) * size
        dx, dy = np.cos(ang) * length / 2, np.sin(ang) * length / 2
        p0, p1 = (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy))
        _add(img, sign * 2.5 * amp * _mask(img.shape, lambda a: cv2.line(a, p0, p1, 1.0, 2, cv2.LINE_AA), 0.6))
    elif kind == "crack":
        pts = [np.array([cx, cy])]
        ang = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(6, 12))):
            ang += rng.normal(0, 0.6)
            pts.append(pts[-1] + 7 * np.array([np.cos(ang), np.sin(ang)]))
        poly = np.array(pts, np.int32).reshape(-1, 1, 2)
        width = int(rng.integers(2, 4))
        _add(img, -3.0 * amp * _mask(img.shape, lambda a: cv2.polylines(a, [poly], False, 1.0, width, cv2.LINE_AA), 0.5))
    elif kind == "stain":
        axes = (int(rng.uniform(0.08, 0.18) * size), int(rng.uniform(0.05, 0.12) * size))
        m = _mask(img.shape, lambda a: cv2.ellipse(a, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 1.0, -1), axes[1] / 2)
        _add(img, sign * 1.5 * amp * m)
    elif kind == "spot":
        r = int(rng.integers(5, 12))
        _add(img, sign * 3.0 * amp * _mask(img.shape, lambda a: cv2.circle(a, (int(cx), int(cy)), r, 1.0, -1, cv2.LINE_AA), 1.0))
    elif kind == "wear":
        r = int(rng.uniform(0.06, 0.12) * size)
        m = _mask(img.shape, lambda a: cv2.circle(a, (int(cx), int(cy)), r, 1.0, -1), r / 3)
        smooth = cv2.GaussianBlur(img, (0, 0), sigmaX=2.0 + 4.0 * strength) + 1.5 * amp  # abraded: smoother, lighter
        w = np.clip(m * (0.4 + 0.6 * strength), 0, 1)
        w = w if img.ndim == 2 else w[:, :, None]
        img[:] = img * (1 - w) + smooth * w
    elif kind == "discolor":
        if img.ndim != 3:
            raise ValueError("a discoloration needs a colour part")
        axes = (int(rng.uniform(0.08, 0.16) * size), int(rng.uniform(0.06, 0.12) * size))
        m = _mask(img.shape, lambda a: cv2.ellipse(a, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 1.0, -1), axes[1] / 2)
        _discolor(img, m, strength, rng)
    else:
        raise ValueError(f"unknown defect {kind!r}")
    return img


def _discolor(img: np.ndarray, m: np.ndarray, strength: float, rng: np.random.Generator) -> None:
    """Turn the hue inside the mask by 60-120 degrees (a stain of another colour), then give every
    pixel back its grey level by an equal change to all three channels: the grey image is the
    same, the colour is not."""
    import cv2

    before = grey(img)
    lab = cv2.cvtColor(np.clip(img, 0, 1).astype(np.float32), cv2.COLOR_BGR2Lab)
    ab = lab[:, :, 1:].copy()
    turn = np.deg2rad(rng.uniform(60, 120) * rng.choice([-1.0, 1.0]))
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]], np.float32)
    # Turned, and pushed away from grey so a pale region shows the stain too.
    chroma = 8.0 + 22.0 * strength
    turned = ab @ rot.T
    norm = np.linalg.norm(turned, axis=2, keepdims=True)
    turned = turned / np.maximum(norm, 1e-3) * np.maximum(norm, chroma)
    w = (m * (0.5 + 0.5 * strength))[:, :, None]
    same = cv2.cvtColor(lab, cv2.COLOR_Lab2BGR)  # the round trip alone, so outside the mask nothing moves
    lab[:, :, 1:] = ab * (1 - w) + turned * w
    img += cv2.cvtColor(lab, cv2.COLOR_Lab2BGR) - same
    img += (before - grey(img))[:, :, None]
