"""Content-addressed files in the data dir: the same image twice is one file.

A file is written to a temporary name and renamed into place before its database row commits,
so a row never points at a missing or half-written file; a crash leaves at most an orphan
that the next run of the same image reuses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from station.errors import ImageError
from station.fileutil import atomic_write


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Stored(NamedTuple):
    rel: str  # path under the data dir
    written: int  # bytes this call added to the disk: 0 when the same content was there already


def image_rel(digest: str, suffix: str) -> str:
    """Where an image with this content lives (also recorded for one that could not be stored)."""
    suffix = suffix.lower() if suffix and len(suffix) <= 6 else ".bin"
    return f"images/{digest[:2]}/{digest}{suffix}"


def _put(root: Path, rel: str, data: bytes) -> Stored:
    path = root / rel
    if path.exists():
        return Stored(rel, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)
    return Stored(rel, len(data))


def put_image(root: Path, data: bytes, suffix: str, digest: str | None = None) -> Stored:
    """Store original file bytes (no re-encoding: the evidence is the file as it arrived)."""
    return _put(root, image_rel(digest or sha256(data), suffix), data)


def encode_frame(image: np.ndarray) -> bytes:
    """A captured frame -> lossless PNG bytes (fast compression: the store must keep up)."""
    import cv2

    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("could not encode frame")
    return buf.tobytes()


def put_heatmap(root: Path, cam: np.ndarray) -> Stored:
    """The raw CAM at feature resolution as 8-bit PNG: ~100 bytes, upsampled when shown."""
    import cv2

    ok, buf = cv2.imencode(".png", (np.clip(cam, 0, 1) * 255 + 0.5).astype(np.uint8))
    data = buf.tobytes()
    digest = sha256(data)
    return _put(root, f"heatmaps/{digest[:2]}/{digest}.png", data)


def read_heatmap(root: Path, rel: str) -> np.ndarray:
    import cv2

    img = cv2.imdecode(np.frombuffer((root / rel).read_bytes(), np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ImageError(f"heatmap {rel} is not a readable PNG")
    return img.astype(np.float32) / 255.0
