"""Grouping defect regions by likeness (station.model.grouping.cluster): alike regions together,
the largest group first, a region like no other alone, and the cut relative to the material."""

from __future__ import annotations

import numpy as np

from station.model.grouping import cluster


def _types(rng: np.random.Generator, sizes: list[int], dim: int = 64, noise: float = 0.25) -> tuple[np.ndarray, list[int]]:
    centres = rng.normal(size=(len(sizes), dim))
    x = np.concatenate([c + noise * rng.normal(size=(n, dim)) for c, n in zip(centres, sizes, strict=True)])
    return x, [k for k, n in enumerate(sizes) for _ in range(n)]


def test_alike_regions_form_one_group_each_largest_first():
    rng = np.random.default_rng(0)
    x, truth = _types(rng, [4, 9, 6])
    order = rng.permutation(len(x))
    got = cluster(x[order])
    assert got.sizes == [9, 6, 4]
    by_group = {g: {truth[i] for i, gg in zip(order, got.of, strict=True) if gg == g} for g in range(3)}
    assert by_group == {0: {1}, 1: {2}, 2: {0}}


def test_a_region_like_no_other_stays_alone_and_small_inputs_work():
    rng = np.random.default_rng(1)
    x, _ = _types(rng, [5, 5])
    stranger = rng.normal(size=(1, x.shape[1])) * 10
    got = cluster(np.concatenate([x, stranger]))
    assert got.sizes == [5, 5, 1] and got.of[-1] == 2
    assert cluster(np.zeros((0, 8))).of == []
    assert cluster(np.ones((1, 8))).sizes == [1]
    assert cluster(np.eye(3)).sizes == [1, 1, 1], "unrelated regions are never merged, however few"


def test_the_cut_follows_the_material():
    """The same three types, once tight and once loose (a busy material's regions are less alike
    within a type): the relative cut groups both, purely; a fixed cut that suits the tight ones
    (brick's 0.69) leaves the loose ones nearly all alone."""
    rng = np.random.default_rng(2)
    for noise in (0.3, 0.9):
        x, truth = _types(rng, [8, 8, 8], noise=noise)
        got = cluster(x)
        pure = sum(max(np.bincount([t for t, g in zip(truth, got.of, strict=True) if g == k])) for k in range(len(got.sizes)))
        assert pure == len(x), (noise, got.sizes)
        assert got.sizes[0] == 8 and got.sizes[1] >= 7, (noise, got.sizes)  # most of each type together
    fixed = cluster(x, min_similarity=0.69)
    assert max(fixed.sizes) <= 2
