"""Golden parts: known parts a recipe must judge right before production starts.

At a changeover and at the start of a shift the station judges the recipe's golden parts with
the recipe's model, threshold and masks. If any comes out wrong (a model swapped for a bad one,
a threshold set too far, a camera out of focus) the station refuses to start, or starts with an
alarm when the recipe says so. The result is kept in the audit trail with who ran it.

The golden images live in the line's image store under their sha256 (`golden/<sha256>`), so
every station of a line judges the same bytes, and a recipe exported to another line takes them along.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from station.core.errors import ImageError, StationError
from station.core.imageio import decode, read_bytes
from station.line.recipes import GoldenPart, Recipe
from station.line.users import audit
from station.protocols import InspectionModel
from station.store.blobs import BlobStore
from station.store.files import sha256

log = logging.getLogger("station.golden")


def key(sha: str) -> str:
    return f"golden/{sha}"


def with_parts(recipe: Recipe, blobs: BlobStore, images: list[Path], expected: str) -> Recipe:
    """The recipe with `images` added as golden parts that must get `expected` (pass or fail).
    Each must be an image this station can read; it is kept in the image store."""
    added = list(recipe.golden)
    have = {g.sha256 for g in added}
    for path in images:
        data = read_bytes(path)
        try:
            decode(data)
        except ImageError as exc:
            raise StationError(f"{path}: not a golden part: {exc}") from None
        sha = sha256(data)
        part = GoldenPart(sha256=sha, name=path.name, expected=expected)
        if sha in have:  # the same image again: its expected verdict is the newest one given
            added = [part if g.sha256 == sha else g for g in added]
            continue
        blobs.put(key(sha), data)
        added.append(part)
        have.add(sha)
    return replace(recipe, golden=tuple(added))


@dataclass(frozen=True)
class GoldenResult:
    name: str
    expected: str
    verdict: str | None  # None: the image could not be had or read
    p_defect: float | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == self.expected

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "expected": self.expected, "verdict": self.verdict, "p_defect": self.p_defect,
                "ok": self.ok, "error": self.error}


@dataclass(frozen=True)
class GoldenReport:
    recipe: str
    version: int
    model: str
    model_version: str
    parts: tuple[GoldenResult, ...]

    @property
    def passed(self) -> bool:
        return bool(self.parts) and all(p.ok for p in self.parts)

    def to_json(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "version": self.version, "model": self.model, "model_version": self.model_version,
                "passed": self.passed, "wrong": sum(not p.ok for p in self.parts), "parts": [p.to_json() for p in self.parts]}

    def summary(self) -> str:
        wrong = [p for p in self.parts if not p.ok]
        if not self.parts:
            return f"recipe {self.recipe} has no golden parts: station recipes golden {self.recipe} pass|fail IMAGE..."
        if not wrong:
            return f"golden check of {self.recipe}: all {len(self.parts)} parts judged as expected"
        first = wrong[0]
        got = first.error or f"got {first.verdict}"
        return (f"golden check of {self.recipe} failed: {len(wrong)} of {len(self.parts)} parts judged wrong "
                f"({first.name}: expected {first.expected}, {got})")


def apply(recipe: Recipe, model: InspectionModel) -> None:
    """The recipe's threshold and masks on a loaded model (its own threshold when none is set)."""
    if recipe.threshold is not None:
        model.threshold = recipe.threshold
    model.set_masks([m.to_json() for m in recipe.ignored()])  # type: ignore[misc]


def check(recipe: Recipe, model: InspectionModel, blobs: BlobStore) -> GoldenReport:
    """Judge every golden part with `model` (the recipe applied to it already)."""
    results: list[GoldenResult] = []
    images: list[Any] = []
    parts: list[GoldenPart] = []
    for g in recipe.golden:
        try:
            images.append(decode(blobs.get(key(g.sha256))))
            parts.append(g)
        except StationError as exc:
            results.append(GoldenResult(g.name, g.expected, None, None, str(exc)))
    for g, pred in zip(parts, model.predict(images) if images else []):
        results.append(GoldenResult(g.name, g.expected, pred.verdict, round(pred.p_defect, 4)))
    return GoldenReport(recipe.name, recipe.version, model.name, model.version, tuple(results))


def record(s: Session, report: GoldenReport, by: str, station: str) -> None:
    audit(s, by, "golden_check", {**report.to_json(), "station": station})
