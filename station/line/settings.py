"""The station's settings: one JSON file in the data dir (`settings.json`), typed and checked.

Only what a plant changes lives here: how long passed parts' images are kept, when the disk is
low, the backup schedule. A missing file means the defaults; a broken one is one line naming the
file and the key, never a traceback, and never silently replaced (someone wrote it on purpose).

    station settings                          # every key and its value
    station settings retention.pass_days 60   # set one
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.core import config, shifts
from station.core.errors import StationError
from station.core.fileutil import atomic_write
from station.model.backends import BACKENDS

FILE = "settings.json"


@dataclass
class Retention:
    """Which stored files `station purge` (and the background upkeep) may delete. Rows are never
    deleted; failed, uncertain, reviewed and exported inspections keep their images for good."""

    enabled: bool = True
    pass_days: int = 30  # passed parts' images kept whole this long ...
    keep_one_in: int = 20  # ... then thinned to this sample (1: keep all; 0: keep none)


@dataclass
class Disk:
    """Free-space levels, each "below this many GB or this percent of the volume, whichever is
    reached first". Below `warn` the station says so; below `critical` it stops storing passed
    parts' images; below `reserve_gb` it stores no images, keeping the rest for rows."""

    warn_gb: float = 5.0
    warn_percent: float = 10.0
    critical_gb: float = 1.0
    critical_percent: float = 2.0
    reserve_gb: float = 0.25
    # Results kept on this PC while the line's database or store is away (or refuses): rows are
    # always kept; images only while the spool stays under this and the levels above allow.
    spool_gb: float = 20.0


@dataclass
class Backup:
    daily: bool = True  # an online copy of the database and the registry once a day
    keep: int = 3
    folder: str = ""  # empty: DATA/backups. Another drive protects against a failing disk.


@dataclass
class Upkeep:
    interval_minutes: float = 15.0  # purge a batch, checkpoint the WAL, back up when due
    purge_batch: int = 500  # files looked at per tick, so purging never holds the database long


@dataclass
class Alarm:
    """What sounds at the station (station.line.alarms): every FAIL, N FAILs in a row, a lost camera or output."""

    on_fail: bool = False  # a sound and a banner for every failed part
    fails_in_a_row: int = 3  # ... for this many FAILs in a row, once per streak (0: never)
    sound: bool = True  # off: the banner alone
    on_lost: bool = True  # ... when the camera or an output (a broker, the PLC) has been unreachable for 3 s
    # ... when the line's database or image store has been away this long (results wait on this PC;
    # `station doctor` fails from then on too). A store that refuses writes rings at once.
    line_down_minutes: float = 5.0


@dataclass
class Floor:
    shifts: str = shifts.DEFAULT  # shift start times, station local time: the Live tab counts per shift
    changeover_role: str = "operator"  # who may pick the product in the window: operator, inspector or engineer


@dataclass
class Inference:
    backend: str = "auto"  # auto (onnxruntime where installed), torch or onnxruntime; --backend overrides


@dataclass
class Station:
    name: str = ""  # this station on a line; empty: the host name (--station and $STATION_NAME override)


@dataclass
class Settings:
    retention: Retention = field(default_factory=Retention)
    disk: Disk = field(default_factory=Disk)
    backup: Backup = field(default_factory=Backup)
    upkeep: Upkeep = field(default_factory=Upkeep)
    floor: Floor = field(default_factory=Floor)
    alarm: Alarm = field(default_factory=Alarm)
    inference: Inference = field(default_factory=Inference)
    station: Station = field(default_factory=Station)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def flat(self) -> dict[str, Any]:
        return {f"{sec}.{key}": value for sec, values in self.to_json().items() for key, value in values.items()}


# Ranges a value must be in; a typo like pass_days -3 is refused, not obeyed.
LIMITS: dict[str, tuple[float, float]] = {
    "retention.pass_days": (0, 36500), "retention.keep_one_in": (0, 1_000_000),
    "disk.warn_gb": (0, 1e6), "disk.warn_percent": (0, 100), "disk.critical_gb": (0, 1e6),
    "disk.critical_percent": (0, 100), "disk.reserve_gb": (0, 1e6),
    "disk.spool_gb": (0, 1e6), "alarm.line_down_minutes": (0.1, 10080),
    "backup.keep": (1, 1000), "alarm.fails_in_a_row": (0, 1000), "upkeep.interval_minutes": (0.01, 10080), "upkeep.purge_batch": (1, 1_000_000),
}


def path(data: str | os.PathLike[str] | None = None) -> Path:
    return config.data_dir(data) / FILE


def load(data: str | os.PathLike[str] | None = None) -> Settings:
    p = path(data)
    if not p.is_file():
        return Settings()
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StationError(f"{p}: not readable JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise StationError(f"{p}: expected an object of sections, got {type(raw).__name__}")
    out = Settings()
    for section, values in raw.items():
        if not isinstance(values, dict):
            raise StationError(f"{p}: {section} must be an object")
        for key, value in values.items():
            _assign(out, f"{section}.{key}", value, where=str(p))
    return out


def save(settings: Settings, data: str | os.PathLike[str] | None = None) -> Path:
    p = path(data)
    atomic_write(p, (json.dumps(settings.to_json(), indent=2) + "\n").encode())
    return p


def set_value(key: str, text: str, data: str | os.PathLike[str] | None = None) -> Settings:
    """Parse `text` for `key` (dotted), check it, save. One line on a bad key or value."""
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError:
        value = text  # a bare word: only string settings take one
    return apply({key: value}, data)


def pick(settings: Settings, key: str) -> dict[str, Any]:
    """{key: value} for one dotted key, or the one-line unknown-key error."""
    flat = settings.flat()
    if key not in flat:
        raise _unknown(key, "")
    return {key: flat[key]}


def _unknown(key: str, where: str) -> StationError:
    return StationError(f"{where}unknown setting {key!r}; known: {', '.join(Settings().flat())}")


def apply(values: dict[str, Any], data: str | os.PathLike[str] | None = None) -> Settings:
    """Set several keys at once (the window's Settings dialog): all are checked before any is saved."""
    settings = load(data)
    for key, value in values.items():
        _assign(settings, key, value, where="")
    save(settings, data)
    return settings


def _assign(settings: Settings, key: str, value: Any, where: str) -> None:
    where = f"{where}: " if where else ""
    section, _, name = key.partition(".")
    defaults = Settings().to_json()
    if name not in defaults.get(section, {}):
        raise _unknown(key, where)
    target = getattr(settings, section)
    default = defaults[section][name]
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value  # not NaN
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise StationError(f"{where}{key} must be a {type(default).__name__}, got {value!r}")
    if key == "floor.shifts":
        try:
            shifts.parse(value)
        except StationError as exc:
            raise StationError(f"{where}{key}: {exc}") from None
    if key == "floor.changeover_role" and value not in ("operator", "inspector", "engineer"):
        raise StationError(f"{where}{key} must be operator, inspector or engineer, got {value!r}")
    if key == "inference.backend" and value not in BACKENDS:
        raise StationError(f"{where}{key} must be {', '.join(BACKENDS[:-1])} or {BACKENDS[-1]}, got {value!r}")
    lo, hi = LIMITS.get(key, (None, None))
    if lo is not None and hi is not None and not lo <= value <= hi:
        raise StationError(f"{where}{key} must be within {lo:g}..{hi:g}, got {value!r}")
    setattr(target, name, value)


def station_name(explicit: str | None = None, data: str | os.PathLike[str] | None = None, remember: bool = False) -> str:
    """This station's name: `--station`, else $STATION_NAME, else the saved setting, else the host
    name. With `remember`, a name given with --station is saved, so the station keeps it."""
    if explicit:
        name = explicit.strip()[:128]
        if not name:
            raise StationError("--station needs a name")
        if remember:
            try:
                saved = load(data)
                if saved.station.name != name:
                    saved.station.name = name
                    save(saved, data)
            except (StationError, OSError):
                pass  # a read-only or broken settings file: the name still holds for this run
        return name
    env = os.environ.get("STATION_NAME")
    if env:
        return env
    try:
        saved_name = load(data).station.name
    except StationError:
        saved_name = ""
    return saved_name or config.station_name()
