"""The rows of a batch in the database: one transaction per batch, each image judged by a model
stored once (the unique index on image and model decides, so a forwarded batch whose commit had
already landed is a no-op the second time)."""

from __future__ import annotations

from enum import Enum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from station.store import repo
from station.store.schema import Inspection, Part


class Commit(Enum):
    """What became of a batch's transaction."""

    STORED = "stored"
    SPOOL = "spool"  # the database cannot be reached: the batch belongs in the spool
    DATABASE_FULL = "database full"  # the database's disk is full: judged, signalled, not recorded


def make(values: dict[str, Any]) -> Inspection:
    """A row from its columns; `_model` (a view judged by its own recipe's model) is that
    model's version, turned into its id when the row is written (`models`)."""
    values = dict(values)
    version = values.pop("_model", None)
    row = Inspection(**values)
    row._model = version  # type: ignore[attr-defined]  # (not a column: read by write())
    return row


def write(s: Session, run_id: int, rows: list[Inspection], failures: list[tuple[str, str]],
          parts: list[dict[str, Any]] | None = None, models: dict[str, dict[str, Any]] | None = None) -> None:
    """One batch: its rows (each view under the model that judged it), failures and parts."""
    ids: dict[str, int] = {}
    for row in rows:
        version = getattr(row, "_model", None)
        if version is not None:
            if version not in ids:
                m = (models or {})[version]
                ids[version] = repo.model_id(s, m["name"], version, m["card"])
            row.model_id = ids[version]
    by_model: dict[int, list[Inspection]] = {}
    for row in rows:
        by_model.setdefault(row.model_id, []).append(row)
    for group in by_model.values():
        insert(s, group)
    for origin, error in failures:
        repo.add_failure(s, run_id, origin, error)
    if parts:
        insert_parts(s, parts)
    s.flush()
    repo.count_run(s, run_id, len(rows), len(failures))


def insert_parts(s: Session, parts: list[dict[str, Any]]) -> None:
    """The parts' rows, each once: a forwarded batch whose commit had landed adds none again."""
    known = set(s.scalars(select(Part.uid).where(Part.uid.in_([p["uid"] for p in parts]))))
    s.add_all([Part(**p) for p in parts if p["uid"] not in known])


def begin_run(s: Session, start: dict[str, Any]) -> tuple[int, int]:
    """The model row and the run row of a run that began while the database was down, from the
    start its spooled batches carry (station.record.recorder)."""
    model_id = repo.model_id(s, start["model"], start["version"], start["card"])
    return model_id, repo.start_run(s, start["source"], model_id, start["station"], start["store"])


def insert(s: Session, rows: list[Inspection]) -> None:
    """Add the rows; an image this model already judged (another station on this data dir, a
    window re-run, the same file twice) keeps its one row, and the result gets that row's id.
    The database's unique index decides: a race between two writers is settled by it."""
    if not rows:
        return
    model_id = rows[0].model_id  # a forwarded batch may be an earlier run's, with its own model
    known = stored(s, [r.sha256 for r in rows], model_id)
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
                found = stored(s, [row.sha256], model_id).get(row.sha256)
                if found is None:
                    raise  # not the unique index: a bug
        if found is not None:
            row.id = found[0]
            if row.image_gone is None and found[1] is not None:  # stored now: a row that had lost its image has it again
                s.execute(update(Inspection).where(Inspection.id == row.id, Inspection.image_gone.is_not(None))
                          .values(image_gone=None, image_path=row.image_path, heatmap_path=row.heatmap_path))
        known[row.sha256] = (row.id, row.image_gone)


def ids(s: Session, digests: list[str], model_id: int) -> dict[str, int]:
    return {sha: found[0] for sha, found in stored(s, digests, model_id).items()}


def stored(s: Session, digests: list[str], model_id: int) -> dict[str, tuple[int, Any]]:
    """sha256 -> (id, image_gone) of the rows this model already has for these images."""
    q = select(Inspection.sha256, Inspection.id, Inspection.image_gone).where(
        Inspection.model_id == model_id, Inspection.dup == 0, Inspection.sha256.in_(set(digests)))
    return {sha: (i, gone) for sha, i, gone in s.execute(q)}
