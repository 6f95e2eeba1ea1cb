"""Naming a defect type from its region (station.model.types), through its public functions:
the nearest reviewed defect, the linear namer once each type has a few, and "unknown"."""

from __future__ import annotations

import numpy as np

from station.model import types


def _regions(rng: np.random.Generator, centres: np.ndarray, per: int, noise: float) -> tuple[np.ndarray, list[int]]:
    x = np.concatenate([c + noise * rng.normal(size=(per, centres.shape[1])) for c in centres])
    return x.astype(np.float32), [k for k in range(len(centres)) for _ in range(per)]


def test_each_type_is_named_and_a_region_like_none_stays_unknown():
    rng = np.random.default_rng(0)
    dim = 240
    centres = np.zeros((3, dim))
    centres[0, :80], centres[1, 80:160], centres[2, 160:] = 1.0, 1.0, 1.0
    names = ["crack", "scratch", "stain"]
    x, y = _regions(rng, centres, 2, 0.3)
    few = types.fit(x, [names[k] for k in y])
    assert few.linear is None and few.classes == names  # two of each: the nearest names them
    x, y = _regions(rng, centres, 5, 0.3)
    bank = types.fit(x, [names[k] for k in y])
    assert bank.linear is not None  # five of each: the linear namer
    test, truth = _regions(rng, centres, 20, 0.3)
    rows = bank.rows(types._unit(test))
    assert rows.shape == (60, 4) and np.allclose(rows[:, :3].sum(1), 1.0, atol=1e-5)
    assert (rows[:, :3].argmax(1) == np.array(truth)).mean() >= 0.95
    assert (rows[:, 3] >= bank.cut).all(), "regions like the reviewed ones are known"
    stranger = types._unit(-centres[:1] + 0.3 * rng.normal(size=(1, dim)))
    assert bank.rows(stranger)[0, 3] < bank.cut, "a region like no reviewed defect: a type nobody named"


def test_the_region_is_where_the_map_peaks():
    emb = np.zeros((1, 4, 8, 8), np.float32)
    emb[0, 0] = 1.0
    emb[0, 1, 2, 5] = 5.0  # what the defect's cells look like
    maps = np.full((1, 8, 8), -5.0, np.float32)
    maps[0, 2, 5] = 3.0
    desc = types.describe(emb, maps)[0]
    region, differs = desc[:4] * np.sqrt(2), desc[4:] * np.sqrt(2)
    assert region.argmax() == 1 and differs.argmax() == 1
    assert np.isclose(np.linalg.norm(desc), 1.0, atol=1e-5)


def test_shape_numbers_are_alike_by_their_standardised_values():
    """Shape numbers have units of their own (a size in hundreds of pixels beside a sign of ±1):
    a standardised bank tells types apart by every number, not by the largest one alone."""
    rng = np.random.default_rng(3)
    size = rng.normal(500.0, 50.0, size=30)  # the same spread of sizes for both types
    sign = np.repeat([1.0, -1.0], 15) + 0.1 * rng.normal(size=30)  # bright scratches, dark cracks
    x = np.stack([size, sign], axis=1).astype(np.float32)
    names = ["scratch"] * 15 + ["crack"] * 15
    raw = types.fit(x, names)
    shaped = types.fit(x, names, standardised=True)
    test = np.array([[520.0, 1.0], [480.0, -1.0]], np.float32)
    assert shaped.classes == ["crack", "scratch"]
    assert list(shaped.similarities(test).argmax(1)) == [1, 0], "named by the sign, whatever the size"
    cos = raw.similarities(types._unit(test))
    assert abs(cos[0, 0] - cos[0, 1]) < 0.01, "unstandardised, the size swamps the sign"
