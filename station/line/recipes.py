"""Recipes: a product, and everything the station does differently for it.

A recipe names the model that judges the product, the threshold it is judged at, the masks
whose areas never raise an alarm, its source and outputs file, and the golden parts judged
before production starts. Recipes are rows in the database, so a line of stations on one
PostgreSQL shares them, and one PC alone keeps its own in SQLite:

- every change is a new version (`recipes`, append-only); the newest row per name is the recipe;
- a changeover is a row too (`recipe_changes`): the newest one for a station is its product;
- both are written to the audit trail, with who made them.

Every inspection carries the recipe and version it was judged as, so the queue, export,
statistics and training can keep products apart.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from station.core.errors import StationError
from station.core.labels import validate_label
from station.line.settings import Alarm as AlarmSettings
from station.line.settings import Retention as RetentionSettings
from station.line.users import audit
from station.store.repo import now
from station.store.schema import RecipeChange, RecipeVersion

ALL = "all"  # `--recipe all`: every product together, where mixing is meant
HOW = ("cli", "operator", "plc", "mqtt", "edit")  # edit: a new version of the product in force, taken mid-run
VERDICTS = ("pass", "fail")
POLICIES = ("refuse", "alarm")  # a golden check that fails: do not start, or start with an alarm


@dataclass(frozen=True)
class Mask:
    """An area that never raises an alarm, as fractions of the image's width and height (so it
    holds at any resolution the camera is set to)."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        vals = (self.x, self.y, self.w, self.h)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
            raise StationError("a mask is x,y,w,h as numbers between 0 and 1")
        if not (0 <= self.x < 1 and 0 <= self.y < 1 and 0 < self.w <= 1 and 0 < self.h <= 1
                and self.x + self.w <= 1 + 1e-9 and self.y + self.h <= 1 + 1e-9):
            raise StationError(f"mask {self.x},{self.y},{self.w},{self.h} is not inside the image "
                               "(x,y,w,h as fractions of its width and height: 0 <= x, x+w <= 1)")

    def to_json(self) -> list[float]:
        return [self.x, self.y, self.w, self.h]


@dataclass(frozen=True)
class GoldenPart:
    """A known part: its image in the line's store (by sha256) and the verdict it must get."""

    sha256: str
    name: str
    expected: str

    def __post_init__(self) -> None:
        if self.expected not in VERDICTS:
            raise StationError(f"a golden part's expected verdict is pass or fail, not {self.expected!r}")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise StationError(f"golden part {self.name!r} has no valid sha256")


@dataclass(frozen=True)
class Recipe:
    name: str
    model: str
    version: int = 0  # 0: not stored yet
    threshold: float | None = None  # None: the model's own (calibrated, or set for the model)
    source: str | None = None  # where `station run --recipe` reads when no source is given
    outputs: str | None = None  # the outputs file for this product (sinks, handshake)
    masks: tuple[Mask, ...] = ()
    roi: Mask | None = None  # the area judged; outside it nothing raises an alarm (None: the whole image)
    golden: tuple[GoldenPart, ...] = ()
    golden_policy: str = "refuse"
    # Where a product differs from the station (None: the station's setting, or the model's own):
    band: float | None = None  # p_defect this close to the threshold reads UNCERTAIN – CHECK, and its image is kept
    alarm_on_fail: bool | None = None  # a sound and a banner for every FAIL (settings alarm.on_fail)
    fails_in_a_row: int | None = None  # ... for this many FAILs in a row (alarm.fails_in_a_row; 0: never)
    pass_days: int | None = None  # passed parts' images kept whole this long (retention.pass_days)
    keep_one_in: int | None = None  # ... then thinned to this sample (retention.keep_one_in)
    shifts: str | None = None  # when its golden parts are judged again (floor.shifts: "06:00,18:00")
    code: str | None = None  # the code printed on each part that is its serial (datamatrix, qr, code128, any)
    # A part seen from several sides: the recipe each view is judged as ("side=widget-side"), its own
    # model, threshold, masks and golden parts; a view not named is judged as this recipe.
    views: str | None = None
    by: str = ""
    at: datetime | None = None

    def settings(self) -> dict[str, Any]:
        """What the database row keeps (name, version, by and at are columns of their own)."""
        return {"model": self.model, "threshold": self.threshold, "source": self.source, "outputs": self.outputs,
                "masks": [m.to_json() for m in self.masks], "roi": self.roi.to_json() if self.roi else None,
                "golden": [asdict(g) for g in self.golden],
                "golden_policy": self.golden_policy, **{k: getattr(self, k) for k in OVERRIDES}}

    def alarm(self, station: AlarmSettings) -> AlarmSettings:
        """The alarm rules for this product's parts: the station's, with what the recipe sets."""
        return replace(station, on_fail=_given(self.alarm_on_fail, station.on_fail),
                       fails_in_a_row=_given(self.fails_in_a_row, station.fails_in_a_row))

    def retention(self, station: RetentionSettings) -> RetentionSettings:
        """Which of this product's passed images may go: the station's policy, with what the recipe sets."""
        return replace(station, pass_days=_given(self.pass_days, station.pass_days),
                       keep_one_in=_given(self.keep_one_in, station.keep_one_in))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, **self.settings(), "by": self.by,
                "at": self.at.isoformat() if self.at else None}

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def view_recipes(self) -> dict[str, str]:
        """view -> the recipe it is judged as (station.run.view_models)."""
        return dict(pair.split("=", 1) for pair in self.views.split(",")) if self.views else {}

    def ignored(self) -> tuple[Mask, ...]:
        """Every area that never raises an alarm: the masks, and what lies outside the ROI."""
        if self.roi is None:
            return self.masks
        r = self.roi
        outside = [(0.0, 0.0, r.x, 1.0), (r.x + r.w, 0.0, 1.0 - r.x - r.w, 1.0),  # left, right
                   (r.x, 0.0, r.w, r.y), (r.x, r.y + r.h, r.w, 1.0 - r.y - r.h)]  # above, below
        return self.masks + tuple(Mask(*m) for m in outside if m[2] > 1e-9 and m[3] > 1e-9)


OVERRIDES = ("band", "alarm_on_fail", "fails_in_a_row", "pass_days", "keep_one_in", "shifts", "code", "views")


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value


def parse(name: str, settings: Any, version: int = 0, by: str = "", at: datetime | None = None) -> Recipe:
    """A recipe from its stored or imported settings, checked; a bad one is one line naming the key."""
    validate_label(name)
    if not isinstance(settings, dict):
        raise StationError(f"recipe {name!r}: its settings are not an object")
    unknown = set(settings) - set(Recipe("x", "x").settings())
    if unknown:
        raise StationError(f"recipe {name!r}: unknown setting(s) {', '.join(sorted(unknown))}")
    model = settings.get("model")
    if not isinstance(model, str) or not model:
        raise StationError(f"recipe {name!r} names no model")
    try:
        masks = tuple(Mask(*m) for m in settings.get("masks") or [])
        roi = Mask(*settings["roi"]) if settings.get("roi") else None
        golden = tuple(GoldenPart(**g) for g in settings.get("golden") or [])
    except TypeError:
        raise StationError(f"recipe {name!r}: masks are [x, y, w, h]; golden parts are {{sha256, name, expected}}") from None
    policy = settings.get("golden_policy", "refuse")
    if policy not in POLICIES:
        raise StationError(f"recipe {name!r}: golden_policy is {' or '.join(POLICIES)}, not {policy!r}")
    return Recipe(name=name, model=model, version=version, threshold=_threshold(settings.get("threshold")),
                  source=_text(settings.get("source")), outputs=_text(settings.get("outputs")), masks=masks, roi=roi,
                  golden=golden, golden_policy=policy, by=by, at=at, **_overrides(name, settings))


def _overrides(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings a product may hold apart from the station's, checked; absent or null: the station's."""
    out: dict[str, Any] = {}
    for key in OVERRIDES:
        value = settings.get(key)
        if value is None:
            continue
        if key == "band":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < float(value) < 0.5
            value = float(value) if ok else value
            why = "a number above 0 and below 0.5"
        elif key == "alarm_on_fail":
            ok, why = isinstance(value, bool), "true or false"
        elif key == "shifts":
            ok, why = isinstance(value, str) and _shift_starts(value), "shift start times, HH:MM joined by commas"
        elif key == "code":
            from station.model.codes import KINDS

            ok, why = value in KINDS, " or ".join(KINDS)
        elif key == "views":
            ok, why = isinstance(value, str) and _view_pairs(name, value), "VIEW=RECIPE pairs joined by commas (side=widget-side)"
        else:
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100_000
            why = "a whole number from 0"
        if not ok:
            raise StationError(f"recipe {name!r}: {key} is {why}, not {value!r}")
        out[key] = value
    return out


def _view_pairs(name: str, text: str) -> bool:
    import re

    pairs = [p.partition("=") for p in text.split(",")]
    return len({v for v, _, _ in pairs}) == len(pairs) and all(
        eq and re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", v) and re.fullmatch(r"[a-z0-9_-]{1,64}", r) and r != name for v, eq, r in pairs)


def _threshold(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 < float(value) < 1.0):
        raise StationError(f"a recipe's threshold is a number between 0 and 1 (exclusive), not {value!r}")
    return float(value)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise StationError(f"expected text, not {value!r}")
    return value


# -- the database ---------------------------------------------------------------------------


def _row(r: RecipeVersion) -> Recipe:
    return parse(r.name, r.settings, r.version, r.by, r.at)


def get(s: Session, name: str, version: int | None = None) -> Recipe:
    """The recipe (its newest version, or `version`); an unknown name is one line listing the known."""
    q = select(RecipeVersion).where(RecipeVersion.name == name)
    q = q.where(RecipeVersion.version == version) if version is not None else q.order_by(RecipeVersion.version.desc())
    row = s.scalars(q.limit(1)).first()
    if row is None:
        known = ", ".join(r.name for r in list_recipes(s)) or "none yet: station recipes add NAME --model M"
        raise StationError(f"no recipe {name!r}" + (f" version {version}" if version is not None else "") + f" (recipes: {known})")
    return _row(row)


def list_recipes(s: Session) -> list[Recipe]:
    newest = select(RecipeVersion.name, func.max(RecipeVersion.version).label("v")).group_by(RecipeVersion.name).subquery()
    rows = s.scalars(select(RecipeVersion).join(newest, (RecipeVersion.name == newest.c.name) & (RecipeVersion.version == newest.c.v))
                     .order_by(RecipeVersion.name))
    return [_row(r) for r in rows]


def history(s: Session, name: str) -> list[Recipe]:
    return [_row(r) for r in s.scalars(select(RecipeVersion).where(RecipeVersion.name == name).order_by(RecipeVersion.version))]


def save(s: Session, recipe: Recipe, by: str, station: str, action: str = "recipe_changed") -> Recipe:
    """Store `recipe` as its name's next version, audited. The caller commits."""
    parse(recipe.name, recipe.settings())  # the same checks as a stored one gets when read
    last = s.scalar(select(func.max(RecipeVersion.version)).where(RecipeVersion.name == recipe.name)) or 0
    at = now()
    s.add(RecipeVersion(name=recipe.name, version=last + 1, settings=recipe.settings(), by=by, station=station, at=at))
    s.flush()
    audit(s, by, action, {"recipe": recipe.name, "version": last + 1, **recipe.settings()})
    return replace(recipe, version=last + 1, by=by, at=at)


def add(s: Session, name: str, model: str, by: str, station: str) -> Recipe:
    validate_label(name)
    if s.scalar(select(func.count()).select_from(RecipeVersion).where(RecipeVersion.name == name)):
        raise StationError(f"recipe {name!r} exists; change it with: station recipes set {name} KEY VALUE")
    return save(s, Recipe(name=name, model=model), by, station, action="recipe_added")


def point(s: Session, name: str, model: str, by: str, station: str) -> Recipe:
    """Recipe `name` judges with `model` from its next load: its next version (made when new).
    Taught, trained and promoted models reach a product this way."""
    if not s.scalar(select(func.count()).select_from(RecipeVersion).where(RecipeVersion.name == name)):
        return add(s, name, model, by, station)
    return save(s, replace(get(s, name), model=model), by, station)


def roll_back(s: Session, name: str, by: str, station: str) -> Recipe:
    """Recipe `name` judges again with the model it had before its current one (the newest
    earlier version naming another model): its next version, audited. The caller commits."""
    current = get(s, name)
    earlier = [r.model for r in reversed(history(s, name)) if r.version < current.version and r.model != current.model]
    if not earlier:
        raise StationError(f"recipe {name} has always judged with {current.model}: nothing to roll back to")
    return save(s, replace(current, model=earlier[0]), by, station, action="recipe_rollback")


SETTABLE = ("model", "threshold", "source", "outputs", "masks", "roi", "golden_policy", *OVERRIDES)


def with_setting(recipe: Recipe, key: str, value: str) -> Recipe:
    """`station recipes set NAME KEY VALUE`: the recipe with one setting changed ("" or "none"
    clears an optional one). Masks are `x,y,w,h` fractions, several joined by `;`."""
    if key not in SETTABLE:
        raise StationError(f"unknown recipe setting {key!r}; one of: {', '.join(SETTABLE)} (golden parts: station recipes golden)")
    clear = value.strip().lower() in ("", "none")
    if key == "model":
        if clear:
            raise StationError("a recipe always names a model")
        return replace(recipe, model=value.strip())
    if key == "threshold":
        try:
            return replace(recipe, threshold=None if clear else _threshold(float(value)))
        except ValueError:
            raise StationError(f"threshold: {value!r} is not a number") from None
    if key == "masks":
        return replace(recipe, masks=() if clear else parse_masks(value))
    if key == "roi":
        rois = () if clear else parse_masks(value)
        if len(rois) > 1:
            raise StationError("roi is one rectangle, x,y,w,h (for several areas to leave out, use masks)")
        return replace(recipe, roi=rois[0] if rois else None)
    if key in OVERRIDES:
        return replace(recipe, **({key: None} if clear else _overrides(recipe.name, {key: _typed(key, value)})))
    if key == "golden_policy":
        if value not in POLICIES:
            raise StationError(f"golden_policy is {' or '.join(POLICIES)}, not {value!r}")
        return replace(recipe, golden_policy=value)
    text = None if clear else value
    return replace(recipe, source=text) if key == "source" else replace(recipe, outputs=text)


def _shift_starts(text: str) -> bool:
    from station.core import shifts

    try:
        shifts.parse(text)
    except (StationError, ValueError):
        return False
    return True


def _typed(key: str, value: str) -> Any:
    """`recipes set` text as the setting's type (checked by _overrides)."""
    text = value.strip().lower()
    if key in ("shifts", "code", "views"):
        return value.strip().replace(" ", "")
    if key == "alarm_on_fail":
        return {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}.get(text, value)
    try:
        return float(text) if key == "band" else int(text)
    except ValueError:
        return value


def parse_masks(text: str) -> tuple[Mask, ...]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            nums = [float(v) for v in part.split(",")]
        except ValueError:
            raise StationError(f"mask {part!r}: x,y,w,h as numbers between 0 and 1") from None
        if len(nums) != 4:
            raise StationError(f"mask {part!r}: four numbers, x,y,w,h")
        out.append(Mask(*nums))
    return tuple(out)


# -- changeover -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Changeover:
    station: str
    name: str
    version: int
    by: str
    how: str
    at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


def active(s: Session, station: str) -> Recipe | None:
    """The product this station runs (the newest changeover), at the recipe's newest version;
    None when it never had one (the station then judges with its active model, as before recipes)."""
    row = s.scalars(select(RecipeChange).where(RecipeChange.station == station).order_by(RecipeChange.id.desc()).limit(1)).first()
    return get(s, row.name) if row is not None else None


def change_to(s: Session, name: str, station: str, by: str, how: str) -> Recipe:
    """Make `name` this station's product; audited. The caller commits."""
    if how not in HOW:
        raise ValueError(how)
    recipe = get(s, name)
    s.add(RecipeChange(station=station, name=recipe.name, version=recipe.version, by=by, how=how, at=now()))
    audit(s, by, "changeover", {"recipe": recipe.name, "version": recipe.version, "station": station, "how": how})
    return recipe


def resolve(s: Session, name: str | None, station: str) -> Recipe | None:
    """`--recipe NAME` (or the station's active one when None); `all` and no recipes at all: None."""
    if name == ALL:
        return None
    return get(s, name) if name else active(s, station)
