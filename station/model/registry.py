"""The model registry: directories under DATA/models/, plus a file naming the active one.

File-based on purpose: resolving `--model` needs no database and no torch, and a promoted model
keeps working when the database is a PostgreSQL server shared by a whole line.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from station.core import config
from station.core.errors import ModelError, StationError
from station.core.fileutil import atomic_write
from station.core.labels import validate_label

log = logging.getLogger("station.registry")

ACTIVE = "ACTIVE"
DEFAULT_NAME = "default"
_REFRESH = threading.Lock()


def registry_dir(data: str | os.PathLike[str] | None = None) -> Path:
    path = config.data_dir(data) / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_default(data: str | os.PathLike[str] | None = None) -> Path:
    """Register the shipped default model on first start, and refresh it when an upgrade ships a
    new one (`default` always means the shipped model; trained models keep their own names)."""
    reg = registry_dir(data)
    target = reg / DEFAULT_NAME
    src = config.default_model_dir()
    if not (src / "card.json").is_file():
        if (target / "card.json").is_file():
            return reg
        raise ModelError(f"the shipped default model is missing: {src}")
    current = target / "card.json"
    if not current.is_file() or current.read_bytes() != (src / "card.json").read_bytes():
        with _REFRESH:  # the window's worker and its I/O thread may both resolve a model at start
            if not current.is_file() or current.read_bytes() != (src / "card.json").read_bytes():
                _replace_dir(src, target)
    if not (reg / ACTIVE).is_file():
        with _REFRESH:
            if not (reg / ACTIVE).is_file():
                _write_active(reg, DEFAULT_NAME)
    return reg


def _replace_dir(src: Path, target: Path) -> None:
    """Copy `src` over `target` so a reader sees the old or the new directory, never half of one.
    Temporary names are unique, so two processes refreshing at once cannot collide."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    old = tmp.with_name(tmp.name + ".old")
    try:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    except OSError:
        if not target.exists() and old.exists():
            os.replace(old, target)  # put back what was there; the next start tries again
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def active_name(data: str | os.PathLike[str] | None = None, reg: Path | None = None) -> str:
    """The active model's name; pass `reg` when ensure_default already ran."""
    reg = reg or ensure_default(data)
    try:
        name = (reg / ACTIVE).read_text(encoding="utf-8").strip()
        validate_label(name)
    except (OSError, UnicodeDecodeError, StationError):
        # Damaged by hand or by a disk. Not the default model in its place: a line must not
        # quietly switch to another model's verdicts.
        raise ModelError(f"{reg / ACTIVE} is damaged (it must hold one model name); make a model active again: "
                         "station promote NAME") from None
    if not (reg / name / "card.json").is_file():
        log.warning("%s names %r, which is not registered; using the default model", reg / ACTIVE, name)
        return DEFAULT_NAME
    return name


def resolve_model(spec: str | None, data: str | os.PathLike[str] | None = None) -> Path:
    """A model directory for `--model`: a path, a registered name, or (None) the active model."""
    if spec:
        path = Path(spec)
        if path.is_dir() or os.sep in spec or "/" in spec:
            if not path.is_dir():
                raise ModelError(f"model directory not found: {path}")
            return path
        reg = ensure_default(data)
        if (reg / spec).is_dir():
            return reg / spec
        names = ", ".join(m.name for m in list_models(data)) or "none"
        raise ModelError(f"no model named {spec!r} (registered: {names})")
    reg = ensure_default(data)
    return reg / active_name(data, reg)


@dataclass(frozen=True)
class ModelEntry:
    """A registered model as `station models` and the Models tab list it."""

    name: str
    active: bool
    kind: str
    classes: list[str]
    metrics: dict[str, Any]
    test_metrics: dict[str, Any] | None
    threshold: float | None  # what inspection uses: a per-model override when set
    calibrated_threshold: float | None  # the card's own
    created: str | None
    arch: str | None
    parent: dict[str, Any] | None  # {"name", "version"} of the model it was trained from
    path: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def list_models(data: str | os.PathLike[str] | None = None) -> list[ModelEntry]:
    reg = ensure_default(data)
    try:
        active = active_name(data, reg)
    except ModelError as exc:
        log.warning("%s", exc)
        active = None  # listed with none active, so the engineer can see what to promote
    overrides = thresholds(data)
    out = []
    for d in sorted(p for p in reg.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            card = json.loads((d / "card.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            card = None
        if not isinstance(card, dict):
            log.warning("%s is not a model (no readable card.json); left out", d)
            continue
        out.append(ModelEntry(
            name=d.name, active=d.name == active, kind=card.get("kind", "classifier"), classes=card.get("classes", []),
            metrics=card.get("metrics", {}), test_metrics=card.get("test_metrics"),
            threshold=overrides.get(d.name, card.get("threshold")), calibrated_threshold=card.get("threshold"),
            created=card.get("created"), arch=card.get("arch"), parent=card.get("parent"), path=str(d)))
    return out


def trained_with(digests: set[str], data: str | os.PathLike[str] | None = None) -> dict[str, list[str]]:
    """Image SHA-256 -> the registered models that were trained, taught or compared on it (from
    each model folder's trained_on.txt; a model trained before 0.9.9 has none)."""
    out: dict[str, list[str]] = {}
    for d in sorted(p for p in registry_dir(data).iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            lines = (d / "trained_on.txt").read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            continue
        for sha in digests.intersection(lines):
            out.setdefault(sha, []).append(d.name)
    return out


def register(source: Path, name: str | None, data: str | os.PathLike[str] | None = None) -> str:
    """Copy a trained model directory into the registry under `name` (older models are kept)."""
    from station.model.directory import read_card

    read_card(source)
    name = validate_label(name or source.name)
    reg = ensure_default(data)
    if (reg / name).exists():
        raise StationError(f"a model named {name!r} is already registered; pick another --name")
    tmp = reg / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    try:
        from station.model.directory import ensure_export

        if ensure_export(tmp):  # every registered model runs on onnxruntime
            log.info("exported %s to ONNX", name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.replace(tmp, reg / name)
    return name


def promote(name_or_dir: str, data: str | os.PathLike[str] | None = None, name: str | None = None,
            by: str = "", reason: str = "", force: bool = False) -> str:
    """Make a registered model (or a model directory, registered first) the active one. The
    change is appended to models/promotions.jsonl (who, why, from what), which rollback reads.

    A model that `train --base` found worse than its base on held-out reviews
    (station.train.holdout) is refused unless `force`: reviews must never make a line worse
    by one click."""
    reg = ensure_default(data)
    path = Path(name_or_dir)
    is_name = "/" not in name_or_dir and os.sep not in name_or_dir and (reg / name_or_dir).is_dir()
    source = reg / name_or_dir if is_name else path
    if not force and (source / "card.json").is_file():
        _refuse_worse(source, name_or_dir)
    if path.is_dir() and not is_name:
        name_or_dir = register(path, name, data)
    if not (reg / name_or_dir / "card.json").is_file():
        raise StationError(f"no model named {name_or_dir!r}; see `station models`")
    from station.model.directory import ensure_export
    from station.model.unity import load_checked

    ensure_export(reg / name_or_dir)
    load_checked(reg / name_or_dir)  # a model that cannot load, or whose ONNX is another's, is never made active
    try:
        previous = active_name(data, reg)
    except ModelError:
        previous = "(damaged ACTIVE)"  # promoting is how a damaged ACTIVE is repaired
    _write_active(reg, name_or_dir)
    _record(reg, "promote", name_or_dir, previous, by, reason)
    return name_or_dir


PROMOTIONS = "promotions.jsonl"


def _refuse_worse(directory: Path, name: str) -> None:
    from station.model.directory import read_card

    try:
        cmp = read_card(directory).get("comparison")
    except ModelError:
        return  # a damaged card is refused by the load below, in its own words
    if isinstance(cmp, dict) and cmp.get("verdict") == "worse":
        raise StationError(f"{name} is not promoted: {cmp.get('reason', 'worse than its base')}; promote with --force to use it anyway")


def _record(reg: Path, action: str, name: str, previous: str, by: str, reason: str) -> None:
    from datetime import datetime

    event = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "action": action, "model": name,
             "previous": previous, "by": by, "reason": reason}
    with open(reg / PROMOTIONS, "a", encoding="utf-8") as f:  # append-only, one line per change
        f.write(json.dumps(event) + "\n")


def promotions(data: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    path = registry_dir(data) / PROMOTIONS
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a crash costs that line only
    return out


def rollback(data: str | os.PathLike[str] | None = None, by: str = "", reason: str = "") -> str:
    """Make the model that was active before the last promotion active again."""
    reg = ensure_default(data)
    current = active_name(data, reg)
    # The promotion that made the current model active; a rollback never undoes a rollback.
    last = next((e for e in reversed(promotions(data))
                 if e.get("action") == "promote" and e.get("model") == current and e.get("previous")), None)
    if last is None or last["previous"] == current:
        raise StationError(f"nothing to roll back to: {current!r} was not made active by a promotion recorded here")
    target = last["previous"]
    if not (reg / target / "card.json").is_file():
        raise StationError(f"the previous model {target!r} is no longer registered")
    from station.model.directory import load_for_inference

    load_for_inference(reg / target, device="cpu")
    _write_active(reg, target)
    _record(reg, "rollback", target, current, by, reason)
    return target


THRESHOLDS = "thresholds.json"


def thresholds(data: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Per-model threshold overrides set from the station window (the card keeps the calibrated one).

    A value outside (0, 1) would pass or fail every part, so it is refused, never used."""
    path = registry_dir(data) / THRESHOLDS
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable ({exc}); fix or delete it") from None
    if not isinstance(raw, dict):
        raise ModelError(f"{path}: expected an object of model name -> threshold")
    out = {}
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 < float(v) < 1.0:
            raise ModelError(f"{path}: threshold for {k!r} must be a number between 0 and 1, not {v!r}")
        out[str(k)] = float(v)
    return out


def set_threshold(name: str, value: float | None, data: str | os.PathLike[str] | None = None) -> None:
    """Override the decision threshold of registered model `name`; None returns to the card's."""
    reg = ensure_default(data)
    if not (reg / name / "card.json").is_file():
        raise StationError(f"no model named {name!r}; see `station models`")
    if value is not None and not 0.0 < value < 1.0:
        raise StationError(f"a threshold is between 0 and 1, not {value}")
    table = thresholds(data)
    if value is None:
        table.pop(name, None)
    else:
        table[name] = round(float(value), 4)
    atomic_write(reg / THRESHOLDS, json.dumps(table, indent=2) + "\n")


def override_for(path: Path, data: str | os.PathLike[str] | None = None) -> float | None:
    """The threshold override for a model directory, if it is a registered one."""
    reg = registry_dir(data)
    if path.resolve().parent != reg.resolve():
        return None
    return thresholds(data).get(path.name)


def _write_active(reg: Path, name: str) -> None:
    atomic_write(reg / ACTIVE, name + "\n")


