"""A colour memory beside the patch memory: what catches a defect only colour shows.

The trunk's patch features are ImageNet's and mostly about shape and shading; a stain whose hue
turns while its grey level stays (a discoloration) moved them less than the material's own
variety (ihc-web: recall 0.05 at 5% false alarms). The colour memory keeps the good parts'
chroma per 8-pixel cell, the two numbers a grey level hides (red and blue, each less the grey),
averaged with their neighbours like the patch features. A cell's evidence is its distance to
the nearest good cell's chroma, in held-out good standard deviations past the cut, in the same
units as the patch memory's; each cell's evidence is the larger of the two.

Only for parts with colour: on grey parts the chroma is zero everywhere and no memory is kept,
so a grey line is judged exactly as before. Numpy and OpenCV only: both backends use it.
"""

from __future__ import annotations

import numpy as np

GREY_SPREAD = 0.01  # the good parts' chroma spread below this: grey parts, no colour memory
BANK = 1024  # good chroma kept (farthest-point): a 2-number space is covered by far fewer than patches
MIN_CUT = 0.03  # chroma units (0..1 grey levels): below this no eye tells colours apart on a line


def chroma_cells(x: np.ndarray, mean: np.ndarray, std: np.ndarray, cells: tuple[int, int]) -> np.ndarray:
    """Normalised input batch (N, 3, H, W) -> (N, h, w, 2) chroma per feature cell, averaged with
    its neighbours (3 x 3 cells, as the patch features are)."""
    import cv2

    rgb = x * std[None, :, None, None] + mean[None, :, None, None]
    grey = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    out = np.empty((len(x), cells[0], cells[1], 2), np.float32)
    for i in range(len(x)):
        pixels = np.stack([rgb[i, 0] - grey[i], rgb[i, 2] - grey[i]], axis=-1).astype(np.float32)
        per_cell = cv2.resize(pixels, (cells[1], cells[0]), interpolation=cv2.INTER_AREA)
        out[i] = cv2.blur(per_cell, (3, 3), borderType=cv2.BORDER_REFLECT)
    return out


class Field:
    """Distance to the nearest good chroma, precomputed over the whole chroma plane: a look-up per
    cell instead of a search of the bank (the search cost twice the rest of the anomaly path).
    The plane is gridded at STEP; the error is under one step, far below any cut (MIN_CUT)."""

    STEP = 0.0025
    SPAN = 1.0  # chroma (a channel less the grey) lies within +-0.89 for any colour in 0..1

    def __init__(self, bank: np.ndarray) -> None:
        import cv2

        self.n = n = int(round(2 * self.SPAN / self.STEP)) + 1
        seeds = np.full((n, n), 255, np.uint8)
        ij = self._index(np.asarray(bank, np.float64).reshape(-1, 2))
        seeds[ij[:, 0], ij[:, 1]] = 0
        # Euclidean distance (in grid steps) from every point of the plane to the nearest good one.
        self.table = (cv2.distanceTransform(seeds, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * self.STEP).astype(np.float32)

    def _index(self, c: np.ndarray) -> np.ndarray:
        return np.clip(np.rint((c + self.SPAN) / self.STEP), 0, self.n - 1).astype(np.int64)

    def distances(self, chroma: np.ndarray) -> np.ndarray:
        """(N, h, w, 2) chroma -> (N, h, w) distance to the nearest good chroma."""
        ij = self._index(chroma.reshape(-1, 2))
        return self.table[ij[:, 0], ij[:, 1]].reshape(chroma.shape[:-1])


def distances(chroma: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """(N, h, w, 2) chroma and (k, 2) good chroma -> (N, h, w) distance to the nearest good one."""
    return Field(bank).distances(chroma)


def bank_of(chroma: np.ndarray, size: int = BANK, seed: int = 0) -> np.ndarray:
    """Farthest-point selection of good chroma: every colour the good parts showed stays within
    reach of one kept point, however rare it was."""
    pts = chroma.reshape(-1, 2).astype(np.float64)
    if len(pts) <= size:
        return pts.astype(np.float32)
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(len(pts)))]
    d = ((pts - pts[chosen[0]]) ** 2).sum(1)
    for _ in range(size - 1):
        i = int(np.argmax(d))
        chosen.append(i)
        d = np.minimum(d, ((pts - pts[i]) ** 2).sum(1))
    return pts[chosen].astype(np.float32)


def teach(chroma: np.ndarray, folds: list[np.ndarray], sigmas: float) -> tuple[dict, np.ndarray | None]:
    """The card's `anomaly.colour` section and the colour bank (None for grey parts). The cut
    follows the patch memory's rule on the same folds: held-out good mean + `sigmas` sd of the
    image's worst cell, and never under MIN_CUT."""
    spread = float(chroma.std())
    if spread < GREY_SPREAD:
        return {"used": False, "reason": f"grey parts (chroma spread {spread:.4f})"}, None
    n = len(chroma)
    scores = np.zeros(n)
    for held in folds:
        rest = np.setdiff1d(np.arange(n), held)
        scores[held] = distances(chroma[held], bank_of(chroma[rest])).reshape(len(held), -1).max(1)
    cut = max(float(scores.mean() + sigmas * scores.std()), MIN_CUT)
    # The scale puts the good parts' mean `sigmas` below the cut, as on the patch memory, also
    # when the cut is MIN_CUT: a recalibration that moves every cut by one z then moves this one
    # alike (with the bare spread it moved the colour cut several times as far, under good parts).
    section = {"used": True, "raw_threshold": cut, "scale": float(max((cut - scores.mean()) / sigmas, 1e-3)),
               "good_scores": [round(float(v), 5) for v in scores], "bank": 0, "spread": round(spread, 4)}
    bank = bank_of(chroma)
    section["bank"] = int(len(bank))
    return section, bank
