"""`station doctor`: one report to attach to a support request.

Every check runs on its own and says `ok` and why not; one failing check never hides the others
(a database that does not answer still leaves the versions, the disk and the log path to read).
Nothing secret is reported: a database URL is shown with its password hidden.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from station import __version__

PACKAGES = ("torch", "torchvision", "numpy", "cv2", "sqlalchemy", "PySide6", "safetensors", "timm", "onnxruntime")


@dataclass
class Check:
    ok: bool
    detail: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, **self.facts}


@dataclass
class DoctorReport:
    station: str
    generated: str
    checks: dict[str, Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks.values())

    def to_json(self) -> dict[str, Any]:
        return {"station": self.station, "generated": self.generated, "ok": self.ok,
                **{name: c.to_json() for name, c in self.checks.items()}}


def _versions() -> Check:
    import importlib
    import importlib.metadata

    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            module = importlib.import_module(name)
            found[name] = str(getattr(module, "__version__", None) or importlib.metadata.version(name))
        except Exception:  # noqa: BLE001 (absent or broken: the report says so and goes on)
            found[name] = None
    return Check(True, "", {"python": sys.version.split()[0], "platform": platform.platform(), "packages": found})


def _devices() -> Check:
    """What each installed backend can run on (the line build has onnxruntime only)."""
    from station.model.backends import installed

    details: dict[str, Any] = {"cpu_count": os.cpu_count(), "backends": [b for b in ("onnxruntime", "torch") if installed(b)]}
    gpus: list[str] = []
    if installed("onnxruntime"):
        import onnxruntime as ort

        details["onnxruntime_providers"] = ort.get_available_providers()
    if installed("torch"):
        import torch

        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
        details["torch_threads"] = torch.get_num_threads()
    accel = [p for p in details.get("onnxruntime_providers", []) if p in ("CUDAExecutionProvider", "DmlExecutionProvider", "TensorrtExecutionProvider")]
    details.update({"cuda": bool(gpus) or "CUDAExecutionProvider" in accel, "gpus": gpus})
    return Check(True, ("CUDA" if details["cuda"] else ", ".join(accel) if accel else "CPU only") + f"; backends: {', '.join(details['backends'])}",
                 details)


def _cameras(limit: int) -> Check:
    from station.sources.cameras import probe_cameras

    if limit < 1:
        return Check(True, "not probed (--cameras 0)", {"open": []})
    t = time.perf_counter()
    found = probe_cameras(limit)
    return Check(True, f"{len(found)} of camera:0..{limit - 1} open", {"open": [f"camera:{i}" for i in found],
                                                                          "probe_seconds": round(time.perf_counter() - t, 2)})


def _database(data: str | None, db: str | None) -> Check:
    from sqlalchemy import func, select, text

    from station.store.db import _redact, current_revision, open_store
    from station.store.schema import Inspection, Review

    url = db or os.environ.get("STATION_DB")
    store = open_store(data, db)
    try:
        with store.session() as s:
            inspections = s.scalar(select(func.count()).select_from(Inspection)) or 0
            reviews = s.scalar(select(func.count()).select_from(Review)) or 0
            # SQLite: the full check (every index against its table), which the quick one at open skips.
            sqlite = store.engine.dialect.name == "sqlite"
            integrity = [r[0] for r in s.execute(text("PRAGMA integrity_check(5)"))] if sqlite else ["ok"]
        facts = {"url": _redact(store.url), "dialect": store.engine.dialect.name, "schema": current_revision(store.engine),
                 "inspections": inspections, "reviews": reviews, "integrity": "; ".join(integrity)[:300]}
        if integrity != ["ok"]:
            return Check(False, f"the database is damaged ({facts['integrity']}): restore the newest backup", facts)
        return Check(True, "reachable" + ("" if url else " (SQLite in the data dir), integrity checked"), facts)
    finally:
        store.engine.dispose()


def _audit(data: str | None, db: str | None) -> Check:
    """The audit trail's hash chain (station.store.audit_chain), and users whose role differs from it."""
    from station.line.users import audited_role, list_users
    from station.store.audit_chain import verify
    from station.store.db import open_store

    store = open_store(data, db)
    try:
        with store.session() as s:
            report = verify(s, store.data)
            forged = [u.name for u in list_users(s) if audited_role(s, u.name) != u.role]
    finally:
        store.engine.dispose()
    facts = {**{k: v for k, v in report.to_json().items() if k != "ok"}, "roles_changed_outside": forged}
    if not report.ok:
        return Check(False, report.reason, facts)
    if forged:
        return Check(False, f"the role of {', '.join(forged)} differs from the audit trail (changed outside the station)", facts)
    return Check(True, f"{report.rows} chained rows, every link holds", facts)


def _store(data: str | None, store: str | None) -> Check:
    """Where images go: reachable and writable (a small probe object, written and read back),
    and what waits in this PC's spool for the database or the store to come back. A refusing
    store, or results that have waited past `alarm.line_down_minutes`, fail the check."""
    from station.core import config
    from station.line import settings
    from station.record.spool import Spool
    from station.store.blobs import StoreRefused, StoreUnavailable, open_blobs

    url = store or os.environ.get("STATION_STORE")
    root = config.data_dir(data)
    s = settings.load(data)
    spool = Spool(root / "spool")
    waiting, pending = spool.count(), spool.pending()
    oldest = time.time() - int(pending[0].name.split("-")[0]) / 1e9 if pending else None
    facts: dict[str, Any] = {"spool_waiting": waiting, "spool_bytes": spool.size(),
                             "spool_cap_bytes": int(s.disk.spool_gb * 1024**3),
                             "spool_oldest_s": round(oldest, 1) if oldest is not None else None}
    blobs = open_blobs(url, root)
    facts.update(url=blobs.url, kind="s3" if blobs.local_root is None else "folder")
    probe = f"probe/{config.station_name()}"
    try:
        blobs.put(probe, b"station doctor")
        ok = blobs.get(probe) == b"station doctor"
        blobs.delete(probe)
        detail = ("reachable" if ok else "wrote a probe but read back something else") + ("" if url else " (the data dir)")
    except StoreRefused as exc:
        ok, detail = False, f"refuses this station: {exc}"
        facts["refused"] = str(exc)
    except StoreUnavailable as exc:
        ok, detail = False, f"unreachable: {exc}"
    if waiting:
        detail += f"; {waiting} results ({facts['spool_bytes'] / 1e6:.1f} MB) wait in the spool on this PC"
        if oldest is not None and oldest > s.alarm.line_down_minutes * 60:
            ok = False
            detail += f", the oldest for {oldest / 60:.0f} min: the line has not taken them"
        else:
            detail += " (forwarded by the next run)"
    return Check(ok, detail, facts)


def _outputs(data: str | None, station: str | None) -> Check:
    """Each configured output: whether it takes a connection now (an outage, or a refusal someone
    must fix), and what waits for it in this PC's outbox and since when. Nothing is sent."""
    from station.line import settings
    from station.line.settings import station_name
    from station.outputs.config import load_for_run
    from station.outputs.health import check_outputs

    config = load_for_run(None, data)
    if not config.sinks:
        return Check(True, "none configured", {"sinks": []})
    late = settings.load(data).alarm.line_down_minutes * 60
    found = check_outputs(config, data, station_name(station, data))
    bad = [h for h in found if h.reachable is False or (h.waiting and h.oldest_s is not None and h.oldest_s > late)]
    words = []
    for h in found:
        word = f"{h.name}: {h.detail}"
        if h.waiting:
            word += f", {h.waiting} verdicts waiting" + (f" for {h.oldest_s / 60:.0f} min" if h.oldest_s else "")
        words.append(word)
    return Check(not bad, "; ".join(words), {"sinks": [h.to_json() for h in found]})


def _disk(data: str | None, db: str | None) -> Check:
    """Free space where the station writes, what each kind of file takes, and how long the free
    space lasts at the last week's rate (from the rows' own byte counts when they have them)."""
    from pathlib import Path

    from station.core import config
    from station.core.fileutil import tree_bytes
    from station.line import settings
    from station.line.diskguard import level_for

    root = config.data_dir(data)
    usage = shutil.disk_usage(root)
    week_ago = time.time() - 7 * 86400
    used: dict[str, int] = {}
    recent_files = 0
    for folder in ("images", "heatmaps", "models", "backups", "logs"):
        used[folder], recent = tree_bytes(root / folder, week_ago)
        if folder in ("images", "heatmaps"):
            recent_files += recent
    db_files = [p for p in (root / "station.db", root / "station.db-wal", root / "station.db-shm") if p.is_file()] if not db else []
    used["database"] = sum(p.stat().st_size for p in db_files)
    try:
        per_day, source = _rate(data, db, used["database"])
    except Exception:  # noqa: BLE001 (the database check reports why it cannot be read; the disk still can be)
        per_day, source = None, ""
    if per_day is None:
        per_day, source = recent_files / 7, "file times"
    days = round(usage.free / per_day, 1) if per_day > 0 else None
    level = level_for(usage.free, usage.total, settings.load(data).disk)
    writable = os.access(root, os.W_OK)
    ok = writable and level in ("ok", "low") and (days is None or days > 14)
    detail = ("data dir not writable" if not writable else f"disk {level}: {usage.free / 1e9:.1f} GB free" if level != "ok"
              else f"full in about {days} days at last week's rate" if days is not None and days <= 14
              else f"{usage.free / 1e9:.1f} GB free" + (f", about {days:.0f} days at last week's rate" if days else ""))
    return Check(ok, detail, {"data_dir": str(Path(root).resolve()), "free_bytes": usage.free, "total_bytes": usage.total,
                              "level": level, "used_bytes": used, "stored_bytes": used["images"] + used["heatmaps"],
                              "bytes_per_day_last_week": round(per_day), "rate_from": source, "days_until_full": days})


def _rate(data: str | None, db: str | None, db_bytes: int) -> tuple[float | None, str]:
    """Bytes a day over the last week (or since the first inspection, when that is sooner): the
    files the rows say they added, plus their share of the database file."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from station.store.db import open_store
    from station.store.schema import Inspection

    store = open_store(data, db)
    try:
        since = datetime.now(UTC) - timedelta(days=7)
        with store.session() as s:
            n_all, first = s.execute(select(func.count(), func.min(Inspection.captured_at))).one()
            n, stored, counted = s.execute(select(func.count(), func.sum(Inspection.stored_bytes), func.count(Inspection.stored_bytes))
                                           .where(Inspection.captured_at >= since.replace(tzinfo=None))).one()
    finally:
        store.engine.dispose()
    if not n or counted < n:
        return None, ""  # rows from before the byte counts: the files' times are the better guess
    first = first if first.tzinfo else first.replace(tzinfo=UTC)
    days = min(7.0, max(1.0, (datetime.now(UTC) - first).total_seconds() / 86400))
    per_row_db = db_bytes / n_all if n_all else 0
    return ((stored or 0) + n * per_row_db) / days, "rows"


def _models(data: str | None) -> Check:
    from station.model import load_model
    from station.model.registry import active_name

    name = active_name(data)
    model = load_model(None, data)
    return Check(True, f"active model {model.name} loads", {"active": name, "kind": model.spec.kind,
                                                            "version": model.version, "classes": list(model.classes)})


def _log() -> Check:
    from station.core import logs
    path = logs.log_path()
    return Check(path is not None, "" if path else "no log file (the data dir is not writable?)", {"path": str(path) if path else None})


def diagnose(data: str | None = None, db: str | None = None, camera_limit: int = 4, store: str | None = None,
             station: str | None = None) -> DoctorReport:
    from station.core.errors import StationError
    from station.line.settings import station_name

    checks: dict[str, Check] = {}
    for name, fn in (("versions", _versions), ("devices", _devices), ("cameras", lambda: _cameras(camera_limit)),
                     ("database", lambda: _database(data, db)), ("audit", lambda: _audit(data, db)),
                     ("store", lambda: _store(data, store)), ("outputs", lambda: _outputs(data, station)),
                     ("disk", lambda: _disk(data, db)),
                     ("models", lambda: _models(data)), ("log", _log)):
        try:
            checks[name] = fn()
        except StationError as exc:
            checks[name] = Check(False, str(exc))
        except Exception as exc:  # a check that breaks is itself the finding (logged with its traceback)
            import logging

            logging.getLogger("station.upkeep.doctor").error("doctor check %s failed", name, exc_info=True)
            checks[name] = Check(False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    now = datetime.now(UTC).replace(microsecond=0)
    return DoctorReport(station=station_name(station, data), generated=now.isoformat(), checks=checks)


def render(report: DoctorReport) -> str:
    lines = [f"station {__version__} on {report.station}, {report.generated}"]
    for name, c in report.checks.items():
        lines.append(f"{'ok  ' if c.ok else 'FAIL'} {name}: {c.detail}".rstrip(": "))
    lines.append("everything checked is fine" if report.ok else "attach `station doctor --json` and the log to a support request")
    return "\n".join(lines)

