"""Parts for area tests: one good part as it is, and with the same plain spot at the top left and
at the bottom right, so that where a mask lies is what makes the difference."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def spot_parts(line: Path, out: Path) -> tuple[Path, Path, Path]:
    """(plain, top-left, bottom-right) under `out`, from the first good test part of a line-data line."""
    import cv2

    from station.train.defects import draw_defect

    good = sorted((line / "test" / "good").glob("*.png"))[0]
    img = cv2.imread(str(good), cv2.IMREAD_UNCHANGED).astype(np.float32) / 255.0
    out.mkdir(parents=True)
    size = img.shape[0]
    made = []
    for name, centre in (("top-left", 0.25), ("bottom-right", 0.75)):
        part = draw_defect(img.copy(), "spot", 1.0, np.random.default_rng(0), center=(centre * size, centre * size))
        path = out / f"{name}.png"
        cv2.imwrite(str(path), np.clip(part * 255 + 0.5, 0, 255).astype(np.uint8))
        made.append(path)
    plain = out / "plain.png"
    plain.write_bytes(good.read_bytes())
    return plain, made[0], made[1]
