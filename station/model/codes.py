"""A part's serial from a code printed on it: a DataMatrix, a QR code or a Code 128 barcode found
in the image, read with zxing-cpp (the maintained C++ port of ZXing, from PyPI).

A code that is not found or does not decode (scratched, smeared, out of the picture) is "unread":
the part is recorded without a serial and says so, never given a guess. DataMatrix and QR carry
Reed-Solomon error correction, so a damaged code reads right or not at all."""

from __future__ import annotations

from typing import Any

import numpy as np

from station.core.errors import StationError

KINDS = ("datamatrix", "qr", "code128", "any")
_FORMATS = {"datamatrix": "DataMatrix", "qr": "QRCode", "code128": "Code128"}
SCALES = (1, 2, 3)  # the looks at a part, each only when the one before read nothing
MAX_LEN = 64  # the serial column's width: a longer text is no serial this station keeps


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise StationError(f"code {kind!r} is not one of {', '.join(KINDS)}")
    return kind


def read_code(image: np.ndarray, kind: str) -> str | None:
    """The text of the first code of `kind` in `image` (any depth, grey or colour), or None."""
    import cv2
    import zxingcpp

    gray = _gray8(image)
    formats: Any = getattr(zxingcpp.BarcodeFormat, _FORMATS[kind]) if kind in _FORMATS else None
    # A small printed code (3 px a module, turned, blurred) is missed now and then at the
    # camera's scale and found at two or three times it (2 of 192 generated parts needed the
    # third): a further look costs only parts whose code is not read yet.
    for scale in SCALES:
        if scale > 1 and max(gray.shape) * scale > 4096:
            break
        look = gray if scale == 1 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        found = zxingcpp.read_barcodes(look, formats=formats) if formats is not None else zxingcpp.read_barcodes(look)
        for code in found:
            text = code.text.strip()
            if getattr(code, "valid", True) and text and len(text) <= MAX_LEN and text.isprintable():
                return text
    return None


def _gray8(image: np.ndarray) -> np.ndarray:
    import cv2

    from station.core.imageio import to_bgr8

    bgr = to_bgr8(image)
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr)
