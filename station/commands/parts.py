"""`station part SERIAL`: everything about one part, found by the serial the PLC gave it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from station.commands.output import emit_json
from station.core.errors import StationError
from station.core.terminal import safe

if TYPE_CHECKING:
    from datetime import datetime


def cmd_part(args: argparse.Namespace) -> int:
    from station.model.registry import trained_with
    from station.store import history
    from station.store.db import open_store

    serial = args.serial.strip()
    if not serial or len(serial) > 64:
        raise StationError("a serial is 1 to 64 characters")
    store = open_store(args.data, args.db, args.store)
    with store.session() as s:
        judged = history.part(s, serial)
        passes = history.passes(s, serial)
    if not judged and not passes:
        raise StationError(f"no part with serial {serial!r} (a serial is read from the PLC with each Trigger: "
                           "handshake.serial in the outputs file)")
    trained = trained_with({j.sha256 for j in judged}, args.data)
    if args.json:
        last = passes[-1] if passes else None
        emit_json({"serial": serial, "verdict": last.verdict if last else judged[-1].verdict, "parts": [p.to_json() for p in passes],
                   "views": [{**j.to_json(store.blobs.locate), "trained_into": trained.get(j.sha256, [])} for j in judged]})
        return 0
    print(safe(f"part {serial}: {len(judged)} inspection{'s' if len(judged) != 1 else ''}"))
    for p in passes:
        if p.views:
            why = f" ({p.reason})" if p.reason else f" (the {p.view} view)" if p.view else ""
            print(safe(f"  {p.captured_at}  {p.station or '-'}  part {p.verdict.upper()}{why}  views {', '.join(p.views)}"))
    for j in judged:
        product = f"  recipe {j.recipe} v{j.recipe_version}" if j.recipe else ""
        view = f"  {j.view}" if j.view else ""
        print(safe(f"  #{j.id}{view}  {j.captured_at}  {j.station or '-'}  {j.verdict.upper()} ({j.predicted}, p_defect {j.p_defect:.3f})"
                   f"  model {j.model} {j.model_version}{product}"))
        print(safe(f"      image {'gone: ' + j.image_gone if j.image_gone else store.blobs.locate(j.image_path)}"
                   + (f"  exported {j.exported_at}" if j.exported_at else "")))
        for rv in j.reviews:
            what = f"undone (back to {rv.previous or 'the queue'})" if rv.label is None else f"{rv.previous or j.predicted} -> {rv.label}"
            print(safe(f"      reviewed {rv.at} by {rv.by}: {what}" + (f"  ({rv.note})" if rv.note else "")))
        if trained.get(j.sha256):
            print(safe(f"      went into models: {', '.join(trained[j.sha256])}"))
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from pathlib import Path

    from station import __version__
    from station.line.recipes import ALL
    from station.store.db import open_store
    from station.upkeep import trace

    out = Path(args.out)
    if args.verify:
        wrong = trace.verify(out)
        if args.json:
            emit_json({"out": str(out), "ok": not wrong, "wrong": wrong})
        else:
            for line in wrong:
                print(safe(f"station trace: {line}"), file=sys.stderr)
            print(f"{out}: {'every file matches its hash' if not wrong else f'{len(wrong)} file(s) do not match'}")
        return 0 if not wrong else 1
    since, until = _when(args.since, end=False), _when(args.until, end=True)
    if until <= since:
        raise StationError("--to must come after --from")
    store = open_store(args.data, args.db, args.store)
    made = trace.write_trace(store, out, since, until, None if args.recipe in (None, ALL) else args.recipe, __version__)
    if args.json:
        emit_json(made.to_json())
    else:
        print(f"{made.inspections} inspections, {made.reviews} reviews, {made.images} images in {out}; check it with: "
              f"station trace --verify {out}" + (f" ({made.missing} images missing from the store, listed)" if made.missing else ""))
    return 0


def _when(text: str | None, end: bool) -> "datetime":
    """`2026-12-01` (the day's start, or for --to its end) or an ISO time, this PC's zone when none is given."""
    from datetime import UTC, datetime, timedelta

    if text is None:
        return datetime.now(UTC) if end else datetime(1970, 1, 1, tzinfo=UTC)  # (a local 1970 fails on Windows east of UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise StationError(f"{text!r} is not a date (2026-12-01) or a time (2026-12-01T06:00)") from None
    if end and len(text) == 10:  # a day: up to its end
        at += timedelta(days=1)
    return at if at.tzinfo else at.astimezone()
