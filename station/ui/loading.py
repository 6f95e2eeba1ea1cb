"""Loads a stored inspection's image and heatmap for display (runs off the GUI thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from station.store.blobs import BlobStore

MAX_SIDE = 1024


def load_for_display(blobs: "BlobStore", item: dict[str, Any], max_side: int = MAX_SIDE) -> dict[str, Any]:
    """{"preview": BGR uint8, "heat": BGR uint8 or None, "box": in preview pixels, "error": str or None}."""
    import cv2

    from station.core.errors import StationError
    from station.core.imageio import decode, to_bgr8
    from station.model.overlay import colorize, upsample
    from station.store.files import read_heatmap

    if item.get("image_gone"):  # retention purged it, or a full disk never stored it; the verdict stands
        return {"preview": None, "heat": None, "box": None, "error": f"no image: {item['image_gone']}"}
    try:
        image = to_bgr8(decode(blobs.get(item["image_path"])))
    except (StationError, OSError) as exc:  # missing, unreadable, or the line's store unreachable
        return {"preview": None, "heat": None, "box": None, "error": f"image unavailable: {exc}"}
    scale = min(1.0, max_side / max(image.shape[:2]))
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
    heat = None
    if item.get("heatmap_path"):
        try:
            heat = colorize(upsample(read_heatmap(blobs, item["heatmap_path"]), image.shape))
        except (StationError, OSError, AttributeError, cv2.error):
            heat = None  # a missing heatmap is not worth hiding the image for
    box = None
    if item.get("box"):
        s = image.shape[1] / max(1, int(item["width"]))
        box = tuple(int(round(v * s)) for v in item["box"])
    return {"preview": np.ascontiguousarray(image), "heat": heat, "box": box, "error": None}


def thumbnail(blobs: "BlobStore", item: dict[str, Any], side: int = 128) -> np.ndarray | None:
    return load_for_display(blobs, item, side)["preview"]
