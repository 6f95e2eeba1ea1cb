"""`station teach`, `station grab` and `station line-data`."""

from __future__ import annotations

import argparse
import sys

from station.commands.output import Progress, emit_json
from station.commands.recipes import before_pointing, point_recipe
from station.core.errors import StationError
from station.core.terminal import safe


def cmd_teach(args: argparse.Namespace) -> int:
    from station.train.teach import teach

    by = before_pointing(args)
    result = teach(args.good, args.out, bank=args.bank, seed=args.seed, name=args.name, progress=Progress(), size=args.size,
                   template_mode=args.template, texture_mode=args.texture)
    recipe = point_recipe(args, result.model, by) if args.recipe else None
    if args.json:
        emit_json({**result.to_json(), **({"recipe": recipe} if recipe else {})})
    else:
        tmpl = ("registered template: yes" if result.template
                else f"registered template: no ({result.template_note}); texture memory: {'yes' if result.texture else 'no'}")
        print(f"taught {result.model} from {result.images} good images: memory bank {result.memory_bank} patches, "
              f"{tmpl}; {result.seconds} s; " + (f"recipe {recipe['name']} (version {recipe['version']}) judges with it: "
                                                  f"station run SRC --recipe {recipe['name']}" if recipe else f"inspect with --model {result.model}"))
    return 0


def cmd_line_data(args: argparse.Namespace) -> int:
    from station.train.photolines import generate_line

    for flag in ("good", "stream", "test"):
        if getattr(args, flag) < 0 or getattr(args, flag) > 100_000:
            raise StationError(f"--{flag} must be between 0 and 100000")
    counts = generate_line(args.out, args.line, args.good, args.stream, args.test, args.seed, args.size, progress=Progress(),
                           strength=args.strength, split_mode=args.split)
    print(f"wrote line {args.line} to {args.out}: " + "; ".join(f"{k} {sum(v.values())}" for k, v in counts.items()), file=sys.stderr)
    return 0


def cmd_grab(args: argparse.Namespace) -> int:
    from station.sources.grab import grab_frames

    result = grab_frames(args.source, args.out, args.frames, every=args.every, progress=Progress())
    for f in result.failed:
        print(safe(f"skipped {f['origin']}: {f['error']}"), file=sys.stderr)
    if args.json:
        emit_json(result.to_json())
    else:
        print(f"saved {len(result.frames)} frames to {result.out}; remove any that are not good parts, "
              f"then: station teach {result.out} --out MODEL")
    return 0
