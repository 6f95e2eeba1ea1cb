"""`station run`: bad inputs are reported by name and never stop a run; odd valid ones are
inspected; re-runs skip; a kill -9 leaves a sound database and the next run finishes the rest."""

from __future__ import annotations

import json
import sqlite3
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, run_json


def _png_header_claiming(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk)) + b"\x00" * 32


def _corpus(root: Path, sample: Path) -> tuple[list[str], list[str]]:
    import cv2

    root.mkdir()
    good_png = sample.read_bytes()
    broken = {
        "zero.png": b"",
        "truncated.png": good_png[: len(good_png) // 3],
        "text.png": b"this is not an image, it only has the name of one\n",
        "random.jpg": np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "bomb.png": _png_header_claiming(60000, 60000),
    }
    for name, data in broken.items():
        (root / name).write_bytes(data)
    img = cv2.imread(str(sample), cv2.IMREAD_GRAYSCALE)
    odd = {
        "sixteen_bit.png": (img.astype(np.uint16) * 257),
        "alpha.png": cv2.cvtColor(img, cv2.COLOR_GRAY2BGRA),
        "one_pixel.png": img[:1, :1],
        "float.tiff": img.astype(np.float32) / 255.0,
        "défaut_ßpecial_名前.png": img,
    }
    for name, arr in odd.items():
        ok, buf = cv2.imencode(Path(name).suffix, arr)
        assert ok, name
        (root / name).write_bytes(buf.tobytes())
    # CMYK JPEG: OpenCV cannot write one, so build it with Pillow (installed with grad-cam's deps).
    from PIL import Image

    Image.fromarray(cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)).convert("CMYK").save(root / "cmyk.jpg", "JPEG")
    return sorted(broken), sorted(list(odd) + ["cmyk.jpg"])


def test_bad_and_odd_inputs(tmp_path, demo_images, data_dir):
    sample = sorted((demo_images / "good").glob("*.png"))[0]
    broken, odd = _corpus(tmp_path / "corpus", sample)
    proc = run_cli("run", str(tmp_path / "corpus"), "--json", data=data_dir)
    assert proc.returncode == 0
    out = json.loads(proc.stdout)
    failed = sorted(Path(e["origin"]).name for e in out["errors"])
    assert failed == broken
    assert out["processed"] == len(odd) and out["failed"] == len(broken)
    bomb = next(e for e in out["errors"] if e["origin"].endswith("bomb.png"))
    assert "60000x60000" in bomb["error"]
    assert "Traceback" not in proc.stderr
    con = sqlite3.connect(data_dir / "station.db")
    origins = {Path(o).name for (o,) in con.execute("SELECT origin FROM inspections")}
    assert origins == set(odd)
    assert con.execute("SELECT count(*) FROM failures").fetchone()[0] == len(broken)


def test_run_stores_everything_and_rerun_skips(demo_images, data_dir):
    first = run_json("run", str(demo_images), data=data_dir)
    assert first["processed"] == 24 and first["failed"] == 0 and first["skipped"] == 0
    assert first["verdicts"]["pass"] + first["verdicts"]["fail"] == 24
    assert first["images_per_s"] > 0
    second = run_json("run", str(demo_images), data=data_dir)
    assert second["processed"] == 0 and second["skipped"] == 24
    con = sqlite3.connect(data_dir / "station.db")
    rows = con.execute("SELECT image_path, heatmap_path, verdict, box FROM inspections").fetchall()
    assert len(rows) == 24
    for image_path, heatmap_path, verdict, box in rows:
        assert (data_dir / image_path).is_file() and (data_dir / heatmap_path).is_file()
        assert (box is not None) == (verdict == "fail")
    # Most parts in this set are defective, and the shipped model should say so.
    defects = sum(1 for p in demo_images.rglob("*.png") if p.parent.name != "good")
    assert abs(first["verdicts"]["fail"] - defects) <= 3


def test_run_refuses_unopenable_source_and_model(tmp_path, data_dir):
    proc = run_cli("run", str(tmp_path / "nope"), data=data_dir, check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    proc = run_cli("run", str(tmp_path), "--model", "no-such-model", data=data_dir, check=False)
    assert proc.returncode == 2 and "no model named 'no-such-model'" in proc.stderr


@pytest.mark.parametrize("limit,batch", [(3, 8), (8, 8), (5, 4)])
def test_limit_takes_exactly_n_frames(demo_images, data_dir, limit, batch):
    """--limit N takes N frames from the source, whatever the batch size (it once took 16 for 3)."""
    out = run_json("run", str(demo_images), "--limit", str(limit), "--batch-size", str(batch), data=data_dir)
    assert out["processed"] + out["skipped"] + out["failed"] == limit
    assert rows_in(data_dir) == limit


def rows_in(data: Path) -> int:
    return sqlite3.connect(data / "station.db").execute("SELECT count(*) FROM inspections").fetchone()[0]


def test_a_damaged_spooled_batch_is_set_aside_never_deleted(demo_images, data_dir):
    """A batch kept through an outage that cannot be read back (a disk fault) must not stop the
    forwarding of the others, nor be thrown away: it may hold the only copy of some verdicts."""
    bad = data_dir / "spool" / "00000000000000000001-1-000001"
    bad.mkdir(parents=True)
    (bad / "batch.json").write_text("{not json")
    out = run_json("run", str(demo_images), "--limit", "2", data=data_dir)
    assert out["processed"] == 2 and out["spool_waiting"] == 0
    assert not bad.exists() and (data_dir / "spool" / f".damaged-{bad.name}" / "batch.json").read_text() == "{not json"
