"""Stores pipeline results: files first, then one transaction per batch.

A row is only committed after its image and heatmap are in place, so a kill at any moment
leaves a consistent database; the next run of the same source skips what was committed.

A full disk never stops a run (station.diskguard): images are left out first, passed parts'
before failed ones, and each row says why its image is missing. When the database itself cannot
take a batch, the verdicts stand, the results say they were not recorded, and the run goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from station import config
from station.diskguard import DiskGuard, is_no_space
from station.domain import Result
from station.protocols import StationStore
from station.store import files, repo
from station.store.schema import Inspection

log = logging.getLogger("station.recorder")


class Recorder:
    def __init__(self, store: StationStore, model, source: str, skip_inspected: bool = True, guard: DiskGuard | None = None) -> None:
        self.store = store
        self.model = model
        self.skip_inspected = skip_inspected
        self.guard = guard
        with store.session.begin() as s:
            self.model_id = repo.model_id(s, model.name, model.version, model.card)
            self.run_id = repo.start_run(s, source, self.model_id, config.station_name())
        self.processed = 0
        self.failed = 0
        self._warned = -1e9

    def already_inspected(self, digests: list[str]) -> set[str]:
        if not self.skip_inspected or not digests:
            return set()
        with self.store.session() as s:
            return repo.inspected(s, digests, self.model_id)

    def _files(self, r: Result, sha: str, data: bytes | None) -> tuple[str, str | None, int, str | None]:
        """Store a result's image and heatmap as the disk allows: (image path, heatmap path,
        bytes written, why the image is missing or None)."""
        root = self.store.data
        suffix = Path(r.frame.path).suffix if r.frame.path else ".png"
        rel = files.image_rel(sha, suffix)
        state = self.guard.check() if self.guard else None
        passed = r.prediction is not None and r.prediction.verdict == "pass"
        if state is not None and (not state.stores_images or (passed and not state.stores_passed)):
            return rel, None, 0, f"not stored: disk {state.level}"
        try:
            image = files.put_image(root, data if data is not None else files.encode_frame(r.frame.image), suffix, sha)
            heat = files.put_heatmap(root, r.cam) if r.cam is not None else None
        except OSError as exc:
            if not is_no_space(exc):
                raise
            if self.guard:
                self.guard.no_space()
            return rel, None, 0, "not stored: disk full"
        written = image.written + (heat.written if heat else 0)
        if self.guard:
            self.guard.spent(written)
        return image.rel, heat.rel if heat else None, written, None

    def record(self, results: list[Result]) -> list[Result]:
        """Store a batch: each image and heatmap file, then all rows in one transaction. Returns
        the results with their inspection ids (or the reason an image or a row was not kept)."""
        t = time.perf_counter()
        rows: list[tuple[int, Inspection]] = []
        failures = []
        notes: dict[int, str] = {}
        for n, r in enumerate(results):
            if r.skipped:
                continue
            if r.error is not None:
                failures.append(r)
                continue
            data = r.data
            if data is None and r.sha256 is None:
                data = files.encode_frame(r.frame.image)
            sha = r.sha256 or files.sha256(data or b"")
            image_rel, heat_rel, written, gone = self._files(r, sha, data)
            if gone:
                notes[n] = gone
            p = r.prediction
            assert p is not None and r.image_shape is not None  # neither skipped nor failed
            h, w = r.image_shape[:2]
            rows.append(
                (n, Inspection(
                    run_id=self.run_id, model_id=self.model_id, origin=r.frame.origin[:1024], captured_at=r.frame.captured_at,
                    sha256=sha, image_path=image_rel, width=int(w), height=int(h), predicted=p.label,
                    probabilities={k: round(v, 6) for k, v in p.probabilities.items()}, p_defect=p.p_defect,
                    uncertainty=self.model.uncertainty(p), verdict=p.verdict, heatmap_path=heat_rel,
                    box=list(r.box) if r.box else None, timings={k: round(v, 3) for k, v in r.timings.items()},
                    image_gone=gone, stored_bytes=written,
                ))
            )
        unrecorded = self._commit([row for _, row in rows], failures)
        # A commit that failed may still have landed (SQLite can report a full disk after the
        # WAL append): ask, so what is reported as not recorded is exactly what is missing.
        landed = self._landed([row.sha256 for _, row in rows]) if unrecorded else {}
        store_ms = (time.perf_counter() - t) * 1000 / max(1, len(rows))
        out = list(results)
        for n, row in rows:
            r = out[n]
            rid = landed.get(row.sha256) if unrecorded else row.id
            out[n] = dataclasses.replace(r, inspection_id=rid, sha256=row.sha256, timings={**r.timings, "store_ms": store_ms},
                                         image_note=notes.get(n), unrecorded=unrecorded if rid is None else None)
        return out

    def _landed(self, digests: list[str]) -> dict[str, int]:
        try:
            with self.store.session() as s:
                return self._ids(s, digests)
        except OperationalError:
            return {}  # the database cannot even be read: nothing is claimed

    def _commit(self, rows: list[Inspection], failures: list[Result]) -> str | None:
        """One transaction for the batch; None, or why it could not be committed."""
        try:
            with self.store.session.begin() as s:
                self._insert(s, rows)
                for f in failures:
                    repo.add_failure(s, self.run_id, f.frame.origin, f.error or "")
                s.flush()
                repo.update_run(s, self.run_id, self.processed + len(rows), self.failed + len(failures))
        except OperationalError as exc:
            # A full disk, a locked or unreachable database: the verdicts were given and signalled;
            # stopping the line would not bring the rows back. Said once per batch, in the log too.
            if self.guard and is_no_space(exc):
                self.guard.no_space()
            reason = "database full" if is_no_space(exc) else f"database unavailable: {str(exc.orig).splitlines()[0][:120]}"
            now = time.monotonic()
            if now - self._warned > 60:  # once a minute is enough to be noticed; the summary counts them all
                log.warning("%d results not recorded: %s (the run goes on; said at most once a minute)", len(rows), reason)
                self._warned = now
            return reason
        self.processed += len(rows)
        self.failed += len(failures)
        return None

    def _insert(self, s: Session, rows: list[Inspection]) -> None:
        """Add the rows; an image this model already judged (another station on this data dir, a
        window re-run, the same file twice) keeps its one row, and the result gets that row's id.
        The database's unique index decides: a race between two writers is settled by it."""
        known = self._known(s, [r.sha256 for r in rows])
        new = [r for r in rows if r.sha256 not in known]
        # The whole batch in one savepoint (three statements a row fewer than one savepoint
        # each); only when another writer got there first, row by row.
        if len({r.sha256 for r in new}) == len(new) and new:
            try:
                with s.begin_nested():
                    s.add_all(new)
                new = []
            except IntegrityError:
                pass
        pending = {id(r) for r in new}
        for row in rows:
            found = known.get(row.sha256)
            if found is None and id(row) in pending:
                try:
                    with s.begin_nested():
                        s.add(row)
                except IntegrityError:
                    found = self._known(s, [row.sha256]).get(row.sha256)
                    if found is None:
                        raise  # not the unique index: a bug
            if found is not None:
                row.id = found[0]
                if row.image_gone is None and found[1] is not None:  # stored now: a row that had lost its image has it again
                    s.execute(update(Inspection).where(Inspection.id == row.id, Inspection.image_gone.is_not(None))
                              .values(image_gone=None, image_path=row.image_path, heatmap_path=row.heatmap_path))
            known[row.sha256] = (row.id, row.image_gone)

    def _ids(self, s: Session, digests: list[str]) -> dict[str, int]:
        return {sha: found[0] for sha, found in self._known(s, digests).items()}

    def _known(self, s: Session, digests: list[str]) -> dict[str, tuple[int, Any]]:
        """sha256 -> (id, image_gone) of the rows this model already has for these images."""
        q = select(Inspection.sha256, Inspection.id, Inspection.image_gone).where(
            Inspection.model_id == self.model_id, Inspection.dup == 0, Inspection.sha256.in_(set(digests)))
        return {sha: (i, gone) for sha, i, gone in s.execute(q)}

    def close(self) -> None:
        try:
            with self.store.session.begin() as s:
                repo.update_run(s, self.run_id, self.processed, self.failed, ended=True)
        except OperationalError as exc:
            log.warning("the run's end was not recorded: %s", str(exc.orig).splitlines()[0][:160])
