"""The measured product lines (station.train.photolines): fixtured lines, lines where every part
is a new piece of material, and the colour-only defect. In-process and quick: no training."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from station.core.errors import StationError
from station.train import photolines
from station.train.defects import draw_defect, grey


def test_every_part_new_line_cuts_test_parts_from_rows_no_taught_part_came_from(tmp_path):
    counts = photolines.generate_line(tmp_path, "gravel-web", good=6, stream=6, test=8, seed=2, size=128)
    assert sum(counts["good"].values()) == 6 and sum(counts["test"].values()) == 8
    assert cv2.imread(str(next((tmp_path / "test").rglob("*.png"))), cv2.IMREAD_UNCHANGED).shape == (128, 128)
    # A photograph that is white above the cut and black below: a part's brightness says which
    # band it was cut from, whatever way it was turned.
    photo = np.zeros((512, 512), np.float32)
    photo[: int(512 * photolines.TEST_ROWS)] = 1.0
    spec = photolines.LINES["gravel-web"]
    for i in range(40):
        for split, want in (("good", 1.0), ("line", 1.0), ("test", 0.0)):
            part = photolines.make_part(photo, "good", 128, np.random.default_rng([i, len(split)]), spec, split)
            assert abs(part.mean() / 255.0 - want) < 0.2, (split, i, part.mean())
    # Each part is a new place: no two taught parts are the same crop.
    goods = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED).astype(float) for p in sorted((tmp_path / "good").rglob("*.png"))]
    assert min(np.abs(a - b).mean() for j, a in enumerate(goods) for b in goods[j + 1 :]) > 10


def test_the_quadrant_split_tests_on_two_quarters_no_taught_part_came_from(tmp_path):
    """`line-data --split quadrants`: taught and inspected parts from the top-left and bottom-right
    quarters, test parts from the other two, and both sides reach the top and the bottom."""
    # Two photographs, white on top and white on the left: the same part cut from each (same
    # seed, same place) says by its brightness which half of each way it came from.
    top, left = np.zeros((512, 512), np.float32), np.zeros((512, 512), np.float32)
    top[:256], left[:, :256] = 1.0, 1.0
    spec = photolines.LINES["gravel-web"]
    seen: dict[str, set[str]] = {"good": set(), "line": set(), "test": set()}
    for i in range(40):
        for split in seen:
            where = []
            for photo, names in ((top, ("bottom", "top")), (left, ("right", "left"))):
                part = photolines.make_part(photo, "good", 128, np.random.default_rng([i, len(split)]), spec, split, split_mode="quadrants")
                level = part.mean() / 255.0
                assert min(level, 1.0 - level) < 0.2, (split, i, level)  # wholly inside one half
                where.append(names[int(level > 0.5)])
            seen[split].add("-".join(where))
    assert seen["good"] == seen["line"] == {"top-left", "bottom-right"} and seen["test"] == {"top-right", "bottom-left"}, seen
    with pytest.raises(StationError, match="--split must be one of rows, quadrants"):
        photolines.generate_line(tmp_path, "gravel-web", good=1, stream=0, test=0, split_mode="diagonal")
    # The default split is the rows split, part for part.
    rows = photolines.generate_line(tmp_path / "a", "gravel-web", good=2, stream=0, test=2, seed=3, size=64)
    assert rows == photolines.generate_line(tmp_path / "b", "gravel-web", good=2, stream=0, test=2, seed=3, size=64, split_mode="rows")
    for a in sorted((tmp_path / "a").rglob("*.png")):
        b = tmp_path / "b" / a.relative_to(tmp_path / "a")
        assert np.array_equal(cv2.imread(str(a), cv2.IMREAD_UNCHANGED), cv2.imread(str(b), cv2.IMREAD_UNCHANGED))


def test_colour_line_has_a_defect_the_grey_image_does_not_show():
    photo = photolines.load_photo("ihc-web")
    assert photo.ndim == 3 and "discolor" in photolines.defects_of("ihc-web")
    rng = np.random.default_rng(5)
    part = photolines.capture_piece(photo, 256, rng, (0.0, 0.6), photolines.ANY_WAY)
    before = part.copy()
    draw_defect(part, "discolor", 0.5, rng, center=(128, 128))
    changed = np.abs(part - before).max(axis=2)
    assert changed.max() > 0.08, "the colour changed where the stain is"
    assert np.abs(grey(part) - grey(before)).max() < 1e-4, "the grey level did not"
    assert changed[128, 128] > 0.05 and changed[5, 5] < 1e-6


def test_fixtured_line_is_unchanged_and_unknown_lines_are_one_line(tmp_path):
    photolines.generate_line(tmp_path, "brick", good=2, stream=0, test=2, seed=0, size=96)
    a = cv2.imread(str(next((tmp_path / "good" / "good").glob("*.png"))), cv2.IMREAD_UNCHANGED)
    rng = np.random.default_rng([0, 0, 0])
    b = photolines.make_part(photolines.load_photo("brick"), "good", 96, rng)
    assert np.array_equal(a, b)
    with pytest.raises(StationError, match="unknown line 'wood'"):
        photolines.generate_line(tmp_path / "x", "wood")
    with pytest.raises(ValueError, match="colour part"):
        draw_defect(np.zeros((64, 64), np.float32), "discolor", 1.0, rng)


def test_one_strength_for_every_defect_changes_only_the_defects(tmp_path):
    """`line-data --strength S`: the same parts, every defect drawn at S (how plain a defect must
    be to be found); good parts are the very same images."""
    mixed, plain = tmp_path / "mixed", tmp_path / "plain"
    photolines.generate_line(mixed, "gravel-web", good=2, stream=0, test=10, seed=3, size=128)
    photolines.generate_line(plain, "gravel-web", good=2, stream=0, test=10, seed=3, size=128, strength=1.0)
    read = lambda p: cv2.imread(str(p), cv2.IMREAD_UNCHANGED).astype(float)  # noqa: E731
    pairs = [(p, plain / p.relative_to(mixed)) for p in sorted(mixed.rglob("*.png"))]
    assert pairs and all(q.is_file() for _, q in pairs)
    for p, q in pairs:
        differs = np.abs(read(p) - read(q)).max() > 0
        assert differs == (p.parent.name != "good"), p  # a defect drawn at its own strength (< 1) differs
    with pytest.raises(StationError, match="--strength must be between 0.3 and 1"):
        photolines.generate_line(tmp_path / "bad", "gravel-web", good=1, stream=0, test=0, strength=2.0)
