"""Parts with a serial printed on them, to measure how well the station reads codes: each part
gets a label with a DataMatrix, QR or Code 128 code of its serial, at a random place, turn and
print size, with the camera's noise and blur over it. A share of them get a damaged code (a
smear across half the symbol): those must come out unread, never as a guessed serial.

`station demo-data OUT --codes datamatrix --damaged 0.05` writes them, and OUT/codes.csv says
what each part carries (the labels the read rate is measured against)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

FORMATS = {"datamatrix": "DataMatrix", "qr": "QRCode", "code128": "Code128"}


def mark_parts(folder: Path, kind: str, damaged: float, seed: int) -> Path:
    """Print a code on every image under `folder`; returns the labels file (file, serial, damaged)."""
    import cv2

    if kind not in FORMATS:
        raise ValueError(f"codes are one of {', '.join(FORMATS)}, not {kind!r}")
    rows = []
    for i, path in enumerate(sorted(folder.rglob("*.png"))):
        rng = np.random.default_rng([seed, 7919, i])
        serial = f"SN-{seed % 1000:03d}{i:06d}"
        broken = bool(rng.random() < damaged)
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{path} is not an image this generator wrote")
        cv2.imwrite(str(path), print_code(image, serial, kind, rng, broken))
        rows.append((path.relative_to(folder).as_posix(), serial, int(broken)))
    labels = folder / "codes.csv"
    with open(labels, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("file", "serial", "damaged"))
        writer.writerows(rows)
    return labels


def print_code(image: np.ndarray, text: str, kind: str, rng: np.random.Generator, damaged: bool = False) -> np.ndarray:
    """`image` with a label carrying `text` as a `kind` code pasted on it."""
    import cv2
    import zxingcpp

    h, w = image.shape[:2]
    code: np.ndarray = np.array(zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, FORMATS[kind])).to_image(scale=1))
    if code.ndim == 2 and code.shape[0] < 8:  # a linear code comes back one row high: give it height
        code = np.repeat(code, 12, axis=0)
    module = int(rng.integers(3, 5)) if kind != "code128" else 2
    code = cv2.resize(code, (code.shape[1] * module, code.shape[0] * module), interpolation=cv2.INTER_NEAREST)
    if damaged:  # a smear of ink over half the symbol: beyond what its error correction mends
        ch, cw = code.shape
        code[ch // 4: ch // 4 + ch // 2, :] = 0 if rng.random() < 0.5 else 255
    paper = int(rng.integers(215, 250))
    ink = np.where(code > 127, paper, int(rng.integers(10, 45))).astype(np.uint8)
    label: np.ndarray = cv2.copyMakeBorder(ink, 6, 6, 6, 6, cv2.BORDER_CONSTANT, value=paper)
    angle = float(rng.uniform(-180, 180)) if kind != "code128" else float(rng.uniform(-8, 8))
    lh, lw = label.shape
    side = int(np.ceil(np.hypot(lh, lw)))
    if side >= min(h, w):
        raise ValueError(f"a {kind} code of {text!r} does not fit on a {w}x{h} part")
    turn = cv2.getRotationMatrix2D((lw / 2, lh / 2), angle, 1.0)
    turn[:, 2] += ((side - lw) / 2, (side - lh) / 2)
    warped = cv2.warpAffine(label, turn, (side, side), flags=cv2.INTER_LINEAR, borderValue=0)
    mask = cv2.warpAffine(np.full_like(label, 255), turn, (side, side), flags=cv2.INTER_NEAREST, borderValue=0) > 0
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    out = image.copy()
    patch = out[y:y + side, x:x + side]
    patch[mask] = warped[mask][:, None] if patch.ndim == 3 else warped[mask]
    noisy = out.astype(np.float32) + rng.normal(0.0, float(rng.uniform(2, 6)), out.shape)
    out = np.clip(noisy, 0, 255).astype(np.uint8)
    return cv2.GaussianBlur(out, (3, 3), float(rng.uniform(0.3, 0.8)))
