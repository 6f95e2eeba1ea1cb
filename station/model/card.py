"""A model's card (`card.json`) as one frozen, typed object, parsed and checked once where a
model is loaded: every rule about what a usable card holds lives here, and every mistake is
one ModelError naming the file and the field.

Training writes cards as JSON objects (it is their author: metrics, comparisons and the
teaching's own notes ride along), so `ModelCard.raw` keeps the object as written. Everything
that *reads* a card to judge parts (the rules, both backends, the loader, the run) reads
the typed fields instead of string keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.core.errors import ModelError, StationError
from station.core.labels import GOOD, validate_label

KINDS = ("classifier", "anomaly", "hybrid")
REQUIRED = ("arch", "classes", "input_size", "normalization", "threshold")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class CutSpec:
    """A score's cut in its own units: a part is suspect from `raw_threshold`, one `scale` per
    logit. `good_scores`: the taught good parts' scores, held out while teaching."""

    raw_threshold: float
    scale: float
    good_scores: tuple[float, ...] = ()


@dataclass(frozen=True)
class TemplateSpec(CutSpec):
    canvas: tuple[int, int] = (1, 1)  # height, width of the registered template in pixels


@dataclass(frozen=True)
class ColourSpec(CutSpec):
    bank: int = 0  # chroma cells kept from the good parts


TEXTURE_STATS = ("mu", "spread", "loc", "sd")  # the texture memory's numbers on a card, in this order


@dataclass(frozen=True)
class TextureSpec(CutSpec):
    """The texture memory's numbers (station.model.texture.TextureStats), one per measure."""

    measures: tuple[str, ...] = ()
    stats: tuple[tuple[float, ...], ...] = ()  # one tuple per TEXTURE_STATS key


@dataclass(frozen=True)
class TypesSpec:
    """Reviewed defects' regions that name a failed part's type (station.model.types)."""

    classes: tuple[str, ...]
    count: int
    cut: float
    description: str = "region"  # "shape" (against a template) or "region" (trunk features)


@dataclass(frozen=True)
class AnomalySpec:
    raw_threshold: float
    scale: float
    floor: float
    good_scores: tuple[float, ...] = ()
    template: TemplateSpec | None = None  # None: no registered template is used
    colour: ColourSpec | None = None  # None: grey parts, no colour memory
    texture: TextureSpec | None = None  # None: no texture memory (a template judges, or an older card)
    types: TypesSpec | None = None  # None: no reviewed defect names a type yet


@dataclass(frozen=True)
class HeadSpec:
    """A hybrid's classifier head: the defect types it learned from reviews."""

    classes: tuple[str, ...] = ()
    threshold: float = 0.5  # its cut when it votes on the verdict
    votes: bool = True
    type_threshold: float = 0.5  # its cut for naming a type


@dataclass(frozen=True)
class ModelCard:
    kind: str
    name: str | None
    arch: str
    classes: tuple[str, ...]
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    threshold: float
    dropout: float = 0.2
    weights_sha256: str | None = None
    onnx_sha256: str | None = None
    anomaly: AnomalySpec | None = None  # anomaly and hybrid models
    head: HeadSpec = field(default_factory=HeadSpec)
    # The object as written: training updates and saves it; nothing judges parts from it.
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, raw: Any, where: str | Path) -> ModelCard:
        """Check a card object and make it typed; one ModelError naming `where` and the field."""
        if not isinstance(raw, dict):
            raise ModelError(f"{where}: expected a JSON object")
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise ModelError(f"{where}: missing {', '.join(missing)}")
        kind = raw.get("kind", "classifier")
        if kind not in KINDS:
            raise ModelError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
        classes = raw["classes"]
        if not isinstance(classes, list) or GOOD not in classes or len(set(classes)) != len(classes):
            raise ModelError(f"{where}: classes must be a list of distinct names including '{GOOD}'")
        for c in classes:
            try:
                validate_label(c)
            except StationError as exc:
                raise ModelError(f"{where}: {exc}") from None
        if len(classes) < 2:
            raise ModelError(f"{where}: field 'classes' needs at least one defect type besides '{GOOD}' (a good-only model passes every part)")
        t = raw["threshold"]
        if not _finite(t) or not 0.0 < t < 1.0:
            raise ModelError(f"{where}: field 'threshold' must be a number between 0 and 1 (exclusive), not {t!r}")
        size = raw["input_size"]
        if isinstance(size, bool) or not isinstance(size, int) or not 32 <= size <= 2048:
            raise ModelError(f"{where}: field 'input_size' must be a whole number of pixels from 32 to 2048, not {size!r}")
        norm = raw["normalization"]
        try:
            mean, std = [float(v) for v in norm["mean"]], [float(v) for v in norm["std"]]
        except (TypeError, KeyError, ValueError):
            raise ModelError(f"{where}: field 'normalization' must hold 'mean' and 'std', three numbers each") from None
        if len(mean) != 3 or len(std) != 3 or not all(math.isfinite(v) for v in mean + std) or min(std) <= 0:
            raise ModelError(f"{where}: field 'normalization' needs three finite means and three positive stds")
        anomaly = _anomaly(raw, where) if kind != "classifier" else None
        head = _head(raw, where) if kind == "hybrid" else _head_loose(raw)
        return cls(kind=kind, name=raw.get("name") or None, arch=str(raw["arch"]), classes=tuple(classes), input_size=size,
                   mean=(mean[0], mean[1], mean[2]), std=(std[0], std[1], std[2]), threshold=float(t),
                   dropout=float(raw.get("dropout", 0.2)), weights_sha256=raw.get("weights_sha256"),
                   onnx_sha256=raw.get("onnx_sha256") or None, anomaly=anomaly, head=head, raw=raw)


def _scores(value: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in value) if isinstance(value, list) and all(_finite(v) for v in value) else ()


def _anomaly(raw: dict[str, Any], where: str | Path) -> AnomalySpec:
    """The anomaly section must describe a usable score: a model with a NaN or negative scale
    would pass or fail every part."""
    a = raw.get("anomaly")
    if not isinstance(a, dict):
        raise ModelError(f"{where}: field 'anomaly' must be an object with raw_threshold, scale and floor")
    for key in ("raw_threshold", "scale", "floor"):
        if not _finite(a.get(key)):
            raise ModelError(f"{where}: field 'anomaly.{key}' must be a finite number, not {a.get(key)!r}")
    if a["scale"] <= 0 or a["raw_threshold"] <= a["floor"]:
        raise ModelError(f"{where}: field 'anomaly' needs scale > 0 and raw_threshold > floor")
    template = None
    tmpl = a.get("template")
    if tmpl is not None:
        if not isinstance(tmpl, dict) or not isinstance(tmpl.get("used"), bool):
            raise ModelError(f"{where}: field 'anomaly.template' must be an object with 'used' true or false")
        if tmpl["used"]:
            canvas = tmpl.get("canvas")
            if not (isinstance(canvas, list) and len(canvas) == 2 and all(isinstance(v, int) and 16 <= v <= 8192 for v in canvas)):
                raise ModelError(f"{where}: field 'anomaly.template.canvas' must be [height, width] in pixels, not {canvas!r}")
            for key in ("raw_threshold", "scale"):
                if not _finite(tmpl.get(key)) or tmpl[key] <= 0:
                    raise ModelError(f"{where}: field 'anomaly.template.{key}' must be a positive number, not {tmpl.get(key)!r}")
            template = TemplateSpec(float(tmpl["raw_threshold"]), float(tmpl["scale"]), _scores(tmpl.get("good_scores")),
                                    canvas=(canvas[0], canvas[1]))
    colour = None
    col = a.get("colour")
    if isinstance(col, dict) and col.get("used"):
        for key in ("raw_threshold", "scale"):
            if not _finite(col.get(key)):
                raise ModelError(f"{where}: field 'anomaly.colour.{key}' must be a finite number, not {col.get(key)!r}")
        if isinstance(col.get("bank"), bool) or not isinstance(col.get("bank"), int) or col["bank"] < 1:
            raise ModelError(f"{where}: field 'anomaly.colour.bank' must be the number of colour cells kept, at least 1")
        colour = ColourSpec(float(col["raw_threshold"]), float(col["scale"]), _scores(col.get("good_scores")), bank=col["bank"])
    texture = _texture(a.get("texture"), where)
    types = None
    named = a.get("types")
    if named is not None:
        ok = isinstance(named, dict) and isinstance(named.get("classes"), list) and len(named["classes"]) >= 1
        if not ok or not isinstance(named.get("count"), int) or named["count"] < 1 or not _finite(named.get("cut")):
            raise ModelError(f"{where}: field 'anomaly.types' must hold 'classes' (a list), 'count' (at least 1) and 'cut' (a number)")
        types = TypesSpec(tuple(named["classes"]), named["count"], float(named["cut"]), str(named.get("description", "region")))
    return AnomalySpec(float(a["raw_threshold"]), float(a["scale"]), float(a["floor"]), _scores(a.get("good_scores")),
                       template, colour, texture, types)


def _texture(tex: Any, where: str | Path) -> TextureSpec | None:
    if not (isinstance(tex, dict) and tex.get("used")):
        return None
    for key in ("raw_threshold", "scale"):
        if not _finite(tex.get(key)):
            raise ModelError(f"{where}: field 'anomaly.texture.{key}' must be a finite number, not {tex.get(key)!r}")
    measures = tex.get("measures")
    if not (isinstance(measures, list) and measures and all(isinstance(m, str) for m in measures)):
        raise ModelError(f"{where}: field 'anomaly.texture.measures' must list the measures by name")
    stats = []
    for key in TEXTURE_STATS:
        values = tex.get(key)
        if not (isinstance(values, list) and len(values) == len(measures) and all(_finite(v) for v in values)):
            raise ModelError(f"{where}: field 'anomaly.texture.{key}' must be {len(measures)} finite numbers, one per measure")
        stats.append(tuple(float(v) for v in values))
    return TextureSpec(float(tex["raw_threshold"]), float(tex["scale"]), _scores(tex.get("good_scores")),
                       measures=tuple(measures), stats=tuple(stats))


def _head(raw: dict[str, Any], where: str | Path) -> HeadSpec:
    head = raw.get("classifier")
    cls = head.get("classes") if isinstance(head, dict) else None
    if not isinstance(cls, list) or len(cls) < 2 or cls[0] != GOOD:
        raise ModelError(f"{where}: field 'classifier.classes' must list '{GOOD}' first and at least one defect type")
    assert isinstance(head, dict)
    if not _finite(head.get("threshold")) or not 0 < head["threshold"] < 1:
        raise ModelError(f"{where}: field 'classifier.threshold' must be a number between 0 and 1")
    return _head_loose(raw)


def _head_loose(raw: dict[str, Any]) -> HeadSpec:
    """A head section as written (an anomaly model being taught has none, or an empty one)."""
    head = raw.get("classifier")
    if not isinstance(head, dict):
        return HeadSpec()
    threshold = float(head.get("threshold", 0.5))
    return HeadSpec(tuple(head.get("classes", [])), threshold, bool(head.get("votes", True)),
                    float(head.get("type_threshold", threshold)))


def as_card(card: ModelCard | dict[str, Any], where: str | Path = "card") -> ModelCard:
    """A loaded card as it is; a card object that training is writing, parsed."""
    return card if isinstance(card, ModelCard) else ModelCard.parse(card, where)
