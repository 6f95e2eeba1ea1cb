"""`station models` and `station promote`."""

from __future__ import annotations

import argparse

from station.commands.output import emit_json


def cmd_models(args: argparse.Namespace) -> int:
    from station.registry import list_models

    models = list_models(args.data)
    if args.json:
        emit_json([{k: m[k] for k in ("name", "active", "classes", "metrics", "created", "arch", "threshold", "parent", "path")} for m in models])
        return 0
    for m in models:
        f1 = m["metrics"].get("f1")
        print(f"{'*' if m['active'] else ' '} {m['name']:<24} {m['arch'] or '?':<20} f1={f1 if f1 is None else round(f1, 4)}  {', '.join(m['classes'])}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from station.registry import promote

    name = promote(args.name, args.data, args.as_name)
    if args.json:
        emit_json({"active": name})
    else:
        print(f"active model: {name}")
    return 0
