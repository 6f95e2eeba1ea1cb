"""The texture memory (station.model.texture): on a stochastic material with no template, a drawn
scratch, crack, spot or worn patch raises the evidence where it is drawn, and fresh good parts
stay under the cut; a line with a template keeps none."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from station.model import texture
from station.train.defects import draw_defect

SIZE = 128
CELLS = (16, 16)


def _stone(rng: np.random.Generator) -> np.ndarray:
    """A new piece of a grainy material under its own light each time."""
    grain = cv2.GaussianBlur(rng.random((SIZE, SIZE)).astype(np.float32), (0, 0), 1.5)
    grain = 0.5 + 3.0 * (grain - grain.mean())
    return np.clip(grain * rng.uniform(0.9, 1.1) + rng.uniform(-0.05, 0.05), 0, 1).astype(np.float32)


def _taught(n: int = 20, seed: int = 0) -> tuple[texture.TextureStats, dict]:
    rng = np.random.default_rng(seed)
    good = [_stone(rng) for _ in range(n)]
    section = texture.teach(good, np.array_split(rng.permutation(n), 5), 3.0, CELLS, template_used=False)
    return texture.TextureStats.from_card(section), section


def test_a_line_with_a_template_keeps_no_texture_memory():
    section = texture.teach([_stone(np.random.default_rng(i)) for i in range(10)], np.array_split(np.arange(10), 5), 3.0,
                            CELLS, template_used=True)
    assert section == {"used": False, "reason": "the registered template judges this line"}


def test_the_cut_is_in_the_patch_memorys_units():
    _, section = _taught()
    assert section["used"] and section["measures"] == list(texture.MEASURES)
    held = np.array(section["good_scores"])
    assert (section["raw_threshold"] - held.mean()) / section["scale"] == pytest.approx(3.0, rel=1e-3)


@pytest.mark.parametrize("kind", ["scratch", "crack", "spot", "wear"])
def test_a_plain_defect_is_found_where_it_is_drawn(kind):
    stats, section = _taught()
    cut, scale = section["raw_threshold"], section["scale"]
    rng = np.random.default_rng(7)
    fresh = [_stone(rng) for _ in range(12)]
    good_z = texture.evidence(fresh, stats, CELLS, cut, scale).reshape(12, -1).max(1)
    assert (good_z > 0).sum() <= 1, good_z  # fresh good parts stay under the cut (one may not: 3 sd)
    hits = 0
    for i, part in enumerate(fresh):
        bad = part.copy()
        draw_defect(bad, kind, 1.0, np.random.default_rng(100 + i), center=(64.0, 64.0))
        z = texture.evidence([bad], stats, CELLS, cut, scale)[0]
        peak = np.unravel_index(int(np.argmax(z)), z.shape)
        # found, and at the defect: its peak within 5 cells (40 px) of where it was drawn
        hits += bool(z.max() > 0 and abs(peak[0] - 8) <= 5 and abs(peak[1] - 8) <= 5)
    assert hits >= 8, f"{kind}: {hits} of 12 found"  # here: 9 scratches, 11-12 of the others


def test_the_outermost_cells_are_left_to_the_patch_memory():
    stats, section = _taught()
    z = texture.evidence([_stone(np.random.default_rng(3))], stats, CELLS, section["raw_threshold"], section["scale"])[0]
    assert np.isneginf(z[: texture.BORDER]).all() and np.isneginf(z[:, -texture.BORDER :]).all()
    assert np.isfinite(z[texture.BORDER : -texture.BORDER, texture.BORDER : -texture.BORDER]).all()


def test_a_batch_measured_on_two_threads_gives_each_part_the_same_maps(monkeypatch):
    """The parts of a batch are measured side by side on the station's cores (measure_all); each
    part's maps, and so the verdicts, are those measured one by one. STATION_THREADS sets the pool."""
    grays = [_stone(np.random.default_rng(40 + i)) for i in range(6)]
    one = [texture.measure_maps(g) for g in grays]
    monkeypatch.setenv("STATION_THREADS", "2")
    side_by_side = texture.measure_all(grays)
    assert len(side_by_side) == len(one) and all(np.array_equal(a, b) for a, b in zip(one, side_by_side))
    assert all(np.array_equal(a, b) for a, b in zip(one, texture.measure_all(grays, workers=1)))
    stats, section = _taught()
    monkeypatch.setenv("STATION_THREADS", "1")
    serial = texture.evidence(grays, stats, CELLS, section["raw_threshold"], section["scale"])
    monkeypatch.setenv("STATION_THREADS", "2")
    assert np.array_equal(serial, texture.evidence(grays, stats, CELLS, section["raw_threshold"], section["scale"]))
