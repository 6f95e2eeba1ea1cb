"""A texture memory beside the patch memory: what finds a defect in a material with no template.

Where every part is a new piece of material (stone, web, boards), no registered template
applies, and the trunk's stride-8 patch features describe which stones lie where: a dark crack
across a stone reads as one more gap between stones (gravel-web, defects drawn at full strength:
patch memory AUROC 0.69). A few hand-made measures of the texture see what those features miss:
the local fine-detail energy (a worn, smoothed patch; a rough one), the strongest straight line
through a pixel, lighter and darker (a scratch), thin dark ridges (a crack) and blobs 8-16 px
across (a spot). Each is taken on the part's grey levels after its own gain and offset are taken
out, so light does not matter.

Per 8-pixel cell, each measure's largest deviation from the good parts (log scale) is put in
units of the good parts' own worst cell; a cell's texture evidence is the largest over measures.
The cut follows the patch memory's rule on the same folds (held-out good mean + 3 sd of the
image's worst cell), so the evidence is in the same z units and each cell's is the larger.

The local grey-level mean (a stain's measure), and blobs wider than 16 px, are left out on
purpose: on brick-web a brick of another shade, present only in rows no good part came from,
raised them on 38-91% of good test parts; that is a drift the good parts cannot foresee.
The outermost BORDER cells are the patch memory's alone (the filters reflect at the edge).
Only where no template is kept: on a fixtured line the template sees these defects already.
Numpy and OpenCV only, every number on the card: both backends judge alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from station.model.card import TEXTURE_STATS

MEASURES = ("energy 6", "energy 12", "line lighter", "line darker", "ridge 1.0", "ridge 1.6", "blob 4")
BORDER = 2  # cells at each edge left to the patch memory
LINE_ANGLES = np.arange(0, 180, 12)
LINE_LENGTH = 21  # pixels at half size: a straight line 42 px long through the pixel


@cache  # built once per length, on first use (cv2 is imported only where parts are judged)
def line_kernels(length: int = LINE_LENGTH) -> tuple[np.ndarray, ...]:
    """Straight lines through the centre of a `length`-pixel square, one per LINE_ANGLES, each
    summing to 1: a pixel's mean along each line."""
    import cv2

    out, c = [], length // 2
    for a in LINE_ANGLES:
        k = np.zeros((length, length), np.float32)
        dx, dy = np.cos(np.deg2rad(a)) * c, np.sin(np.deg2rad(a)) * c
        cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
        out.append(k / k.sum())
    return tuple(out)


def measure_maps(gray: np.ndarray) -> np.ndarray:
    """A grey image (H, W) in any scale -> (len(MEASURES), H/2, W/2) float32 measures. Each is
    found at full size where a 2-px line needs it and kept at half size, where an 8-px cell is
    4 x 4 (on gravel-web's plain defects, F1 0.626 against 0.635 with every map at full size)."""
    import cv2

    g = gray.astype(np.float32)
    g = (g - g.mean()) / (g.std() + 1e-6)  # the part's own gain and offset
    h, w = g.shape
    half = lambda a: cv2.resize(a, (w // 2, h // 2), interpolation=cv2.INTER_AREA)  # noqa: E731
    fine = g - cv2.GaussianBlur(g, (0, 0), 2)
    energy = half(fine * fine)
    out = [np.log(cv2.GaussianBlur(energy, (0, 0), s / 2) + 1e-4) for s in (6, 12)]
    ridge = half(g - cv2.GaussianBlur(g, (0, 0), 3))
    lines = np.stack([cv2.filter2D(ridge, -1, k) for k in line_kernels()])
    out += [lines.max(0), -lines.min(0)]
    for s in (1.0, 1.6):
        gs = cv2.GaussianBlur(g, (0, 0), s)
        dxx, dyy = cv2.Sobel(gs, cv2.CV_32F, 2, 0, ksize=3), cv2.Sobel(gs, cv2.CV_32F, 0, 2, ksize=3)
        dxy = cv2.Sobel(gs, cv2.CV_32F, 1, 1, ksize=3)
        across = (dxx + dyy) / 2 + np.sqrt(((dxx - dyy) / 2) ** 2 + dxy**2)  # > 0 across a dark ridge
        out.append(cv2.GaussianBlur(half(np.maximum(across, 0) * s * s), (0, 0), 1.5))
    small = half(g)
    out.append(cv2.GaussianBlur(small, (0, 0), 2) - cv2.GaussianBlur(small, (0, 0), 4))  # a spot, lighter or darker
    return np.stack(out).astype(np.float32)


def measure_all(grays: list[np.ndarray], workers: int | None = None) -> list[np.ndarray]:
    """measure_maps of each part, the parts of a batch side by side on the station's cores
    (station.core.cpu.each): 5.6 -> 3.2 ms a part on two cores. Each part's maps are the same
    either way."""
    from station.core.cpu import each

    return each(measure_maps, grays, workers)


@dataclass(frozen=True)
class TextureStats:
    """Each measure's mean and spread over good pixels, and its worst cell's log deviation over
    good parts (location and spread): what turns a cell's measures into evidence."""

    mu: np.ndarray
    spread: np.ndarray
    loc: np.ndarray
    sd: np.ndarray

    def cell_deviation(self, maps: np.ndarray, cells: tuple[int, int]) -> np.ndarray:
        """(K, H, W) measures -> (K, h, w) log of each cell's largest deviation in good spreads;
        border cells -inf."""
        k, hh, ww = maps.shape
        fy, fx = hh // cells[0], ww // cells[1]
        dev = np.abs((maps - self.mu[:, None, None]) / self.spread[:, None, None])
        dev = dev[:, : cells[0] * fy, : cells[1] * fx].reshape(k, cells[0], fy, cells[1], fx).max((2, 4))
        out = np.log(dev + 1e-6)
        b = BORDER if min(cells) > 2 * BORDER + 1 else 0
        if b:
            out[:, :b], out[:, -b:], out[:, :, :b], out[:, :, -b:] = -np.inf, -np.inf, -np.inf, -np.inf
        return out

    def raw_map(self, maps: np.ndarray, cells: tuple[int, int]) -> np.ndarray:
        """(h, w): per cell, the largest measure's deviation in good worst-cell sds."""
        z = (self.cell_deviation(maps, cells) - self.loc[:, None, None]) / self.sd[:, None, None]
        return z.max(0)

    def to_card(self) -> dict:
        return {key: [round(float(v), 6) for v in getattr(self, key)] for key in TEXTURE_STATS}

    @classmethod
    def from_card(cls, section: dict) -> TextureStats:
        return cls.of(tuple(section[key] for key in TEXTURE_STATS))

    @classmethod
    def of(cls, stats: tuple) -> TextureStats:
        """From the card's numbers in TEXTURE_STATS order (station.model.card.TextureSpec.stats)."""
        return cls(**{key: np.asarray(v, dtype=np.float64) for key, v in zip(TEXTURE_STATS, stats, strict=True)})


def moments(maps: np.ndarray) -> np.ndarray:
    """(3, K) of one part's (K, H, W) measures: pixel count, sum and sum of squares (float64).
    Parts' moments add up, so a fold's statistics are the whole's less the held-out parts':
    teaching never stacks every part's maps (0.46 MB a part) to take a mean."""
    flat = maps.reshape(len(maps), -1).astype(np.float64)
    return np.stack([np.full(len(maps), flat.shape[1], np.float64), flat.sum(1), (flat * flat).sum(1)])


def fit(maps: list[np.ndarray], cells: tuple[int, int], total: np.ndarray | None = None) -> TextureStats:
    """The good parts' statistics from their measure maps (`total`: their summed moments, when
    the caller has them)."""
    n, s1, s2 = total if total is not None else np.sum([moments(m) for m in maps], axis=0)
    mu = s1 / n
    spread = np.sqrt(np.maximum(s2 / n - mu * mu, 0.0)) + 1e-6
    base = TextureStats(mu, spread, np.zeros_like(mu), np.ones_like(mu))
    worst = np.stack([base.cell_deviation(m, cells).reshape(len(mu), -1).max(1) for m in maps])
    return TextureStats(mu, spread, worst.mean(0), worst.std(0) + 1e-3)


def teach(grays: list[np.ndarray], folds: list[np.ndarray], sigmas: float, cells: tuple[int, int],
          template_used: bool) -> dict:
    """The card's `anomaly.texture` section. Its cut follows the patch memory's rule on the same
    folds: each fold is scored against statistics of the others, cut = mean + `sigmas` sd."""
    if template_used:
        return {"used": False, "reason": "the registered template judges this line"}
    maps = measure_all(grays)
    n = len(maps)
    each = np.stack([moments(m) for m in maps])  # N, 3, K
    total = each.sum(0)
    scores = np.zeros(n)
    for held in folds:
        rest = fit([maps[i] for i in np.setdiff1d(np.arange(n), held)], cells, total - each[held].sum(0))
        scores[held] = [float(rest.raw_map(maps[i], cells).max()) for i in held]
    stats = fit(maps, cells, total)
    return {"used": True, "measures": list(MEASURES), **stats.to_card(),
            "raw_threshold": float(scores.mean() + sigmas * scores.std()), "scale": float(max(scores.std(), 1e-3)),
            "good_scores": [round(float(v), 5) for v in scores]}


def evidence(grays: list[np.ndarray], stats: TextureStats, cells: tuple[int, int], cut: float, scale: float) -> np.ndarray:
    """(N, h, w) texture evidence in held-out good sds past the cut (as the patch memory's z)."""
    return np.stack([(stats.raw_map(m, cells) - cut) / max(scale, 1e-6) for m in measure_all(grays)]).astype(np.float32)
