"""Decoding and normalizing images: every odd-but-valid input in, one of three shapes out.

Pure numpy/OpenCV. The header probe refuses absurd dimensions before any pixel is allocated,
so a 60000x60000 PNG "bomb" costs a few bytes of reading, not gigabytes of memory.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from station.core.errors import ImageError

MAX_PIXELS = 80_000_000  # 80 MP: well above any line camera, far below memory trouble
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}


def probe_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, BMP, GIF, TIFF, WebP or PNM; None when
    unknown. decode() refuses what this cannot size: a format whose header is not read here
    could claim any size and be decoded whole before anything could refuse it."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] == b"BM" and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return abs(w), abs(h)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _tiff_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    if len(data) >= 2 and data[:1] == b"P" and data[1:2] in b"123456":
        return _pnm_size(data)
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first directory, classic or BigTIFF."""
    end = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    try:
        if big:
            (offset,) = struct.unpack(end + "Q", data[8:16])
            (count,) = struct.unpack(end + "Q", data[offset : offset + 8])
            entry, first, size = 20, offset + 8, 8
        else:
            (offset,) = struct.unpack(end + "I", data[4:8])
            (count,) = struct.unpack(end + "H", data[offset : offset + 2])
            entry, first, size = 12, offset + 2, 4
        dims: dict[int, int] = {}
        for i in range(min(count, 4096)):
            e = data[first + i * entry : first + (i + 1) * entry]
            tag, typ = struct.unpack(end + "HH", e[:4])
            if tag in (256, 257):
                value = e[4 + size : 4 + 2 * size]
                fmt = {3: "H", 4: "I", 16: "Q"}.get(typ)
                if fmt is None:
                    return None
                dims[tag] = struct.unpack(end + fmt, value[: struct.calcsize(fmt)])[0]
        if 256 in dims and 257 in dims:
            return dims[256], dims[257]
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _pnm_size(data: bytes) -> tuple[int, int] | None:
    """Width and height, the first two numbers after the magic, comments skipped."""
    import re

    head = re.sub(rb"#[^\n]*", b" ", data[2:512])
    nums = re.findall(rb"\d+", head)
    return (int(nums[0]), int(nums[1])) if len(nums) >= 2 else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None


def read_bytes(path: str | Path) -> bytes:
    p = Path(path)
    try:
        return p.read_bytes()
    except OSError as exc:
        if p.is_symlink():
            import errno

            what = {errno.ELOOP: "a loop of links", errno.ENOENT: "a link to nothing", errno.EISDIR: "a link to a folder (not followed)"}
            raise ImageError(f"{what.get(exc.errno or 0, 'a link that cannot be read')}: {exc.strerror or exc}") from None
        raise ImageError(f"cannot read file: {exc.strerror or exc}") from None


def decode(data: bytes) -> np.ndarray:
    """Bytes of any common image format -> ndarray as OpenCV keeps it (bit depth and alpha kept)."""
    import cv2

    if not data:
        raise ImageError("empty file (0 bytes)")
    size = probe_size(data)
    if size is None:
        raise ImageError("not a decodable image (unknown format, or a header that gives no size; "
                         "the station reads PNG, JPEG, BMP, GIF, TIFF, WebP and PNM)")
    if size[0] * size[1] > MAX_PIXELS:
        raise ImageError(f"image claims {size[0]}x{size[1]} pixels, over the {MAX_PIXELS // 1_000_000} MP limit")
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageError(f"not a decodable image ({str(exc).strip().splitlines()[-1][:120]})") from None
    if image is None or image.size == 0:
        raise ImageError("not a decodable image (unknown format, truncated or corrupt)")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise ImageError(f"unsupported channel count {image.shape[2]}")
    return image


def to_unit_float(image: np.ndarray) -> np.ndarray:
    """Any supported dtype -> float32 in [0, 1], channels untouched."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) * (1.0 / 255.0)
    if image.dtype == np.uint16:
        return image.astype(np.float32) * (1.0 / 65535.0)
    if image.dtype == bool:
        return image.astype(np.float32)
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        return ((image.astype(np.float32) - info.min) / float(info.max - info.min)).astype(np.float32)
    out = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(out, 0.0, 1.0)


def to_three_channels(image: np.ndarray) -> np.ndarray:
    """Gray, gray+1, BGR or BGRA -> BGR (alpha dropped: a part's pixels, not its mask, are judged)."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.shape[2] == 4:
        return image[:, :, :3]
    return image


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """For display and previews: any supported image -> contiguous BGR uint8."""
    if image.dtype != np.uint8:
        image = (to_unit_float(image) * 255.0 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(to_three_channels(image))


def check_shape(image: np.ndarray) -> np.ndarray:
    """Validate an in-memory image handed to the API or captured from a device."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageError(f"expected HxW or HxWxC, got shape {image.shape}")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise ImageError(f"unsupported channel count {image.shape[2]}")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ImageError(f"image is {image.shape[1]}x{image.shape[0]}, over the {MAX_PIXELS // 1_000_000} MP limit")
    return image
