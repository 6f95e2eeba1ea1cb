"""Each view of a part judged as its own recipe: a top and a side are different pictures, so each
has its own model, threshold, masks and golden parts.

The product's recipe names them (`station recipes set widget views side=widget-side`); a view it
does not name is judged as the product itself. They are loaded, applied and golden-checked when the
run starts and at every changeover, with the product: a view recipe that cannot be had refuses the
product, as its own model would.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from station.core.errors import StationError

if TYPE_CHECKING:
    from station.line.recipes import Recipe
    from station.protocols import InspectionModel, StationStore
    from station.run.product import Products


class InspectionRun(Protocol):
    """What loading the views' recipes reads of station.run.inspection_run.InspectionRun."""

    options: Any  # RunOptions: source, data, device, user
    store: "StationStore | None"
    products: "Products | None"
    station: str
    _backend: str | None

log = logging.getLogger("station.recipe")


def load(run: "InspectionRun", recipe: "Recipe | None") -> dict[str, "InspectionModel"]:
    """view -> its model, applied and checked, for the views `recipe` names that this run has.
    Raises StationError with one line when one cannot be had."""
    from station.model import load_model
    from station.run import product

    wanted = recipe.view_recipes() if recipe is not None else {}
    if not wanted:
        return {}
    names = _views_of(run.options.source)
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        log.warning("recipe %s names views %s that this run does not have (%s)", recipe.name if recipe else "",
                    ", ".join(unknown), ", ".join(names) or "one view")
    assert run.store is not None
    out: dict[str, InspectionModel] = {}
    o = run.options
    for view, name in wanted.items():
        if view not in names:
            continue
        try:
            view_recipe = product.read(run.store, name)
            key = (view_recipe.name, view_recipe.version)
            loaded = run.products._loaded if run.products is not None else {}
            model = loaded.get(key) or load_model(view_recipe.model, o.data, device=o.device, backend=run._backend)
            product.prepare(view_recipe, model, run.store, run.station, o.user or "")
        except StationError as exc:
            raise StationError(f"the {view} view's recipe {name}: {exc}") from None
        loaded[key] = model
        out[view] = model
        log.info("the %s view is judged as recipe %s (version %d, model %s)", view, view_recipe.name, view_recipe.version, model.name)
    return out


def _views_of(source: str) -> tuple[str, ...]:
    from station.sources.spec import parse_spec
    from station.sources.views import parse_views

    try:
        spec = parse_spec(source)
    except StationError:
        return ()
    return parse_views(spec.target).names if spec.kind == "views" else ()
