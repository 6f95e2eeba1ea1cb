"""Draws the application icon (resources/icon.png, resources/icon.ico) with OpenCV, so the repo
needs no image editor and no Pillow. The .ico embeds PNGs, which Windows Vista and later read."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import cv2
import numpy as np


def draw(size: int) -> np.ndarray:
    s = size / 256
    img = np.zeros((size, size, 4), np.uint8)
    cv2.rectangle(img, (int(8 * s), int(8 * s)), (int(248 * s), int(248 * s)), (40, 33, 28, 255), -1)
    cv2.circle(img, (size // 2, size // 2), int(86 * s), (80, 160, 31, 255), max(1, int(22 * s)), cv2.LINE_AA)
    pts = np.array([[86, 132], [116, 162], [172, 100]], np.float32) * s
    cv2.polylines(img, [pts.astype(np.int32)], False, (255, 255, 255, 255), max(1, int(20 * s)), cv2.LINE_AA)
    return img


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / "icon.png"), draw(256))
    sizes = (16, 32, 48, 256)
    pngs = [cv2.imencode(".png", draw(n))[1].tobytes() for n in sizes]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries = b""
    for n, data in zip(sizes, pngs):
        entries += struct.pack("<BBBBHHII", n % 256, n % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    (out / "icon.ico").write_bytes(header + entries + b"".join(pngs))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "resources")
