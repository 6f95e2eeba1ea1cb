"""The one way to learn from reviews: `station train`, the window's Retrain and the scripts all
call `train` here. A classifier base is fine-tuned (station.train.fit); a good-parts (anomaly or
hybrid) base learns from the reviews its own way (station.train.hybrid).

With a base, a share of the reviews is held out first (station.train.holdout) and the new model
is compared with its base on them; the card's `comparison` says whether it is better, the same
or worse, and a worse model is not promoted without --force."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from station.core.progress import ProgressFn
from station.train import data as tdata
from station.train.config import TrainConfig


def train(data: str | Path, out: str | Path, cfg: TrainConfig | None = None, base: str | None = None,
          progress: ProgressFn | None = None, should_stop: Callable[[], bool] | None = None) -> dict:
    from station.model.directory import check_target, read_card, update_card

    check_target(out)  # an --out that cannot take a model is refused now, not after the training
    if base is None:
        result = _train(data, out, cfg, None, progress, should_stop)
        tdata.write_trained_on(Path(out), Path(data))
        return result
    from station.train import holdout

    with tempfile.TemporaryDirectory(prefix="station-reviews-") as work:
        tree, held = holdout.split(Path(data), Path(work))
        result = _train(tree, out, cfg, base, progress, should_stop)
        card = read_card(Path(out))
        parent = card.get("parent") if isinstance(card.get("parent"), dict) else {}
        if progress:
            progress("compare with the base", 0, 1)
        cmp = holdout.compare(base, Path(out), held, str(parent.get("name") or base))
    fields: dict = {"comparison": cmp.to_json()}
    if isinstance(card.get("training_data"), dict):  # not the temporary tree it was laid out in
        fields["training_data"] = {**card["training_data"], "path": str(data)}
    update_card(Path(out), fields)
    tdata.write_trained_on(Path(out), Path(data))  # the held-out parts too: they decided its comparison
    result["comparison"] = cmp.to_json()
    return result


def _train(data: str | Path, out: str | Path, cfg: TrainConfig | None, base: str | None,
           progress: ProgressFn | None, should_stop: Callable[[], bool] | None) -> dict:
    from station.train import fit

    parent = fit.load_base(base) if base else None
    if parent is not None and parent.spec.kind != "classifier":
        from station.model.anomaly import AnomalyModel
        from station.train.hybrid import learn

        assert isinstance(parent, AnomalyModel)  # the loader builds one for every non-classifier kind
        return learn(data, out, parent, cfg or TrainConfig(), progress, should_stop)
    return fit.train(data, out, cfg, parent, progress, should_stop)
