"""`station queue`, `station label`, `station export`. None of these imports torch."""

from __future__ import annotations

import argparse
import sys

from station.commands.output import emit_json
from station.errors import StationError
from station.terminal import safe


def cmd_queue(args: argparse.Namespace) -> int:
    from station.store import repo
    from station.store.db import open_store

    if args.limit < 1:
        raise StationError("--limit must be at least 1")
    store = open_store(args.data, args.db)
    with store.session() as s:
        rows = repo.queue(s, args.order, args.limit)
    items = [
        {
            # An image retention purged, or a full disk never stored, is null, and image_gone says why.
            "id": r.id, "origin": r.origin, "image": None if r.image_gone else str(store.data / r.image_path),
            "image_gone": r.image_gone, "predicted": r.predicted,
            "p_defect": round(r.p_defect, 6), "verdict": r.verdict, "captured_at": repo.iso_utc(r.captured_at),
            "uncertainty": round(r.uncertainty, 6),
        }
        for r in rows
    ]
    if args.json:
        emit_json(items)
    else:
        for it in items:
            gone = f"  [no image: {it['image_gone']}]" if it["image_gone"] else ""
            print(safe(f"{it['id']:>8}  {it['verdict']:<4}  {it['predicted']:<12} p_defect={it['p_defect']:.3f}  {it['origin']}{gone}"))
        if not items:
            print("the review queue is empty", file=sys.stderr)
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from station.commands.users import signed_in
    from station.store import repo
    from station.store.db import open_store

    args.user = args.by
    signed_in(args, "labelling", role="inspector")  # on a station with users: --by's PIN, an inspector or above
    store = open_store(args.data, args.db)
    with store.session.begin() as s:
        out = repo.add_review(s, args.id, args.label, args.by, args.note)
    if out.contested:
        print(f"station label: note: inspection {args.id} was already reviewed by {out.already_reviewed_by}; "
              "both reviews are kept, yours is now the current label", file=sys.stderr)
    if args.json:
        emit_json(out.to_json())
    else:
        print(f"inspection {out.id}: {out.previous} -> {out.label}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from station.export import export
    from station.store.db import open_store

    store = open_store(args.data, args.db)
    out = export(store, args.out, include_unreviewed=args.include_unreviewed, val_fraction=args.val_fraction, seed=args.seed)
    for err in out.errors:
        print(safe(f"station export: left out inspection {err.id}: {err.error}"), file=sys.stderr)
    if args.json:
        emit_json(out.to_json())
    else:
        classes = ", ".join(f"{k} {v}" for k, v in out.classes.items()) or "nothing reviewed yet"
        print(f"exported {out.train} train + {out.val} val to {out.out}: {classes}")
    return 0
