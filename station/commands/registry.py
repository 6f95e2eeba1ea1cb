"""`station models` and `station promote`."""

from __future__ import annotations

import argparse

from station.commands.output import emit_json


def _line(args: argparse.Namespace):
    """The line's store when the database is a shared server (else None: this PC alone)."""
    import os

    url = args.db or os.environ.get("STATION_DB")
    if not url or url.startswith("sqlite"):
        return None
    from station.store.db import open_store

    return open_store(args.data, args.db, args.store)


def _station(args: argparse.Namespace) -> str:
    from station.line.settings import station_name

    return station_name(args.station, args.data)


def cmd_models(args: argparse.Namespace) -> int:
    from station.model.registry import list_models

    line = _line(args)
    history = []
    if line is not None:
        from station.line.line_registry import history as line_history
        from station.line.line_registry import sync

        with line:
            sync(line, args.data)  # the line's active model is the one listed active here
            history = line_history(line, 20)
    models = list_models(args.data)
    if args.json:
        out = [m.to_json() for m in models]  # every field: test_metrics and calibrated_threshold too
        if line is not None:
            emit_json({"models": out, "line": [h.to_json() for h in history]})
        else:
            emit_json(out)
        return 0
    for m in models:
        f1 = m.metrics.get("f1")
        print(f"{'*' if m.active else ' '} {m.name:<24} {m.kind:<10} {m.arch or '?':<20} "
              f"f1={f1 if f1 is None else round(f1, 4)}  {', '.join(m.classes)}")
    for h in history:
        print(f"  line: {h.at:%Y-%m-%d %H:%M} {h.action} {h.name} ({h.version}) by {h.by or '?'} at {h.station}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from station.commands.users import record, signed_in
    from station.line.line_registry import promote_model

    who = signed_in(args, "promote")
    line = _line(args)
    try:
        name, published = promote_model(args.name, args.data, line, as_name=args.as_name, by=who or args.by, reason=args.reason,
                                         station=_station(args), force=args.force)
    finally:
        if line is not None:
            line.engine.dispose()
    record(args, who, "promote", {"model": name, "reason": args.reason, "line": bool(published), "forced": bool(args.force)})
    if args.json:
        emit_json({"active": name, "line": published.to_json() if published else None})
    else:
        print(f"active model: {name}" + (" (the whole line)" if published else ""))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from station.commands.users import record, signed_in
    from station.line.line_registry import rollback_model

    who = signed_in(args, "rollback")
    line = _line(args)
    try:
        name = rollback_model(args.data, line, by=who or args.by, reason=args.reason, station=_station(args))
    finally:
        if line is not None:
            line.engine.dispose()
    record(args, who, "rollback", {"model": name, "reason": args.reason})
    if args.json:
        emit_json({"active": name})
    else:
        print(f"active model: {name} (rolled back)")
    return 0


def cmd_threshold(args: argparse.Namespace) -> int:
    from station.commands.users import record, signed_in
    from station.line.line_registry import set_line_threshold

    who = signed_in(args, "changing a threshold")
    line = _line(args)
    try:
        set_line_threshold(args.name, args.value, args.data, line, by=who or "", station=_station(args))
    finally:
        if line is not None:
            line.engine.dispose()
    record(args, who, "threshold", {"model": args.name, "threshold": args.value, "line": line is not None and line.shared})
    if args.json:
        emit_json({"model": args.name, "threshold": args.value})
    else:
        print(f"{args.name}: " + (f"fails at p_defect >= {args.value}" if args.value is not None else "back to its calibrated threshold"))
    return 0
