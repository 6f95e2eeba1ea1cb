"""The forwarder: a thread that commits spooled batches, oldest first, as soon as the database and
the store answer again (and the next start on the data dir does the same for what a killed
process left)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from station.protocols import StationStore
from station.record import rows
from station.record.spool import Spool, to_row
from station.store.blobs import StoreRefused, StoreUnavailable
from station.store.db import first_line, unavailable
from station.store.schema import Inspection


class Owner(Protocol):
    """What the forwarder needs of the recorder that starts it (station.record.recorder)."""

    spool: Spool
    store: StationStore
    _lock: threading.Lock
    outage: str
    refused: str
    outage_since: float | None

    def _outage(self, reason: str, refused: bool = False) -> None: ...
    def adopt(self, key: str, model_id: int, run_id: int) -> None: ...

log = logging.getLogger("station.recorder")

RETRY_S = (0.5, 5.0)  # the forwarder's first and longest wait between attempts


class Forwarder(threading.Thread):
    """Commits spooled batches, oldest first, as soon as the database and the store answer."""

    def __init__(self, recorder: Owner) -> None:
        super().__init__(name="forwarder", daemon=True)
        self.recorder = recorder
        self.wake = threading.Event()
        self._halt = threading.Event()
        self._migrated = False
        # Runs begun offline: their key -> (model id, run id), once recorded; and the ids made
        # in the transaction in hand, kept only when it commits.
        self._begun: dict[str, tuple[int, int]] = {}
        self._pending_ids: dict[str, tuple[int, int]] = {}

    def forward_one(self) -> bool | None:
        """Forward the oldest spooled batch: True when one was forwarded, None when none waits,
        False when the database or the store is still unreachable (or another process on this
        data dir is forwarding)."""
        from station.core.fileutil import FileLock

        rec = self.recorder
        waiting = rec.spool.pending()
        if not waiting:
            with rec._lock:
                rec.outage = ""
            return None
        try:
            with FileLock(rec.spool.root / ".forward.lock", blocking=False):
                batch = rec.spool.load(waiting[0])
                if batch is None:
                    return True
                try:
                    for key, data in batch.blobs.items():
                        rec.store.blobs.put(key, data)
                    if not self._migrated and rec.store.offline:
                        from station.store.db import migrate

                        migrate(rec.store.engine)  # the station started before it could check the schema
                    self._migrated = True
                    table = [rows.make(to_row(v)) for v in batch.rows]
                    with rec.store.session.begin() as s:
                        run_id = batch.run_id if batch.run_id is not None else self._begin(s, batch.start, table)
                        rows.write(s, run_id, table, batch.failures, [to_row(p) for p in batch.parts], batch.models)
                except StoreUnavailable as exc:
                    rec._outage(str(exc), isinstance(exc, StoreRefused))
                    return False
                except Exception as exc:
                    if not unavailable(exc):
                        raise
                    rec._outage(f"database unavailable: {first_line(exc)[:120]}")
                    return False
                rec.spool.remove(batch)
                if batch.run_id is None and batch.start is not None:
                    key = batch.start["key"]
                    self._begun[key] = self._pending_ids.pop(key)
                    rec.adopt(key, *self._begun[key])
        except BlockingIOError:
            return False
        if len(waiting) == 1:
            with rec._lock:
                rec.outage = rec.refused = ""
                rec.outage_since = None
            log.info("the line is back: every spooled result is forwarded")
        return True

    def _begin(self, s: Any, start: dict[str, Any] | None, table: list[Inspection]) -> int:
        """The run that began while the database was down: recorded by its first forwarded batch
        (its model row too), and its later batches join it. Returns the run's id."""
        if start is None:
            raise RuntimeError("a spooled batch with neither a run nor the run's start")
        ids = self._begun.get(start["key"]) or rows.begin_run(s, start)
        self._pending_ids[start["key"]] = ids  # kept once this transaction commits
        for row in table:
            row.model_id, row.run_id = ids
        return ids[1]

    def run(self) -> None:
        wait = RETRY_S[0]
        while not self._halt.is_set():
            try:
                done = self.forward_one()
            except Exception:  # a bug: logged with its traceback, and the spool is kept for the next start
                log.exception("forwarding spooled results failed")
                done = False
            if done:
                wait = RETRY_S[0]
                continue
            if done is None:  # nothing waits
                self.wake.wait(2.0)
                self.wake.clear()
                continue
            self._halt.wait(wait)
            wait = min(RETRY_S[1], wait * 2)

    def finish(self, wait_s: float) -> None:
        """Keep forwarding for up to `wait_s` seconds while anything waits, then stop."""
        deadline = time.monotonic() + wait_s
        while self.recorder.spool.pending() and time.monotonic() < deadline and self.is_alive():
            self.wake.set()
            time.sleep(0.1)
        self._halt.set()
        self.wake.set()
        self.join(timeout=15)
