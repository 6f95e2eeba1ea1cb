"""A defect's shape against the template (station.model.defect_shape): a bright thin line, a small
dark blob and a smoothed patch read as what they are, on a template of a textured part."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from station.model.defect_shape import FEATURES, shape_features
from station.model.template import Judge, TemplateStats

SIGN, SIZE, ELONGATION, ROUGHNESS = 0, 1, 2, 4


@pytest.fixture(scope="module")
def part() -> tuple[Judge, np.ndarray]:
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.random((256, 256)).astype(np.float32), (0, 0), 2.0)
    texture = (texture - texture.min()) / (texture.max() - texture.min()) * 0.6 + 0.2
    stats = TemplateStats(texture, np.full_like(texture, 0.03), np.full_like(texture, 50.0))
    return Judge(stats), texture


def test_a_scratch_a_spot_and_wear_read_as_what_they_are(part):
    judge, good = part
    scratch = good.copy()
    cv2.line(scratch, (60, 80), (190, 120), 1.0, 2)
    spot = good.copy()
    cv2.circle(spot, (128, 128), 5, 0.0, -1)
    wear = good.copy()
    wear[90:170, 90:170] = cv2.GaussianBlur(good, (0, 0), 4.0)[90:170, 90:170] + 0.05
    s, p, w = (shape_features(judge, im) for im in (scratch, spot, wear))
    assert s.shape == (FEATURES,)
    assert s[SIGN] > 0.5 and p[SIGN] < -0.5, "a scratch is brighter than the good part, a spot darker"
    assert s[ELONGATION] > p[ELONGATION] + 1.0, "a scratch is a line, a spot a blob"
    assert w[SIZE] > p[SIZE], "wear covers more than a spot"
    assert w[ROUGHNESS] < -1.0 < 1.0 < s[ROUGHNESS], "worn is smoother than the good part, a scratch rougher"


def test_a_part_that_does_not_register_has_no_shape(part):
    judge, _ = part
    other = np.random.default_rng(9).random((256, 256)).astype(np.float32)
    assert not shape_features(judge, other).any()


def test_a_batch_compared_side_by_side_registers_each_part_as_one_by_one(part):
    """The parts of a batch are compared with the template on the station's cores
    (station.core.cpu.each), each comparison with a registrar of its own: the same registration,
    the same residual and shape, and a part that does not register is None either way."""
    from station.core.cpu import each

    judge, good = part
    parts = []
    for i in range(6):
        m = cv2.getRotationMatrix2D((128, 128), 3.0 * i - 7.0, 1.0)
        m[:, 2] += (2 * i - 5, 5 - i)
        moved = cv2.warpAffine(good, m, (256, 256), borderMode=cv2.BORDER_REFLECT)
        cv2.circle(moved, (60 + 20 * i, 100), 4, 0.0, -1)
        parts.append(moved.astype(np.float32))
    parts.append(np.random.default_rng(9).random((256, 256)).astype(np.float32))  # not this product
    one = [judge.compare(p) for p in parts]
    side = each(judge.compare, parts, workers=3)
    assert one[-1] is None and side[-1] is None and all(c is not None for c in one[:-1])
    for a, b in zip(one[:-1], side[:-1]):
        assert np.array_equal(a.residual((32, 32)), b.residual((32, 32)))
        assert np.array_equal(a.part, b.part) and np.array_equal(a.valid, b.valid)
