"""Failed parts grouped by the likeness of their defects, so an inspector
names a whole group with one key (the review grid's groups, `station queue --group`).

Naming types one part at a time, 100 reviews met 20–35 defects, a handful per type, and the
plainest types first. Alike regions side by side let one key name a dozen, and a group nobody
has named is a type the station has not been told about yet.

The description is the type namer's (the model's `regions`: the defect's shape against the
template on a fixtured line, else the trunk's features of the region), so a group is what the
namer would also call alike. Numpy only: both backends give the descriptions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# How alike a group's regions are, at least, on average: a fraction of how alike a region and its
# nearest other region are, for the least alike quarter of them. Relative, because the likeness
# of regions differs by material: on brick's reviewed defects the rule gives 0.69, on gravel's
# 0.60, and a fixed cut that groups brick well left gravel's defects nearly all alone
# (docs/learning.md, "Naming by shape, and groups of alike defects").
NEAREST_QUANTILE = 0.25
NEAREST_FRACTION = 0.9
FLOOR = 0.5  # never below: two defects of different types are 0.39-0.45 alike on average
BATCH = 16

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Groups:
    """Group per input row (0 = the largest group; ties: the group whose first row comes first),
    and each group's size."""

    of: list[int]
    sizes: list[int]


def cluster(vectors: np.ndarray, min_similarity: float | None = None) -> Groups:
    """Average-linkage agglomerative clustering on cosine similarity: the two most alike groups
    merge while their average likeness is at least `min_similarity` (default: the relative rule
    above). O(n^3) in numpy, a fraction of a second for a queue page of a few hundred."""
    n = len(vectors)
    if n == 0:
        return Groups([], [])
    v = np.asarray(vectors, np.float64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
    sim = v @ v.T
    np.fill_diagonal(sim, -np.inf)
    if min_similarity is None:
        min_similarity = max(FLOOR, NEAREST_FRACTION * float(np.quantile(sim.max(1), NEAREST_QUANTILE)) if n > 1 else 1.0)
    sizes = np.ones(n)
    members: list[list[int]] = [[i] for i in range(n)]
    while True:  # until no two groups are alike enough (one group left: every entry is -inf)
        i, j = (int(a) for a in np.unravel_index(int(np.argmax(sim)), sim.shape))
        if sim[i, j] < min_similarity:
            break
        row = (sizes[i] * sim[i] + sizes[j] * sim[j]) / (sizes[i] + sizes[j])  # a gone group stays -inf
        sim[i, :] = row
        sim[:, i] = row
        sim[i, i] = -np.inf
        sim[j, :] = -np.inf
        sim[:, j] = -np.inf
        sizes[i] += sizes[j]
        members[i] += members[j]
        members[j] = []
    found = sorted((m for m in members if m), key=lambda m: (-len(m), min(m)))
    of = [0] * len(vectors)
    for g, m in enumerate(found):
        for k in m:
            of[k] = g
    return Groups(of, [len(m) for m in found])


def describe_images(model: Any, images: Sequence[np.ndarray]) -> np.ndarray:
    """Region descriptions of decoded images under `model` (an anomaly model of either backend)."""
    if not hasattr(model, "regions"):
        from station.core.errors import StationError

        raise StationError(f"model {model.name!r} finds no regions to group: grouping needs a taught model (station teach)")
    out = [model.regions(np.stack([model.prepare(im) for im in images[i : i + BATCH]])) for i in range(0, len(images), BATCH)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def group_images(model: Any, images: Sequence[np.ndarray], min_similarity: float | None = None) -> Groups:
    vectors = describe_images(model, images)
    if getattr(model, "region_kind", "region") == "shape" and len(vectors) > 1:
        # Shape numbers have units of their own: alike is the cosine of the standardised numbers.
        vectors = (vectors - vectors.mean(0)) / (vectors.std(0) + 1e-6)
    return cluster(vectors, min_similarity)


@dataclass(frozen=True)
class Placed:
    group: int  # 1 = the largest group
    size: int


def group_stored(model: Any, blobs: Any, image_keys: Sequence[str | None]) -> list[Placed | None]:
    """Per stored image (a key in `blobs`, station.store.blobs), its group; None where the image
    is gone (purged, never stored) or cannot be read now: that item stays in the queue ungrouped.
    A store that is down is not "cannot be read": its error goes to the caller."""
    from station.core.errors import ImageError
    from station.core.imageio import decode

    images, where = [], []
    for i, key in enumerate(image_keys):
        if key is None:
            continue
        try:
            images.append(decode(blobs.get(key)))
            where.append(i)
        except ImageError as exc:
            log.warning("not grouped: %s: %s", key, exc)
    groups = group_images(model, images)
    out: list[Placed | None] = [None] * len(image_keys)
    for i, g in zip(where, groups.of, strict=True):
        out[i] = Placed(g + 1, groups.sizes[g])
    return out
