"""`station bench`."""

from __future__ import annotations

import argparse

from station.commands.output import Progress, emit_json
from station.core.errors import StationError


def cmd_bench(args: argparse.Namespace) -> int:
    from station.bench import bench

    if args.images < 1 or args.queue_rows < 1:
        raise StationError("--images and --queue-rows must be at least 1")
    result = bench(args.images, args.queue_rows, getattr(args, "model", None), args.data, progress=Progress(), backend=args.backend)
    if args.json:
        emit_json(result)
    else:
        for k, v in result.items():
            print(f"{k:28} {v}")
    return 0
