"""`station demo-data`: DAGM-2007-style synthetic parts (DAGM is itself synthetic).

Procedural textures with good parts and four defect types, varied in place, size, contrast and
orientation. Deterministic for a seed and count: image i draws from its own generator seeded
(seed, i). Which class each index gets is a permutation that depends on the count, so a dataset
of N images is not a prefix of one with N + k.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from station.core.fileutil import make_folder
from station.core.labels import GOOD, is_defect
from station.core.progress import ProgressFn

DEFECTS = ("crack", "scratch", "spot", "stain")
CLASSES = (GOOD,) + DEFECTS
FAMILIES = ("noise", "brushed", "weave", "cells", "granite")
DEFAULT_FAMILIES = ("noise", "brushed", "weave", "cells")  # granite is held out for retraining tests
GOOD_SHARE = 0.4


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(img, (0, 0), sigmaX=max(sigma, 0.3))


def _unit(img: np.ndarray) -> np.ndarray:
    img = img - img.mean()
    return img / (img.std() + 1e-6)


def texture(family: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A float32 background, mean ~0.5, of the given family."""
    import cv2

    base = rng.uniform(0.35, 0.65)
    contrast = rng.uniform(0.05, 0.11)
    t: np.ndarray
    if family == "noise":
        t = _unit(_blur(rng.standard_normal((size, size)).astype(np.float32), rng.uniform(1.0, 3.5)))
    elif family == "brushed":
        n = rng.standard_normal((size * 2, size * 2)).astype(np.float32)
        k = int(rng.integers(15, 41))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
        kernel = np.asarray(cv2.warpAffine(kernel, rot, (k, k)), np.float32)
        t = cv2.filter2D(n, -1, kernel / max(kernel.sum(), 1e-6))[size // 2 : size // 2 + size, size // 2 : size // 2 + size]
        t = _unit(t)
    elif family == "weave":
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        ang = rng.uniform(0, np.pi)
        f = rng.uniform(0.12, 0.3)
        u = xx * np.cos(ang) + yy * np.sin(ang)
        v = -xx * np.sin(ang) + yy * np.cos(ang)
        t = np.sin(u * f) * np.sin(v * f * rng.uniform(0.8, 1.25))
        t = _unit(t + 0.35 * _blur(rng.standard_normal((size, size)).astype(np.float32), 1.0))
    elif family == "cells":
        pts = rng.uniform(0, size, (int(rng.integers(60, 160)), 2))
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        d = np.full((size, size), np.inf, np.float32)
        for px, py in pts:
            d = np.minimum(d, (xx - px) ** 2 + (yy - py) ** 2)
        t = _unit(np.sqrt(d) + 0.5 * _blur(rng.standard_normal((size, size)).astype(np.float32), 1.5))
    elif family == "granite":
        t = np.zeros((size, size), np.float32)
        for octave, weight in ((1.0, 0.5), (3.0, 1.0), (8.0, 0.8)):
            t += weight * _unit(_blur(rng.standard_normal((size, size)).astype(np.float32), octave))
        speck = rng.random((size, size)) < 0.01
        t = _unit(t + 4.0 * speck.astype(np.float32))
    else:
        raise ValueError(f"unknown texture family {family!r}; choose from {', '.join(FAMILIES)}")
    return (base + contrast * t).astype(np.float32)


def _polyline(rng: np.random.Generator, size: int, length: float, wiggle: float) -> np.ndarray:
    start = rng.uniform(0.15 * size, 0.85 * size, 2)
    ang = rng.uniform(0, 2 * np.pi)
    steps = max(4, int(length / 6))
    pts = [start]
    for _ in range(steps):
        ang += rng.normal(0, wiggle)
        pts.append(pts[-1] + 6.0 * np.array([np.cos(ang), np.sin(ang)]))
    return np.clip(np.array(pts), 2, size - 3)


def defect_mask(kind: str, size: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A soft mask in [0, 1] and a signed intensity change for one defect."""
    import cv2

    mask = np.zeros((size, size), np.float32)
    sign = rng.choice([-1.0, 1.0])
    if kind == "scratch":
        pts = _polyline(rng, size, rng.uniform(0.25, 0.6) * size, 0.04)
        cv2.polylines(mask, [np.round(pts * 16).astype(np.int32)], False, 1.0, int(rng.integers(1, 3)), cv2.LINE_AA, shift=4)
        mask = _blur(mask, 0.6)
        amp = rng.uniform(0.22, 0.4)
    elif kind == "crack":
        pts = _polyline(rng, size, rng.uniform(0.2, 0.45) * size, 0.45)
        cv2.polylines(mask, [np.round(pts * 16).astype(np.int32)], False, 1.0, 2, cv2.LINE_AA, shift=4)
        for _ in range(int(rng.integers(1, 4))):
            j = int(rng.integers(1, len(pts)))
            branch = _polyline(rng, size, rng.uniform(0.05, 0.15) * size, 0.5)
            branch = branch - branch[0] + pts[j]
            cv2.polylines(mask, [np.round(np.clip(branch, 2, size - 3) * 16).astype(np.int32)], False, 1.0, 1, cv2.LINE_AA, shift=4)
        mask = _blur(mask, 0.5)
        sign, amp = -1.0, rng.uniform(0.25, 0.45)  # cracks are dark: light does not come back out
    elif kind == "spot":
        r = rng.uniform(0.028, 0.06) * size
        c = rng.uniform(0.15 * size, 0.85 * size, 2)
        axes = (int(r), int(r * rng.uniform(0.6, 1.0)))
        cv2.ellipse(mask, (int(c[0]), int(c[1])), axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1, cv2.LINE_AA)
        mask = _blur(mask, r * 0.25)
        amp = rng.uniform(0.3, 0.5)
    elif kind == "stain":
        c = rng.uniform(0.25 * size, 0.75 * size, 2)
        r = rng.uniform(0.1, 0.2) * size
        for _ in range(int(rng.integers(3, 7))):
            off = rng.normal(0, r * 0.35, 2)
            cv2.circle(mask, (int(c[0] + off[0]), int(c[1] + off[1])), int(r * rng.uniform(0.4, 0.8)), 1.0, -1)
        mask = _blur(mask, r * 0.3)
        mask = mask / max(float(mask.max()), 1e-6)
        amp = rng.uniform(0.16, 0.28)
    else:
        raise ValueError(f"unknown defect {kind!r}")
    return mask, float(sign * amp)


def make_image(label: str, family: str, size: int, rng: np.random.Generator) -> np.ndarray:
    img = texture(family, size, rng)
    if is_defect(label):
        mask, delta = defect_mask(label, size, rng)
        if label != "crack":
            # Push away from the nearer clip limit: a bright spot on a bright patch would clip to
            # white and vanish, leaving a "defect" label on a part nobody could call defective.
            local = float((img * mask).sum() / max(float(mask.sum()), 1e-6))
            delta = abs(delta) if local < 0.5 else -abs(delta)
        img = img + delta * mask
    img = img + rng.normal(0, 0.01, img.shape).astype(np.float32)  # sensor noise
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def plan(count: int) -> list[str]:
    """Class of each image index: GOOD_SHARE good, the rest shared evenly among defects."""
    n_good = int(round(count * GOOD_SHARE))
    labels = [GOOD] * n_good + [DEFECTS[i % len(DEFECTS)] for i in range(count - n_good)]
    order = np.random.default_rng(count).permutation(count)
    return [labels[i] for i in order]


def generate(
    out: str | Path,
    count: int = 500,
    seed: int = 0,
    families: tuple[str, ...] = DEFAULT_FAMILIES,
    size: int = 256,
    progress: ProgressFn | None = None,
) -> dict[str, int]:
    """Write `count` images as OUT/<class>/<class>_<seed>_<i>.png; returns the count per class."""
    import cv2

    for f in families:
        if f not in FAMILIES:
            raise ValueError(f"unknown texture family {f!r}; choose from {', '.join(FAMILIES)}")
    out = Path(out)
    counts = {c: 0 for c in CLASSES}
    for c in CLASSES:
        make_folder(out / c, "demo images' folder")
    for i, label in enumerate(plan(count)):
        rng = np.random.default_rng([seed, i])
        family = families[int(rng.integers(len(families)))]
        img = make_image(label, family, size, rng)
        cv2.imwrite(str(out / label / f"{label}_{seed}_{i:05d}.png"), img)
        counts[label] += 1
        if progress:
            progress("demo-data", i + 1, count)
    return counts
