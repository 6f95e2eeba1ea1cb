"""numpy <-> Qt images."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_qimage(image: np.ndarray) -> QImage:
    """BGR/gray uint8 ndarray -> QImage that owns its pixels.

    QImage(buffer, ...) only borrows the numpy memory; the `.copy()` detaches it, so the array may
    be freed while Qt still paints. The previews are small, so the copy costs microseconds.
    """
    a = np.ascontiguousarray(image)
    if a.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {a.dtype}")
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8).copy()
    if a.shape[2] == 4:
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_ARGB32).copy()
    return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_BGR888).copy()


def to_pixmap(image: np.ndarray | None) -> QPixmap:
    return QPixmap() if image is None else QPixmap.fromImage(to_qimage(image))
