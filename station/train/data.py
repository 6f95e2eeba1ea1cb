"""ImageFolder trees: scanning, the stratified split, and loading pixels with OpenCV."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from station.core.errors import StationError
from station.core.imageio import IMAGE_SUFFIXES, decode, read_bytes
from station.core.labels import GOOD, validate_label

Items = list[tuple[Path, str]]


def scan(root: Path) -> Items:
    """(path, label) for every image in root/<label>/**, sorted; labels validated."""
    if not root.is_dir():
        raise StationError(f"data folder not found: {root}")
    items: Items = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        label = validate_label(d.name)
        items += [(f, label) for f in sorted(d.rglob("*")) if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()]
    if not items:
        raise StationError(f"no images under {root}/<class>/")
    return items


def split_tree(root: Path, val_fraction: float = 0.2, seed: int = 0) -> tuple[Items, Items]:
    """`root/train` + `root/val` if present, else one tree split stratified by class."""
    if (root / "train").is_dir() and (root / "val").is_dir():
        return scan(root / "train"), scan(root / "val")
    return stratified_split(scan(root), val_fraction, seed)


def stratified_split(items: Items, val_fraction: float, seed: int) -> tuple[Items, Items]:
    """Per class, a hash of (seed, file name) decides the split: stable as files are added."""
    by_class: dict[str, Items] = {}
    for item in items:
        by_class.setdefault(item[1], []).append(item)
    train: Items = []
    val: Items = []
    for _label, group in sorted(by_class.items()):
        keyed = sorted(group, key=lambda it: hashlib.sha256(f"{seed}:{it[0].name}".encode()).hexdigest())
        n_val = int(round(len(keyed) * val_fraction))
        if len(keyed) >= 2:
            n_val = min(max(n_val, 1), len(keyed) - 1)
        val += keyed[:n_val]
        train += keyed[n_val:]
    return train, val


def class_list(labels: list[str], base: list[str] | None = None) -> list[str]:
    """`good` first, then the base model's classes in their order, then new ones sorted."""
    seen = list(base or [])
    if GOOD not in seen:
        seen.insert(0, GOOD)
    for label in sorted(set(labels)):
        if label not in seen:
            seen.append(label)
    return seen


def load_images(items: Items) -> list[np.ndarray]:
    out = []
    for path, _ in items:
        try:
            out.append(decode(read_bytes(path)))
        except StationError as exc:
            raise StationError(f"{path}: {exc}") from None
    return out


def fingerprint(items: Items) -> str:
    """A hash over (label, file content) pairs: what the card records as the training data."""
    h = hashlib.sha256()
    for path, label in sorted(items, key=lambda it: (it[1], it[0].name)):
        h.update(label.encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


TRAINED_ON = "trained_on.txt"  # in a model's folder: what it learned from (station.model.registry.trained_with)


def write_trained_on(out: Path, root: Path | None = None, paths: list[Path] | None = None) -> int:
    """The SHA-256 of every image a model was trained, taught or compared on (all under `root`,
    or `paths`), one a line, beside its card: `station part` finds the models a part went into.
    Images are named by that hash in a station export, and their rows hold it."""
    from station.core.fileutil import atomic_write

    files = paths if paths is not None else sorted(f for f in (root or out).rglob("*")
                                                     if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    digests = sorted({hashlib.sha256(read_bytes(f)).hexdigest() for f in files})
    atomic_write(out / TRAINED_ON, "".join(d + "\n" for d in digests))
    return len(digests)
