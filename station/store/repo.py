"""Repository functions. Each takes a Session; the caller owns its lifecycle (one per user
action or pipeline batch, never shared across threads)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from station.core.domain import Prediction, ReviewRecord
from station.core.errors import StationError
from station.core.labels import GOOD, is_defect, validate_label
from station.store import conflicts
from station.store.schema import Failure, Inspection, LabelKey, ModelRecord, Review, Run, ShadowVerdict

ORDERS: dict[str, ColumnElement[Any]] = {
    "uncertainty": Inspection.uncertainty.desc(),
    "recent": Inspection.captured_at.desc(),
    "defects": Inspection.p_defect.desc(),
    # Failed parts nobody's reviews could name yet (type `anomaly`), most defective first: the
    # reviews that teach the station defect types, which the least certain parts rarely are.
    "types": Inspection.p_defect.desc(),
}
UNNAMED = "anomaly"  # the type of a failed part no reviewed defect resembles


def now() -> datetime:
    return datetime.now(UTC)


def iso_utc(at: datetime) -> str:
    """SQLite hands back naive datetimes; everything stored is UTC, so say so."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def lineage(session: Session, version: str, card: dict[str, Any] | None = None) -> set[str]:
    """A model version and its ancestors (each card's `parent`), as far as the database knows
    them: the models that judged one product's parts, whose reviews a retrain of it may use."""
    found = {version}
    parent = (card or {}).get("parent")
    if card is None:
        row = session.scalar(select(ModelRecord.card).where(ModelRecord.version == version))
        parent = (row or {}).get("parent")
    while isinstance(parent, dict) and isinstance(parent.get("version"), str) and parent["version"] not in found:
        found.add(parent["version"])
        row = session.scalar(select(ModelRecord.card).where(ModelRecord.version == parent["version"]))
        parent = (row or {}).get("parent")
    return found


def model_id(session: Session, name: str, version: str, card: dict[str, Any]) -> int:
    """The row for a model version, created on first use."""
    found = session.scalar(select(ModelRecord.id).where(ModelRecord.version == version))
    if found is not None:
        return found
    row = ModelRecord(
        name=name, version=version, arch=str(card.get("arch")), classes=list(card["classes"]),
        threshold=float(card["threshold"]), card=card, registered_at=now(),
    )
    # Stations starting together on one database race to register the same version: the unique
    # index settles it, and the loser uses the winner's row instead of stopping.
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = session.scalar(select(ModelRecord.id).where(ModelRecord.version == version))
        if found is None:
            raise  # not the version index: a bug
        return found
    assign_keys(session, row.classes)
    return row.id


def assign_keys(session: Session, labels: Iterable[str]) -> None:
    """Give each new defect type the next free digit (1-9), once; the others keep theirs."""
    new = [l for l in dict.fromkeys(labels) if is_defect(l)]
    if not new:
        return
    have = {label: digit for label, digit in session.execute(select(LabelKey.label, LabelKey.digit))}
    used = {d for d in have.values() if d is not None}
    for label in sorted(l for l in new if l not in have):
        free = next((d for d in range(1, 10) if d not in used), None)
        if free is not None:
            used.add(free)
        # A nested transaction: two stations adding the same type at once must not fail a review.
        try:
            with session.begin_nested():
                session.add(LabelKey(label=label, digit=free))
        except IntegrityError:
            pass  # another writer gave it a digit first; theirs stands


def label_keys(session: Session) -> dict[str, int | None]:
    """Defect type -> its digit (None past nine), in digit order."""
    rows = session.execute(select(LabelKey.label, LabelKey.digit)).all()
    return dict(sorted(((l, d) for l, d in rows), key=lambda r: (r[1] is None, r[1] or 0, r[0])))


def start_run(session: Session, source: str, model: int, station: str, store: str | None = None) -> int:
    run = Run(source=source, model_id=model, station=station, started_at=now(), processed=0, failed=0, store=store)
    session.add(run)
    session.flush()
    return run.id


def count_run(session: Session, run_id: int, processed: int, failed: int) -> None:
    """Add to a run's counters (increments: a spooled batch of an earlier run is counted in its
    own run when it is forwarded, whoever forwards it)."""
    if processed or failed:
        session.execute(update(Run).where(Run.id == run_id).values(processed=Run.processed + processed, failed=Run.failed + failed))


def end_run(session: Session, run_id: int) -> None:
    session.execute(update(Run).where(Run.id == run_id).values(ended_at=now()))


def inspected(session: Session, digests: Iterable[str], model: int | None = None, version: str | None = None) -> set[str]:
    """Which of these image hashes this model (its row id, or its version) has already judged
    (for resumable runs)."""
    digests = list(digests)
    if not digests:
        return set()
    which = Inspection.model_id == model if version is None else Inspection.model_id.in_(select(ModelRecord.id).where(ModelRecord.version == version))
    return set(session.scalars(select(Inspection.sha256).where(which, Inspection.sha256.in_(digests))))


def reviewed_views(session: Session, recipe: str | None = None) -> list[str]:
    """The views (of parts seen from several sides) that have reviews, of one product with
    `recipe`: what a retrain may be of, one view at a time (each view has its own model)."""
    q = select(Inspection.view).distinct().join(Review, Review.inspection_id == Inspection.id).where(Inspection.view.is_not(None))
    if recipe is not None:
        q = q.where(Inspection.recipe == recipe)
    return sorted(v for v in session.scalars(q) if v)


def add_failure(session: Session, run_id: int, origin: str, error: str) -> None:
    session.add(Failure(run_id=run_id, origin=origin[:1024], error=error, at=now()))


def queue(session: Session, order: str = "uncertainty", limit: int = 50, offset: int = 0, **filters: Any) -> list[Inspection]:
    """Unreviewed inspections in review order. Filters: run_id, predicted, verdict, origin_like, since, until, station, recipe."""
    if order not in ORDERS:
        raise StationError(f"unknown order {order!r}; choose {', '.join(ORDERS)}")
    q = _queue_filters(select(Inspection), filters, order)
    q = q.order_by(ORDERS[order], Inspection.id).limit(limit).offset(offset)
    return list(session.scalars(q))


def rejects(session: Session, limit: int = 60, predicted: str | None = None) -> list[Inspection]:
    """The newest failed parts, reviewed or not (the window's reject gallery), newest first."""
    q = select(Inspection).where(Inspection.verdict == "fail")
    if predicted:
        q = q.where(Inspection.predicted == predicted)
    return list(session.scalars(q.order_by(Inspection.id.desc()).limit(limit)))


def newest(session: Session, recipe: str | None = None) -> Inspection | None:
    """The newest inspection with its image still kept (of one product), reviewed or not: a frame
    to draw a product's areas over when nothing runs."""
    q = select(Inspection).where(Inspection.image_gone.is_(None))
    if recipe:
        q = q.where(Inspection.recipe == recipe)
    return session.scalars(q.order_by(Inspection.id.desc()).limit(1)).first()


def queue_size(session: Session, order: str = "uncertainty", **filters: Any) -> int:
    """How many items the queue holds in this order under these filters (the window shows it; a
    page is 200). The `types` order holds only the failed parts nobody named."""
    return int(session.scalar(_queue_filters(select(func.count()).select_from(Inspection), filters, order)) or 0)


def _queue_filters(q: Any, filters: dict[str, Any], order: str) -> Any:
    q = q.where(Inspection.label.is_(None))
    if order == "types":
        q = q.where(Inspection.verdict == "fail", Inspection.predicted == UNNAMED)
    if filters.get("run_id") is not None:
        q = q.where(Inspection.run_id == filters["run_id"])
    if filters.get("predicted"):
        q = q.where(Inspection.predicted == filters["predicted"])
    if filters.get("verdict"):
        q = q.where(Inspection.verdict == filters["verdict"])
    if filters.get("origin_like"):
        q = q.where(Inspection.origin.like(f"%{filters['origin_like']}%"))
    if filters.get("since"):
        q = q.where(Inspection.captured_at >= filters["since"])
    if filters.get("until"):
        q = q.where(Inspection.captured_at < filters["until"])
    if filters.get("station"):
        q = q.where(Inspection.station == filters["station"])
    if filters.get("recipe"):
        q = q.where(Inspection.recipe == filters["recipe"])
    return q


def known_labels(session: Session) -> list[str]:
    """Every class any registered model knows plus every label an inspector introduced:
    the choices a reviewer gets, `good` first."""
    labels: set[str] = set()
    for classes in session.scalars(select(ModelRecord.classes)):
        labels.update(classes)
    # From the reviews, not the inspections: a label only ever enters through a review, and the
    # reviews table stays small where inspections reach millions of rows without a label index.
    labels.update(x for x in session.scalars(select(Review.label).where(Review.label.is_not(None)).distinct()) if x)
    labels.discard(GOOD)
    keyed = [l for l in label_keys(session) if l in labels]  # digit order: what the keys show
    return [GOOD] + keyed + sorted(labels - set(keyed))


def as_dict(row: Inspection) -> dict[str, Any]:
    """An inspection as plain data, for threads and JSON."""
    return {
        "id": row.id, "run_id": row.run_id, "origin": row.origin, "captured_at": iso_utc(row.captured_at),
        "image_path": row.image_path, "heatmap_path": row.heatmap_path, "station": row.station, "width": row.width, "height": row.height,
        "predicted": row.predicted, "probabilities": dict(row.probabilities), "p_defect": row.p_defect,
        "uncertainty": row.uncertainty, "verdict": row.verdict, "box": list(row.box) if row.box else None,
        "label": row.label, "sha256": row.sha256, "image_gone": row.image_gone, "uid": row.uid, "serial": row.serial,
        "part": row.part_uid, "view": row.view,
    }


def part_views(session: Session, part_uid: str) -> list[dict[str, Any]]:
    """Every view of a part seen from several sides, as plain data, in the order they were stored."""
    return [as_dict(r) for r in session.scalars(select(Inspection).where(Inspection.part_uid == part_uid).order_by(Inspection.id))]


def get_inspection(session: Session, inspection_id: int) -> Inspection:
    row = session.get(Inspection, inspection_id)
    if row is None:
        raise StationError(f"no inspection with id {inspection_id}")
    return row


def add_review(session: Session, inspection_id: int, label: str, by: str, note: str | None = None) -> ReviewRecord:
    """Append a review event. Returns the label, the one it replaces and, when someone else
    reviewed the item first, who: both events are kept, the newest is the current label."""
    label = validate_label(label)
    by = (by or "").strip()
    if not by:
        raise StationError("a review needs a reviewer name (--by NAME)")
    at = now()
    # The UPDATE comes first on purpose: it takes the write lock (SQLite) or the row lock
    # (PostgreSQL) before the newest review is read, so two reviewers serialize on the item.
    hit = session.execute(update(Inspection).where(Inspection.id == inspection_id).values(label=label, reviewed_at=at))
    if cast(CursorResult, hit).rowcount == 0:
        raise StationError(f"no inspection with id {inspection_id}")
    last = session.execute(
        select(Review.label, Review.by, Review.at).where(Review.inspection_id == inspection_id).order_by(Review.id.desc()).limit(1)
    ).first()
    predicted, sha = session.execute(select(Inspection.predicted, Inspection.sha256).where(Inspection.id == inspection_id)).one()
    previous = last.label if last else predicted
    event = Review(inspection_id=inspection_id, label=label, previous=previous, by=by[:128], at=at, note=note)
    session.add(event)
    session.flush()
    assign_keys(session, [label])
    clash = conflicts.of(session, [sha]).get(sha)
    return ReviewRecord(id=inspection_id, label=label, previous=previous, review_id=event.id, by=by, predicted=predicted,
                        already_reviewed_by=last.by if last is not None else None,
                        already_reviewed_at=iso_utc(last.at) if last is not None else None,
                        conflict=clash.describe() if clash else None)


def undo_review(session: Session, inspection_id: int, by: str, expected: int | None = None) -> ReviewRecord:
    """Revert the newest review of an item by appending an event (nothing is deleted). The label
    goes back to what it was before that event; NULL puts the item back in the queue. With
    `expected`, refuse when someone reviewed the item after the event the caller means to undo."""
    by = (by or "").strip()
    if not by:
        raise StationError("an undo needs a reviewer name")
    at = now()
    hit = session.execute(update(Inspection).where(Inspection.id == inspection_id).values(reviewed_at=at))
    if cast(CursorResult, hit).rowcount == 0:
        raise StationError(f"no inspection with id {inspection_id}")
    events = session.execute(
        select(Review.id, Review.label, Review.by).where(Review.inspection_id == inspection_id).order_by(Review.id.desc()).limit(2)
    ).all()
    if not events:
        raise StationError(f"inspection {inspection_id} has no review to undo")
    newest = events[0]
    if expected is not None and newest.id != expected:
        raise StationError(f"inspection {inspection_id} was reviewed again by {newest.by} since; nothing undone")
    restored = events[1].label if len(events) > 1 else None
    session.execute(
        update(Inspection).where(Inspection.id == inspection_id).values(label=restored, reviewed_at=at if restored else None)
    )
    event = Review(inspection_id=inspection_id, label=restored, previous=newest.label, by=by[:128], at=at, note="undo", undoes=newest.id)
    session.add(event)
    session.flush()
    return ReviewRecord(id=inspection_id, label=restored, previous=newest.label, review_id=event.id, by=by, undid=newest.id)


def reviews(session: Session, inspection_id: int) -> list[Review]:
    return list(session.scalars(select(Review).where(Review.inspection_id == inspection_id).order_by(Review.id)))


def add_shadow_verdict(session: Session, inspection_id: int, model_id_: int, pred: Prediction) -> None:
    """A candidate's verdict on an inspected part (station.trial.shadow): appended, never sent."""
    session.add(ShadowVerdict(inspection_id=inspection_id, model_id=model_id_, predicted=pred.label,
                              p_defect=float(pred.p_defect), verdict=pred.verdict, at=now()))
