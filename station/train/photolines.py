"""Product lines from real photographs, with defects drawn on them: `station line-data`.

The generated textures of `demo-data` are the demo and the unit tests; whatever learns is also
measured here, on photographs nobody in this project made. They are scikit-image's photos
(brick, gravel, grass, and the colour micrograph ihc), which ship inside the scikit-image wheel:
installable, offline, and read as plain PNG files without importing scikit-image.

Two kinds of line:
- **fixtured** (brick, gravel, grass): one product imaged steadily. Every part shows the same
  region of the photograph, placed with a small error (up to JITTER px each way, 5% scale, 3
  degrees). That is a fixtured product, as on most inspection stations.
- **every part a new piece** (gravel-web, brick-web, ihc-web): web, strip, boards, stone. Each
  part is a different place of the material, turned and mirrored as the material allows (a
  stochastic stone any of the 8 ways; a directional material such as a brick course only end
  for end and mirrored, so its grain keeps its direction), and the test split is cut from a
  part of the photograph that no taught or reviewed part came from: by default its bottom rows
  (SPLIT_MODES "rows"), or with "quadrants" two opposite quarters, so that taught and test
  parts both sample the top and the bottom, the left and the right of the material (a shade
  that lies in one strip is then on both sides of the split).

Every part then gets slightly different light (gain, offset, a gradient), camera blur and
sensor noise. Splits differ in their seeds (and, for every-part-new lines, their part of the
photograph). The defects are station.train.defects; colour lines add a colour-only one.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from station.core.errors import StationError
from station.core.labels import GOOD, is_defect
from station.core.progress import ProgressFn
from station.train.defects import COLOUR_DEFECTS, GREY_DEFECTS, draw_defect

__all__ = ["DEFECTS", "LINES", "capture", "draw_defect", "generate_line", "load_photo", "make_part"]


@dataclass(frozen=True)
class LineSpec:
    photo: str  # file in scikit-image's data folder
    texture: str  # what the material is like: structured, stochastic, directional
    fixtured: bool  # True: every part is the same place; False: every part a new piece
    colour: bool = False
    turns: tuple[int, ...] = (0,)  # dihedral moves allowed: k = 0..3 quarter turns, +4 mirrored


ANY_WAY = tuple(range(8))
END_FOR_END = (0, 2, 4, 6)  # as is, half turn, mirrored, mirrored half turn: the grain keeps its axis

LINES = {
    "brick": LineSpec("brick.png", "structured", True),
    "gravel": LineSpec("gravel.png", "stochastic", True),
    "grass": LineSpec("grass.png", "stochastic", True),
    "gravel-web": LineSpec("gravel.png", "stochastic", False, turns=ANY_WAY),
    "brick-web": LineSpec("brick.png", "directional", False, turns=END_FOR_END),
    "ihc": LineSpec("ihc.png", "stochastic", True, colour=True),
    "ihc-web": LineSpec("ihc.png", "stochastic", False, colour=True, turns=ANY_WAY),
}
DEFECTS = GREY_DEFECTS
SPLITS = ("good", "line", "test")
CROP = 176  # photo pixels per part, before scaling to `size`
JITTER = 48  # photo pixels: how far a fixtured part may sit from its place, each way
TEST_ROWS = 0.6  # every-part-new lines: taught and reviewed parts from rows above, test parts below
# "rows": the bottom rows are the test split; "quadrants": top-left and bottom-right quarters are
# taught and reviewed, top-right and bottom-left are tested (62 px of play each way in 512 px).
SPLIT_MODES = ("rows", "quadrants")
MIN_STRENGTH = 0.3  # the faintest defect drawn: at strength 1 every type is plain to see


def spec_of(name: str) -> LineSpec:
    if name not in LINES:
        raise StationError(f"unknown line {name!r}; choose one of {', '.join(LINES)}")
    return LINES[name]


def photo_path(name: str) -> Path:
    """The photograph's file inside the installed scikit-image package."""
    spec = spec_of(name)
    found = importlib.util.find_spec("skimage")
    if found is None or not found.submodule_search_locations:
        raise StationError("real-photo lines need scikit-image installed (pip install 'station[photos]'); it ships the photographs")
    path = Path(list(found.submodule_search_locations)[0]) / "data" / spec.photo
    if not path.is_file():
        raise StationError(f"{path}: missing from the installed scikit-image")
    return path


def load_photo(name: str) -> np.ndarray:
    """The line's photograph as float [0, 1]: H x W grey, or H x W x 3 BGR for a colour line."""
    import cv2

    flag = cv2.IMREAD_COLOR if spec_of(name).colour else cv2.IMREAD_GRAYSCALE
    img = cv2.imread(str(photo_path(name)), flag)
    if img is None:
        raise StationError(f"cannot decode {photo_path(name)}")
    return img.astype(np.float32) / 255.0


def _light(part: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = part.shape[0]
    gain, offset = rng.uniform(0.9, 1.1), rng.uniform(-0.04, 0.04)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    ramp = rng.uniform(-0.04, 0.04) * (xx - 0.5) + rng.uniform(-0.04, 0.04) * (yy - 0.5)  # uneven light
    return part * gain + offset + (ramp if part.ndim == 2 else ramp[:, :, None])


def _warp(photo: np.ndarray, cx: float, cy: float, angle: float, scale: float, size: int) -> np.ndarray:
    import cv2

    m = cv2.getRotationMatrix2D((cx, cy), angle, size / (CROP * scale))
    m[0, 2] += size / 2 - cx
    m[1, 2] += size / 2 - cy
    return cv2.warpAffine(photo, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def capture(photo: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One fixtured part as the camera sees it before defects: a jittered crop of the photo's
    middle, float [0, 1]."""
    h, w = photo.shape[:2]
    scale = rng.uniform(0.95, 1.05)
    angle = rng.uniform(-3.0, 3.0)
    cy, cx = h / 2 + rng.uniform(-JITTER, JITTER), w / 2 + rng.uniform(-JITTER, JITTER)
    return _light(_warp(photo, cx, cy, angle, scale, size), rng)


def capture_piece(photo: np.ndarray, size: int, rng: np.random.Generator, rows: tuple[float, float],
                  turns: tuple[int, ...], cols: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """One new piece of material: a crop from anywhere within `rows` and `cols` (fractions of the
    photo's height and width), turned and mirrored by one of `turns`, under its own light."""
    h, w = photo.shape[:2]
    half = CROP * 1.1 / 2  # room for the scale and the small angle
    lo, hi = rows[0] * h + half, rows[1] * h - half
    left, right = cols[0] * w + half, cols[1] * w - half
    if hi < lo or right < left:
        raise StationError("the photograph's band is too small for a part")
    cy, cx = rng.uniform(lo, hi), rng.uniform(left, right)
    part = _warp(photo, cx, cy, rng.uniform(-4.0, 4.0), rng.uniform(0.95, 1.05), size)
    turn = int(rng.choice(turns))
    part = np.rot90(part, turn % 4)
    if turn >= 4:
        part = part[:, ::-1]
    return _light(np.ascontiguousarray(part), rng)


def _finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera blur and sensor noise, then 8 bits."""
    import cv2

    img = cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(0.5, 0.8))
    img = img + rng.normal(0, 0.008, img.shape).astype(np.float32)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def make_part(photo: np.ndarray, label: str, size: int, rng: np.random.Generator,
              spec: LineSpec | None = None, split: str = "good", strength: float | None = None,
              split_mode: str = "rows") -> np.ndarray:
    if spec is None or spec.fixtured:
        img = capture(photo, size, rng)
    elif split_mode == "quadrants":
        top = bool(rng.integers(2))
        left = top if split != "test" else not top  # taught: top-left, bottom-right; test: the others
        img = capture_piece(photo, size, rng, (0.0, 0.5) if top else (0.5, 1.0), spec.turns,
                            (0.0, 0.5) if left else (0.5, 1.0))
    else:
        rows = (TEST_ROWS, 1.0) if split == "test" else (0.0, TEST_ROWS)
        img = capture_piece(photo, size, rng, rows, spec.turns)
    if is_defect(label):
        drawn = float(rng.uniform(MIN_STRENGTH, 1.0))  # drawn either way: the part's other numbers stay the same
        draw_defect(img, label, drawn if strength is None else strength, rng)
    return _finish(img, rng)


def defects_of(line: str) -> tuple[str, ...]:
    return GREY_DEFECTS + COLOUR_DEFECTS if spec_of(line).colour else GREY_DEFECTS


def generate_line(out: str | Path, line: str, good: int = 50, stream: int = 300, test: int = 240, seed: int = 0,
                  size: int = 256, defect_share: float = 0.3, progress: ProgressFn | None = None,
                  strength: float | None = None, split_mode: str = "rows") -> dict[str, dict[str, int]]:
    """Write one product line: OUT/good/good/*.png (good parts to teach from), OUT/line/<class>/*.png
    (parts the station inspects and an inspector reviews) and OUT/test/<class>/*.png (the unseen
    test split, half defective). Deterministic for (line, counts, seed). `strength`: every defect
    drawn at it (how plain a defect is found) instead of each at its own. `split_mode`: where an
    every-part-new line's test parts come from (SPLIT_MODES)."""
    import cv2

    if size < 64 or size > 1024:
        raise StationError("--size must be between 64 and 1024")
    if strength is not None and not MIN_STRENGTH <= strength <= 1.0:
        raise StationError(f"--strength must be between {MIN_STRENGTH} and 1")
    if split_mode not in SPLIT_MODES:
        raise StationError(f"--split must be one of {', '.join(SPLIT_MODES)}")
    spec = spec_of(line)
    photo = load_photo(line)
    kinds = defects_of(line)
    out = Path(out)
    plan = {"good": (good, 0.0), "line": (stream, defect_share), "test": (test, 0.5)}
    counts: dict[str, dict[str, int]] = {}
    for split_no, (split, (n, share)) in enumerate(plan.items()):
        labels = _labels(n, share, kinds, np.random.default_rng([seed, split_no, 7]))
        counts[split] = {}
        for i, label in enumerate(labels):
            rng = np.random.default_rng([seed, split_no, i])
            img = make_part(photo, label, size, rng, spec, split, strength, split_mode)
            d = out / split / label
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(d / f"{line}-{split}-{i:04d}.png"), img)
            counts[split][label] = counts[split].get(label, 0) + 1
            if progress:
                progress(split, i + 1, n)
    return counts


def _labels(n: int, share: float, kinds: tuple[str, ...], rng: np.random.Generator) -> list[str]:
    n_def = int(round(n * share))
    labels = [GOOD] * (n - n_def) + [kinds[i % len(kinds)] for i in range(n_def)]
    return [labels[i] for i in rng.permutation(n)]
