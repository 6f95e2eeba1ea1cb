"""A part's history in one place: every inspection that carries its serial, with the model and
the recipe that judged it, where its image and heatmap are, and every review of it (who, when,
what, undone or not), oldest first. `station part SERIAL` prints it; an auditor reads it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.store.repo import iso_utc
from station.store.schema import Inspection, ModelRecord, Part, Review


@dataclass(frozen=True)
class ReviewEvent:
    label: str | None  # None: an undo that put the part back in the queue
    previous: str | None
    by: str
    at: str
    note: str | None
    undoes: int | None  # the review this one takes back


@dataclass(frozen=True)
class Judged:
    """One inspection of the part: one view, one model's verdict."""

    id: int
    uid: str | None
    serial: str | None
    serial_read: str | None  # plc, code, or unread
    origin: str
    station: str | None
    captured_at: str
    verdict: str
    predicted: str
    p_defect: float
    label: str | None  # the current review's label; None: never reviewed, or the review undone
    model: str
    model_version: str
    recipe: str | None
    recipe_version: int | None
    image_path: str
    sha256: str  # the image's content hash: what an export names it by, and a model's trained_on.txt lists
    heatmap_path: str | None
    image_gone: str | None  # retention purged the image (the record stays), or a full disk never stored it
    exported_at: str | None
    reviews: tuple[ReviewEvent, ...]
    part: str | None = None  # the part it is a view of (parts.uid)
    view: str | None = None  # which view; None: a part of one view

    def to_json(self, locate: Callable[[str], str]) -> dict[str, Any]:
        out = asdict(self)
        out["image"] = None if self.image_gone else locate(self.image_path)
        out["heatmap"] = locate(self.heatmap_path) if self.heatmap_path and not self.image_gone else None
        return out


@dataclass(frozen=True)
class PartRecord:
    """One time the part passed the station: the verdict the line was told, from all its views."""

    uid: str
    serial: str | None
    captured_at: str
    station: str | None
    verdict: str  # pass | fail | error (NOT INSPECTED)
    label: str | None
    view: str | None  # the view that decided it (failed, or was missing)
    views: tuple[str, ...]  # every view it has; () for a part of one view
    reason: str | None  # why it was NOT INSPECTED
    recipe: str | None
    recipe_version: int | None

    @classmethod
    def of(cls, p: Part) -> "PartRecord":
        return cls(p.uid, p.serial, iso_utc(p.captured_at), p.station, p.verdict, p.label, p.view, tuple(p.views or ()), p.reason,
                   p.recipe, p.recipe_version)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["views"] = list(self.views)
        return out


def part(session: Session, serial: str) -> list[Judged]:
    """Every inspection (every view) of the part with this serial, oldest first (empty: no such part)."""
    return inspections(session, Inspection.serial == serial)


def passes(session: Session, serial: str) -> list[PartRecord]:
    """Each time the part with this serial was judged, as a whole, oldest first."""
    return [PartRecord.of(p) for p in session.scalars(select(Part).where(Part.serial == serial).order_by(Part.id))]


def inspections(session: Session, *where: Any) -> list[Judged]:
    """The inspections that meet `where` (SQLAlchemy conditions), oldest first, each with its
    model and its reviews: a part's history, or an auditor's trace of a time range."""
    rows = session.execute(select(Inspection, ModelRecord.name, ModelRecord.version)
                           .join(ModelRecord, ModelRecord.id == Inspection.model_id)
                           .where(*where).order_by(Inspection.id)).all()
    ids = [r.id for r, _, _ in rows]
    reviews: dict[int, list[ReviewEvent]] = {i: [] for i in ids}
    for start in range(0, len(ids), CHUNK):
        for rv in session.scalars(select(Review).where(Review.inspection_id.in_(ids[start:start + CHUNK])).order_by(Review.id)):
            reviews[rv.inspection_id].append(ReviewEvent(rv.label, rv.previous, rv.by, iso_utc(rv.at), rv.note, rv.undoes))
    return [Judged(r.id, r.uid, r.serial, r.serial_read, r.origin, r.station, iso_utc(r.captured_at), r.verdict, r.predicted,
                   round(r.p_defect, 6), r.label, name, version, r.recipe, r.recipe_version, r.image_path, r.sha256,
                   r.heatmap_path, r.image_gone, iso_utc(r.exported_at) if r.exported_at else None, tuple(reviews[r.id]),
                   r.part_uid, r.view)
            for r, name, version in rows]


CHUNK = 500  # ids in one IN (...): well under every driver's limit on bound parameters
