"""`station doctor`."""

from __future__ import annotations

import argparse

from station.commands.output import emit_json


def cmd_doctor(args: argparse.Namespace) -> int:
    from station.upkeep.doctor import diagnose, render

    report = diagnose(args.data, args.db, camera_limit=args.cameras, store=args.store, station=args.station)
    if args.json:
        emit_json(report.to_json())
    else:
        print(render(report))
    return 0  # the report is the job; what it found is in it
