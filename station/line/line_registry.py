"""The line-wide model registry: promote once, every station of the line follows.

On a line (a shared database, station.store.db.Store.shared) a promotion is also published:
each file of the model directory goes into the line's image store under its sha256, and a row
in `line_promotions` names the model, its version and those hashes. The newest row is the
line's active model. Every station:

- at start (with no `--model`), fetches that model into its own registry (DATA/models/NAME,
  each file checked against its hash) and makes it active there;
- while it runs, looks at the newest row when a part comes and before judging it (at most every
  POLL_S seconds), and switches to a new one without stopping (station.run.inspection_run; logged,
  and shown in the status bar). An idle station judges its next part with what was promoted
  or rolled back meanwhile.

Older models stay in the store and in `line_promotions`, so a rollback is one more row. The
local registry stays the working copy: resolving `--model` and loading never need the server.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from station.core.errors import ModelError, StationError
from station.core.labels import validate_label
from station.model.rules import version_of
from station.protocols import StationStore
from station.store.db import unavailable
from station.store.schema import LinePromotion, LineThreshold

log = logging.getLogger("station.line")

POLL_S = 2.0  # how often a running station looks for a new promotion (one indexed SELECT)


@dataclass(frozen=True)
class LineModel:
    id: int
    name: str
    version: str
    action: str
    files: dict[str, str]
    by: str
    station: str
    reason: str
    at: datetime

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "version": self.version, "action": self.action, "by": self.by,
                "station": self.station, "reason": self.reason, "at": self.at.isoformat()}


def _entry(row: LinePromotion) -> LineModel:
    return LineModel(row.id, row.name, row.version, row.action, dict(row.files), row.by, row.station, row.reason, row.at)


def active(store: StationStore) -> LineModel | None:
    """The line's active model: the newest promotion (None before the first)."""
    with store.session() as s:
        row = s.scalars(select(LinePromotion).order_by(LinePromotion.id.desc()).limit(1)).first()
        return _entry(row) if row else None


def history(store: StationStore, limit: int = 100) -> list[LineModel]:
    with store.session() as s:
        return [_entry(r) for r in s.scalars(select(LinePromotion).order_by(LinePromotion.id.desc()).limit(limit))]


def _key(sha: str) -> str:
    return f"models/{sha[:2]}/{sha}"


def publish(store: StationStore, model_dir: Path, name: str, action: str, by: str, station: str, reason: str = "") -> LineModel:
    """Put a registered model's files in the line's store and make it the line's active model."""
    from station.model.directory import read_card
    from station.store.repo import now

    card = read_card(model_dir)
    files: dict[str, str] = {}
    for f in sorted(p for p in model_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        data = f.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        store.blobs.put(_key(sha), data)
        files[f.name] = sha
    version = version_of(card)
    with store.session.begin() as s:
        row = LinePromotion(name=name, version=version, action=action, files=files, by=by or "", station=station,
                            reason=reason or "", at=now())
        s.add(row)
        s.flush()
        entry = _entry(row)
    log.info("published %s (%s) to the line: %s by %s at %s", name, version, action, by or "?", station)
    return entry


def fetch(store: StationStore, model: LineModel, data: str | os.PathLike[str] | None) -> Path:
    """The line model in this station's registry (DATA/models/NAME), fetched when missing or
    another version; every file is checked against its hash before it is used."""
    from station.model.registry import ensure_default

    validate_label(model.name)  # a registry name; a row naming ../x must not lead out of the registry
    reg = ensure_default(data)
    target = reg / model.name
    if _version(target) == model.version:
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{model.name}.line.", dir=reg))
    try:
        for fname, sha in model.files.items():
            if "/" in fname or "\\" in fname or fname.startswith("."):
                raise ModelError(f"line model {model.name}: refused file name {fname!r}")
            data_ = store.blobs.get(_key(sha))
            if hashlib.sha256(data_).hexdigest() != sha:
                raise ModelError(f"line model {model.name}: {fname} does not match its hash in the line's store")
            (tmp / fname).write_bytes(data_)
        old = None
        if target.exists():
            old = reg / f".{model.name}.replaced.{time.time_ns()}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("fetched line model %s (%s) into %s", model.name, model.version, target)
    return target


def _version(path: Path) -> str | None:
    try:
        card = json.loads((path / "card.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return version_of(card) if isinstance(card, dict) else None


def sync(store: StationStore, data: str | os.PathLike[str] | None) -> LineModel | None:
    """Make the line's active model this station's active model (fetched when needed)."""
    from station.core.fileutil import atomic_write
    from station.model.registry import ACTIVE, ensure_default

    if not store.shared:
        return None
    model = active(store)
    if model is None:
        return None
    fetch(store, model, data)
    reg = ensure_default(data)
    try:
        current = (reg / ACTIVE).read_text(encoding="utf-8").strip()
    except OSError:
        current = ""
    if current != model.name:
        atomic_write(reg / ACTIVE, model.name + "\n")
        log.info("the line's active model is %s (%s): active here too", model.name, model.version)
    return model


def rollback_target(store: StationStore) -> LineModel:
    """The model the line ran before its current one (the newest earlier promotion of another version)."""
    entries = history(store, 1000)
    if not entries:
        raise StationError("nothing to roll back to: no model was promoted on this line")
    current = entries[0]
    earlier = next((e for e in entries[1:] if e.version != current.version), None)
    if earlier is None:
        raise StationError(f"nothing to roll back to: {current.name!r} is the only model promoted on this line")
    return earlier


def promote_model(name_or_dir: str, data: str | os.PathLike[str] | None, store: StationStore | None, *,
                  as_name: str | None = None, by: str = "", reason: str = "", station: str = "",
                  force: bool = False) -> tuple[str, LineModel | None]:
    """Make a model active on this PC and, on a line (a shared database), on every station: the
    one home of promotion for the command line, the Models tab and the Retrain window."""
    from station.model.registry import active_name, promote, registry_dir

    before = active_name(data) if store is not None and store.shared else None
    name = promote(name_or_dir, data, as_name, by=by, reason=reason, force=force)
    if store is None or not store.shared:
        return name, None
    if before and before != name and not history(store, 1):
        # The line's first promotion: what the stations ran until now is published first, so
        # this promotion can be rolled back like any later one (it once could not).
        publish(store, registry_dir(data) / before, before, "baseline", by, station, "the model before the line's first promotion")
    return name, publish(store, registry_dir(data) / name, name, "promote", by, station, reason)


def rollback_model(data: str | os.PathLike[str] | None, store: StationStore | None, *, by: str = "", reason: str = "",
                   station: str = "") -> str:
    """Back to the model active before: this PC's history alone, or on a line the line's."""
    from station.model.registry import promote, registry_dir, rollback

    if store is None or not store.shared:
        return rollback(data, by=by, reason=reason)
    target = rollback_target(store)
    fetch(store, target, data)
    name = promote(target.name, data, by=by, reason=reason)
    publish(store, registry_dir(data) / name, name, "rollback", by, station, reason)
    return name


def set_line_threshold(name: str, value: float | None, data: str | os.PathLike[str] | None, store: StationStore | None, *,
                       by: str = "", station: str = "") -> None:
    """The one home of a threshold change (the command line and the Models tab): this PC's
    override, and on a line every station's that runs this model version (a threshold set in one
    station's Models tab stayed on that PC at 0.9.0)."""
    from station.model.registry import registry_dir, set_threshold

    set_threshold(name, value, data)
    if store is None or not store.shared:
        return
    card = json.loads((registry_dir(data) / name / "card.json").read_text(encoding="utf-8"))
    with store.session.begin() as s:
        s.add(LineThreshold(name=name, version=version_of(card), threshold=value, by=by or "", station=station or "", at=datetime.now(UTC)))


def line_threshold(store: StationStore, version: str, after: int = 0) -> tuple[int, float | None] | None:
    """The line's newest threshold change for a model version, newer than row `after`: (its row,
    the threshold or None for the card's); None when there is none."""
    with store.session() as s:
        row = s.scalars(select(LineThreshold).where(LineThreshold.version == version, LineThreshold.id > after)
                        .order_by(LineThreshold.id.desc()).limit(1)).first()
        return (row.id, row.threshold) if row is not None else None


class Follower:
    """Looks for a new line promotion at most every POLL_S seconds (any thread)."""

    def __init__(self, store: StationStore, version: str, ready: Callable[[], bool] | None = None) -> None:
        """`ready`: whether the line's database is known to hold the schema yet (a station that
        started with it down looks only once its run is recorded there)."""
        self.store = store
        self.version = version
        self.ready = ready
        self._next = time.monotonic() + POLL_S
        self.threshold_row = 0  # the line's threshold change applied last (line_thresholds.id)
        self.threshold: tuple[int, float | None] | None = None  # a newer one, for the run to apply

    def due(self) -> LineModel | None:
        now = time.monotonic()
        if now < self._next or (self.ready is not None and not self.ready()):
            return None
        self._next = now + POLL_S
        try:
            model = active(self.store)
            if model is None or model.version == self.version:
                self.threshold = line_threshold(self.store, self.version, self.threshold_row)
        except Exception as exc:
            if not unavailable(exc):
                raise
            return None
        return model if model is not None and model.version != self.version else None

    def take_threshold(self) -> tuple[int, float | None] | None:
        """A threshold change the line made for the running model since the last one taken."""
        change, self.threshold = self.threshold, None
        if change is not None:
            self.threshold_row = change[0]
        return change
