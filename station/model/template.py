"""A registered golden template: the anomaly model's second opinion on a fixtured product.

On most inspection stations every part is the same product in the same fixture: the same print,
the same moulding, the same pattern of stones cast into the same face, seen with a small error of
place, scale, angle and light. Then the strongest evidence of a defect is a difference from what
the good parts look like *at that place*, which a memory of patches from anywhere (PatchCore)
cannot use: on a busy texture a faint stain looks like some other good patch somewhere.

Teaching registers the good parts to each other (ORB keypoints, a RANSAC similarity transform),
corrects each one's light (gain, offset and a gradient, least squares against the running mean)
and keeps, on a canvas that covers every place a part was seen, the mean grey level, its spread
across the good parts and how many saw each pixel. A part is judged by registering it to that
mosaic, warping the mosaic into the part's own frame, correcting the part's light the same way,
and taking |part - mean| / (spread + SD_FLOOR), smoothed, per feature cell: a map in the same
cells as the patch distances, so the two combine patch by patch.

It is used only where it applies: teaching keeps it when at least MIN_REGISTERED of the good parts
register (a product whose every part is a new piece of material, or a part free to turn, does
not), and a pixel fewer than MIN_COUNT good parts saw is left to the patch memory. A part that
does not register at all does not look like the taught product, and the model says so.

Measured on the real-photo lines (docs/learning.md): held-out AUROC from 50 good parts alone,
gravel 0.73 (patch memory) -> 1.0 with the template; registration and residual cost ~25 ms a part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_INLIERS = 20  # keypoint matches agreeing on one transform before a registration is trusted
MIN_REGISTERED = 0.9  # share of the good parts that must register for teaching to keep a template
MIN_COUNT = 3  # good parts that must have seen a pixel before the template judges it
EDGE = 5  # pixels dropped at the edge of each warped part (interpolation runs out there)
SD_FLOOR = 0.02  # grey levels (0..1): sensor noise, so a pixel every good part agreed on is not infinitely strict
SMOOTH = 2.0  # px at 256 px input: a defect is a region, one hot pixel is noise
REGISTER_SCALE = 1.0  # keypoints at full size: at half size, brick's repeating courses registered 20 parts of 50
REFERENCE_FEATURES = 1500  # keypoints on the mosaic (it is larger than a part)
PART_FEATURES = 500


@dataclass
class TemplateStats:
    """The canvas: mean grey level (0..1), its spread, and how many good parts saw each pixel."""

    mean: np.ndarray
    sd: np.ndarray
    count: np.ndarray


@dataclass
class Compared:
    """A registered part (light corrected) and the template in its frame, pixel by pixel."""

    part: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    valid: np.ndarray  # where enough good parts were seen to judge

    def signed(self) -> np.ndarray:
        """(part - mean) / spread, smoothed: positive where the part is brighter than good ones."""
        import cv2

        w = self.part.shape[1]
        return cv2.GaussianBlur((self.part - self.mean) / (self.sd + SD_FLOOR), (0, 0), SMOOTH * w / 256.0)

    def residual(self, cells: tuple[int, int]) -> np.ndarray:
        """(h, w) |signed| per feature cell; 0 where the template cannot judge."""
        import cv2

        if self.valid.mean() < 0.05:
            return np.zeros(cells, np.float32)
        r = np.abs(self.signed()) * self.valid
        return cv2.resize(r, (cells[1], cells[0]), interpolation=cv2.INTER_AREA)


def gray_images(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> list[np.ndarray]:
    """Normalized input batch (N, 3, H, W) -> grey images in 0..1, as the model saw them."""
    rgb = x * std[None, :, None, None] + mean[None, :, None, None]
    gray = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    return [np.clip(g, 0.0, 1.0).astype(np.float32) for g in gray]


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _keypoints(orb, img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Keypoint positions (in full-size pixels) and descriptors, found at REGISTER_SCALE."""
    import cv2

    small = cv2.resize(_u8(img), None, fx=REGISTER_SCALE, fy=REGISTER_SCALE, interpolation=cv2.INTER_AREA)
    kp, desc = orb.detectAndCompute(small, None)
    return np.array([k.pt for k in kp], np.float32).reshape(-1, 2) / REGISTER_SCALE, desc


class Registrar:
    """Registers parts to one reference image (a similarity transform, part -> reference)."""

    def __init__(self, reference: np.ndarray, features: int = REFERENCE_FEATURES) -> None:
        import cv2

        self._orb = cv2.ORB.create(nfeatures=PART_FEATURES, fastThreshold=10)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        ref_orb = cv2.ORB.create(nfeatures=features, fastThreshold=10)
        self._ref = _keypoints(ref_orb, reference)

    def register(self, gray: np.ndarray) -> np.ndarray | None:
        """2x3 matrix taking the part's pixels to the reference's, or None when it does not match."""
        import cv2

        ref_pts, ref_desc = self._ref
        pts, desc = _keypoints(self._orb, gray)
        if desc is None or ref_desc is None or len(pts) < MIN_INLIERS:
            return None
        pairs = self._matcher.knnMatch(desc, ref_desc, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
        if len(good) < MIN_INLIERS:
            return None
        src = pts[[m.queryIdx for m in good]]
        dst = ref_pts[[m.trainIdx for m in good]]
        matrix, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0)
        if matrix is None or inliers is None or int(inliers.sum()) < MIN_INLIERS:
            return None
        scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
        if not 0.7 < scale < 1.4:  # a fixtured part does not change size by a third
            return None
        return matrix


def _light(img: np.ndarray, ref: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """img with gain, offset and a linear gradient fitted to ref over `valid` (every 3rd pixel)."""
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx, yy = xx / w - 0.5, yy / h - 0.5
    pick = np.zeros_like(valid)
    pick[::3] = valid[::3]  # a third of the rows: the fit has 4 unknowns and thousands of pixels
    if pick.sum() < 64:
        return img
    design = np.stack([img[pick], np.ones(int(pick.sum()), np.float32), xx[pick], yy[pick]], 1)
    coef, *_ = np.linalg.lstsq(design, ref[pick], rcond=None)
    return (img * coef[0] + coef[1] + coef[2] * xx + coef[3] * yy).astype(np.float32)


def _footprint(shape: tuple[int, int], matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    ones = np.ones(shape, np.uint8)
    warped = cv2.warpAffine(ones, matrix, size, flags=cv2.INTER_NEAREST)
    return cv2.erode(warped, np.ones((2 * EDGE + 1, 2 * EDGE + 1), np.uint8)) > 0


def build(grays: list[np.ndarray]) -> tuple[TemplateStats | None, int]:
    """The template of these good parts, and how many registered; None when too few did.

    Parts are registered to the first one; those that share too little with it (a part placed at
    the other end of the fixture's play) get a second chance against the mosaic of the rest."""
    if len(grays) < MIN_COUNT:
        return None, 0
    reg = Registrar(grays[0])
    matrices = [reg.register(g) for g in grays]
    missing = [i for i, m in enumerate(matrices) if m is None]
    if missing and len(grays) - len(missing) >= MIN_COUNT:
        first, origin = _mosaic([(g, m) for g, m in zip(grays, matrices) if m is not None])
        wider = Registrar(first.mean)
        for i in missing:
            m = wider.register(grays[i])
            if m is not None:
                m[:, 2] -= origin  # mosaic pixels -> the first part's
                matrices[i] = m
    placed = [(g, m) for g, m in zip(grays, matrices) if m is not None]
    if len(placed) < max(MIN_COUNT, MIN_REGISTERED * len(grays)):
        return None, len(placed)
    return _mosaic(placed)[0], len(placed)


def _mosaic(placed: list[tuple[np.ndarray, np.ndarray]]) -> tuple[TemplateStats, np.ndarray]:
    """The canvas of registered parts (part -> first part's pixels), and where the first part's
    origin sits on it."""
    import cv2

    h, w = placed[0][0].shape
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64).T
    pts = np.hstack([m @ corners for _, m in placed])
    origin = np.floor(pts.min(1))
    far = np.ceil(pts.max(1))
    size = (int(far[0] - origin[0]), int(far[1] - origin[1]))
    warps, masks = [], []
    for g, m in placed:
        shifted = m.copy()
        shifted[:, 2] -= origin
        warps.append(cv2.warpAffine(g, shifted, size, flags=cv2.INTER_LINEAR))
        masks.append(_footprint(g.shape, shifted, size))
    stack, seen = np.array(warps), np.array(masks)
    for _ in range(2):  # light: each part against the mean of all, twice (the mean improves)
        count = seen.sum(0)
        mean = (stack * seen).sum(0) / np.maximum(count, 1)
        for j in range(len(stack)):
            stack[j] = np.where(seen[j], _light(stack[j], mean, seen[j] & (count >= 2)), 0.0)
    count = seen.sum(0)
    mean = (stack * seen).sum(0) / np.maximum(count, 1)
    var = (((stack - mean) ** 2) * seen).sum(0) / np.maximum(count - 1, 1)
    stats = TemplateStats(mean.astype(np.float32), np.sqrt(var).astype(np.float32), count.astype(np.float32))
    return stats, -origin


def absorb(stats: TemplateStats, grays: list[np.ndarray]) -> tuple[TemplateStats, int]:
    """The template with these (reviewed good) parts folded in, and how many registered: where a
    good part was called defective, its look becomes part of what good means there, so the same
    false alarm does not recur. The canvas keeps its size; a part's pixels outside it are dropped."""
    import cv2

    reg = Registrar(stats.mean)
    mean, count = stats.mean.astype(np.float64), stats.count.astype(np.float64)
    m2 = stats.sd.astype(np.float64) ** 2 * np.maximum(count - 1, 0)  # sum of squared deviations
    size = (mean.shape[1], mean.shape[0])
    n = 0
    for gray in grays:
        matrix = reg.register(gray)
        if matrix is None:
            continue
        seen = _footprint(gray.shape, matrix, size)
        warped = cv2.warpAffine(gray, matrix, size, flags=cv2.INTER_LINEAR)
        part = _light(warped, mean.astype(np.float32), seen & (count >= MIN_COUNT)).astype(np.float64)
        count = count + seen  # Welford's update, pixel by pixel, where this part was seen
        delta = np.where(seen, part - mean, 0.0)
        mean = mean + delta / np.maximum(count, 1)
        m2 = m2 + np.where(seen, delta * (part - mean), 0.0)
        n += 1
    sd = np.sqrt(m2 / np.maximum(count - 1, 1))
    return TemplateStats(mean.astype(np.float32), sd.astype(np.float32), count.astype(np.float32)), n


class Judge:
    """Scores parts against a template: residual maps in feature cells, in the part's own frame."""

    def __init__(self, stats: TemplateStats) -> None:
        import threading

        self.stats = stats
        # Registrars not in use. A batch's parts are compared side by side, and OpenCV's ORB and
        # matcher objects are not documented as safe to share between threads: each comparison
        # takes one of its own. They are kept for the next batch, whose threads are new, because
        # finding the mosaic's keypoints again costs about 6.5 ms.
        self._free: list[Registrar] = []
        self._lock = threading.Lock()

    def _register(self, gray: np.ndarray) -> np.ndarray | None:
        with self._lock:
            registrar = self._free.pop() if self._free else None
        if registrar is None:  # keypoints of the mosaic, once per loaded model and concurrent part
            registrar = Registrar(self.stats.mean)
        try:
            return registrar.register(gray)
        finally:
            with self._lock:
                self._free.append(registrar)

    def compare(self, gray: np.ndarray) -> Compared | None:
        """The part beside the template warped into its frame, light corrected; None when the part
        does not register to the taught product."""
        import cv2

        matrix = self._register(gray)
        if matrix is None:
            return None
        h, w = gray.shape
        back = cv2.invertAffineTransform(matrix)
        mean = cv2.warpAffine(self.stats.mean, back, (w, h), flags=cv2.INTER_LINEAR)
        sd = cv2.warpAffine(self.stats.sd, back, (w, h), flags=cv2.INTER_LINEAR)
        count = cv2.warpAffine(self.stats.count, back, (w, h), flags=cv2.INTER_NEAREST)
        valid = cv2.erode((count >= MIN_COUNT).astype(np.uint8), np.ones((2 * EDGE + 1, 2 * EDGE + 1), np.uint8)) > 0
        part = _light(gray, mean, valid) if valid.mean() >= 0.05 else gray
        return Compared(part, mean, sd, valid)

    def residual(self, gray: np.ndarray, cells: tuple[int, int]) -> np.ndarray | None:
        """(h, w) residual per feature cell (0 where the template cannot judge), or None when the
        part does not register to the taught product."""
        c = self.compare(gray)
        return None if c is None else c.residual(cells)

    def scores(self, grays: list[np.ndarray], cells: tuple[int, int]) -> np.ndarray:
        """Image scores (the residual map's maximum); inf for a part that does not register."""
        out = []
        for g in grays:
            r = self.residual(g, cells)
            out.append(float("inf") if r is None else float(r.max()))
        return np.asarray(out)
