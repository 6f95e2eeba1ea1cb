"""Product lines from real photographs, with defects drawn on them: `station line-data`.

The generated textures of `demo-data` are the demo and the unit tests; whatever learns is also
measured here, on photographs nobody in this project made. They are scikit-image's texture
photos (brick, gravel, grass), which ship inside the scikit-image wheel: installable, offline,
and read as plain PNG files without importing scikit-image.

One line is one product imaged steadily: every part shows the same region of the photograph,
placed with a small error (up to JITTER px each way, 5% scale, 3 degrees), under slightly
different light (gain, offset, a gradient), with camera blur and sensor noise. That is a fixtured
product, as on most inspection stations. It is not a web of material where every part is a new
piece: a variant that cut test parts from rows no taught part came from scored far lower (see
docs/learning.md). Splits differ only in their seeds.

Defects (drawn before the camera blur, so they are as sharp as the texture), their contrast in
units of the part's own grey-level spread, so a defect as plain on brick is as plain on gravel:
- scratch: a thin straight line, darker or brighter;
- crack: a dark jagged polyline;
- stain: a soft blotch that shifts brightness;
- spot: a small dark or bright disc;
- wear: an abraded patch, worn smooth and lighter.
Each has a strength drawn from [0.3, 1]; about a third are faint (below 0.5), hard to see by eye.
Every type is plain at full strength: a defect nobody could see is not a faint defect, it is a
wrong label (an earlier `wear`, a blur alone, was invisible on a flat brick face).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

from station.errors import StationError
from station.labels import GOOD, is_defect
from station.progress import ProgressFn

LINES = {"brick": "structured", "gravel": "stochastic", "grass": "stochastic"}
DEFECTS = ("scratch", "crack", "stain", "spot", "wear")
SPLITS = ("good", "line", "test")
CROP = 176  # photo pixels per part, before scaling to `size`
JITTER = 48  # photo pixels: how far a part may sit from its place, each way


def photo_path(name: str) -> Path:
    """The photograph's file inside the installed scikit-image package."""
    if name not in LINES:
        raise StationError(f"unknown line {name!r}; choose one of {', '.join(LINES)}")
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise StationError("real-photo lines need scikit-image installed (pip install 'station[photos]'); it ships the photographs")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"{name}.png"
    if not path.is_file():
        raise StationError(f"{path}: missing from the installed scikit-image")
    return path


def load_photo(name: str) -> np.ndarray:
    import cv2

    img = cv2.imread(str(photo_path(name)), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise StationError(f"cannot decode {photo_path(name)}")
    return img.astype(np.float32) / 255.0


def capture(photo: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One part as the camera sees it before defects: a jittered crop of the photo, float [0, 1]."""
    import cv2

    h, w = photo.shape
    scale = rng.uniform(0.95, 1.05)
    angle = rng.uniform(-3.0, 3.0)
    cy, cx = h / 2 + rng.uniform(-JITTER, JITTER), w / 2 + rng.uniform(-JITTER, JITTER)
    m = cv2.getRotationMatrix2D((cx, cy), angle, size / (CROP * scale))
    m[0, 2] += size / 2 - cx
    m[1, 2] += size / 2 - cy
    part = cv2.warpAffine(photo, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    gain, offset = rng.uniform(0.9, 1.1), rng.uniform(-0.04, 0.04)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    ramp = rng.uniform(-0.04, 0.04) * (xx - 0.5) + rng.uniform(-0.04, 0.04) * (yy - 0.5)  # uneven light
    return part * gain + offset + ramp


def _finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera blur and sensor noise, then 8 bits."""
    import cv2

    img = cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(0.5, 0.8))
    img = img + rng.normal(0, 0.008, img.shape).astype(np.float32)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _mask(shape: tuple[int, int], draw: Callable[[np.ndarray], object], soften: float) -> np.ndarray:
    import cv2

    m = np.zeros(shape, np.float32)
    draw(m)
    return cv2.GaussianBlur(m, (0, 0), sigmaX=soften) if soften > 0 else m


def draw_defect(img: np.ndarray, kind: str, strength: float, rng: np.random.Generator,
                center: tuple[float, float] | None = None) -> np.ndarray:
    """Draw one defect of `kind` at `strength` (0.3 faint .. 1 plain) on a float image, in place,
    around `center` (x, y) or a random place."""
    import cv2

    size = img.shape[0]
    # Visible means visible against this texture: contrast in units of the part's own grey-level
    # spread (brick ~0.09, gravel ~0.16), so a defect is as plain on gravel as on brick.
    amp = strength * max(float(img.std()), 0.06)
    sign = rng.choice([-1.0, 1.0])
    cx, cy = center if center is not None else rng.uniform(0.2 * size, 0.8 * size, 2)
    if kind == "scratch":
        ang, length = rng.uniform(0, np.pi), rng.uniform(0.2, 0.45) * size
        dx, dy = np.cos(ang) * length / 2, np.sin(ang) * length / 2
        p0, p1 = (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy))
        m = _mask(img.shape, lambda a: cv2.line(a, p0, p1, 1.0, 2, cv2.LINE_AA), 0.6)
        img += sign * 2.5 * amp * m / max(m.max(), 1e-6)
    elif kind == "crack":
        pts = [np.array([cx, cy])]
        ang = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(6, 12))):
            ang += rng.normal(0, 0.6)
            pts.append(pts[-1] + 7 * np.array([np.cos(ang), np.sin(ang)]))
        poly = np.array(pts, np.int32).reshape(-1, 1, 2)
        width = int(rng.integers(2, 4))
        m = _mask(img.shape, lambda a: cv2.polylines(a, [poly], False, 1.0, width, cv2.LINE_AA), 0.5)
        img -= 3.0 * amp * m / max(m.max(), 1e-6)
    elif kind == "stain":
        axes = (int(rng.uniform(0.08, 0.18) * size), int(rng.uniform(0.05, 0.12) * size))
        m = _mask(img.shape, lambda a: cv2.ellipse(a, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 1.0, -1), axes[1] / 2)
        img += sign * 1.5 * amp * m / max(m.max(), 1e-6)
    elif kind == "spot":
        r = int(rng.integers(5, 12))
        m = _mask(img.shape, lambda a: cv2.circle(a, (int(cx), int(cy)), r, 1.0, -1, cv2.LINE_AA), 1.0)
        img += sign * 3.0 * amp * m / max(m.max(), 1e-6)
    elif kind == "wear":
        r = int(rng.uniform(0.06, 0.12) * size)
        m = _mask(img.shape, lambda a: cv2.circle(a, (int(cx), int(cy)), r, 1.0, -1), r / 3)
        smooth = cv2.GaussianBlur(img, (0, 0), sigmaX=2.0 + 4.0 * strength) + 1.5 * amp  # abraded: smoother, lighter
        w = np.clip(m / max(m.max(), 1e-6) * (0.4 + 0.6 * strength), 0, 1)
        img[:] = img * (1 - w) + smooth * w
    else:
        raise ValueError(f"unknown defect {kind!r}")
    return img


def make_part(photo: np.ndarray, label: str, size: int, rng: np.random.Generator) -> np.ndarray:
    img = capture(photo, size, rng)
    if is_defect(label):
        draw_defect(img, label, float(rng.uniform(0.3, 1.0)), rng)
    return _finish(img, rng)


def generate_line(out: str | Path, line: str, good: int = 50, stream: int = 300, test: int = 240, seed: int = 0,
                  size: int = 256, defect_share: float = 0.3, progress: ProgressFn | None = None) -> dict[str, dict[str, int]]:
    """Write one product line: OUT/good/good/*.png (good parts to teach from), OUT/line/<class>/*.png
    (parts the station inspects and an inspector reviews) and OUT/test/<class>/*.png (the unseen
    test split, half defective). Deterministic for (line, counts, seed)."""
    import cv2

    if size < 64 or size > 1024:
        raise StationError("--size must be between 64 and 1024")
    photo = load_photo(line)
    out = Path(out)
    plan = {"good": (good, 0.0), "line": (stream, defect_share), "test": (test, 0.5)}
    counts: dict[str, dict[str, int]] = {}
    for split_no, (split, (n, share)) in enumerate(plan.items()):
        labels = _labels(n, share, np.random.default_rng([seed, split_no, 7]))
        counts[split] = {}
        for i, label in enumerate(labels):
            rng = np.random.default_rng([seed, split_no, i])
            img = make_part(photo, label, size, rng)
            d = out / split / label
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(d / f"{line}-{split}-{i:04d}.png"), img)
            counts[split][label] = counts[split].get(label, 0) + 1
            if progress:
                progress(split, i + 1, n)
    return counts


def _labels(n: int, share: float, rng: np.random.Generator) -> list[str]:
    n_def = int(round(n * share))
    labels = [GOOD] * (n - n_def) + [DEFECTS[i % len(DEFECTS)] for i in range(n_def)]
    return [labels[i] for i in rng.permutation(n)]
