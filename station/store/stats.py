"""Aggregates for the statistics view: verdict counts, defect breakdown, defect rate over parts."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from station.core.labels import GOOD
from station.store.schema import Inspection, ModelRecord, Run


@dataclass(frozen=True)
class Counts:
    """What a shift or a run made. `good` counts reviews: an inspector's label replaces the
    model's verdict, so a false alarm confirmed good raises the yield back."""

    inspected: int
    passed: int  # the model's verdicts
    failed: int
    reviewed: int
    overturned: int  # reviews that disagree with the verdict (good after FAIL, a defect after PASS)
    good: int  # after reviews
    # Parts: a part seen from several sides is one, and fails when any of its views failed (on a
    # line of one view a part a view: the same as inspected and failed).
    parts: int = 0
    failed_parts: int = 0

    @property
    def yield_(self) -> float | None:
        return self.good / self.inspected if self.inspected else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "yield": self.yield_}


def _good_after_review():
    return or_(Inspection.label == GOOD, and_(Inspection.label.is_(None), Inspection.verdict == "pass"))


def counts(session: Session, run_id: int | None = None, model_id: int | None = None, since: datetime | None = None,
           until: datetime | None = None, station: str | None = None, recipe: str | None = None) -> Counts:
    """Verdicts and reviews, optionally for one run, one model, or parts inspected in [since, until).
    A part counts when it was inspected: live frames carry that moment, a folder's files their own
    older times, so the later of the frame's time and its run's start is the one compared."""
    reviewed = Inspection.label.is_not(None)
    overturned = and_(reviewed, (Inspection.label == GOOD) != (Inspection.verdict == "pass"))
    q = select(func.count(), _sum(Inspection.verdict == "pass"), _sum(Inspection.verdict == "fail"), _sum(reviewed),
               _sum(overturned), _sum(_good_after_review()), func.count(func.distinct(Inspection.part_uid)),
               func.count(func.distinct(case((Inspection.verdict == "fail", Inspection.part_uid))))).select_from(Inspection)
    if run_id is not None:
        q = q.where(Inspection.run_id == run_id)
    if model_id is not None:
        q = q.where(Inspection.model_id == model_id)
    if station is not None:
        q = q.where(Inspection.station == station)
    if recipe is not None:
        q = q.where(Inspection.recipe == recipe)
    if since is not None or until is not None:
        at = case((Inspection.captured_at > Run.started_at, Inspection.captured_at), else_=Run.started_at)
        q = q.join(Run, Run.id == Inspection.run_id)
        if since is not None:
            q = q.where(at >= as_stored(since))
        if until is not None:
            q = q.where(at < as_stored(until))
    n, passed, failed, n_reviewed, n_over, good, parts, failed_parts = session.execute(q).one()
    return Counts(int(n), int(passed or 0), int(failed or 0), int(n_reviewed or 0), int(n_over or 0), int(good or 0),
                  int(parts or 0), int(failed_parts or 0))


def stations(session: Session) -> list[str]:
    """The stations that judged parts in this database, by name."""
    return sorted(n for n in session.scalars(select(Inspection.station).where(Inspection.station.is_not(None)).distinct()) if n)


def by_station(session: Session, run_id: int | None = None, since: datetime | None = None,
               until: datetime | None = None, recipe: str | None = None) -> dict[str, Counts]:
    """counts() for each station of the line (a few stations: one query each keeps it simple)."""
    return {name: counts(session, run_id=run_id, since=since, until=until, station=name, recipe=recipe)
            for name in stations(session)}


def _sum(condition):
    return func.sum(case((condition, 1), else_=0))


def as_stored(at: datetime) -> datetime:
    """Times are stored in UTC; SQLite keeps them naive."""
    return at.astimezone(UTC).replace(tzinfo=None)


def summary(session: Session, run_id: int | None = None, model_id: int | None = None, recipe: str | None = None) -> dict[str, Any]:
    """Pass/fail counts, yield after reviews and the predicted defect types, optionally for one run, model or product."""
    q = select(Inspection.predicted, func.count()).where(Inspection.verdict == "fail").group_by(Inspection.predicted)
    if run_id is not None:
        q = q.where(Inspection.run_id == run_id)
    if model_id is not None:
        q = q.where(Inspection.model_id == model_id)
    if recipe is not None:
        q = q.where(Inspection.recipe == recipe)
    defects = {predicted: n for predicted, n in session.execute(q)}
    c = counts(session, run_id=run_id, model_id=model_id, recipe=recipe)
    return {"total": c.inspected, "pass": c.passed, "fail": c.failed, "reviewed": c.reviewed, "overturned": c.overturned,
            "yield": c.yield_, "defects": dict(sorted(defects.items(), key=lambda kv: -kv[1]))}


@dataclass(frozen=True)
class Interrupted:
    """A run that never ended: its process was killed, crashed or lost power mid-run."""

    run_id: int
    source: str
    started_at: datetime
    processed: int


def interrupted_run(session: Session) -> Interrupted | None:
    """The newest run, when it has no end (a run that ends, even stopped or lost, records it)."""
    run = session.scalars(select(Run).order_by(Run.id.desc()).limit(1)).first()
    if run is None or run.ended_at is not None:
        return None
    return Interrupted(run.id, run.source, run.started_at, run.processed)


def runs(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    q = (select(Run.id, Run.source, Run.started_at, Run.processed, ModelRecord.name, ModelRecord.version)
         .join(ModelRecord, ModelRecord.id == Run.model_id).order_by(Run.id.desc()).limit(limit))
    return [{"id": r.id, "source": r.source, "started_at": r.started_at, "processed": r.processed,
             "model": f"{r.name} {r.version}"} for r in session.execute(q)]


def defect_rate_series(session: Session, group: str = "run", window: int = 50, last: int = 5000,
                       recipe: str | None = None) -> dict[str, list[tuple[int, float]]]:
    """Rolling defect rate over the last `last` inspections, one series per run or per model.

    The x axis is the part count within the series: a p-chart over parts, which stays readable
    when a folder's files all carry one timestamp.
    """
    if group not in ("run", "model"):
        raise ValueError("group is 'run' or 'model'")
    key = Inspection.run_id if group == "run" else Inspection.model_id
    q = select(key, Inspection.verdict, ModelRecord.name, ModelRecord.version).join(ModelRecord, ModelRecord.id == Inspection.model_id)
    if recipe is not None:
        q = q.where(Inspection.recipe == recipe)
    rows = session.execute(q.order_by(Inspection.id.desc()).limit(last)).all()
    series: dict[str, list[tuple[int, float]]] = {}
    windows: dict[str, deque[int]] = {}
    for k, verdict, name, version in reversed(rows):
        label = f"run {k}" if group == "run" else f"{name} {version}"
        win = windows.setdefault(label, deque(maxlen=window))
        win.append(verdict == "fail")
        points = series.setdefault(label, [])
        points.append((len(points) + 1, sum(win) / len(win)))
    return series
