"""Content-addressed files in the image store (station.store.blobs): the same image twice is
one file.

A file is stored (locally: written to a temporary name and renamed into place) before its
database row commits, so a row never points at a missing or half-written file; a crash leaves
at most an orphan that the next run of the same image reuses.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np

from station.core.errors import ImageError
from station.store.blobs import BlobStore


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Stored(NamedTuple):
    rel: str  # key in the store (a path under the data dir, for the local one)
    written: int  # bytes this call added to the disk: 0 when the same content was there already


def image_rel(digest: str, suffix: str) -> str:
    """Where an image with this content lives (also recorded for one that could not be stored)."""
    suffix = suffix.lower() if suffix and len(suffix) <= 6 else ".bin"
    return f"images/{digest[:2]}/{digest}{suffix}"


def put_image(blobs: BlobStore, data: bytes, suffix: str, digest: str | None = None) -> Stored:
    """Store original file bytes (no re-encoding: the evidence is the file as it arrived)."""
    rel = image_rel(digest or sha256(data), suffix)
    return Stored(rel, blobs.put(rel, data))


def encode_frame(image: np.ndarray) -> bytes:
    """A captured frame -> lossless PNG bytes (fast compression: the store must keep up)."""
    import cv2

    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("could not encode frame")
    return buf.tobytes()


def heatmap_png(cam: np.ndarray) -> tuple[str, bytes]:
    """The raw CAM at feature resolution as 8-bit PNG (~100 bytes, upsampled when shown) and its key."""
    import cv2

    ok, buf = cv2.imencode(".png", (np.clip(cam, 0, 1) * 255 + 0.5).astype(np.uint8))
    data = buf.tobytes()
    digest = sha256(data)
    return f"heatmaps/{digest[:2]}/{digest}.png", data


def read_heatmap(blobs: BlobStore, rel: str) -> np.ndarray:
    import cv2

    img = cv2.imdecode(np.frombuffer(blobs.get(rel), np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ImageError(f"heatmap {rel} is not a readable PNG")
    return img.astype(np.float32) / 255.0
