"""`station recipes` and `station golden`: products, their settings, their golden parts.

Changing a recipe needs an engineer on a station with users (`--user`, PIN from $STATION_PIN);
listing, showing and the golden check do not. Every change is a new version, in the audit trail."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from station.commands.output import emit_json
from station.core.errors import StationError
from station.core.terminal import safe


def _store(args: argparse.Namespace) -> Any:
    from station.store.db import open_store

    return open_store(args.data, args.db, args.store)


def _station(args: argparse.Namespace) -> str:
    from station.line.settings import station_name

    return station_name(args.station, args.data)


def scope(args: argparse.Namespace, store: Any) -> str | None:
    """The recipe queue, export, stats and training keep to: `--recipe NAME`, else the station's
    active one; None means every product (`--recipe all`, or a station that has none)."""
    from station.line import recipes

    with store.session() as s:
        recipe = recipes.resolve(s, getattr(args, "recipe", None), _station(args))
    return recipe.name if recipe is not None else None


def before_pointing(args: argparse.Namespace) -> str:
    """`--recipe NAME` on teach/train, checked first: a bad recipe name or a refused PIN is one
    line before minutes of training, not after. Who changes the recipe ("" without --recipe)."""
    if not args.recipe:
        return ""
    from station.core.labels import validate_label
    from station.line.recipes import ALL

    if args.recipe == ALL:
        raise StationError(f"--recipe {ALL} judges no product: name the one this model is for")
    validate_label(args.recipe)
    return editor(args)


def recipe_model(args: argparse.Namespace) -> str | None:
    """`train --recipe NAME` without --base: the recipe's model, fine-tuned (None: no such recipe yet)."""
    from station.line import recipes

    store = _store(args)
    try:
        with store.session() as s:
            found = [r for r in recipes.list_recipes(s) if r.name == args.recipe]
    finally:
        store.engine.dispose()
    return found[0].model if found else None


def point_recipe(args: argparse.Namespace, model_dir: str, by: str) -> dict[str, Any]:
    """`teach`/`train --recipe NAME`: the new model registered, and recipe NAME made (or its
    model set, as its next version) to judge with it. `by`: before_pointing(args)."""
    from station.line import recipe_files, recipes

    model = recipe_files.model_for(str(Path(model_dir).resolve()), args.data)
    store = _store(args)
    try:
        with store.session.begin() as s:
            return recipes.point(s, args.recipe, model, by, _station(args)).to_json()
    finally:
        store.engine.dispose()


def editor(args: argparse.Namespace) -> str:
    """Who changes a recipe: the signed-in engineer (PIN checked), else --user."""
    from station.commands.users import signed_in

    return signed_in(args, "changing recipes") or args.user or ""


def _words(args: argparse.Namespace) -> None:
    """The positional words as each action reads them: NAME [KEY [VALUE]], `export NAME OUT`,
    `golden NAME pass|fail IMAGE...`."""
    w = list(args.words)
    args.name = w[0] if w else None
    args.key = w[1] if len(w) > 1 and args.action in ("set", "golden") else None
    args.value = w[2] if len(w) > 2 and args.action == "set" else (w[1] if len(w) > 1 and args.action == "export" else None)
    args.images = w[2:] if args.action == "golden" else []
    most = {"list": 0, "add": 1, "show": 1, "use": 1, "import": 1, "export": 2, "set": 3}.get(args.action)
    if most is not None and len(w) > most:
        raise StationError(f"station recipes {args.action}: unexpected {' '.join(w[most:])!r}")


def cmd_recipes(args: argparse.Namespace) -> int:
    from station.line import recipes

    _words(args)
    store = _store(args)
    try:
        station = _station(args)
        if args.action == "list":
            with store.session() as s:
                current = recipes.active(s, station)
                out: Any = [{"name": r.name, "model": r.model, "version": r.version, "active": current is not None and current.name == r.name,
                             "masks": len(r.masks), "golden": len(r.golden), "threshold": r.threshold} for r in recipes.list_recipes(s)]
            if not args.json:
                for r in out:
                    print(safe(f"{'*' if r['active'] else ' '} {r['name']:<24} v{r['version']:<4} model {r['model']:<24} "
                               f"{r['golden']} golden parts, {r['masks']} masks"))
                if not out:
                    print("no recipes yet: station recipes add NAME --model M", file=sys.stderr)
        else:
            out = _act(args, store, station)
        if args.json:
            emit_json(out)
        elif args.action != "list":
            print(safe(_said(args.action, out)))
        return 0
    finally:
        store.engine.dispose()


def _need(args: argparse.Namespace, *names: str) -> None:
    missing = [n for n in names if not getattr(args, n, None)]
    if missing:
        raise StationError(f"station recipes {args.action} needs {' and '.join(m.upper() for m in missing)}")


def _act(args: argparse.Namespace, store: Any, station: str) -> dict[str, Any]:
    from station.line import golden, recipe_files, recipes

    if args.action == "show":
        _need(args, "name")
        with store.session() as s:
            r = recipes.get(s, args.name)
            current = recipes.active(s, station)
            versions = [{"version": h.version, "by": h.by, "at": h.at.isoformat() if h.at else None} for h in recipes.history(s, args.name)]
        return {**r.to_json(), "active": current is not None and current.name == r.name, "history": versions}
    if args.action == "export":
        _need(args, "name", "value")
        with store.session() as s:
            r = recipes.get(s, args.name)
        return recipe_files.export(r, store.blobs, args.data, Path(args.value))
    by = editor(args)
    with store.session.begin() as s:
        if args.action == "add":
            _need(args, "name")
            if not args.model:
                raise StationError("station recipes add NAME --model M (a registered model's name)")
            r = recipes.add(s, args.name, recipe_files.model_for(args.model, args.data), by, station)
        elif args.action == "set":
            _need(args, "name", "key")
            if args.value is None:
                raise StationError("station recipes set NAME KEY VALUE (\"none\" clears a setting)")
            value = recipe_files.model_for(args.value, args.data) if args.key == "model" else args.value
            r = recipes.save(s, recipes.with_setting(recipes.get(s, args.name), args.key, value), by, station)
        elif args.action == "golden":
            _need(args, "name", "key")
            if args.key not in recipes.VERDICTS or not args.images:
                raise StationError("station recipes golden NAME pass|fail IMAGE... (the verdict each image must get)")
            r = recipes.save(s, golden.with_parts(recipes.get(s, args.name), store.blobs, [Path(p) for p in args.images], args.key),
                             by, station)
        elif args.action == "use":
            _need(args, "name")
            r = recipes.change_to(s, args.name, station, by, how="cli")
        elif args.action == "rollback":
            _need(args, "name")
            r = recipes.roll_back(s, args.name, by, station)
        elif args.action == "import":
            _need(args, "name")
            r = recipe_files.import_(Path(args.name), s, store.blobs, args.data, by, station)
        else:  # argparse's choices keep this from happening
            raise StationError(f"unknown action {args.action!r}")
    return r.to_json()


def _said(action: str, out: dict[str, Any]) -> str:
    if action == "export":
        return f"recipe {out['recipe']} (version {out['version']}) exported to {out['out']}: {out['files']} files, recipe.json sha256 {out['sha256']}"
    if action == "use":
        return f"this station now runs {out['name']} (version {out['version']})"
    if action == "rollback":
        return f"recipe {out['name']} judges with {out['model']} again (version {out['version']})"
    if action == "show":
        masks = "; ".join(",".join(f"{v:g}" for v in m) for m in out["masks"]) or "none"
        return (f"{out['name']} v{out['version']}{' (active)' if out['active'] else ''}: model {out['model']}, threshold "
                f"{out['threshold'] if out['threshold'] is not None else 'the model’s'}, masks {masks}, {len(out['golden'])} golden parts "
                f"({out['golden_policy']} when one is wrong), source {out['source'] or '-'}, outputs {out['outputs'] or '-'}")
    return f"recipe {out['name']}: version {out['version']}"


def cmd_golden(args: argparse.Namespace) -> int:
    from station.line import golden, recipes
    from station.model import load_model

    store = _store(args)
    try:
        with store.session() as s:
            recipe = recipes.get(s, args.recipe_name)
        model = load_model(recipe.model, args.data, device=args.device, backend=args.backend)
        golden.apply(recipe, model)
        report = golden.check(recipe, model, store.blobs)
        with store.session.begin() as s:
            golden.record(s, report, args.user or "", _station(args))
    finally:
        store.engine.dispose()
    if args.json:
        emit_json(report.to_json())
    else:
        for p in report.parts:
            mark = "ok   " if p.ok else "WRONG"
            got = p.error or f"{p.verdict} (p_defect {p.p_defect:.3f})"
            print(safe(f"{mark} {p.name:<32} expected {p.expected}, got {got}"))
        print(safe(report.summary()), file=sys.stderr if not report.passed else sys.stdout)
    return 0 if report.passed else 1
