"""Guarded promotion: a retrained model is compared with the active one on the same validation
split before it goes live, and every promotion and rollback is recorded.

A one-click promote of a model worse on every metric (F1 0.947 -> 0.900 on 12 validation
images, with a threshold recalibrated on those 12) is how a line starts passing defects. The
rule: refuse when the new model is worse on F1 or recall (a missed defect is the costly error),
or when validation holds fewer than MIN_PER_CLASS images of a class. An engineer may still
promote, with a reason that is recorded beside who did it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MIN_PER_CLASS = 5
COMPARED = ("f1", "recall", "precision", "auroc", "accuracy")


@dataclass(frozen=True)
class PromotionCheck:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    diff: dict[str, float] = field(default_factory=dict)  # new minus active

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "reasons": list(self.reasons), "diff": dict(self.diff)}


def check(new: dict[str, Any], active: dict[str, Any]) -> PromotionCheck:
    """`new` and `active` are `station evaluate` results on one validation split."""
    diff = {k: round(float(new[k]) - float(active[k]), 4) for k in COMPARED
            if isinstance(new.get(k), (int, float)) and isinstance(active.get(k), (int, float))}
    reasons = [f"{k} is lower than the active model's ({float(active[k]):.3f} -> {float(new[k]):.3f})"
               for k in ("f1", "recall") if diff.get(k, 0.0) < 0]
    thin = {c: v["n"] for c, v in (new.get("per_class") or {}).items() if v.get("n", 0) < MIN_PER_CLASS}
    if thin:
        listed = ", ".join(f"{c} {n}" for c, n in sorted(thin.items()))
        reasons.append(f"validation has fewer than {MIN_PER_CLASS} images of a class ({listed}): the comparison is not evidence")
    return PromotionCheck(not reasons, reasons, diff)
