"""Texture statistics as an anomaly score, measured on a `station line-data` tree (issue #28's
option "texture statistics"; results in docs/learning.md).

    python scripts/texture_stats.py LINE_DIR      # a tree with good/ and test/ from `station line-data`

Each pixel gets a few hand-made measures, all after the part's own gain, offset and light ramp
are taken out: the local mean and the local fine-detail energy at two scales, the strongest
straight line through it (41 px, 15 angles, lighter and darker), thin dark ridges (Hessian, two
scales), and for colour parts the local a*/b* chroma. The good parts give each measure's mean
and spread. A part's score per measure is its worst pixel, as a z-score against the good parts'
own worst pixels (log scale); "any" is the largest of those, "joint" one Gaussian over every
measure at once (Mahalanobis, smoothed, worst pixel). Image AUROC on the test parts, overall and
per defect type against the good test parts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from station.model.texture import line_kernels

BORDER = 16


def auroc(bad: np.ndarray, score: np.ndarray) -> float:
    """The chance that a defective part scores above a good one (ties count half)."""
    pos, neg = score[bad], score[~bad]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


KERNELS = line_kernels(41)  # the station's texture memory uses 21 px at half size


def measures(img: np.ndarray) -> dict[str, np.ndarray]:
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    g = (g - g.mean()) / (g.std() + 1e-6)  # the part's own gain and offset
    g = g - cv2.GaussianBlur(g, (0, 0), 48)  # its light ramp
    m: dict[str, np.ndarray] = {}
    fine = g - cv2.GaussianBlur(g, (0, 0), 2)
    for s in (6, 12):
        m[f"mean {s}"] = cv2.GaussianBlur(g, (0, 0), s)
        m[f"energy {s}"] = np.log(cv2.GaussianBlur(fine * fine, (0, 0), s) + 1e-4)
    ridge = g - cv2.GaussianBlur(g, (0, 0), 3)
    lines = np.stack([cv2.filter2D(ridge, -1, k) for k in KERNELS])
    m["line lighter"], m["line darker"] = lines.max(0), -lines.min(0)
    for s in (1.0, 1.6):
        gs = cv2.GaussianBlur(g, (0, 0), s)
        dxx, dyy = cv2.Sobel(gs, cv2.CV_32F, 2, 0, ksize=3), cv2.Sobel(gs, cv2.CV_32F, 0, 2, ksize=3)
        dxy = cv2.Sobel(gs, cv2.CV_32F, 1, 1, ksize=3)
        across = (dxx + dyy) / 2 + np.sqrt(((dxx - dyy) / 2) ** 2 + dxy**2)  # > 0 across a dark ridge
        m[f"dark ridge {s}"] = cv2.GaussianBlur(np.maximum(across, 0) * s * s, (0, 0), 3)
    if np.abs(img[..., 0] - img[..., 2]).mean() > 0.02:  # a colour part
        lab = cv2.cvtColor(img, cv2.COLOR_BGR2Lab)
        for i, name in ((1, "a*"), (2, "b*")):
            m[f"chroma {name}"] = cv2.GaussianBlur(lab[..., i] - lab[..., i].mean(), (0, 0), 8)
    return {k: v[BORDER:-BORDER, BORDER:-BORDER] for k, v in m.items()}


def read(folder: Path) -> list[tuple[str, np.ndarray]]:
    return [(f.parent.name, cv2.imread(str(f)).astype(np.float32) / 255) for f in sorted(folder.glob("*/*.png"))]


def main(root: Path) -> None:
    good = [measures(img) for _, img in read(root / "good")]
    test = [(label, measures(img)) for label, img in read(root / "test")]
    keys = list(good[0])
    mean = {k: np.mean([g[k].mean() for g in good]) for k in keys}
    spread = {k: np.sqrt(np.mean([g[k].var() for g in good])) for k in keys}

    def worst(m: dict[str, np.ndarray]) -> dict[str, float]:
        return {k: float(np.log(np.abs((m[k] - mean[k]) / spread[k]).max())) for k in keys}

    ref = [worst(g) for g in good]
    loc = {k: np.mean([r[k] for r in ref]) for k in keys}
    sd = {k: np.std([r[k] for r in ref]) for k in keys}
    scores: dict[str, list[float]] = {k: [] for k in [*keys, "any", "joint"]}

    flat = lambda m: np.stack([m[k] for k in keys], -1).reshape(-1, len(keys))  # noqa: E731
    x = np.concatenate([flat(g)[::7] for g in good])
    mu, prec = x.mean(0), np.linalg.inv(np.cov(x.T) + 1e-3 * np.eye(len(keys)))
    for _, m in test:
        z = {k: (v - loc[k]) / sd[k] for k, v in worst(m).items()}
        for k in keys:
            scores[k].append(z[k])
        scores["any"].append(max(z.values()))
        d = flat(m) - mu
        side = next(iter(m.values())).shape[0]
        maha = np.einsum("ij,jk,ik->i", d, prec, d).reshape(side, side).astype(np.float32)
        scores["joint"].append(float(cv2.GaussianBlur(maha, (0, 0), 4).max()))

    labels = np.array([label for label, _ in test])
    kinds = sorted(set(labels) - {"good"})
    print("| measure | all | " + " | ".join(kinds) + " |")
    print("|---" * (len(kinds) + 2) + "|")
    for k, v in scores.items():
        s = np.array(v)
        per = [auroc(labels[(labels == "good") | (labels == t)] != "good", s[(labels == "good") | (labels == t)]) for t in kinds]
        print(f"| {k} | {auroc(labels != 'good', s):.3f} | " + " | ".join(f"{p:.2f}" for p in per) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
