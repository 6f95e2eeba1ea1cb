"""`station part SERIAL`: everything about one part, found by the serial the PLC gave it."""

from __future__ import annotations

import argparse

from station.commands.output import emit_json
from station.core.errors import StationError
from station.core.terminal import safe


def cmd_part(args: argparse.Namespace) -> int:
    from station.store import history
    from station.store.db import open_store

    serial = args.serial.strip()
    if not serial or len(serial) > 64:
        raise StationError("a serial is 1 to 64 characters")
    store = open_store(args.data, args.db, args.store)
    with store.session() as s:
        judged = history.part(s, serial)
    if not judged:
        raise StationError(f"no part with serial {serial!r} (a serial is read from the PLC with each Trigger: "
                           "handshake.serial in the outputs file)")
    if args.json:
        emit_json({"serial": serial, "inspections": [j.to_json(store.blobs.locate) for j in judged]})
        return 0
    print(safe(f"part {serial}: {len(judged)} inspection{'s' if len(judged) != 1 else ''}"))
    for j in judged:
        product = f"  recipe {j.recipe} v{j.recipe_version}" if j.recipe else ""
        print(safe(f"  #{j.id}  {j.captured_at}  {j.station or '-'}  {j.verdict.upper()} ({j.predicted}, p_defect {j.p_defect:.3f})"
                   f"  model {j.model} {j.model_version}{product}"))
        print(safe(f"      image {'gone: ' + j.image_gone if j.image_gone else store.blobs.locate(j.image_path)}"
                   + (f"  exported {j.exported_at}" if j.exported_at else "")))
        for rv in j.reviews:
            what = f"undone (back to {rv.previous or 'the queue'})" if rv.label is None else f"{rv.previous or j.predicted} -> {rv.label}"
            print(safe(f"      reviewed {rv.at} by {rv.by}: {what}" + (f"  ({rv.note})" if rv.note else "")))
    return 0
