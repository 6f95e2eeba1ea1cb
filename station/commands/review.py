"""`station queue`, `station label`, `station export`. None of these imports torch (`queue --group`
loads the model, which is what it needs one for)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from station.commands.output import emit_json
from station.core.errors import StationError
from station.core.terminal import safe


def cmd_queue(args: argparse.Namespace) -> int:
    from station.commands.recipes import scope
    from station.store import conflicts, repo
    from station.store.db import open_store

    if args.limit < 1:
        raise StationError("--limit must be at least 1")
    store = open_store(args.data, args.db, args.store)
    recipe = scope(args, store)
    with store.session() as s:
        if args.conflicts:
            found = conflicts.every(s)
            ids = [i for c in found for ids in c.labels.values() for i in ids][: args.limit]
            rows = [repo.get_inspection(s, i) for i in ids]
        else:
            rows = repo.queue(s, args.order, args.limit, station=args.from_station, recipe=recipe)
        same = conflicts.labels_of(s, [r.sha256 for r in rows])
    clashes = conflicts.conflicting(same)
    items: list[dict[str, Any]] = [
        {
            # An image retention purged, or a full disk never stored, is null, and image_gone says why.
            # A path on this PC, or the object's URL in the line's store.
            "id": r.id, "uid": r.uid, "serial": r.serial, "origin": r.origin, "image": None if r.image_gone else store.blobs.locate(r.image_path), "station": r.station,
            "image_gone": r.image_gone, "predicted": r.predicted, "part": r.part_uid, "view": r.view,
            "p_defect": round(r.p_defect, 6), "verdict": r.verdict, "captured_at": repo.iso_utc(r.captured_at),
            "uncertainty": round(r.uncertainty, 6), "label": r.label,
            # What identical image content is labelled elsewhere; two or more labels are a conflict.
            "same_image_labels": same.get(r.sha256, {}),
            "conflict": clashes[r.sha256].names() if r.sha256 in clashes else None,
        }
        for r in rows
    ]
    if args.group:
        items = _grouped(args, store, rows, items)
    if args.json:
        emit_json(items)
    else:
        for it in items:
            gone = f"  [no image: {it['image_gone']}]" if it["image_gone"] else ""
            flag = f"  [conflict: {' vs '.join(it['conflict'])}]" if it["conflict"] else ""
            now = f"labelled {it['label']}" if it["label"] else f"{it['predicted']:<12} p_defect={it['p_defect']:.3f}"
            group = f"G{it['group']:<3} " if it.get("group") else ("     " if args.group else "")
            print(safe(f"{it['id']:>8}  {group}{it['verdict']:<4}  {now}  {it['origin']}{gone}{flag}"))
        if not items:
            print("no conflicting labels" if args.conflicts else "the review queue is empty", file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from station.commands.recipes import scope
    from station.core import shifts
    from station.line import settings
    from station.store import stats
    from station.store.db import open_store

    shift = shifts.current(settings.load(args.data).floor.shifts) if args.shift else None
    store = open_store(args.data, args.db, args.store)
    recipe = scope(args, store)
    with store.session() as s:
        since, until = (shift.start, shift.end) if shift else (None, None)
        counts = stats.counts(s, run_id=args.run, since=since, until=until, station=args.from_station, recipe=recipe)
        per_station = stats.by_station(s, run_id=args.run, since=since, until=until, recipe=recipe) if not args.from_station else {}
    out = counts.to_json()
    out["by_station"] = {name: c.to_json() for name, c in per_station.items()}
    if args.from_station:
        out["station"] = args.from_station
    out["recipe"] = recipe  # null: every product
    if shift is not None:
        out.update({"shift": shift.label, "since": shift.start.isoformat(timespec="seconds"), "until": shift.end.isoformat(timespec="seconds")})
    if args.json:
        emit_json(out)
    else:
        where = f"shift {shift.label}" if shift else (f"run {args.run}" if args.run else "all runs")
        yield_ = "–" if counts.yield_ is None else f"{counts.yield_:.1%}"
        if args.from_station:
            where += f", station {args.from_station}"
        if recipe:
            where += f", recipe {recipe}"
        parts = f" ({counts.parts} parts of several views, {counts.failed_parts} failed)" if counts.parts != counts.inspected else ""
        print(f"{where}: {counts.inspected} inspected{parts}, {counts.passed} passed, {counts.failed} failed, "
              f"{counts.reviewed} reviewed ({counts.overturned} overturned), yield after reviews {yield_}")
        if len(per_station) > 1:
            for name, c in per_station.items():
                print(safe(f"  {name}: {c.inspected} inspected, {c.passed} passed, {c.failed} failed, {c.reviewed} reviewed"))
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from station.commands.users import signed_in
    from station.store import repo
    from station.store.db import open_store

    args.user = args.by
    signed_in(args, "labelling", role="inspector")  # on a station with users: --by's PIN, an inspector or above
    store = open_store(args.data, args.db, args.store)
    with store.session.begin() as s:
        out = repo.add_review(s, args.id, args.label, args.by, args.note)
    if out.conflict:
        print(safe(f"station label: note: the same image carries other labels: {out.conflict}; "
                   "station queue --conflicts lists such items"), file=sys.stderr)
    if out.contested:
        print(f"station label: note: inspection {args.id} was already reviewed by {out.already_reviewed_by}; "
              "both reviews are kept, yours is now the current label", file=sys.stderr)
    if args.json:
        emit_json(out.to_json())
    else:
        print(f"inspection {out.id}: {out.previous} -> {out.label}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from station.commands.recipes import scope
    from station.learn.export import export
    from station.store.db import open_store

    store = open_store(args.data, args.db, args.store)
    out = export(store, args.out, include_unreviewed=args.include_unreviewed, val_fraction=args.val_fraction, seed=args.seed,
                 station=args.from_station, recipe=scope(args, store), view=args.view)
    for err in out.errors:
        print(safe(f"station export: left out inspection {err.id}: {err.error}"), file=sys.stderr)
    if out.conflicts:
        print(f"station export: {out.conflicts} images carry conflicting labels; each is exported under its newest review "
              "and marked in manifest.csv's conflict column (station queue --conflicts lists them)", file=sys.stderr)
    if args.json:
        emit_json(out.to_json())
    else:
        classes = ", ".join(f"{k} {v}" for k, v in out.classes.items()) or "nothing reviewed yet"
        print(f"exported {out.train} train + {out.val} val to {out.out}: {classes}")
    return 0


def cmd_shadow(args: argparse.Namespace) -> int:
    from station.store.db import open_store
    from station.trial.report import shadow_report

    store = open_store(args.data, args.db, args.store)
    with store.session() as s:
        report = shadow_report(s, args.model)
    if args.json:
        emit_json(report.to_json())
    else:
        print("\n".join(report.lines()))
    return 0


def _grouped(args: argparse.Namespace, store: Any, rows: list[Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items with alike defect regions side by side: `group` 1 is the largest; an item whose
    image cannot be read has none and comes last (the queue still shows it)."""
    from station.commands.inspection import backend_arg
    from station.model import load_model
    from station.model.grouping import group_stored

    model = load_model(args.model, args.data, device=args.device, backend=backend_arg(args))
    placed = group_stored(model, store.blobs, [None if r.image_gone else r.image_path for r in rows])
    for it, p in zip(items, placed, strict=True):
        it["group"], it["group_size"] = (p.group, p.size) if p else (None, None)
    return sorted(items, key=lambda it: it["group"] or len(items) + 1)  # stable: queue order within a group
