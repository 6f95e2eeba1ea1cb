"""The colour memory (station.model.colour): grey parts keep none; on coloured parts a stain whose
hue turns while its grey level stays is far from every good cell, and good parts are not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from station.model import colour

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
CELLS = (16, 16)


def _batch(images: list[np.ndarray]) -> np.ndarray:
    """RGB images in 0..1 (H, W, 3) -> the model's normalised batch (N, 3, H, W)."""
    x = np.stack(images).transpose(0, 3, 1, 2)
    return ((x - MEAN[None, :, None, None]) / STD[None, :, None, None]).astype(np.float32)


def _part(rng: np.random.Generator) -> np.ndarray:
    """A brownish mottled part under a slightly different light each time."""
    grain = cv2.GaussianBlur(rng.random((128, 128)).astype(np.float32), (0, 0), 3.0)
    grain = (grain - grain.min()) / (grain.max() - grain.min())
    rgb = np.stack([0.55 + 0.3 * grain, 0.4 + 0.25 * grain, 0.25 + 0.15 * grain], axis=-1)
    return np.clip(rgb * rng.uniform(0.92, 1.08), 0, 1).astype(np.float32)


def _discolour(part: np.ndarray) -> np.ndarray:
    """The same grey level, another hue: a blue-green stain in the middle."""
    out = part.copy()
    grey = 0.299 * part[..., 0] + 0.587 * part[..., 1] + 0.114 * part[..., 2]
    stain = np.stack([grey - 0.12, grey + 0.05, grey + 0.09], axis=-1)
    out[48:80, 48:80] = stain[48:80, 48:80]
    return np.clip(out, 0, 1)


def test_grey_parts_keep_no_colour_memory():
    rng = np.random.default_rng(0)
    greys = [np.repeat(cv2.GaussianBlur(rng.random((128, 128)).astype(np.float32), (0, 0), 2)[..., None], 3, axis=2) for _ in range(10)]
    chroma = colour.chroma_cells(_batch(greys), MEAN, STD, CELLS)
    assert np.abs(chroma).max() < 1e-5
    section, bank = colour.teach(chroma, np.array_split(np.arange(10), 5), 3.0)
    assert bank is None and not section["used"] and "grey" in section["reason"]


def test_a_hue_the_good_parts_never_showed_is_caught_and_good_parts_pass():
    rng = np.random.default_rng(1)
    good = [_part(rng) for _ in range(20)]
    chroma = colour.chroma_cells(_batch(good), MEAN, STD, CELLS)
    section, bank = colour.teach(chroma, np.array_split(rng.permutation(20), 5), 3.0)
    assert section["used"] and bank is not None and bank.shape == (section["bank"], 2)
    # In the patch memory's units: the held-out good parts' mean three scales under the cut, so a
    # recalibration that moves every cut by one z moves this one alike.
    held = np.array(section["good_scores"])
    assert (section["raw_threshold"] - held.mean()) / section["scale"] == pytest.approx(3.0, rel=1e-3)
    fresh = [_part(rng) for _ in range(10)]
    stained = [_discolour(p) for p in fresh]
    for before, after in zip(fresh, stained, strict=True):  # a colour-only defect: the grey image hardly changed
        assert np.abs(cv2.cvtColor(after, cv2.COLOR_RGB2GRAY) - cv2.cvtColor(before, cv2.COLOR_RGB2GRAY)).max() < 0.01
    d_good = colour.distances(colour.chroma_cells(_batch(fresh), MEAN, STD, CELLS), bank)
    d_bad = colour.distances(colour.chroma_cells(_batch(stained), MEAN, STD, CELLS), bank)
    cut = section["raw_threshold"]
    assert (d_good.reshape(10, -1).max(1) < cut).all(), "good parts under another light pass"
    assert (d_bad.reshape(10, -1).max(1) >= cut).all(), "every stained part is caught"
    peak = np.unravel_index(int(d_bad[0].argmax()), d_bad[0].shape)
    assert 5 <= peak[0] <= 10 and 5 <= peak[1] <= 10, "the map points at the stain"
