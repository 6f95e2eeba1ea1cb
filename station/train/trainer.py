"""The one way to learn from reviews: `station train`, the window's Retrain and the scripts all
call `train` here. A classifier base is fine-tuned (station.train.fit); a good-parts (anomaly or
hybrid) base learns from the reviews its own way (station.train.hybrid)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from station.progress import ProgressFn
from station.train.config import TrainConfig


def train(data: str | Path, out: str | Path, cfg: TrainConfig | None = None, base: str | None = None,
          progress: ProgressFn | None = None, should_stop: Callable[[], bool] | None = None) -> dict:
    from station.model.directory import check_target
    from station.train import fit

    check_target(out)  # an --out that cannot take a model is refused now, not after the training
    parent = fit.load_base(base) if base else None
    if parent is not None and parent.card.get("kind", "classifier") != "classifier":
        from station.model.anomaly import AnomalyModel
        from station.train.hybrid import learn

        assert isinstance(parent, AnomalyModel)  # the loader builds one for every non-classifier kind
        return learn(data, out, parent, cfg or TrainConfig(), progress, should_stop)
    return fit.train(data, out, cfg, parent, progress, should_stop)
