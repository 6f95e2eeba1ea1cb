"""`station models` and `station promote`."""

from __future__ import annotations

import argparse

from station.commands.output import emit_json


def cmd_models(args: argparse.Namespace) -> int:
    from station.model.registry import list_models

    models = list_models(args.data)
    if args.json:
        emit_json([m.to_json() for m in models])  # every field: test_metrics and calibrated_threshold too
        return 0
    for m in models:
        f1 = m.metrics.get("f1")
        print(f"{'*' if m.active else ' '} {m.name:<24} {m.kind:<10} {m.arch or '?':<20} "
              f"f1={f1 if f1 is None else round(f1, 4)}  {', '.join(m.classes)}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from station.commands.users import record, signed_in
    from station.model.registry import promote

    who = signed_in(args, "promote")
    name = promote(args.name, args.data, args.as_name, by=who or args.by, reason=args.reason)
    record(args, who, "promote", {"model": name, "reason": args.reason})
    if args.json:
        emit_json({"active": name})
    else:
        print(f"active model: {name}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from station.commands.users import record, signed_in
    from station.model.registry import rollback

    who = signed_in(args, "rollback")
    name = rollback(args.data, by=who or args.by, reason=args.reason)
    record(args, who, "rollback", {"model": name, "reason": args.reason})
    if args.json:
        emit_json({"active": name})
    else:
        print(f"active model: {name} (rolled back)")
    return 0


def cmd_threshold(args: argparse.Namespace) -> int:
    from station.commands.users import record, signed_in
    from station.model.registry import set_threshold

    who = signed_in(args, "changing a threshold")
    set_threshold(args.name, args.value, args.data)
    record(args, who, "threshold", {"model": args.name, "threshold": args.value})
    if args.json:
        emit_json({"model": args.name, "threshold": args.value})
    else:
        print(f"{args.name}: " + (f"fails at p_defect >= {args.value}" if args.value is not None else "back to its calibrated threshold"))
    return 0
