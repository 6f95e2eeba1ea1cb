"""Every format's size is read from its header and held to the pixel budget before a single
pixel is decoded: a small file claiming a huge image costs bytes, not gigabytes."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("blob", [b"II*\x00" + b"\xff" * 4, b"RIFF\x00\x00\x00\x00WEBPVP8X", b"P5\n", b"\x00\x01garbage",
                                  b"MM\x00*\x00\x00\x00\x08\x00\x01\x01\x00\x00\x04\x00\x00\x00\x01\x7f\xff\xff\xff"])
def test_headers_that_give_no_size_are_refused_in_one_line(blob, tmp_path, data_dir):
    from conftest import run_cli

    f = tmp_path / "odd.tif"
    f.write_bytes(blob)
    proc = run_cli("inspect", str(f), check=False, data=data_dir)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
