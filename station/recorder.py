"""Stores pipeline results: files first, then one transaction per batch.

A row is only committed after its image and heatmap are in place, so a kill at any moment
leaves a consistent database; the next run of the same source skips what was committed.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from station import config
from station.domain import Result
from station.store import files, repo
from station.store.db import Store
from station.store.schema import Inspection


class Recorder:
    def __init__(self, store: Store, model, source: str, skip_inspected: bool = True) -> None:
        self.store = store
        self.model = model
        self.skip_inspected = skip_inspected
        with store.session.begin() as s:
            self.model_id = repo.model_id(s, model.name, model.version, model.card)
            self.run_id = repo.start_run(s, source, self.model_id, config.station_name())
        self.processed = 0
        self.failed = 0

    def already_inspected(self, digests: list[str]) -> set[str]:
        if not self.skip_inspected or not digests:
            return set()
        with self.store.session() as s:
            return repo.inspected(s, digests, self.model_id)

    def record(self, results: list[Result]) -> list[Result]:
        """Store a batch: each image and heatmap file, then all rows in one transaction. Returns
        the results with their inspection ids."""
        t = time.perf_counter()
        root = self.store.data
        rows: list[tuple[int, Inspection]] = []
        failures = []
        for n, r in enumerate(results):
            if r.skipped:
                continue
            if r.error is not None:
                failures.append(r)
                continue
            data = r.data if r.data is not None else files.encode_frame(r.frame.image)
            sha = r.sha256 or files.sha256(data)
            image_rel = files.put_image(root, data, Path(r.frame.path).suffix if r.frame.path else ".png", sha)
            heat_rel = files.put_heatmap(root, r.cam) if r.cam is not None else None
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
                ))
            )
        with self.store.session.begin() as s:
            s.add_all([row for _, row in rows])
            for f in failures:
                repo.add_failure(s, self.run_id, f.frame.origin, f.error or "")
            s.flush()
            self.processed += len(rows)
            self.failed += len(failures)
            repo.update_run(s, self.run_id, self.processed, self.failed)
        store_ms = (time.perf_counter() - t) * 1000 / max(1, len(rows))
        out = list(results)
        for n, row in rows:
            r = out[n]
            out[n] = dataclasses.replace(r, inspection_id=row.id, sha256=row.sha256, timings={**r.timings, "store_ms": store_ms})
        return out

    def close(self) -> None:
        with self.store.session.begin() as s:
            repo.update_run(s, self.run_id, self.processed, self.failed, ended=True)
