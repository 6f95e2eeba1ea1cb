"""A defect's shape from the registered template's signed residual: what names its type on a
fixtured line.

On a line with a template the station knows each pixel of a good part, so the defect stands out
as the part's difference from it, signed: a scratch is a thin bright line, a crack a thin dark
one, a spot a small dark blob, a stain a broad soft one, wear a broad patch smoother than the
good parts. Trunk features of the region (station.model.types.describe) see "texture of this
kind here" and mixed these up (brick 0.73, gravel 0.41 of defects named right); these few
numbers of the difference itself name them far better (docs/learning.md, "Naming by shape, and
groups of alike defects").

Numpy and OpenCV only: both backends judge with the same template.
"""

from __future__ import annotations

import numpy as np

from station.model.template import Compared, Judge

BLOB_OF_PEAK = 0.4  # pixels at least this share of the peak |residual|, connected to it: the defect
FEATURES = 11


def shape_features(judge: Judge, gray: np.ndarray) -> np.ndarray:
    """(FEATURES,) numbers describing the defect at the residual's peak (zeros for a part that
    does not register: there is no difference to describe)."""
    return shape_of(judge.compare(gray))


def shape_of(c: Compared | None) -> np.ndarray:
    """shape_features of a part already compared with the template (the judging did it)."""
    import cv2

    if c is None or c.valid.mean() < 0.05:
        return np.zeros(FEATURES, np.float32)
    r = c.signed() * c.valid
    a = np.abs(r)
    peak = float(a.max()) + 1e-6
    _, lab = cv2.connectedComponents((a >= BLOB_OF_PEAK * peak).astype(np.uint8))
    py, px = np.unravel_index(int(np.argmax(a)), a.shape)
    blob = lab == lab[py, px]
    ys, xs = np.nonzero(blob)
    cov = np.cov(np.stack([ys, xs]).astype(np.float64)) if len(ys) > 2 else np.eye(2)
    long_, wide = np.sort(np.linalg.eigvalsh(cov))[::-1] + 1e-6

    def energy(im: np.ndarray) -> float:
        return float((cv2.Sobel(im, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(im, cv2.CV_32F, 0, 1) ** 2)[blob].mean())

    def detail(im: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(im, cv2.CV_32F))[blob].mean())

    inside = r[blob]
    return np.array([
        inside.mean() / (a[blob].mean() + 1e-6),  # brighter (+1) or darker (-1) than good parts
        np.log(blob.sum() + 1.0),  # size
        np.log(long_ / wide),  # a line or a blob
        np.log(peak),  # how far from good
        np.log((energy(c.part) + 1e-6) / (energy(c.mean) + 1e-6)),  # smoother (wear) or rougher than good parts
        np.log((detail(c.part) + 1e-6) / (detail(c.mean) + 1e-6)),
        inside.mean(),
        np.log(long_),  # length
        np.log(wide),  # width
        (inside > 0).mean(),
        a[blob].mean() / peak,  # flat-topped or peaked
    ], dtype=np.float32)


def describe_shapes(judge: Judge, grays: list[np.ndarray]) -> np.ndarray:
    """(N, FEATURES) for a batch of grey parts as the model saw them."""
    return np.stack([shape_features(judge, g) for g in grays]) if grays else np.zeros((0, FEATURES), np.float32)
