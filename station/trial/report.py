"""How a shadow candidate compares with the model that judged the same parts: agreement, who
fails what, and, on the parts an inspector reviewed, who was right (`station shadow`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from station.core.errors import StationError
from station.core.labels import GOOD

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Scores:
    """Verdicts against the inspectors' labels (defect = positive)."""

    right: int
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class ShadowReport:
    candidate: str
    version: str
    active: list[str]  # the models whose verdicts went to the line on these parts
    parts: int
    agree: int
    active_fail: int
    candidate_fail: int
    only_active_fail: int  # parts the candidate would pass that the line rejected
    only_candidate_fail: int  # parts the candidate would reject that the line passed
    reviewed: int
    active_scores: Scores | None
    candidate_scores: Scores | None
    examples: list[dict[str, Any]] = field(default_factory=list)  # disagreements, newest first

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The report as an engineer reads it."""
        if not self.parts:
            return [f"{self.candidate}: no part judged in shadow yet (start a run with --shadow {self.candidate})"]
        out = [f"{self.candidate} ({self.version}) beside {', '.join(self.active)} on {self.parts} parts",
               f"agree on {self.agree} ({self.agree / self.parts:.1%})",
               f"line rejected {self.active_fail}; {self.candidate} would reject {self.candidate_fail}",
               f"{self.only_candidate_fail} more rejects, {self.only_active_fail} fewer rejects than the line"]
        if self.reviewed and self.active_scores and self.candidate_scores:
            a, c = self.active_scores, self.candidate_scores
            out.append(f"on {self.reviewed} reviewed parts: the line's verdict right {a.right}, {self.candidate}'s {c.right}"
                       f" (F1 {_f(a.f1)} against {_f(c.f1)})")
        else:
            out.append("no reviewed part yet: review some in the queue to see who was right")
        return out


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _scores(pairs: list[tuple[bool, bool]]) -> Scores:
    tp = sum(p and t for p, t in pairs)
    fp = sum(p and not t for p, t in pairs)
    fn = sum(t and not p for p, t in pairs)
    right = sum(p == t for p, t in pairs)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return Scores(right, precision, recall, f1)


def shadow_report(session: Session, candidate: str | None = None, examples: int = 10) -> ShadowReport:
    """The newest shadow candidate (or the one named) against the line's verdicts on the same parts."""
    from sqlalchemy import select

    from station.store.schema import Inspection, ModelRecord, ShadowVerdict

    query = select(ModelRecord).join(ShadowVerdict, ShadowVerdict.model_id == ModelRecord.id)
    if candidate is not None:
        query = query.where(ModelRecord.name == candidate)
    model = session.scalars(query.order_by(ShadowVerdict.id.desc()).limit(1)).first()
    if model is None:
        if candidate is None:
            raise StationError("no model has been tried in shadow yet: start a run with --shadow MODEL")
        return ShadowReport(candidate, "", [], 0, 0, 0, 0, 0, 0, 0, None, None)
    active = ModelRecord.__table__.alias("active")
    rows = session.execute(
        select(Inspection.id, Inspection.origin, Inspection.verdict, Inspection.label, active.c.name,
               ShadowVerdict.verdict, ShadowVerdict.predicted)
        .join(ShadowVerdict, ShadowVerdict.inspection_id == Inspection.id)
        .join(active, active.c.id == Inspection.model_id)
        .where(ShadowVerdict.model_id == model.id)
        .order_by(ShadowVerdict.id.desc())
    ).all()
    fail_a = [r[2] == "fail" for r in rows]
    fail_c = [r[5] == "fail" for r in rows]
    reviewed = [(a, c, r[3] != GOOD) for r, a, c in zip(rows, fail_a, fail_c, strict=True) if r[3] is not None]
    differ = [{"inspection": r[0], "origin": r[1], "line": r[2], "candidate": r[6], "label": r[3]}
              for r, a, c in zip(rows, fail_a, fail_c, strict=True) if a != c][:examples]
    return ShadowReport(
        candidate=model.name, version=model.version, active=sorted({r[4] for r in rows}), parts=len(rows),
        agree=sum(a == c for a, c in zip(fail_a, fail_c, strict=True)), active_fail=sum(fail_a), candidate_fail=sum(fail_c),
        only_active_fail=sum(a and not c for a, c in zip(fail_a, fail_c, strict=True)),
        only_candidate_fail=sum(c and not a for a, c in zip(fail_a, fail_c, strict=True)),
        reviewed=len(reviewed),
        active_scores=_scores([(a, t) for a, _, t in reviewed]) if reviewed else None,
        candidate_scores=_scores([(c, t) for _, c, t in reviewed]) if reviewed else None,
        examples=differ)
