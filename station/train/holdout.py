"""Reviews never make a model worse: `train --base` holds reviewed parts out, and the new model
is judged against its base on them before anyone may promote it.

The validation split of an export is not enough: the review loop calibrates the new model's cut
on it (station.train.hybrid), so the new model would always look at least as good there. At
0.9.0 one line went from F1 0.98 to 0.926 that way (good parts flagged: 2% -> 14%). So a share
of the reviews, chosen by a hash of the file name per class (stable as reviews are added), is
put aside before training; neither model learns from it, and both are scored on it.

The rule (`Comparison.verdict`): the new model is *worse* when it makes more mistakes on the
held-out parts than its base, or flags more held-out good parts (a false alarm it never had is
the first thing an operator notices). Worse models are not offered for promotion; the command
line promotes one only with --force, and says why.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from station.core.labels import GOOD
from station.train import data as tdata

SHARE = 0.25  # of the reviews, per class
MIN_REVIEWS = 20  # fewer: nothing is held out (too few to learn from and to judge by)
KEEP_EACH = 2  # per class, at least this many stay for training


@dataclass(frozen=True)
class Score:
    errors: int  # good/defect mistakes on the held-out parts
    false_alarms: int  # held-out good parts flagged
    missed: int  # held-out defects passed
    f1: float | None


@dataclass(frozen=True)
class Comparison:
    held_out: int
    base: str
    base_score: Score | None
    new_score: Score | None
    verdict: str  # better, same, worse, or unknown (nothing held out)
    reason: str

    @property
    def worse(self) -> bool:
        return self.verdict == "worse"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def split(data: Path, work: Path) -> tuple[Path, Path | None]:
    """Lay out WORK/train, WORK/val (the reviews to learn from) and WORK/held_out (to judge by)
    from an export tree. (training tree, held-out tree or None when too few reviews)."""
    train_items, val_items = tdata.split_tree(data, 0.2, 0)
    pooled = train_items + val_items
    if len(pooled) < MIN_REVIEWS:
        return data, None
    by_class: dict[str, list[tuple[Path, str]]] = {}
    for item in pooled:
        by_class.setdefault(item[1], []).append(item)
    held: set[Path] = set()
    for group in by_class.values():
        keyed = sorted(group, key=lambda it: hashlib.sha256(f"held-out:{it[0].name}".encode()).hexdigest())
        n = min(int(round(len(keyed) * SHARE)), max(len(keyed) - KEEP_EACH, 0))
        held.update(p for p, _ in keyed[:n])
    if not held:
        return data, None
    val_set = {p for p, _ in val_items}
    for path, label in pooled:
        part = "held_out" if path in held else ("val" if path in val_set else "train")
        dest = work / part / label / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    for part in ("train", "val"):
        (work / part).mkdir(exist_ok=True)
    return work, work / "held_out"


def score(model: Any, folder: Path) -> Score:
    from station.train.evaluate import evaluate

    report = evaluate(model, folder, batch_size=16)
    labels, matrix = report["confusion"]["labels"], report["confusion"]["matrix"]
    false_alarms = missed = 0
    for i, true_label in enumerate(labels):  # rows: the true class; columns: the verdict
        for j, pred_label in enumerate(labels):
            if true_label == GOOD and pred_label != GOOD:
                false_alarms += int(matrix[i][j])
            elif true_label != GOOD and pred_label == GOOD:
                missed += int(matrix[i][j])
    f1 = report.get("f1")
    return Score(false_alarms + missed, false_alarms, missed, None if f1 is None else round(float(f1), 4))


def compare(base_path: str, new_path: Path, held_out: Path | None, base_name: str) -> Comparison:
    if held_out is None:
        return Comparison(0, base_name, None, None, "unknown",
                          f"fewer than {MIN_REVIEWS} reviews: none held out, the new model is not compared with its base")
    from station.model.directory import load_model_dir

    n = len(tdata.scan(held_out))
    b = score(load_model_dir(base_path), held_out)
    new = score(load_model_dir(new_path), held_out)
    if new.errors > b.errors or new.false_alarms > b.false_alarms:
        verdict = "worse"
        reason = (f"worse than {base_name} on {n} held-out reviewed parts: {new.errors} mistakes against {b.errors}, "
                  f"{new.false_alarms} good parts flagged against {b.false_alarms}")
    elif new.errors < b.errors:
        verdict, reason = "better", f"better than {base_name} on {n} held-out reviewed parts: {new.errors} mistakes against {b.errors}"
    else:
        verdict, reason = "same", f"as good as {base_name} on {n} held-out reviewed parts: {new.errors} mistakes each"
    return Comparison(n, base_name, b, new, verdict, reason)

