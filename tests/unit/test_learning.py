"""Learning a real product line: good-parts teaching, the hybrid from reviews, on real photos.

The photographs ship inside the scikit-image wheel (station.train.photolines); the defects are
drawn on them. Small and quick here; scripts/real_lines.py measures the full-size table."""

from __future__ import annotations

import shutil

import cv2
from conftest import run_cli


def test_line_data_writes_three_splits_from_the_photograph(brick):
    for split, n in (("good", 20), ("line", 40), ("test", 40)):
        files = list((brick / split).rglob("*.png"))
        assert len(files) == n, split
    test_labels = {p.parent.name for p in (brick / "test").rglob("*.png")}
    assert "good" in test_labels and len(test_labels) >= 4
    img = cv2.imread(str(next((brick / "good").rglob("*.png"))), cv2.IMREAD_UNCHANGED)
    assert img.shape == (256, 256) and img.std() > 10  # a photographed texture, not a flat field


def test_teach_refuses_too_few_images_and_a_file_as_out(tmp_path, brick):
    few = tmp_path / "few"
    few.mkdir()
    for p in list((brick / "good").rglob("*.png"))[:3]:
        shutil.copy(p, few)
    proc = run_cli("teach", str(few), "--out", str(tmp_path / "m"), check=False)
    assert proc.returncode == 2 and "at least" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "file").write_text("x")
    proc = run_cli("teach", str(brick / "good"), "--out", str(tmp_path / "file"), check=False)
    assert proc.returncode == 2 and "is a file" in proc.stderr
