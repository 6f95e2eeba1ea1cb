"""Stores pipeline results: files first, then one transaction per batch.

A row is only committed after its image and heatmap are in place, so a kill at any moment
leaves a consistent database; the next run of the same source skips what was committed.

A full disk never stops a run (station.line.diskguard): images are left out first, passed parts'
before failed ones, and each row says why its image is missing. When the database or the image
store cannot be reached (a server restart, a network cut), the batch is kept on this PC's disk
(station.record.spool) and a forwarder thread commits it, in order, when the service answers again:
the line never waits for the server, and no verdict is lost or stored twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from station.core import config
from station.core.domain import Frame, Result
from station.core.parts import Assembler, PartVerdict
from station.core.redact import mask
from station.line.diskguard import DiskGuard, is_no_space
from station.protocols import InspectionModel, StationStore
from station.record import rows as db_rows
from station.record.forward import Forwarder
from station.record.rows import Commit
from station.record.spool import Spool, SpooledBatch, from_row
from station.store import files, repo
from station.store.blobs import StoreRefused, StoreUnavailable
from station.store.db import first_line, unavailable
from station.store.schema import Inspection

log = logging.getLogger("station.recorder")

class Recorder:
    def __init__(self, store: StationStore, model, source: str, skip_inspected: bool = True, guard: DiskGuard | None = None,
                 station: str | None = None, recipe: tuple[str, int] | None = None) -> None:
        self.store = store
        self.recipe = recipe  # (name, version) every row is stamped with; None: no recipe
        self.skip_inspected = skip_inspected
        self.guard = guard if store.blobs.local_root is not None else None  # an object store has no disk here
        self.spool_guard = guard  # the spool is on this PC's disk whatever the store is
        self.source = source
        self.station = station or config.station_name()
        self.spool = Spool(store.data / "spool")
        self._lock = threading.Lock()
        self.spooled = 0  # results of this run that went through the spool
        self.outage = ""  # why the spool is in use now ("" when the line is up)
        self.refused = ""  # why the store refuses for good (blobs.StoreRefused), until a forward succeeds
        self.outage_since: float | None = None  # time.monotonic() when the outage began
        self._warned = -1e9
        self._pool: Any = None  # threads writing a batch's files to an object store
        self._parts = Assembler()  # a part's views until its last one: the part's row goes with that batch
        # The model a frame was judged by: a view of a part may have its own recipe's (station.run.view_models).
        self.model_of: Callable[[Frame], Any] = lambda frame: self.model
        self._start(model)
        self.forwarder = Forwarder(self)
        self.forwarder.start()

    def _start(self, model) -> None:
        """The run's row, or, with the line's database down, the run's start kept for the spool:
        the station starts judging anyway, and the forwarder records the run when it can."""
        self.model = model
        self.pending: dict[str, Any] | None = None
        try:
            with self.store.session.begin() as s:
                model_id = repo.model_id(s, model.name, model.version, model.card)
                run_id = repo.start_run(s, mask(self.source), model_id, self.station, self.store.blobs.url)
        except Exception as exc:
            if not unavailable(exc):
                raise
            with self._lock:
                self.model_id = self.run_id = None
                self.pending = {"key": uuid.uuid4().hex, "source": mask(self.source), "station": self.station,
                                "store": self.store.blobs.url, "model": model.name, "version": model.version, "card": model.card}
            self._outage(f"database unavailable: {first_line(exc)[:120]}")
            return
        with self._lock:
            self.model_id, self.run_id = model_id, run_id

    def adopt(self, key: str, model_id: int, run_id: int) -> None:
        """The forwarder recorded the run that began offline: later batches go straight in."""
        with self._lock:
            if self.pending is not None and self.pending["key"] == key:
                self.model_id, self.run_id, self.pending = model_id, run_id, None

    def switch(self, model) -> None:
        """A new active model mid-run (a line promotion): the run so far ends, a new one starts."""
        self._end()
        self._start(model)

    def already_inspected(self, digests: list[str], model: InspectionModel) -> set[str]:
        """Which of these files `model` judged already: the run's model by its row, a view's own
        model (its recipe's) by its version."""
        own = model is not self.model
        if not self.skip_inspected or not digests or (self.model_id is None and not own):
            return set()
        try:
            with self.store.session() as s:
                return repo.inspected(s, digests, version=model.version) if own else repo.inspected(s, digests, self.model_id)
        except Exception as exc:
            if not unavailable(exc):
                raise
            return set()

    def _files(self, r: Result, sha: str, data: bytes) -> tuple[str, str | None, int, str | None]:
        """Store a result's image and heatmap in a folder store as the disk allows: (image key,
        heatmap key, bytes written, why the image is missing or None)."""
        suffix = Path(r.frame.path).suffix if r.frame.path else ".png"
        rel = files.image_rel(sha, suffix)
        heat = files.heatmap_png(r.cam) if r.cam is not None else None
        state = self.guard.check() if self.guard else None
        passed = r.prediction is not None and r.prediction.verdict == "pass"
        if state is not None and (not state.stores_images or (passed and not state.stores_passed)):
            return rel, None, 0, f"not stored: disk {state.level}"
        try:
            written = self.store.blobs.put(rel, data)
            if heat is not None:
                written += self.store.blobs.put(*heat)
        except OSError as exc:
            if not is_no_space(exc):
                raise
            if self.guard:
                self.guard.no_space()
            return rel, None, 0, "not stored: disk full"
        if self.guard:
            self.guard.spent(written)
        return rel, heat[0] if heat else None, written, None

    def record(self, results: list[Result]) -> list[Result]:
        """Store a batch: each image and heatmap file, then all rows in one transaction (or the
        spool). Returns the results with their inspection ids, or why a row was not kept."""
        t = time.perf_counter()
        values: list[tuple[int, dict[str, Any]]] = []
        failures: list[tuple[str, str]] = []
        notes: dict[int, str] = {}
        held: dict[str, bytes] = {}  # files for an object store (written together) or for the spool
        held_by: dict[int, tuple[bool, list[str]]] = {}  # result -> (passed, its keys in `held`)
        with self._lock:  # one pair for the whole batch: the forwarder may adopt a run meanwhile
            run_id, model_id, start = self.run_id, self.model_id, self.pending
        direct = run_id is not None and not self.spool_in_use()  # while older batches wait, newer ones queue behind them
        remote = self.store.blobs.local_root is None
        parts = [self._part_row(pv) for r in results if not r.skipped and (pv := self._parts.add(r)) is not None]
        models: dict[str, dict[str, Any]] = {}  # the views' own models in this batch: version -> name, card
        for n, r in enumerate(results):
            if r.skipped:
                continue
            if r.error is not None:
                failures.append((r.frame.origin, r.error))
                continue
            data = r.data if r.data is not None else files.encode_frame(r.frame.image)
            sha = r.sha256 or files.sha256(data)
            gone = None
            if direct and not remote:
                image_rel, heat_rel, written, gone = self._files(r, sha, data)
            else:
                suffix = Path(r.frame.path).suffix if r.frame.path else ".png"
                image_rel, written = files.image_rel(sha, suffix), len(data)
                held[image_rel] = data
                heat_rel = None
                if r.cam is not None:
                    heat_rel, heat = files.heatmap_png(r.cam)
                    held[heat_rel] = heat
                passed = r.prediction is not None and r.prediction.verdict == "pass"
                held_by[n] = (passed, [image_rel] + ([heat_rel] if heat_rel else []))
            if gone:
                notes[n] = gone
            p = r.prediction
            assert p is not None and r.image_shape is not None  # neither skipped nor failed
            h, w = r.image_shape[:2]
            judge = self.model_of(r.frame)
            own = {} if judge is self.model else {"_model": judge.version}
            if own:
                models[judge.version] = {"name": judge.name, "card": judge.card}
            values.append((n, own | dict(
                run_id=run_id, model_id=model_id, origin=r.frame.origin[:1024], captured_at=r.frame.captured_at,
                sha256=sha, image_path=image_rel, width=int(w), height=int(h), predicted=p.label,
                probabilities={k: round(v, 6) for k, v in p.probabilities.items()}, p_defect=p.p_defect,
                uncertainty=judge.uncertainty(p), verdict=p.verdict, heatmap_path=heat_rel,
                box=list(r.box) if r.box else None, timings={k: round(v, 3) for k, v in r.timings.items()},
                image_gone=gone, stored_bytes=written, station=self.station, uid=r.uid,
                recipe=self.recipe[0] if self.recipe else None, recipe_version=self.recipe[1] if self.recipe else None,
                serial=r.frame.serial, serial_read=r.frame.serial_read, part_uid=r.frame.part or r.uid, view=r.frame.view,
            )))
        if direct and remote and held:
            try:
                self._put_all(held)
                held = {}
            except StoreUnavailable as exc:
                direct = False
                self._outage(str(exc), isinstance(exc, StoreRefused))
        rows = [(n, db_rows.make(v)) for n, v in values]
        unrecorded = None
        if direct and run_id is not None:
            outcome = self._commit(run_id, [row for _, row in rows], failures, parts, models)
            if outcome is Commit.SPOOL:
                direct = False
            elif outcome is Commit.DATABASE_FULL:
                unrecorded = outcome.value
        spooled = False
        if not direct:
            for n, gone in self._trim_for_spool(held, held_by).items():
                notes[n] = gone
                values_n = next(v for k, v in values if k == n)
                values_n.update(image_gone=gone, heatmap_path=None, stored_bytes=0)
            spooled = self._to_spool(SpooledBatch(run_id, [from_row(v) for _, v in values], failures, held,
                                                  start=start if run_id is None else None, parts=[from_row(p) for p in parts],
                                                  models=models))
            if not spooled:
                unrecorded = f"{self.outage or 'the line is unreachable'}, and the spool could not be written"
        # A commit that failed may still have landed (SQLite can report a full disk after the
        # WAL append): ask, so what is reported as not recorded is exactly what is missing.
        landed = self._landed([row.sha256 for _, row in rows]) if unrecorded else {}
        store_ms = (time.perf_counter() - t) * 1000 / max(1, len(rows))
        out = list(results)
        for n, row in rows:
            r = out[n]
            rid = None if spooled else landed.get(row.sha256) if unrecorded else row.id
            out[n] = _replace(r, inspection_id=rid, sha256=row.sha256, timings={**r.timings, "store_ms": store_ms},
                              image_note=notes.get(n), unrecorded=unrecorded if rid is None and not spooled else None,
                              spooled=spooled)
        return out

    def _put_all(self, blobs: dict[str, bytes]) -> None:
        """A batch's files into an object store at once: each write is a network round trip, so
        eight are in flight instead of one. (On loopback, where the round trip is short and the
        cost is boto3's CPU, 2 cores: one station alone on a line went from 24 to 26 parts/s.)"""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="store-put")
        put = self.store.blobs.put
        for _ in self._pool.map(lambda kv: put(*kv), blobs.items()):
            pass

    def spool_in_use(self) -> bool:
        return bool(self.outage) or bool(self.spool.pending())

    def _outage(self, reason: str, refused: bool = False) -> None:
        with self._lock:
            first, told = not self.outage, bool(self.refused)
            self.outage, self.refused = reason, reason if refused else self.refused
            if first:
                self.outage_since = time.monotonic()
        if refused and not told:  # no retry will change it: an alarm, and the run's exit says so
            log.error("%s: results are kept on this PC until someone fixes the store", reason)
        elif first:
            log.warning("%s: results are kept on this PC and forwarded when it returns", reason)

    def _trim_for_spool(self, held: dict[str, bytes], held_by: dict[int, tuple[bool, list[str]]]) -> dict[int, str]:
        """Leave images out of a batch bound for the spool, as the disk guard would on this disk,
        and once the spool holds `disk.spool_gb`: a store refusing for a week must not fill the
        PC. Rows are always kept. Failed parts' images are the last to go. Returns why, per result."""
        guard = self.spool_guard
        if guard is None or not held_by:
            return {}
        state, cap = guard.check(), guard.disk.spool_gb * 1024**3
        used = self.spool.size()
        out: dict[int, str] = {}
        for n, (passed, keys) in sorted(held_by.items(), key=lambda kv: kv[1][0]):  # failed parts' first
            size = sum(len(held.get(k, b"")) for k in keys)
            why = (f"not kept: disk {state.level}" if not state.stores_images or (passed and not state.stores_passed)
                   else f"not kept: the spool on this PC holds its {guard.disk.spool_gb:g} GB" if used + size > cap else "")
            if why:
                for k in keys:
                    held.pop(k, None)
                out[n] = why
            else:
                used += size
        if out:
            now = time.monotonic()
            if now - self._warned > 60:
                log.warning("%d images not kept in the spool (%s); their rows are", len(out), next(iter(out.values())))
                self._warned = now
        return out

    def _to_spool(self, batch: SpooledBatch) -> bool:
        try:
            self.spool.add(batch)
        except OSError as exc:
            log.error("could not spool %d results: %s", len(batch.rows), exc)
            return False
        with self._lock:
            self.spooled += len(batch.rows)
        self.forwarder.wake.set()
        return True

    def _landed(self, digests: list[str]) -> dict[str, int]:
        if self.model_id is None:
            return {}
        try:
            with self.store.session() as s:
                return db_rows.ids(s, digests, self.model_id)
        except OperationalError:
            return {}  # the database cannot even be read: nothing is claimed

    def _part_row(self, part: PartVerdict) -> dict[str, Any]:
        """A part's row: written with its last view's batch, so it never stands without its views."""
        r, f = part.deciding, part.deciding.frame
        p = r.prediction if part.verdict != "error" else None
        return dict(uid=part.uid, serial=f.serial, serial_read=f.serial_read, station=self.station, captured_at=f.captured_at,
                    verdict=part.verdict, label=p.label if p else None, p_defect=p.p_defect if p else None, view=part.view,
                    views=list(part.names), reason=part.reason, recipe=self.recipe[0] if self.recipe else None,
                    recipe_version=self.recipe[1] if self.recipe else None)

    def _commit(self, run_id: int, rows: list[Inspection], failures: list[tuple[str, str]], parts: list[dict[str, Any]],
                models: dict[str, dict[str, Any]] | None = None) -> Commit:
        """One transaction for the batch, and what became of it."""
        try:
            with self.store.session.begin() as s:
                db_rows.write(s, run_id, rows, failures, parts, models)
        except Exception as exc:
            if not unavailable(exc):  # a full disk is an OperationalError too: told apart below
                raise
            if is_no_space(exc):
                # The spool is on the same full disk; the verdicts were given and signalled.
                if self.guard:
                    self.guard.no_space()
                now = time.monotonic()
                if now - self._warned > 60:  # once a minute is enough to be noticed; the summary counts them all
                    log.warning("%d results not recorded: database full (the run goes on; said at most once a minute)", len(rows))
                    self._warned = now
                return Commit.DATABASE_FULL
            self._outage(f"database unavailable: {first_line(exc)[:120]}")
            return Commit.SPOOL
        return Commit.STORED

    def _close_parts(self) -> None:
        """Parts the run stopped between the views of: kept as NOT INSPECTED, with the view missing."""
        parts = [self._part_row(p) for p in self._parts.flush()]
        if not parts:
            return
        with self._lock:
            run_id, start = self.run_id, self.pending
        if run_id is not None and not self.spool_in_use() and self._commit(run_id, [], [], parts) is Commit.STORED:
            return
        self._to_spool(SpooledBatch(run_id, [], [], {}, start=start if run_id is None else None, parts=[from_row(p) for p in parts]))

    def _end(self) -> None:
        if self.run_id is None:  # begun offline and never recorded: its batches make it when forwarded
            return
        try:
            with self.store.session.begin() as s:
                repo.end_run(s, self.run_id)
        except Exception as exc:
            if not unavailable(exc):
                raise
            log.warning("the run's end was not recorded: %s", first_line(exc)[:160])

    def close(self, wait_s: float = 30.0) -> int:
        """End the run; forward what the spool holds for up to `wait_s` seconds. Returns how many
        results still wait there (the next start on this data dir forwards them)."""
        self._close_parts()
        self.forwarder.finish(wait_s)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._end()
        waiting = self.spool.count()
        if waiting:
            log.warning("%d results wait in %s (%s); the next start on this data dir forwards them",
                        waiting, self.spool.root, self.outage or "not forwarded yet")
        return waiting


def _replace(r: Result, **changes: Any) -> Result:
    import dataclasses

    return dataclasses.replace(r, **changes)
