"""The retrain-compare loop the station window runs, as one plain function (no Qt):
export the reviews, train from the active model, and score the new and the active model on the
same validation split. Promotion is the caller's choice (`station.model.registry.promote`).

The CLI equivalent, step for step:
    station export DATA/exports/reviewed
    station train DATA/exports/reviewed --base <active> --out DIR
    station evaluate DATA/exports/reviewed/val --model DIR     (and --model <active>)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.core import config
from station.core.errors import StationError
from station.core.progress import ProgressFn
from station.learn.export import ExportResult

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from station.line.recipes import Recipe


class Cancelled(StationError):
    pass


@dataclass
class RetrainResult:
    """A retrain: what was exported, the new model, and both models scored on the same
    validation split (`new` and `active` are `station evaluate` reports)."""

    export: ExportResult
    name: str
    path: str
    base: str
    classes: list[str]
    seconds: float
    new: dict[str, Any]
    active: dict[str, Any]
    comparison: dict[str, Any] | None = None  # on held-out reviews (station.train.holdout)
    recipe: str | None = None  # the product retrained: promoting points it at the new model

    @property
    def worse(self) -> bool:
        """Worse than the active model on reviews neither learned from: not offered for promotion."""
        return bool(self.comparison and self.comparison.get("verdict") == "worse")

    def to_json(self) -> dict[str, Any]:
        return {"export": self.export.to_json(), "name": self.name, "path": self.path, "base": self.base,
                "classes": list(self.classes), "seconds": self.seconds, "new": self.new, "active": self.active,
                "comparison": self.comparison, "worse": self.worse, "recipe": self.recipe}


def export_dir(data: str | None = None) -> Path:
    """One export folder per data dir, so every retrain keeps the earlier validation split."""
    return config.data_dir(data) / "exports" / "reviewed"


def retrain(data: str | None = None, db: str | None = None, epochs: int = 40, include_unreviewed: bool = False,
            progress: ProgressFn | None = None, should_stop: Callable[[], bool] | None = None,
            store_url: str | None = None, recipe: str | None = None, view: str | None = None) -> RetrainResult:
    """`recipe`: the product retrained (default: this station's active recipe, if it has one):
    its model is the base, and only its reviews are exported. `view`: one view of its parts, which
    the product judges as a recipe of its own (`views side=NAME`): that recipe's model is the
    base, only that view's reviews are exported, and the result is that recipe's to promote."""
    from station.learn.export import export
    from station.line import recipes
    from station.line.settings import station_name
    from station.model import load_model
    from station.model.directory import read_card
    from station.model.registry import active_name, resolve_model
    from station.model.rules import version_of
    from station.store import repo
    from station.store.db import open_store
    from station.train.config import TrainConfig
    from station.train.evaluate import evaluate
    from station.train.trainer import train

    stop = should_stop or (lambda: False)

    def report(stage: str, done: int, total: int | None) -> None:
        if stop():
            raise Cancelled("retraining cancelled; the active model is unchanged")
        if progress is not None:
            progress(stage, done, total)

    report("export", 0, 1)
    store = open_store(data, db, store_url)  # a line's reviews: their images come from the line's store
    try:
        with store.session() as s:
            product = recipes.resolve(s, recipe, station_name(None, data))
            judged_as = _view_recipe(s, product, view) if view is not None else product
        base_name = judged_as.model if judged_as is not None else active_name(data)
        base_path = resolve_model(base_name, data)
        active_card = read_card(Path(base_path))
        # This product's reviews only: parts judged by the base model or its ancestors (and, with
        # recipes, as this recipe). Another product's reviews would teach it that product's defect types.
        with store.session() as s:
            versions = repo.lineage(s, version_of(active_card), active_card)
        try:
            exported = export(store, export_dir(data), include_unreviewed=include_unreviewed, versions=versions,
                              recipe=product.name if product is not None else None, view=view)
        except StationError as exc:
            if "several views" not in str(exc):
                raise
            raise StationError(f"{str(exc).split(';')[0]}: Retrain trains one model, and each view has its own; "
                               "pick the view to retrain") from None
    finally:
        store.engine.dispose()
    n = exported.train + exported.val
    if n < 4 or exported.val == 0:
        raise StationError(f"only {n} reviewed images of parts {base_name} or the models it came from judged; review more "
                           f"of them first (at least 4, two of one class)")
    report("export", 1, 1)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"retrain-{stamp}"
    out = config.data_dir(data) / "retrain" / name
    cfg = TrainConfig(epochs=epochs, name=name)
    try:
        trained = train(export_dir(data), out, cfg, base=str(base_path), progress=report, should_stop=stop)
        val = export_dir(data) / "val"
        report("evaluate", 0, 2)
        new = evaluate(load_model(str(out)), val)
        report("evaluate", 1, 2)
        active = evaluate(load_model(base_name, data), val)
        report("evaluate", 2, 2)
    except Cancelled:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return RetrainResult(export=exported, name=name, path=str(out), base=base_name, classes=list(trained["classes"]),
                         seconds=float(trained["seconds"]), new=new, active=active, comparison=trained.get("comparison"),
                         recipe=judged_as.name if judged_as is not None else None)


def views_to_retrain(s: "Session", data: str | None = None) -> list[str]:
    """The views the product `retrain` would retrain has reviews of: more than one, and a
    retrain is of one of them (`view`)."""
    from station.line import recipes
    from station.line.settings import station_name
    from station.store import repo

    product = recipes.resolve(s, None, station_name(None, data))
    return repo.reviewed_views(s, product.name if product is not None else None)


def _view_recipe(s: "Session", product: "Recipe | None", view: str) -> "Recipe":
    """The recipe `view` of `product`'s parts is judged as; one line when it has none of its own
    (then the product's model judges every view, and one view's reviews must not retrain it)."""
    from station.line import recipes

    own = product.view_recipes().get(view) if product is not None else None
    if own is None:
        of = f"product {product.name}" if product is not None else "active model"
        name = product.name if product is not None else "PRODUCT"
        # `recipes set P views` replaces the whole list: the command given keeps the views' recipes.
        views = ",".join(f"{k}={v}" for k, v in {**(product.view_recipes() if product is not None else {}), view: "RECIPE"}.items())
        raise StationError(f"the {view} view is judged by the {of} itself, with every other view: give it a recipe "
                           f"of its own to retrain it alone (station recipes set {name} views {views})")
    return recipes.get(s, own)
