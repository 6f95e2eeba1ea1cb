"""Housekeeping while the station runs, so nobody has to open a terminal for months.

Every `upkeep.interval_minutes` a tick does whatever is due, each step small:

- retention: one batch of `upkeep.purge_batch` candidate rows (the purge goes on from where the
  last tick stopped; after a full pass it rests an hour, since rows only age into it daily);
- SQLite: a passive WAL checkpoint and `PRAGMA optimize`;
- the daily backup, keeping `backup.keep`.

Several stations (or the window and a `station run`) on one data dir take turns through a lock
file: a tick that finds it held does nothing. A failing step is logged and the next one runs; no
step can stop inspection.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from station.core.errors import StationError
from station.core.fileutil import FileLock
from station.line.settings import Settings
from station.store.db import Store
from station.upkeep.backup import scheduled_backup
from station.upkeep.retention import PurgeResult, purge

log = logging.getLogger("station.upkeep.periodic")

REST_AFTER_FULL_PASS_S = 3600.0


@dataclass
class TickReport:
    ran: bool = False  # False: another process held the upkeep lock
    purged: PurgeResult | None = None
    backup: str | None = None  # the backup folder written, when one was due
    errors: list[str] = field(default_factory=list)


def checkpoint(store: Store) -> None:
    """Fold the WAL into the database (PASSIVE: never waits for a reader, never blocks a writer)
    and let the query planner refresh its statistics."""
    if store.engine.dialect.name != "sqlite":
        return
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
        conn.exec_driver_sql("PRAGMA optimize")


class Upkeep:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._after_id = 0
        self._rest_until = 0.0

    def tick(self) -> TickReport:
        report = TickReport()
        try:
            with FileLock(self.store.data / "upkeep.lock", blocking=False):
                report.ran = True
                self._purge(report)
                self._step(report, "checkpoint", lambda: checkpoint(self.store))
                self._step(report, "backup", lambda: self._backup(report))
        except BlockingIOError:
            pass  # another station on this data dir is doing it now
        except OSError as exc:
            report.errors.append(f"upkeep lock: {exc}")
        return report

    def _purge(self, report: TickReport) -> None:
        if time.monotonic() < self._rest_until:
            return

        def step() -> None:
            s = self.settings
            result = purge(self.store, s.retention, max_rows=s.upkeep.purge_batch, after_id=self._after_id)
            report.purged = result
            if result.done:
                self._after_id, self._rest_until = 0, time.monotonic() + REST_AFTER_FULL_PASS_S
            else:
                self._after_id = result.last_id

        self._step(report, "retention", step)

    def _backup(self, report: TickReport) -> None:
        result = scheduled_backup(self.store, self.settings.backup)
        report.backup = str(result.out) if result else None

    def _step(self, report: TickReport, name: str, fn) -> None:
        try:
            fn()
        except StationError as exc:
            report.errors.append(f"{name}: {exc}")
            log.warning("upkeep %s: %s", name, exc)
        except Exception as exc:  # housekeeping must never stop inspection; the log keeps the traceback
            report.errors.append(f"{name}: {exc}")
            log.exception("upkeep %s failed", name)


class UpkeepThread:
    """Runs `Upkeep.tick` every interval on a daemon thread until `stop()`; the first tick comes
    one interval after start, so a short run does no housekeeping at all."""

    def __init__(self, upkeep: Upkeep) -> None:
        self.upkeep = upkeep
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="station-upkeep", daemon=True)
        self.ticks = 0

    def start(self) -> "UpkeepThread":
        self._thread.start()
        return self

    def _loop(self) -> None:
        every = max(0.6, self.upkeep.settings.upkeep.interval_minutes * 60)
        while not self._stop.wait(every):
            self.upkeep.tick()
            self.ticks += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
