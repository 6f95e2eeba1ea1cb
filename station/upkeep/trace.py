"""`station trace`: a dated, hashed bundle of what the station judged between two times, for an
auditor: every inspection (CSV), every review of them (CSV), their images and heatmaps, and a
manifest of SHA-256 sums (the `sha256sum -c` format) that `station trace --verify` checks.

Images are named by their content's SHA-256 (the same value the inspection's row holds), so the
bundle proves each image is the one that was judged, not only that the file was not changed since
the bundle was made. An image retention purged is listed with the reason, not missed silently."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select

from station.core.errors import StationError
from station.core.fileutil import atomic_write, file_sha256
from station.core.terminal import cell
from station.store import history
from station.store.blobs import BlobStore
from station.store.db import Store
from station.store.schema import Inspection, Part
from station.store.stats import as_stored

MANIFEST = "SHA256SUMS"
COLUMNS = ("id", "uid", "serial", "serial_read", "station", "captured_at", "origin", "verdict", "predicted", "p_defect", "label", "model",
           "model_version", "recipe", "recipe_version", "image", "image_sha256", "heatmap", "image_gone", "exported_at", "reviews",
           "part", "view")
PART_COLUMNS = ("uid", "serial", "station", "captured_at", "verdict", "label", "view", "views", "reason", "recipe", "recipe_version")
REVIEW_COLUMNS = ("inspection_id", "uid", "label", "previous", "by", "at", "note", "undoes")


@dataclass(frozen=True)
class TraceResult:
    out: Path
    inspections: int
    reviews: int
    images: int
    missing: int  # images the store could not give (listed in the CSV with the reason)
    parts: int = 0  # parts judged as a whole (a part of several views is one), with the verdict the line was told

    def to_json(self) -> dict[str, Any]:
        return {"out": str(self.out), "inspections": self.inspections, "reviews": self.reviews, "images": self.images,
                "missing": self.missing, "parts": self.parts, "manifest": str(self.out / MANIFEST)}


def write_trace(store: Store, out: Path, since: datetime, until: datetime, recipe: str | None, version: str) -> TraceResult:
    """Every inspection captured in [since, until) (of `recipe`, when given) into `out`, a new or empty folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StationError(f"{out} is not an empty folder: a trace goes into a new one")
    where = [Inspection.captured_at >= as_stored(since), Inspection.captured_at < as_stored(until)]
    if recipe is not None:
        where.append(Inspection.recipe == recipe)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "heatmaps").mkdir(exist_ok=True)
    in_range = [Part.captured_at >= as_stored(since), Part.captured_at < as_stored(until)] + ([Part.recipe == recipe] if recipe else [])
    with store.session() as s:
        found = history.inspections(s, *where)
        parts = [history.PartRecord.of(p) for p in s.scalars(select(Part).where(*in_range).order_by(Part.id))]
    rows, reviews, images, missing = [], [], 0, 0
    for j in found:
        image, heat, gone = _copy_evidence(store.blobs, j, out)
        images += image is not None
        missing += image is None and not j.image_gone
        rows.append((j.id, j.uid, j.serial, j.serial_read, j.station, j.captured_at, j.origin, j.verdict, j.predicted, j.p_defect,
                     j.label, j.model, j.model_version, j.recipe, j.recipe_version, image, j.sha256, heat, gone, j.exported_at,
                     len(j.reviews), j.part, j.view))
        reviews += [(j.id, j.uid, rv.label, rv.previous, rv.by, rv.at, rv.note, rv.undoes) for rv in j.reviews]
    _write_csv(out / "inspections.csv", COLUMNS, rows)
    _write_csv(out / "reviews.csv", REVIEW_COLUMNS, reviews)
    _write_csv(out / "parts.csv", PART_COLUMNS, [(p.uid, p.serial, p.station, p.captured_at, p.verdict, p.label, p.view,
                                                  " ".join(p.views), p.reason, p.recipe, p.recipe_version) for p in parts])
    atomic_write(out / "trace.json", json.dumps({
        "from": since.isoformat(), "to": until.isoformat(), "recipe": recipe, "made_at": datetime.now().astimezone().isoformat(),
        "station_version": version, "inspections": len(rows), "reviews": len(reviews), "images": images, "missing": missing, "parts": len(parts)}, indent=1))
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
    atomic_write(out / MANIFEST, "".join(f"{file_sha256(p)}  {p.relative_to(out).as_posix()}\n" for p in files))
    return TraceResult(out, len(rows), len(reviews), images, missing, len(parts))


def _copy_evidence(blobs: BlobStore, r: history.Judged, out: Path) -> tuple[str | None, str | None, str | None]:
    """(image, heatmap, why the image is missing) for one inspection, copied into the bundle."""
    if r.image_gone:
        return None, None, r.image_gone
    try:
        data = blobs.get(r.image_path)
    except (StationError, OSError) as exc:
        return None, None, f"not in the image store: {exc}"
    if hashlib.sha256(data).hexdigest() != r.sha256:
        return None, None, "the stored image does not match the hash judged"
    image = f"images/{r.sha256}{PurePosixPath(r.image_path).suffix}"
    if not (out / image).exists():
        atomic_write(out / image, data)
    heat = None
    if r.heatmap_path:
        try:
            heat = f"heatmaps/{PurePosixPath(r.heatmap_path).name}"
            if not (out / heat).exists():
                atomic_write(out / heat, blobs.get(r.heatmap_path))
        except (StationError, OSError):
            heat = None  # the verdict and the image stand without it
    return image, heat, None


def verify(out: Path) -> list[str]:
    """What does not match the bundle's manifest (empty: every file is as it was made, and no file was added)."""
    try:
        lines = (out / MANIFEST).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StationError(f"{out} is not a trace: no {MANIFEST} ({exc.strerror or exc})") from None
    wrong, listed = [], set()
    for line in lines:
        digest, _, name = line.partition("  ")
        listed.add(name)
        path = out / name
        if not name or ".." in PurePosixPath(name).parts or not path.is_file():
            wrong.append(f"{name if name else repr(line)}: missing")
        elif file_sha256(path) != digest:
            wrong.append(f"{name}: changed")
    extra = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
    wrong += [f"{name}: not in the manifest" for name in extra if name not in listed]
    return wrong


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else cell(v) for v in row] for row in rows)
    atomic_write(path, buf.getvalue())
