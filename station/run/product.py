"""The product a run judges: its recipe (station.line.recipes), chosen, applied and checked.

`--recipe NAME` (or, without it and without `--model`, the station's active recipe) decides the
model, the threshold, the masks, the outputs file and where to read when no source is given. A
run started with another recipe than the station's active one is a changeover, recorded as
one. Before the first part, the recipe's golden parts are judged (station.line.golden): a
wrong one refuses the start, or starts with an alarm when the recipe says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from station.core.domain import Frame
from station.core.errors import StationError
from station.line import golden, recipes
from station.line.recipes import Recipe
from station.store.db import first_line

if TYPE_CHECKING:
    from station.protocols import InspectionModel, StationStore

log = logging.getLogger("station.recipe")
EDIT_POLL_S = 2.0  # how often a run looks for a new version of its product (one small query)


class RunOptions(Protocol):
    """What a recipe fills in of station.run.inspection_run.RunOptions."""

    recipe: str | None
    model: str | None
    outputs: str | None
    source: str
    user: str | None


@dataclass(frozen=True)
class Product:
    recipe: Recipe
    golden: golden.GoldenReport | None  # None: the recipe has no golden parts
    retuned: bool = False  # the camera's settings changed with it (a frame taken before is not its)

    @property
    def golden_json(self) -> dict[str, Any] | None:
        return self.golden.to_json() if self.golden is not None else None


def choose(store: "StationStore", options: RunOptions, station: str) -> Recipe | None:
    """The run's recipe, with `options` filled from it (model, outputs, source where not given).
    None: no recipe asked for and none active, or a `--model` given alone."""
    recipe = _choose(store, options, station)
    if not options.source:
        raise StationError("no source: station run SRC (or a recipe that names one: station recipes set NAME source SRC)")
    return recipe


def _choose(store: "StationStore", options: RunOptions, station: str) -> Recipe | None:
    if options.recipe == recipes.ALL:
        raise StationError("a run judges one product: --recipe NAME, not all")
    if options.recipe is None and options.model is not None:
        return None  # an explicit model, as before recipes
    with store.session() as s:
        recipe = recipes.resolve(s, options.recipe, station)
        if recipe is None:
            return None
        current = recipes.active(s, station)
        if current is None or current.name != recipe.name:
            with store.session.begin() as w:
                recipe = recipes.change_to(w, recipe.name, station, by=options.user or "", how="cli")
            log.info("changeover to %s (version %d) on %s", recipe.name, recipe.version, station)
    return _fill(options, recipe)


def last_known(store: "StationStore", options: RunOptions) -> Recipe | None:
    """With the line's database away: the product this PC last ran (or `--recipe NAME`), from
    its own copy (station.line.recipe_cache); None when it has none and none was asked for."""
    from station.line import recipe_cache

    if options.recipe == recipes.ALL:
        raise StationError("a run judges one product: --recipe NAME, not all")
    if options.recipe is None and options.model is not None:
        return None
    recipe = recipe_cache.last_known(store.data, options.recipe)
    if recipe is None:
        if options.recipe is not None:
            raise StationError(f"{store.offline}; this PC has no copy of recipe {options.recipe} (it never ran it)")
        return None
    _fill(options, recipe)
    if not options.source:
        raise StationError(f"no source: station run SRC (recipe {recipe.name} names none)")
    return recipe


def _fill(options: RunOptions, recipe: Recipe) -> Recipe:
    if options.model is None:
        options.model = recipe.model
    elif options.model != recipe.model:
        raise StationError(f"recipe {recipe.name} judges with model {recipe.model}; drop --model, or change the recipe: "
                           f"station recipes set {recipe.name} model {options.model}")
    if options.outputs is None and recipe.outputs:
        options.outputs = recipe.outputs
    if not options.source and recipe.source:
        options.source = recipe.source
    return recipe


def prepare(recipe: Recipe, model: "InspectionModel", store: "StationStore", station: str, by: str) -> Product:
    """The recipe on the loaded model, then its golden check (recorded in the audit trail), and
    this PC's copy of the recipe kept (what it starts as when the line's database is away)."""
    from station.line import recipe_cache

    golden.apply(recipe, model)
    if not recipe.golden:
        if not store.offline:
            recipe_cache.remember(store.data, recipe, store.blobs)
        return Product(recipe, None)
    report = golden.check(recipe, model, recipe_cache.golden_images(store.data) if store.offline else store.blobs)
    try:
        with store.session.begin() as s:
            golden.record(s, report, by or "(run)", station)
    except SQLAlchemyError as exc:  # the line's database away: the check still holds, the log has it
        log.warning("golden check of %s not recorded in the audit trail (%s): %s", recipe.name, first_line(exc), report.summary())
    if report.passed and not store.offline:
        recipe_cache.remember(store.data, recipe, store.blobs)
    if not report.passed:
        if recipe.golden_policy == "refuse":
            raise StationError(f"{report.summary()}; production does not start (station golden {recipe.name} shows every part)")
        log.error("%s; starting anyway, as recipe %s says (golden_policy alarm)", report.summary(), recipe.name)
    else:
        log.info("%s", report.summary())
    return Product(recipe, report)


@dataclass(frozen=True)
class Wanted:
    """A changeover asked for: the recipe, who asked (cli, operator, plc, mqtt) and by whom."""

    name: str
    how: str
    by: str = ""
    again: bool = False  # the same product, its recipe changed (areas drawn in the window): load its newest version


class Products:
    """The run's product and the changeovers asked for while it runs. `request` may be called
    from any thread (the window, an MQTT command); a PLC's product code rides on each frame.
    The run looks between two parts, so no part is judged half by one recipe and half by another.

    A recipe with golden parts is checked again at each shift start (setting floor.shifts): a
    lens knocked during the night, a light that aged, are found before the morning's parts. When
    that check refuses, `blocked` says why and every part fails as not inspected, until a check
    passes (the operator asks for the product again) or another product is asked for."""

    def __init__(self, current: Recipe | None, shift_starts: str = "06:00,14:00,22:00",
                 clock: Callable[[], datetime] = datetime.now, poll_s: float = EDIT_POLL_S) -> None:
        self.current = current
        self._store: StationStore | None = None  # watched for a new version of the product in force
        self._poll_s, self._next_poll = poll_s, 0.0
        self._seen: dict[str, int] = {}  # product -> the newest version asked for: each is tried once
        self._asked: Wanted | None = None
        self._lock = threading.Lock()
        self.refused: dict[str, str] = {}  # product -> why it cannot be judged here (said once per product)
        self._loaded: dict[tuple[str, int], InspectionModel] = {}  # (recipe, version) -> its model, applied
        self.blocked: str | None = None  # the shift-start golden check refused: no part is judged
        self.sources: dict[str, str | None] = {current.name: current.source} if current is not None else {}
        self._starts, self._clock = shift_starts, clock
        self._shift_end = self._end_of_shift()

    def watch(self, store: "StationStore") -> None:
        """Look every poll_s for a new version of the product in force (`recipes set` on any
        station, a rollback): it is loaded and checked between two parts, like a changeover."""
        self._store = store

    def _edited(self) -> Wanted | None:
        now = time.monotonic()
        if self._store is None or self.current is None or now < self._next_poll:
            return None
        self._next_poll = now + self._poll_s
        try:
            with self._store.session() as s:
                newest = recipes.get(s, self.current.name)
        except (SQLAlchemyError, StationError):  # the line's database away (or the recipe gone): keep what is in force
            return None
        if newest.version <= max(self.current.version, self._seen.get(newest.name, 0)):
            return None
        self._seen[newest.name] = newest.version
        return Wanted(newest.name, "edit", newest.by, again=True)

    def keep(self, model: "InspectionModel") -> None:
        """The model the run opened with, kept for a changeover back to its recipe."""
        if self.current is not None:
            self._loaded[(self.current.name, self.current.version)] = model

    def request(self, name: str, how: str = "operator", by: str = "", again: bool = False) -> None:
        with self._lock:
            self._asked = Wanted(name, how, by, again)

    def due(self, frame: Frame) -> Wanted | None:
        """The changeover (or golden check) this frame needs before it is judged, if any."""
        if frame.product is not None and (self.current is None or frame.product != self.current.name):
            return Wanted(frame.product, "plc")
        with self._lock:
            asked, self._asked = self._asked, None
        if asked is not None:
            same = self.current is not None and asked.name == self.current.name
            if same and (self.blocked or asked.again):
                return asked  # the cause put right, or the recipe changed: load and check again
            if not same and frame.product is None:  # with a PLC, its product code decides
                return asked
        return self._edited() or self._shift_started()

    def source_of(self, name: str, store: "StationStore") -> str | None:
        """Recipe `name`'s source (its camera settings), read once; None for an unknown product."""
        if name not in self.sources:
            try:
                with store.session() as s:
                    self.sources[name] = recipes.get(s, name).source
            except StationError:  # no such recipe: the changeover says so, with the part refused
                self.sources[name] = None
        return self.sources[name]

    def _shift_started(self) -> Wanted | None:
        if self._shift_end is None or self.blocked or self.current is None:
            return None
        if self._clock().astimezone() < self._shift_end:
            return None
        self._shift_end = self._end_of_shift()
        return Wanted(self.current.name, "shift")

    def _end_of_shift(self) -> datetime | None:
        """When the next golden check is due: the end of this shift (None: nothing to check)."""
        if self.current is None or not self.current.golden:
            return None
        from station.core import shifts

        return shifts.current(self.current.shifts or self._starts, self._clock()).end

    def load(self, wanted: Wanted, store: "StationStore", station: str, load: Callable[[str], "InspectionModel"],
             tune: Callable[[Recipe], bool] = lambda recipe: False) -> tuple[Recipe, "InspectionModel", Product]:
        """The new recipe's model, ready (recipe applied, golden check passed or allowed), and the
        camera set as it says (`tune`); recorded as a changeover. Raises StationError with one
        line when it cannot be had."""
        if wanted.name.startswith(UNKNOWN):
            raise StationError(f"product code {wanted.name[len(UNKNOWN):]} is not mapped to a recipe (the outputs file's handshake.products)")
        recipe = read(store, wanted.name)
        # Tried now, whether it loads or not: the look for new versions does not ask for it again
        # (a shift check that read the new version and refused it is not followed by a second refusal).
        self._seen[recipe.name] = max(recipe.version, self._seen.get(recipe.name, 0))
        # A line that goes back and forth between products keeps each one's model loaded: the
        # changeover is then the golden check and a row, not seconds of loading.
        key = (recipe.name, recipe.version)
        model = self._loaded.get(key) or load(recipe.model)
        ready = prepare(recipe, model, store, station, wanted.by)
        self._loaded[key] = model
        self.sources[recipe.name] = recipe.source
        if tune(recipe):
            ready = replace(ready, retuned=True)
        if self.current is None or (self.current.name, self.current.version) != key:  # a check again is no changeover
            try:
                with store.session.begin() as s:
                    recipe = recipes.change_to(s, recipe.name, station, wanted.by, wanted.how)
            except SQLAlchemyError as exc:  # made, not recorded: each part's row still says its recipe
                log.warning("changeover to %s not recorded (%s)", recipe.name, first_line(exc))
        self.current = recipe
        self.blocked = None
        self.refused.pop(recipe.name, None)
        self._shift_end = self._end_of_shift()
        return recipe, model, ready


def read(store: "StationStore", name: str) -> Recipe:
    """Recipe `name` from the database, or, while it is away, this PC's copy of it."""
    from station.line import recipe_cache

    try:
        with store.session() as s:
            return recipes.get(s, name)
    except SQLAlchemyError as exc:
        kept = recipe_cache.last_known(store.data, name)
        if kept is None:
            raise StationError(f"the line's database is away ({first_line(exc)}) and this PC has no copy of recipe {name}") from None
        log.warning("recipe %s read from this PC's copy (version %d): the line's database is away", name, kept.version)
        return kept


UNKNOWN = "?"  # a frame's product for a PLC code no recipe is mapped to: "?17"
