"""Retention: which stored images and heatmaps may go, so a station runs for months on one disk.

The policy (settings `retention.*`) keeps for good every image of a part that

- failed, or passed within the uncertain band of its model's threshold;
- was ever reviewed (an undone review included) or exported;

and keeps a passed part's image for `pass_days` days, then only a deterministic sample of one in
`keep_one_in` (chosen by content hash, so the same parts are kept whichever station or day
purges). Heatmaps follow their image's rule. Files are content-addressed and may be shared by
several rows (the same part judged by two models): a file goes only when every row that points
at it may lose it.

Rows are never deleted: a purged row keeps its path and says `image_gone = "purged ..."`.
Files are deleted before the rows are marked, so a crash in between leaves rows whose file is
missing and unmarked; the next purge finds them again and marks them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select, update

from station.core.domain import is_uncertain
from station.line.settings import Retention
from station.store.blobs import BlobStore
from station.store.db import Store
from station.store.repo import now as utc_now
from station.store.schema import Inspection, ModelRecord, Review

log = logging.getLogger("station.upkeep.retention")


@dataclass
class Category:
    files: int = 0
    bytes: int = 0


@dataclass
class PurgeResult:
    dry_run: bool
    by_category: dict[str, Category] = field(default_factory=lambda: {"images": Category(), "heatmaps": Category()})
    rows: int = 0  # rows marked (or that would be) as having lost their image
    examined: int = 0  # candidate rows looked at
    last_id: int = 0  # where a batched purge goes on from
    done: bool = True  # False: stopped at max_rows; call again from last_id
    enabled: bool = True

    @property
    def files(self) -> int:
        return sum(c.files for c in self.by_category.values())

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.by_category.values())

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "rows": self.rows, "dry_run": self.dry_run, "enabled": self.enabled,
                "by_category": {k: {"files": c.files, "bytes": c.bytes} for k, c in self.by_category.items()}}


def sampled(sha256: str, keep_one_in: int) -> bool:
    """The thinned sample: one part in `keep_one_in`, chosen by content (0 keeps none)."""
    if keep_one_in <= 0:
        return False
    return int(sha256[:8], 16) % keep_one_in == 0


class _Rules:
    """The keep decision for one row, with each model's threshold and each product's policy
    (a recipe's pass_days, keep_one_in and band, where it differs from the station) looked up once."""

    def __init__(self, store: Store, policy: Retention, at: datetime) -> None:
        from station.line import recipes

        self.policy, self.at = policy, at
        with store.session() as s:
            self.models = {mid: (thr, (card or {}).get("uncertain_band"))
                           for mid, thr, card in s.execute(select(ModelRecord.id, ModelRecord.threshold, ModelRecord.card))}
            self.products = {r.name: (r.retention(policy), r.band) for r in recipes.list_recipes(s)}
        # The rows looked at: old enough for the shortest keeping time of any product.
        self.cutoff = self._cutoff(min([policy.pass_days, *(p.pass_days for p, _ in self.products.values())]))

    def _cutoff(self, days: int) -> datetime:
        return (self.at - timedelta(days=days)).replace(tzinfo=None)  # SQLite stores naive UTC

    def keeps(self, row: Any, reviewed: bool) -> bool:
        if row.verdict != "pass" or row.label is not None or reviewed or row.exported_at is not None:
            return True
        policy, product_band = self.products.get(row.recipe, (self.policy, None))
        captured = row.captured_at.replace(tzinfo=None) if row.captured_at.tzinfo else row.captured_at
        if captured >= self._cutoff(policy.pass_days):
            return True
        threshold, band = self.models.get(row.model_id, (0.5, None))
        if is_uncertain(row.p_defect, threshold, band if product_band is None else product_band):
            return True
        return sampled(row.sha256, policy.keep_one_in)


COLUMNS = (Inspection.id, Inspection.model_id, Inspection.sha256, Inspection.image_path, Inspection.heatmap_path,
           Inspection.verdict, Inspection.label, Inspection.exported_at, Inspection.captured_at, Inspection.p_defect,
           Inspection.image_gone, Inspection.recipe)


def purge(store: Store, policy: Retention, dry_run: bool = False, max_rows: int | None = None, after_id: int = 0,
          at: datetime | None = None) -> PurgeResult:
    """Apply the policy to candidate rows with id > `after_id` (all of them, or `max_rows`)."""
    result = PurgeResult(dry_run=dry_run, last_id=after_id, enabled=policy.enabled)
    if not policy.enabled:
        return result
    rules = _Rules(store, policy, at or utc_now())
    batch = 500 if max_rows is None else max(1, min(500, max_rows))
    while True:
        with store.session() as s:
            rows = s.execute(
                select(*COLUMNS, exists().where(Review.inspection_id == Inspection.id).label("reviewed"))
                .where(Inspection.verdict == "pass", Inspection.label.is_(None), Inspection.image_gone.is_(None),
                       Inspection.captured_at < rules.cutoff, Inspection.id > result.last_id)
                .order_by(Inspection.id).limit(batch)
            ).all()
        if not rows:
            result.done = True
            return result
        result.examined += len(rows)
        result.last_id = rows[-1].id
        _purge_batch(store, rules, [r for r in rows if not rules.keeps(r, r.reviewed)], result)
        if max_rows is not None and result.examined >= max_rows:
            result.done = False
            return result


def _deletable(store: Store, rules: _Rules, column: Any, paths: set[str]) -> tuple[set[str], int]:
    """The paths no keeping row points at (rows that already lost their image do not keep it),
    and how many rows that still show an image point at them."""
    if not paths:
        return set(), 0
    kept: set[str] = set()
    losing: dict[str, int] = {}
    image = column is Inspection.image_path
    with store.session() as s:
        for chunk in _chunks(sorted(paths), 400):
            rows = s.execute(
                select(*COLUMNS, exists().where(Review.inspection_id == Inspection.id).label("reviewed")).where(column.in_(chunk))
            ).all()
            for r in rows:
                path = r.image_path if image else r.heatmap_path
                if r.image_gone is not None and image:
                    continue
                if rules.keeps(r, r.reviewed):
                    kept.add(path)
                else:
                    losing[path] = losing.get(path, 0) + 1
    gone = paths - kept
    return gone, sum(n for p, n in losing.items() if p in gone)


def _purge_batch(store: Store, rules: _Rules, rows: list[Any], result: PurgeResult) -> None:
    if not rows:
        return
    images, n_rows = _deletable(store, rules, Inspection.image_path, {r.image_path for r in rows})
    heatmaps, _ = _deletable(store, rules, Inspection.heatmap_path, {r.heatmap_path for r in rows if r.heatmap_path})
    for category, paths in (("images", images), ("heatmaps", heatmaps)):
        c = result.by_category[category]
        for rel in sorted(paths):
            size = _remove(store.blobs, rel, dry_run=result.dry_run)
            if size is not None:
                c.files += 1
                c.bytes += size
    result.rows += n_rows
    if result.dry_run or not (images or heatmaps):
        return
    note = f"purged by retention {utc_now():%Y-%m-%d}"
    with store.session.begin() as s:
        # Every row showing a deleted file says so, including rows of later batches (they stop
        # being candidates, so nothing is counted twice).
        for chunk in _chunks(sorted(images), 400):
            s.execute(update(Inspection).where(Inspection.image_path.in_(chunk), Inspection.image_gone.is_(None))
                      .values(image_gone=note))
        for chunk in _chunks(sorted(heatmaps), 400):
            s.execute(update(Inspection).where(Inspection.heatmap_path.in_(chunk)).values(heatmap_path=None))
    log.info("retention purged %d images and %d heatmaps (%d rows)", len(images), len(heatmaps), n_rows)


def _remove(blobs: BlobStore, rel: str, dry_run: bool) -> int | None:
    """Delete one stored file (or measure it): its size, or None when it was not there. Only
    plain files inside the store's own folders are ever touched."""
    if not rel.startswith(("images/", "heatmaps/")) or ".." in Path(rel).parts:
        log.warning("retention skipped a path outside the store: %r", rel)
        return None
    if blobs.local_root is None:  # the line's object store: no links to follow there
        if dry_run:
            return 0 if blobs.exists(rel) else None
        return blobs.delete(rel)
    path = blobs.local_root / rel
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if not path.is_file() or path.is_symlink():
        return None
    try:  # a folder on the way may be a planted link: only files really inside the store go
        path.resolve().relative_to(blobs.local_root.resolve())
    except ValueError:
        log.warning("retention skipped %s: it leads outside %s", rel, blobs.local_root)
        return None
    if not dry_run:
        try:
            path.unlink()
        except FileNotFoundError:
            return None
    return st.st_size


def _chunks(items: Iterable[Any], n: int) -> Iterable[list[Any]]:
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i:i + n]
