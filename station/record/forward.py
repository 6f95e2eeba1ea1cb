"""The forwarder: a thread that commits spooled batches, oldest first, as soon as the database and
the store answer again (and the next start on the data dir does the same for what a killed
process left)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

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

    def _outage(self, reason: str, refused: bool = False) -> None: ...

log = logging.getLogger("station.recorder")

RETRY_S = (0.5, 5.0)  # the forwarder's first and longest wait between attempts


class Forwarder(threading.Thread):
    """Commits spooled batches, oldest first, as soon as the database and the store answer."""

    def __init__(self, recorder: Owner) -> None:
        super().__init__(name="forwarder", daemon=True)
        self.recorder = recorder
        self.wake = threading.Event()
        self._halt = threading.Event()

    def forward_one(self) -> bool | None:
        """Forward the oldest spooled batch: True when one was forwarded, None when none waits,
        False when the database or the store is still unreachable (or another process on this
        data dir is forwarding)."""
        from station.fileutil import FileLock

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
                    with rec.store.session.begin() as s:
                        rows.write(s, batch.run_id, [Inspection(**to_row(v)) for v in batch.rows], batch.failures)
                except StoreUnavailable as exc:
                    rec._outage(str(exc), isinstance(exc, StoreRefused))
                    return False
                except Exception as exc:
                    if not unavailable(exc):
                        raise
                    rec._outage(f"database unavailable: {first_line(exc)[:120]}")
                    return False
                rec.spool.remove(batch)
        except BlockingIOError:
            return False
        if len(waiting) == 1:
            with rec._lock:
                rec.outage = rec.refused = ""
            log.info("the line is back: every spooled result is forwarded")
        return True

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
