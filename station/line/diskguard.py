"""The disk-space guard: the station keeps judging on a full disk, and stores less before it gets there.

Levels, from the settings (`disk.*`), each "below N GB or P percent free, whichever comes first":

- `low`: the status bar and the log say so; everything is still stored;
- `critical`: passed parts' images and heatmaps are no longer stored (failed ones still are);
- `full` (below `disk.reserve_gb`, or after a write failed for lack of space): no images at all,
  so what is left goes to the rows. Rows are always stored while the database can grow.

Every volume the station writes to is watched (the data dir and the database's folder) and the
worst one counts. `shutil.disk_usage` is one system call; it is asked at most every two seconds.
"""

from __future__ import annotations

import errno
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station.line.settings import Disk

log = logging.getLogger("station.disk")

LEVELS = ("ok", "low", "critical", "full")
GB = 1024**3
NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def store_volumes(store: Any) -> list[Path]:
    """The folders whose disks a run's guard watches: the data dir, and an SQLite database's own."""
    folders = [store.data.resolve()]
    db = store.engine.url.database if store.engine.dialect.name == "sqlite" else None
    if db and db != ":memory:":
        folders.append(Path(db).resolve().parent)
    return folders


def is_no_space(exc: BaseException) -> bool:
    """A write that failed for lack of space (or quota), directly or as SQLite's 'disk is full'."""
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        return True
    text = str(getattr(exc, "orig", None) or exc).lower()
    return "database or disk is full" in text or "no space left" in text or "could not extend file" in text


@dataclass(frozen=True)
class DiskState:
    level: str  # one of LEVELS
    free: int  # bytes free on the fullest watched volume
    total: int
    path: str  # that volume's watched folder

    @property
    def stores_passed(self) -> bool:
        return self.level in ("ok", "low")

    @property
    def stores_images(self) -> bool:
        return self.level != "full"

    def message(self) -> str:
        free = f"{self.free / GB:.1f} GB" if self.free >= GB else f"{self.free / 1024**2:.0f} MB"
        free = f"{free} free on {self.path}"
        return {
            "ok": free,
            "low": f"disk low: {free}",
            "critical": f"disk critical: {free}; passed parts' images are not stored",
            "full": f"disk full: {free}; no images are stored, verdicts and rows still are",
        }[self.level]

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "free_bytes": self.free, "total_bytes": self.total, "path": self.path}


def floors(total: int, disk: Disk) -> dict[str, float]:
    """Free bytes below which each level starts."""
    return {"full": disk.reserve_gb * GB, "critical": max(disk.critical_gb * GB, disk.critical_percent / 100 * total),
            "low": max(disk.warn_gb * GB, disk.warn_percent / 100 * total)}


def level_for(free: int, total: int, disk: Disk) -> str:
    f = floors(total, disk)
    for level in ("full", "critical", "low"):
        if free < f[level]:
            return level
    return "ok"


class DiskGuard:
    def __init__(self, folders: list[Path], disk: Disk, every_s: float = 2.0) -> None:
        self.folders = list(dict.fromkeys(folders))
        self.disk = disk
        self.every_s = every_s
        self._lock = threading.Lock()
        self._state: DiskState | None = None
        self._at = 0.0
        self._full_until = 0.0
        self._spent = 0  # bytes written since the last measurement
        self._margin = 0.0  # ... that may be written before the next level could start

    def check(self) -> DiskState:
        with self._lock:
            now = time.monotonic()
            if self._state is None or now - self._at >= self.every_s or self._spent >= self._margin:
                self._state = self._measure(now)
                self._at, self._spent = now, 0
            return self._state

    def spent(self, n: int) -> None:
        """Count bytes written: a fast run on a nearly full disk is measured again before it can
        write past the next level, not only every few seconds."""
        with self._lock:
            self._spent += n

    def no_space(self) -> DiskState:
        """A write just failed for lack of space: no images for the next half minute, whatever
        the numbers say (another process may be filling the disk faster than we look)."""
        with self._lock:
            self._full_until = time.monotonic() + 30.0
            self._at = 0.0
        return self.check()

    def _measure(self, now: float) -> DiskState:
        worst: DiskState | None = None
        for folder in self.folders:
            try:
                usage = shutil.disk_usage(folder)
            except OSError:
                continue  # a folder not made yet; the next write says what is wrong
            state = DiskState(level_for(usage.free, usage.total, self.disk), usage.free, usage.total, str(folder))
            if worst is None or (LEVELS.index(state.level), -state.free) > (LEVELS.index(worst.level), -worst.free):
                worst = state
        worst = worst or DiskState("ok", 0, 0, str(self.folders[0]) if self.folders else "")
        if now < self._full_until and worst.level != "full":
            worst = DiskState("full", worst.free, worst.total, worst.path)
        below = [f for level, f in floors(worst.total, self.disk).items() if LEVELS.index(level) > LEVELS.index(worst.level)]
        self._margin = max(64 * 1024, (worst.free - max(below, default=0)) / 2) if worst.level != "full" else 64 * 1024
        previous = self._state.level if self._state else "ok"
        if worst.level != previous:
            (log.warning if LEVELS.index(worst.level) > LEVELS.index(previous) else log.info)(
                "%s", worst.message() if worst.level != "ok" else f"disk space back to normal: {worst.message()}")
        return worst
