"""Content-addressed files in the data dir: the same image twice is one file.

A file is written to a temporary name and renamed into place before its database row commits,
so a row never points at a missing or half-written file; a crash leaves at most an orphan
that the next run of the same image reuses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from station.errors import ImageError
from station.fileutil import atomic_write


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _put(root: Path, kind: str, digest: str, suffix: str, data: bytes) -> str:
    rel = f"{kind}/{digest[:2]}/{digest}{suffix}"
    path = root / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
    return rel


def put_image(root: Path, data: bytes, suffix: str, digest: str | None = None) -> str:
    """Store original file bytes (no re-encoding: the evidence is the file as it arrived)."""
    suffix = suffix.lower() if suffix and len(suffix) <= 6 else ".bin"
    return _put(root, "images", digest or sha256(data), suffix, data)


def encode_frame(image: np.ndarray) -> bytes:
    """A captured frame -> lossless PNG bytes (fast compression: the store must keep up)."""
    import cv2

    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("could not encode frame")
    return buf.tobytes()


def put_heatmap(root: Path, cam: np.ndarray) -> str:
    """The raw CAM at feature resolution as 8-bit PNG: ~100 bytes, upsampled when shown."""
    import cv2

    ok, buf = cv2.imencode(".png", (np.clip(cam, 0, 1) * 255 + 0.5).astype(np.uint8))
    data = buf.tobytes()
    return _put(root, "heatmaps", sha256(data), ".png", data)


def read_heatmap(root: Path, rel: str) -> np.ndarray:
    import cv2

    img = cv2.imdecode(np.frombuffer((root / rel).read_bytes(), np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ImageError(f"heatmap {rel} is not a readable PNG")
    return img.astype(np.float32) / 255.0
