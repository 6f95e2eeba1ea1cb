"""Every format's size is read from its header and held to the pixel budget before a single
pixel is decoded: a small file claiming a huge image costs bytes, not gigabytes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT


def peak_rss_mb(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run `station ARGS` in a child and return its own peak resident memory."""
    code = ("import resource, subprocess, sys; p = subprocess.run([sys.executable, '-m', 'station', *sys.argv[1:]], "
            "capture_output=True, text=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
            "sys.stderr.write(p.stderr); sys.stdout.write(p.stdout); sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    first, _, rest = proc.stdout.partition("\n")
    return subprocess.CompletedProcess(proc.args, proc.returncode, rest, proc.stderr), int(first) / 1024


@pytest.fixture(scope="module")
def tiff_bomb(tmp_path_factory):
    """A 30000 x 30000 bilevel TIFF, a few MB on disk, 900 MB once decoded to 8-bit grey (under
    OpenCV's own limit, so only the header check stands between it and memory)."""
    from PIL import Image

    path = tmp_path_factory.mktemp("bombs") / "bomb.tif"
    Image.new("1", (30000, 30000)).save(path, compression="packbits")
    assert path.stat().st_size < 8_000_000
    return path


def test_a_tiff_bomb_is_refused_from_its_header(tiff_bomb, data_dir):
    proc, peak = peak_rss_mb("inspect", str(tiff_bomb), "--data", str(data_dir))
    assert proc.returncode == 2 and "MP limit" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert peak < 600, f"peak {peak:.0f} MB: the image was decoded before it was refused"


def test_a_run_reports_the_bomb_by_name_and_goes_on(tiff_bomb, tmp_path, demo_images, data_dir):
    import shutil

    folder = tmp_path / "parts"
    shutil.copytree(demo_images / "good", folder)
    shutil.copy(tiff_bomb, folder / "bomb.tif")
    proc, peak = peak_rss_mb("run", str(folder), "--json", "--data", str(data_dir))
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and out["failed"] == 1 and out["processed"] == len(list((demo_images / "good").iterdir()))
    assert "bomb.tif" in out["errors"][0]["origin"] and "MP limit" in out["errors"][0]["error"]
    assert peak < 1800, f"peak {peak:.0f} MB"


def test_memory_per_batch_does_not_grow_with_the_batch(tmp_path, data_dir):
    """Eight large (legal) images in one batch cost about what one does: decoded pixels are
    dropped once the model's input and shape are taken (eight used to be held at once)."""
    import cv2
    import numpy as np

    one, eight = tmp_path / "one", tmp_path / "eight"
    one.mkdir()
    eight.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        img = np.full((6000, 8000, 3), 90 + i, np.uint8)  # 48 MP, 144 MB decoded; a tiny PNG
        img[rng.integers(0, 6000, 50), rng.integers(0, 8000, 50)] = 255
        cv2.imwrite(str(eight / f"big{i}.png"), img)
        if i == 0:
            cv2.imwrite(str(one / "big0.png"), img)
    _, single = peak_rss_mb("run", str(one), "--data", str(data_dir / "a"), "--no-cam")
    proc, batch = peak_rss_mb("run", str(eight), "--data", str(data_dir / "b"), "--no-cam", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["processed"] == 8
    assert batch - single < 2.5 * 144, f"one image: {single:.0f} MB peak, a batch of eight: {batch:.0f} MB"
