"""`station bench`."""

from __future__ import annotations

import argparse

from station.commands.output import Progress, emit_json
from station.core.errors import StationError


def cmd_bench(args: argparse.Namespace) -> int:
    from station.bench import bench

    if args.images < 1 or args.queue_rows < 1 or (args.reps is not None and args.reps < 1):
        raise StationError("--images, --queue-rows and --reps must be at least 1")
    result = bench(args.images, args.queue_rows, getattr(args, "model", None), args.data, progress=Progress(), backend=args.backend,
                   reps=args.reps)
    if args.json:
        emit_json(result)
    else:
        for k, v in result.items():
            print(f"{k:28} {v}")
    return 0
