"""Between two parts, a run may take another model: the line promoted one, or the product changed.

Both happen on the run's thread, as a `station.run.gate.Switch` the run's gate asks for before a
part is judged; the pipeline makes it once every part before is judged and stored, and prepares
what it had read ahead again for the new model. So every part is judged by one model and one
recipe, the ones in force when it came.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from station.core.domain import Frame
from station.core.errors import StationError
from station.run.run_report import RunSummary, model_info

if TYPE_CHECKING:
    from station.protocols import InspectionModel, StationStore
    from station.record.recorder import Recorder
    from station.run.product import Product, Products, Wanted


class InspectionRun(Protocol):
    """What a switch touches of station.run.inspection_run.InspectionRun (named here, not
    imported: the run imports this module)."""

    model: "InspectionModel | None"
    recorder: "Recorder | None"
    store: "StationStore | None"
    camera: Any  # the source the run opened, before a PLC's gate: its settings change with a recipe
    summary: RunSummary
    options: Any  # RunOptions: data, device
    products: "Products | None"
    product: "Product | None"
    station: str
    _line: Any  # station.outputs.lineio.LineIO, when the run has outputs
    _follower: Any  # station.line.line_registry.Follower, on a line
    _backend: str | None
    view_models: "dict[str, InspectionModel]"  # each view of a part its own recipe's model (station.run.view_models)



def apply_threshold(run: "InspectionRun", value: float | None) -> None:
    """A threshold the line set for the running model (None: the card's), from this part on;
    kept in this PC's registry too, so a start with the line's database down uses it."""
    from station.model.registry import set_threshold

    assert run.model is not None
    cut = value if value is not None else run.model.spec.threshold
    run.model.threshold = cut
    try:
        set_threshold(run.model.name, value, run.options.data)
    except StationError:
        pass  # a model directory outside this PC's registry: the run alone follows it
    logging.getLogger("station.line").info("threshold %.4f for %s, set on the line", cut, run.model.name)


def install(run: "InspectionRun", model: "InspectionModel", recipe: Any = None) -> None:
    """`model` judges from the next part on: recorded under a new run row, told to the outputs."""
    assert run.recorder is not None
    previous = run.model
    run.recorder.switch(model)
    run.model = model
    if recipe is not None:
        run.recorder.recipe = (recipe.name, recipe.version)
    if run._line is not None:
        run._line.switch_model(model, recipe.name if recipe is not None else None)
    s = run.summary
    s.model = model_info(model)
    s.run_id = run.recorder.run_id
    s.switches.append({"from": previous.name if previous else None, "to": model.name, "version": model.version,
                       "after": s.processed, **({"recipe": recipe.name} if recipe is not None else {})})


def follow(run: "InspectionRun", promoted: Any, held: Frame | None) -> Frame | None:
    """Follow a line promotion: fetch, load, and go on recording under a new run row."""
    from station.line.line_registry import fetch, line_threshold
    from station.model import load_model
    from station.store.db import unavailable

    assert run.store is not None and run._follower is not None
    log = logging.getLogger("station.line")
    try:
        path = fetch(run.store, promoted, run.options.data)
        model = load_model(str(path), run.options.data, device=run.options.device, backend=run._backend)
    except StationError as exc:  # this station keeps the model it has; said, and looked at again later
        log.error("the line promoted %s (%s), but it cannot be used here: %s", promoted.name, promoted.version, exc)
        run._follower.version = promoted.version
        return held
    install(run, model)
    run._follower.version = model.version
    try:  # the new model's line-wide threshold, if one was set for it
        change = line_threshold(run.store, model.version)
    except Exception as exc:
        if not unavailable(exc):
            raise
        change = None  # the database is away: the next look picks it up
    if change is not None:
        run._follower.threshold_row = change[0]
        apply_threshold(run, change[1])
    log.info("switched to the line's model %s (%s) after %d parts", model.name, model.version, run.summary.processed)
    return held


def tune(run: "InspectionRun", source: str | None) -> bool:
    """A recipe's camera settings (exposure, gain) on the run's camera, when the recipe's source
    names the same camera; True when any changed. Another source is not switched to mid-run:
    the run reads what it was started on."""
    from station.sources.spec import parse_spec

    if not source or run.camera is None:
        return False
    mine, theirs = parse_spec(run.options.source), parse_spec(source)
    if (mine.kind, mine.target.partition("?")[0]) != (theirs.kind, theirs.target.partition("?")[0]):
        return False
    return bool(run.camera.retune(theirs.target))


def tune_for(run: "InspectionRun", product: str) -> None:
    """Before a PLC's part is taken: the camera as its product's recipe says. A setting the
    camera refuses is said here once; the changeover then refuses the part."""
    assert run.store is not None and run.products is not None
    try:
        tune(run, run.products.source_of(product, run.store))
    except StationError as exc:
        if run.products.refused.get(product) != str(exc):
            logging.getLogger("station.recipe").error("camera settings of %s refused: %s", product, exc)
            run.products.refused[product] = str(exc)


def change(run: "InspectionRun", wanted: "Wanted", held: Frame | None) -> Frame | None:
    """A changeover to another recipe. When it cannot be made (no such recipe, its model does
    not load, its golden check refuses), the part the PLC announced as that product is not
    judged at all: it fails as not inspected, with the reason. It is never judged by the old recipe."""
    from station.model import load_model
    from station.run import view_models

    assert run.store is not None and run.products is not None
    log = logging.getLogger("station.recipe")
    o = run.options
    try:
        recipe, model, ready = run.products.load(
            wanted, run.store, run.station, lambda name: load_model(name, o.data, device=o.device, backend=run._backend),
            tune=lambda r: tune(run, r.source))
    except StationError as exc:
        if run.products.refused.get(wanted.name) != str(exc):  # said once per product and reason, not once per part
            log.error("changeover to %s (%s) refused: %s", wanted.name, wanted.how, exc)
            run.products.refused[wanted.name] = str(exc)
        current = run.products.current
        if wanted.how == "edit":  # the product's new version cannot be had: its parts wait for one that can
            run.products.blocked = f"not inspected: the new version of {wanted.name} was refused: {exc}; put the recipe right or roll it back"
        elif wanted.how == "shift" or (run.products.blocked and current is not None and wanted.name == current.name):
            run.products.blocked = f"not inspected: golden check at shift start: {exc}; start again once it is put right"
        if wanted.how == "plc" and held is not None:
            return replace(held, refused=f"not inspected: product {wanted.name.lstrip('?')} cannot be judged here: {exc}")
        return held
    install(run, model, recipe)
    run.product = ready
    try:
        run.view_models = view_models.load(run, recipe)
    except StationError as exc:  # the product is in force, its views are not: no part is judged half right
        log.error("changeover to %s: %s", recipe.name, exc)
        run.view_models = {}
        run.products.blocked = f"not inspected: {exc}"
    if ready.retuned and held is not None and held.live:
        if held.product is None:  # a free-running or self-triggered camera: the next frame is taken as set
            run.camera.arm()
            held = None
        else:  # a PLC's part, taken before its recipe's settings were known: failed, not judged as taken
            held = replace(held, refused=f"not inspected: taken before the camera was set for {recipe.name}")
    run.summary.recipe = {"name": recipe.name, "version": recipe.version, "golden": ready.golden_json}
    if wanted.how == "shift":
        log.info("golden check at shift start passed for %s (version %d)", recipe.name, recipe.version)
    else:
        log.info("changeover to %s (version %d, %s) after %d parts", recipe.name, recipe.version, wanted.how, run.summary.processed)
    return held
