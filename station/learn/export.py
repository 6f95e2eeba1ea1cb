"""Reviewed inspections -> an ImageFolder tree for retraining: OUT/{train,val}/<label>/<file>,
OUT/manifest.csv and OUT/dataset.json.

- One row per image (sha256): the same part inspected twice is exported once, under its newest
  review, so an image can never sit in both splits.
- The split is stratified per label and deterministic for a seed, and an item keeps the split
  the manifest already gives it on every later export into the same OUT: validation stays
  honest as reviews accumulate.
- Paths are built only from validated labels and content hashes, and checked to stay inside
  OUT; a row that fails (a bad label written by another tool, a missing image) is reported and
  left out, never fatal.
- Exporting again into the same OUT rewrites only what changed and removes what is no longer
  exported. It deletes only regular files its own previous manifest lists, never follows a
  symbolic link (a link among the folders it manages is refused), and writes through unique
  temporary files created exclusively, so nothing planted in OUT can redirect a write or a
  delete outside it.
- OUT/.station-export marks a folder as an export from the first moment, so an export killed
  before its manifest was written is resumed by the next one, not refused.
- One export at a time per OUT (a lock file); a second one is refused with one line.
- Manifest cells that a spreadsheet would run as a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from station.core.errors import StationError
from station.core.fileutil import atomic_write, make_folder
from station.core.labels import validate_label
from station.core.terminal import cell
from station.store import conflicts
from station.store.db import Store
from station.store.repo import iso_utc
from station.store.schema import Inspection, ModelRecord, Review

SPLITS = ("train", "val")
MARKER = ".station-export"
LOCK = ".station-export.lock"
FIELDS = ["path", "split", "label", "predicted", "p_defect", "model_version", "reviewed_by", "reviewed_at", "sha256",
          "origin", "inspection_id", "conflict", "view"]


def _rows(store: Store, include_unreviewed: bool, station: str | None = None,
          versions: Collection[str] | None = None, recipe: str | None = None, view: str | None = None) -> list[dict[str, Any]]:
    newest = (select(Review.inspection_id, func.max(Review.id).label("rid")).group_by(Review.inspection_id).subquery())
    q = (
        select(Inspection, ModelRecord.version, Review.by, Review.at)
        .join(ModelRecord, ModelRecord.id == Inspection.model_id)
        .outerjoin(newest, newest.c.inspection_id == Inspection.id)
        .outerjoin(Review, Review.id == newest.c.rid)
    )
    if not include_unreviewed:
        q = q.where(Inspection.label.is_not(None))
    if station:
        q = q.where(Inspection.station == station)
    if versions is not None:
        q = q.where(ModelRecord.version.in_(list(versions)))
    if recipe:
        q = q.where(Inspection.recipe == recipe)
    if view is not None:
        q = q.where(Inspection.view == view)
    out = []
    with store.session() as s:
        for ins, version, by, at in s.execute(q.order_by(Inspection.id)):
            reviewed = ins.label is not None
            out.append({
                "inspection_id": ins.id, "sha256": ins.sha256, "image_path": ins.image_path, "origin": ins.origin,
                "_gone": ins.image_gone,
                "label": ins.label if reviewed else ins.predicted, "predicted": ins.predicted,
                "p_defect": round(ins.p_defect, 6), "model_version": version,
                "reviewed_by": by if reviewed else "", "reviewed_at": iso_utc(at) if reviewed and at else "",
                "_reviewed": reviewed, "_order": (reviewed, at.isoformat() if reviewed and at else "", ins.id),
                "view": ins.view or "",
            })
    views = sorted({str(r["view"]) for r in out})
    if len(views) > 1:  # one training set is one model's: a top and a side are different pictures
        named = ", ".join(v or "(one view)" for v in views)
        raise StationError(f"these reviews are of several views ({named}); each view has its own model: export one "
                           f"at a time with --view {next(v for v in views if v)}")
    return out


def _one_per_image(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reviewed beats unreviewed; among reviews, the newest wins. When reviews of identical
    content disagree, the kept row says so in its `conflict` cell: never resolved silently."""
    clashes = conflicts.find((r["sha256"], r["label"], r["inspection_id"]) for r in rows if r["_reviewed"])
    best: dict[str, dict[str, Any]] = {}
    for r in rows:
        cur = best.get(r["sha256"])
        if cur is None or r["_order"] > cur["_order"]:
            best[r["sha256"]] = r
    for sha, clash in clashes.items():
        best[sha]["conflict"] = clash.describe()
    return sorted(best.values(), key=lambda r: r["sha256"])


def _rank(seed: int, sha: str) -> str:
    return hashlib.sha256(f"{seed}:{sha}".encode()).hexdigest()


def assign_splits(rows: list[dict[str, Any]], previous: dict[str, str], val_fraction: float, seed: int) -> None:
    """Give each row a split: the one it had, else stratified by label in seeded hash order."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_label.setdefault(r["label"], []).append(r)
    for members in by_label.values():
        kept = [r for r in members if previous.get(r["sha256"]) in SPLITS]
        for r in kept:
            r["split"] = previous[r["sha256"]]
        new = sorted((r for r in members if r["sha256"] not in previous or previous[r["sha256"]] not in SPLITS),
                     key=lambda r: _rank(seed, r["sha256"]))
        n = len(members)
        # A class with two or more images always gets one for validation; a single image trains.
        want_val = max(1, round(n * val_fraction)) if n >= 2 and val_fraction > 0 else 0
        have_val = sum(r["split"] == "val" for r in kept)
        for r in new:
            if have_val < want_val:
                r["split"] = "val"
                have_val += 1
            else:
                r["split"] = "train"


def _read_previous(out: Path) -> dict[str, tuple[str, str]]:
    """sha256 -> (split, path) from the manifest an earlier export wrote."""
    manifest = out / "manifest.csv"
    if not manifest.is_file() or manifest.is_symlink():
        return {}
    try:
        with manifest.open(newline="", encoding="utf-8") as f:
            return {row["sha256"]: (row["split"], row.get("path") or "") for row in csv.DictReader(f) if row.get("sha256")}
    except (OSError, csv.Error, KeyError, UnicodeDecodeError):
        return {}  # an unreadable manifest only costs split stability, never the export


def _refuse_links(out: Path) -> None:
    """A symbolic link among the folders export writes into or prunes could send a write or a
    delete outside OUT: refuse the export with one line instead."""
    for split in SPLITS:
        root = out / split
        if root.is_symlink():
            raise StationError(f"{root} is a symbolic link; export writes only into real folders (remove it)")
        if root.is_dir():
            for entry in root.iterdir():
                if entry.is_symlink():
                    raise StationError(f"{entry} is a symbolic link; export writes only into real folders (remove it)")
    for name in ("manifest.csv", "dataset.json"):
        if (out / name).is_symlink():
            raise StationError(f"{out / name} is a symbolic link; remove it")


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """An exclusive lock on OUT/.station-export.lock for the export's duration; a second export
    into the same OUT is refused at once."""
    from station.core.fileutil import FileLock

    try:
        lock = FileLock(out / LOCK, blocking=False).__enter__()
    except BlockingIOError:
        raise StationError(f"another export into {out} is running; wait for it to finish") from None
    try:
        yield
    finally:
        lock.__exit__()


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class LeftOut:
    id: int  # the inspection
    error: str


@dataclass
class ExportResult:
    out: str
    train: int
    val: int
    classes: dict[str, int]
    errors: list[LeftOut] = field(default_factory=list)
    conflicts: int = 0  # exported images whose identical content carries another label too

    def to_json(self) -> dict[str, Any]:
        return {"out": self.out, "train": self.train, "val": self.val, "classes": dict(self.classes),
                "errors": [{"id": e.id, "error": e.error} for e in self.errors], "conflicts": self.conflicts}


def export(store: Store, out: str | os.PathLike[str], include_unreviewed: bool = False, val_fraction: float = 0.2,
           seed: int = 0, station: str | None = None, versions: Collection[str] | None = None,
           recipe: str | None = None, view: str | None = None) -> ExportResult:
    """Reviewed items (of one station, with `station`; of parts judged by these model versions,
    with `versions`; of one product, with `recipe`; of one view of parts seen from several sides,
    with `view`) as an ImageFolder tree; images are read from the store the station
    inspected into (the data dir, or the line's object store)."""
    if not 0.0 <= val_fraction < 1.0:
        raise StationError(f"--val-fraction must be at least 0 and below 1, not {val_fraction}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StationError(f"export target is a file, not a folder: {out}")
    ours = (out / "manifest.csv").is_file() or (out / MARKER).is_file()
    if out.is_dir() and any(out.iterdir()) and not ours:
        raise StationError(f"{out} is not empty and holds no earlier export; choose an empty or new folder")
    make_folder(out, "export folder")
    with _locked(out):
        (out / MARKER).touch()
        _refuse_links(out)
        return _export(store, out, include_unreviewed, val_fraction, seed, station, versions, recipe, view)


def _export(store: Store, out: Path, include_unreviewed: bool, val_fraction: float, seed: int, station: str | None,
            versions: Collection[str] | None, recipe: str | None = None, view: str | None = None) -> ExportResult:
    from station.core.fileutil import file_sha256
    from station.store.blobs import BlobMissing, StoreUnavailable

    errors: list[LeftOut] = []
    rows = []
    for r in _one_per_image(_rows(store, include_unreviewed, station, versions, recipe, view)):
        try:
            validate_label(r["label"])
        except StationError as exc:
            errors.append(LeftOut(r["inspection_id"], str(exc)))
            continue
        if r["_gone"]:
            errors.append(LeftOut(r["inspection_id"], f"no image: {r['_gone']}"))
            continue
        key = str(r["image_path"])
        if not key.startswith("images/") or ".." in Path(key).parts or "\\" in key:
            errors.append(LeftOut(r["inspection_id"], f"stored image key is not an image key: {key}"))
            continue
        rows.append(r)
    previous = _read_previous(out)
    assign_splits(rows, {sha: split for sha, (split, _) in previous.items()}, val_fraction, seed)

    wanted: set[Path] = set()
    for r in rows:
        rel = Path(r["split"]) / r["label"] / f"{r['sha256'][:20]}{Path(r['image_path']).suffix.lower()}"
        dest = out / rel
        if not _inside(out, dest):  # belt and braces: labels are validated above
            errors.append(LeftOut(r["inspection_id"], f"refused to write outside {out}: {rel}"))
            continue
        if dest.is_symlink() or not dest.is_file() or file_sha256(dest) != r["sha256"]:
            try:
                data = store.blobs.get(r["image_path"])
            except (BlobMissing, StoreUnavailable) as exc:
                errors.append(LeftOut(r["inspection_id"], f"stored image unavailable: {exc}"))
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            _refuse_links(out)  # a folder made a link since the check above
            atomic_write(dest, data)
        wanted.add(rel)
        r["path"] = rel.as_posix()
    rows = [r for r in rows if "path" in r]
    _prune(out, wanted, {Path(p) for _, p in previous.values() if p})

    counts: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    for r in rows:
        counts[r["split"]][r["label"]] = counts[r["split"]].get(r["label"], 0) + 1
    classes: dict[str, int] = {}
    for r in rows:
        classes[r["label"]] = classes.get(r["label"], 0) + 1
    _write_manifest(out, sorted(rows, key=lambda r: r["path"]))
    dataset = {
        "format": 1, "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source_database": store.engine.url.render_as_string(hide_password=True), "seed": seed,
        "val_fraction": val_fraction, "include_unreviewed": include_unreviewed,
        "classes": dict(sorted(classes.items())), "counts": counts, "n": len(rows),
    }
    atomic_write(out / "dataset.json", json.dumps(dataset, indent=2) + "\n")
    _mark_exported(store, [r["inspection_id"] for r in rows])
    return ExportResult(out=str(out), train=sum(counts["train"].values()), val=sum(counts["val"].values()),
                        classes=dict(sorted(classes.items())), errors=errors, conflicts=sum(bool(r.get("conflict")) for r in rows))


def _mark_exported(store: Store, ids: list[int]) -> None:
    """Retention keeps an exported image for good: a training set must stay reproducible."""
    at = datetime.now(UTC)
    with store.session.begin() as s:
        for i in range(0, len(ids), 400):
            s.execute(update(Inspection).where(Inspection.id.in_(ids[i:i + 400]), Inspection.exported_at.is_(None))
                      .values(exported_at=at))


def _prune(out: Path, wanted: set[Path], written_before: set[Path]) -> None:
    """Remove files an earlier export wrote (its manifest lists them) that this one no longer
    includes, then empty class folders (torchvision's ImageFolder refuses a class folder with no
    images). Nothing else is touched: not a file someone put there, not what a link points to."""
    for rel in sorted(written_before - wanted):
        path = out / rel
        if len(rel.parts) == 3 and rel.parts[0] in SPLITS and path.is_file() and not path.is_symlink():
            path.unlink()
    for split in SPLITS:
        root = out / split
        if root.is_dir() and not root.is_symlink():
            for d in root.iterdir():
                if d.is_dir() and not d.is_symlink() and not any(d.iterdir()):
                    d.rmdir()


def _write_manifest(out: Path, rows: list[dict[str, Any]]) -> None:
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore")
    w.writeheader()
    w.writerows({k: cell(v) for k, v in r.items() if k in FIELDS} for r in rows)
    atomic_write(out / "manifest.csv", buf.getvalue())


