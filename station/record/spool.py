"""Store-and-forward: results kept on this PC's disk while the database or the image store is
unreachable, forwarded in order when it returns.

A PostgreSQL restart or an object store down for a minute must not cost a verdict, and must not
hold the line: the station keeps judging, each batch that cannot be committed is written here
(rows, failures, and the files the store did not take) and fsynced, and a forwarder thread
(station.record.forward) commits the batches oldest first as soon as the service answers again.

Nothing is duplicated: a forwarded batch is committed in one transaction with the same
idempotent insert as a live one (the unique index on image and model decides), so a batch
whose commit landed just before the connection broke is a no-op the second time. A batch is
deleted only after its transaction commits. Batches left by a killed process are forwarded by
the next run on the same data dir.

    DATA/spool/<time_ns>-<pid>-<n>/batch.json   rows and failures (JSON)
    DATA/spool/<...>/blobs/<n>                  the bytes of files the store has not got yet
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from station.core.fileutil import atomic_write, tree_bytes

log = logging.getLogger("station.spool")

FORMAT = 1


@dataclass
class SpooledBatch:
    run_id: int | None  # None: a run that began while the database was down; `start` makes it
    rows: list[dict[str, Any]]  # Inspection columns; datetimes as ISO text
    failures: list[tuple[str, str]]  # (origin, error)
    blobs: dict[str, bytes] = field(default_factory=dict)  # store key -> bytes not yet in the store
    folder: Path | None = None
    # The run's start, for a run that could not be recorded when it began (station.record.rows.begin_run):
    # its key (one run row for all its batches), source, station, store and the model's name, version, card.
    start: dict[str, Any] | None = None
    parts: list[dict[str, Any]] = field(default_factory=list)  # Part columns of the parts this batch completes
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # version -> name, card: the views' own models


class Spool:
    """One folder of batches, shared by every process on the data dir (each writes its own
    names; sorting by name is the order they were judged in)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._n = 0
        self._bytes: int | None = None  # measured once, then kept by add() and remove()

    def size(self) -> int:
        """Bytes the waiting batches take on this disk (the cap in `disk.spool_gb` is about these).
        Walked once; later changes made by this process are counted as they happen."""
        with self._lock:
            if self._bytes is None:
                self._bytes = sum(tree_bytes(p)[0] for p in self.pending())
            return self._bytes

    def _count_bytes(self, n: int) -> None:
        with self._lock:
            if self._bytes is not None:
                self._bytes = max(0, self._bytes + n)

    def add(self, batch: SpooledBatch) -> None:
        """Durably keep `batch` (fsynced before returning: a power cut after a verdict keeps it)."""
        with self._lock:
            self._n += 1
            name = f"{time.time_ns():020d}-{os.getpid()}-{self._n:06d}"
        tmp = self.root / f".{name}"
        (tmp / "blobs").mkdir(parents=True, exist_ok=True)
        keys = {}
        for i, (key, data) in enumerate(batch.blobs.items()):
            atomic_write(tmp / "blobs" / str(i), data, fsync=True)
            keys[key] = str(i)
        doc = {"format": FORMAT, "run_id": batch.run_id, "rows": batch.rows, "failures": batch.failures, "blobs": keys,
               "start": batch.start, "parts": batch.parts, "models": batch.models}
        atomic_write(tmp / "batch.json", json.dumps(doc), fsync=True)
        _fsync_dir(tmp / "blobs")
        _fsync_dir(tmp)  # the folder's entries too, before it takes its real name
        os.replace(tmp, self.root / name)
        _fsync_dir(self.root)
        self._count_bytes(tree_bytes(self.root / name)[0])

    def pending(self) -> list[Path]:
        """Batches waiting, oldest first."""
        try:
            return sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        except FileNotFoundError:
            return []

    def count(self) -> int:
        """Results waiting (a damaged batch counts as none here; forwarding moves it aside)."""
        n = 0
        for p in self.pending():
            try:
                n += len(json.loads((p / "batch.json").read_text(encoding="utf-8"))["rows"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return n

    def load(self, folder: Path) -> SpooledBatch | None:
        try:
            doc = json.loads((folder / "batch.json").read_text(encoding="utf-8"))
            blobs = {key: (folder / "blobs" / name).read_bytes() for key, name in doc["blobs"].items()}
        except (OSError, ValueError, KeyError) as exc:
            # Unreadable: moved aside, never deleted (it may hold the only copy of verdicts).
            aside = self.root / f".damaged-{folder.name}"
            log.error("spooled batch %s is unreadable (%s); moved to %s", folder, exc, aside)
            os.replace(folder, aside)
            return None
        run_id = None if doc["run_id"] is None else int(doc["run_id"])
        return SpooledBatch(run_id, doc["rows"], [tuple(f) for f in doc["failures"]], blobs, folder, doc.get("start"),
                            doc.get("parts") or [], doc.get("models") or {})  # batches spooled before 0.9.10 have none

    def remove(self, batch: SpooledBatch) -> None:
        if batch.folder is not None:
            size = tree_bytes(batch.folder)[0]
            shutil.rmtree(batch.folder, ignore_errors=True)
            self._count_bytes(-size)


def to_row(values: dict[str, Any]) -> dict[str, Any]:
    """Spooled row -> Inspection keyword arguments."""
    out = dict(values)
    out["captured_at"] = datetime.fromisoformat(out["captured_at"])
    return out


def from_row(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    out["captured_at"] = out["captured_at"].isoformat()
    return out


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
