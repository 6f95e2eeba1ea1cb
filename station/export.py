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
  exported.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from station.errors import StationError
from station.labels import validate_label
from station.store.db import Store
from station.store.repo import iso_utc
from station.store.schema import Inspection, ModelRecord, Review

SPLITS = ("train", "val")
FIELDS = ["path", "split", "label", "predicted", "p_defect", "model_version", "reviewed_by", "reviewed_at", "sha256",
          "origin", "inspection_id"]


def _rows(store: Store, include_unreviewed: bool) -> list[dict[str, Any]]:
    newest = (select(Review.inspection_id, func.max(Review.id).label("rid")).group_by(Review.inspection_id).subquery())
    q = (
        select(Inspection, ModelRecord.version, Review.by, Review.at)
        .join(ModelRecord, ModelRecord.id == Inspection.model_id)
        .outerjoin(newest, newest.c.inspection_id == Inspection.id)
        .outerjoin(Review, Review.id == newest.c.rid)
    )
    if not include_unreviewed:
        q = q.where(Inspection.label.is_not(None))
    out = []
    with store.session() as s:
        for ins, version, by, at in s.execute(q.order_by(Inspection.id)):
            reviewed = ins.label is not None
            out.append({
                "inspection_id": ins.id, "sha256": ins.sha256, "image_path": ins.image_path, "origin": ins.origin,
                "label": ins.label if reviewed else ins.predicted, "predicted": ins.predicted,
                "p_defect": round(ins.p_defect, 6), "model_version": version,
                "reviewed_by": by if reviewed else "", "reviewed_at": iso_utc(at) if reviewed and at else "",
                "_reviewed": reviewed, "_order": (reviewed, at.isoformat() if reviewed and at else "", ins.id),
            })
    return out


def _one_per_image(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reviewed beats unreviewed; among reviews, the newest wins."""
    best: dict[str, dict[str, Any]] = {}
    for r in rows:
        cur = best.get(r["sha256"])
        if cur is None or r["_order"] > cur["_order"]:
            best[r["sha256"]] = r
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


def _read_previous(out: Path) -> dict[str, str]:
    manifest = out / "manifest.csv"
    if not manifest.is_file():
        return {}
    try:
        with manifest.open(newline="", encoding="utf-8") as f:
            return {row["sha256"]: row["split"] for row in csv.DictReader(f) if row.get("sha256")}
    except (OSError, csv.Error, KeyError, UnicodeDecodeError):
        return {}  # an unreadable manifest only costs split stability, never the export


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def export(store: Store, out: str | os.PathLike[str], include_unreviewed: bool = False, val_fraction: float = 0.2,
           seed: int = 0) -> dict[str, Any]:
    if not 0.0 <= val_fraction < 1.0:
        raise StationError(f"--val-fraction must be at least 0 and below 1, not {val_fraction}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StationError(f"export target is a file, not a folder: {out}")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.csv").is_file():
        raise StationError(f"{out} is not empty and holds no earlier export; choose an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    errors: list[dict[str, Any]] = []
    rows = []
    for r in _one_per_image(_rows(store, include_unreviewed)):
        try:
            validate_label(r["label"])
        except StationError as exc:
            errors.append({"id": r["inspection_id"], "error": str(exc)})
            continue
        src = store.data / r["image_path"]
        if not _inside(store.data / "images", src) or not src.is_file():
            errors.append({"id": r["inspection_id"], "error": f"stored image missing or outside the data dir: {r['image_path']}"})
            continue
        r["_src"] = src
        rows.append(r)
    assign_splits(rows, _read_previous(out), val_fraction, seed)

    wanted: set[Path] = set()
    for r in rows:
        rel = Path(r["split"]) / r["label"] / f"{r['sha256'][:20]}{r['_src'].suffix.lower()}"
        dest = out / rel
        if not _inside(out, dest):  # belt and braces: labels are validated above
            errors.append({"id": r["inspection_id"], "error": f"refused to write outside {out}: {rel}"})
            continue
        if not (dest.is_file() and dest.stat().st_size == r["_src"].stat().st_size):
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp")
            shutil.copyfile(r["_src"], tmp)
            os.replace(tmp, dest)
        wanted.add(dest.resolve())
        r["path"] = rel.as_posix()
    rows = [r for r in rows if "path" in r]
    _prune(out, wanted)

    counts = {s: {} for s in SPLITS}
    for r in rows:
        counts[r["split"]][r["label"]] = counts[r["split"]].get(r["label"], 0) + 1
    classes: dict[str, int] = {}
    for r in rows:
        classes[r["label"]] = classes.get(r["label"], 0) + 1
    _write_manifest(out, sorted(rows, key=lambda r: r["path"]))
    dataset = {
        "format": 1, "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source_database": store.engine.url.render_as_string(hide_password=True), "seed": seed,
        "val_fraction": val_fraction, "include_unreviewed": include_unreviewed,
        "classes": dict(sorted(classes.items())), "counts": counts, "n": len(rows),
    }
    _write_atomic(out / "dataset.json", json.dumps(dataset, indent=2) + "\n")
    return {"out": str(out), "train": sum(counts["train"].values()), "val": sum(counts["val"].values()),
            "classes": dataset["classes"], "errors": errors}


def _prune(out: Path, wanted: set[Path]) -> None:
    """Remove files an earlier export wrote that this one no longer includes, and empty folders
    (torchvision's ImageFolder refuses a class folder with no images)."""
    for split in SPLITS:
        root = out / split
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*"), reverse=True):
            if path.is_file() and path.resolve() not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def _write_manifest(out: Path, rows: list[dict[str, Any]]) -> None:
    tmp = out / ".manifest.csv.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, out / "manifest.csv")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
