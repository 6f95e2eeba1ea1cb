"""Aggregates for the statistics view: verdict counts, defect breakdown, defect rate over parts."""

from __future__ import annotations

from collections import deque
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from station.store.schema import Inspection, ModelRecord, Run


def summary(session: Session, run_id: int | None = None, model_id: int | None = None) -> dict[str, Any]:
    """Pass/fail counts, yield and the predicted defect types, optionally for one run or model."""
    q = select(Inspection.verdict, Inspection.predicted, func.count()).group_by(Inspection.verdict, Inspection.predicted)
    if run_id is not None:
        q = q.where(Inspection.run_id == run_id)
    if model_id is not None:
        q = q.where(Inspection.model_id == model_id)
    counts = {"pass": 0, "fail": 0}
    defects: dict[str, int] = {}
    for verdict, predicted, n in session.execute(q):
        counts[verdict] = counts.get(verdict, 0) + n
        if verdict == "fail":
            defects[predicted] = defects.get(predicted, 0) + n
    total = counts["pass"] + counts["fail"]
    return {"total": total, "pass": counts["pass"], "fail": counts["fail"],
            "yield": counts["pass"] / total if total else None,
            "defects": dict(sorted(defects.items(), key=lambda kv: -kv[1]))}


def runs(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    q = (select(Run.id, Run.source, Run.started_at, Run.processed, ModelRecord.name, ModelRecord.version)
         .join(ModelRecord, ModelRecord.id == Run.model_id).order_by(Run.id.desc()).limit(limit))
    return [{"id": r.id, "source": r.source, "started_at": r.started_at, "processed": r.processed,
             "model": f"{r.name} {r.version}"} for r in session.execute(q)]


def defect_rate_series(session: Session, group: str = "run", window: int = 50, last: int = 5000) -> dict[str, list[tuple[int, float]]]:
    """Rolling defect rate over the last `last` inspections, one series per run or per model.

    The x axis is the part count within the series: a p-chart over parts, which stays readable
    when a folder's files all carry one timestamp.
    """
    if group not in ("run", "model"):
        raise ValueError("group is 'run' or 'model'")
    key = Inspection.run_id if group == "run" else Inspection.model_id
    rows = session.execute(
        select(key, Inspection.verdict, ModelRecord.name, ModelRecord.version)
        .join(ModelRecord, ModelRecord.id == Inspection.model_id)
        .order_by(Inspection.id.desc()).limit(last)
    ).all()
    series: dict[str, list[tuple[int, float]]] = {}
    windows: dict[str, deque[int]] = {}
    for k, verdict, name, version in reversed(rows):
        label = f"run {k}" if group == "run" else f"{name} {version}"
        win = windows.setdefault(label, deque(maxlen=window))
        win.append(verdict == "fail")
        points = series.setdefault(label, [])
        points.append((len(points) + 1, sum(win) / len(win)))
    return series
