"""`station train`, `station evaluate`, `station demo-data`."""

from __future__ import annotations

import argparse
import sys

from station.commands.inspection import backend_arg
from station.commands.output import Progress, emit_json
from station.commands.recipes import before_pointing, point_recipe, recipe_model
from station.core.errors import StationError


def cmd_train(args: argparse.Namespace) -> int:
    from station.train.config import TrainConfig
    from station.train.trainer import train

    # The recipe's defaults live in TrainConfig; an option given on the command line overrides its field.
    cfg = TrainConfig(arch=args.arch, seed=args.seed, weights=args.weights, name=args.name, input_size=args.input_size)
    for option in ("views", "finetune_epochs", "anchor"):
        if getattr(args, option) is not None:
            setattr(cfg, option, getattr(args, option))
    if cfg.anchor < 0:
        raise StationError("--anchor must be 0 or more")
    if args.epochs is not None:
        if args.epochs < 1:
            raise StationError("--epochs must be at least 1")
        cfg.epochs = args.epochs
    elif args.arch == "small_cnn":
        cfg.epochs = 25
    by = before_pointing(args)
    base_name = args.base or (recipe_model(args) if args.recipe else None)
    base = None
    if base_name:
        from station.model.registry import resolve_model

        base = str(resolve_model(base_name, args.data))
    result = train(args.dataset, args.out, cfg, base=base, progress=Progress())
    # A recipe judges with the new model only when it is not worse than the one it came from on
    # reviews neither learned from (the same rule as promotion); otherwise it keeps its model.
    worse = (result.get("comparison") or {}).get("verdict") == "worse"
    recipe = point_recipe(args, args.out, by) if args.recipe and not worse else None
    if args.json:
        emit_json({**result, **({"recipe": recipe} if recipe else {})})
    else:
        m = result["metrics"]
        print(f"trained {result['model']}: {len(result['classes'])} classes, val f1 {m['f1']:.4f}, threshold {result['threshold']:.3f}, {result['seconds']} s")
        if "comparison" in result:
            cmp = result["comparison"]
            note = " (not offered for promotion; `station promote --force` overrides)" if cmp["verdict"] == "worse" else ""
            print(f"compared with its base: {cmp['reason']}{note}")
        if recipe:
            print(f"recipe {recipe['name']} (version {recipe['version']}) judges with it from its next load")
        elif args.recipe:
            print(f"recipe {args.recipe} keeps its model: the new one is worse")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from station.model import load_model
    from station.train.evaluate import evaluate

    model = load_model(args.model, args.data, device=args.device, backend=backend_arg(args))
    result = evaluate(model, args.dataset, args.report, progress=Progress())
    if args.json:
        emit_json(result)
    else:
        auroc = "n/a" if result["auroc"] is None else f"{result['auroc']:.4f}"
        print(f"n={result['n']} accuracy={result['accuracy']:.4f} precision={result['precision']:.4f} recall={result['recall']:.4f} f1={result['f1']:.4f} auroc={auroc}")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from station.train import synth

    if args.count < 1:
        raise StationError("--count must be at least 1")
    families = tuple(f.strip() for f in args.families.split(",")) if args.families else synth.DEFAULT_FAMILIES
    if not 0.0 <= args.damaged <= 1.0:
        raise StationError("--damaged is a share between 0 and 1")
    try:
        counts = synth.generate(args.out, args.count, args.seed, families, args.size, progress=Progress())
        if args.codes:
            from pathlib import Path

            from station.train.code_parts import mark_parts

            mark_parts(Path(args.out), args.codes, args.damaged, args.seed)
    except ValueError as exc:
        raise StationError(str(exc)) from None
    print(f"wrote {sum(counts.values())} images to {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
          + (f"; each with its serial as a {args.codes} code (codes.csv)" if args.codes else ""), file=sys.stderr)
    return 0
