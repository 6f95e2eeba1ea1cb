"""`station settings`, `station purge`, `station backup` and `station restore`: running for months."""

from __future__ import annotations

import argparse

from station.commands.output import emit_json


def cmd_settings(args: argparse.Namespace) -> int:
    from station.commands.users import record, signed_in
    from station.line import settings

    if args.key is not None and args.value is not None:
        who = signed_in(args, "changing a setting")  # as the window asks an engineer for the same change
        before = settings.pick(settings.load(args.data), args.key)
        current = settings.set_value(args.key, args.value, args.data)
        record(args, who, "setting_changed", {"key": args.key, "from": before.get(args.key),
                                                "to": settings.pick(current, args.key).get(args.key)})
    else:
        current = settings.load(args.data)
    flat = current.flat() if args.key is None else settings.pick(current, args.key)
    if args.json:
        emit_json(flat)
    else:
        for key, value in flat.items():
            print(f"{key} = {value!r}")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from station.commands.users import record, signed_in
    from station.line import settings
    from station.store.db import open_store
    from station.upkeep.retention import purge

    who = None if args.dry_run else signed_in(args, "purging images")

    policy = settings.load(args.data).retention
    if args.pass_days is not None:
        policy.pass_days = args.pass_days
    if args.keep_one_in is not None:
        policy.keep_one_in = args.keep_one_in
    with open_store(args.data, args.db, args.store) as store:
        result = purge(store, policy, dry_run=args.dry_run)
    if not args.dry_run:
        record(args, who, "purged", {"files": sum(c.files for c in result.by_category.values()), "bytes": result.bytes,
                                     "pass_days": policy.pass_days, "keep_one_in": policy.keep_one_in})
    if args.json:
        emit_json(result.to_json())
    elif not result.enabled:
        print("retention is off (retention.enabled = false); nothing purged")
    else:
        verb = "would free" if args.dry_run else "freed"
        parts = ", ".join(f"{c.files} {k} ({_mb(c.bytes)})" for k, c in result.by_category.items())
        print(f"{verb} {_mb(result.bytes)}: {parts}; {result.rows} inspections {'would lose' if args.dry_run else 'lost'} their image"
              f" (rows are kept)")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from station.store.db import open_store
    from station.upkeep.backup import backup

    with open_store(args.data, args.db, args.store) as store:
        result = backup(store, Path(args.out))
    if args.json:
        emit_json(result.to_json())
    else:
        print(f"backed up {result.inspections} inspections and {result.reviews} reviews to {result.out} ({_mb(result.bytes)})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from station.commands.users import record, signed_in
    from station.store.audit_chain import HEAD_FILE
    from station.store.db import open_store
    from station.upkeep.backup import restore

    # Checked against the users of the database being replaced, before anything is touched.
    who = signed_in(args, "restoring a backup")
    with open_store(args.data, args.db, args.store) as store:
        result = restore(store, Path(args.backup))
        # The audit trail is the backup's now: the head this station saw later is not in it.
        (store.data / HEAD_FILE).unlink(missing_ok=True)
    record(args, who, "restored", {"backup": str(result.backup), "saved": str(result.saved)})
    if args.json:
        emit_json(result.to_json())
    else:
        print(f"restored {result.inspections} inspections and {result.reviews} reviews from {result.backup}; "
              f"the database as it was is saved in {result.saved}")
    return 0


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
