"""`station users`, `station audit`, and the role check that `promote`, `rollback` and
`threshold` share. PINs come from a prompt or the environment, never from the command line
(it shows in the process list and the shell history)."""

from __future__ import annotations

import argparse
import os
import sys

from station.commands.output import emit_json
from station.core.errors import StationError


def _pin(variable: str, prompt: str, twice: bool = False) -> str:
    value = os.environ.get(variable)
    if value:
        return value
    if not sys.stdin.isatty():
        raise StationError(f"no PIN: set ${variable} or run this in a terminal to be asked")
    import getpass

    pin = getpass.getpass(prompt)
    if twice and getpass.getpass("again: ") != pin:
        raise StationError("the two PINs differ; nothing changed")
    return pin


def signed_in(args: argparse.Namespace, action: str, role: str = "engineer") -> str | None:
    """The signed-in user allowed to do `action`, or None on a station without users. The PIN
    is asked for only when the station has users."""
    from station.line.users import check_role, roles_on
    from station.store.db import open_store

    store = open_store(args.data, getattr(args, "db", None), getattr(args, "store", None))
    try:
        with store.session() as s:
            needed = roles_on(s, store.data)
        pin = _pin("STATION_PIN", f"PIN for {args.user}: ") if needed and args.user else None
        return check_role(store, args.user, pin, role, action)
    finally:
        store.engine.dispose()


def record(args: argparse.Namespace, user: str | None, action: str, detail: dict) -> None:
    """An audit event for a change made from the command line."""
    from station.line.users import audit
    from station.store.db import open_store

    store = open_store(args.data, getattr(args, "db", None), getattr(args, "store", None))
    try:
        with store.session.begin() as s:
            audit(s, user or getattr(args, "by", "") or "(no users)", action, detail)
    finally:
        store.engine.dispose()


def cmd_users(args: argparse.Namespace) -> int:
    from station.line.users import add_user, list_users, roles_on, unlock_user
    from station.store.db import open_store

    store = open_store(args.data, args.db, args.store)
    try:
        if args.action == "list":
            with store.session() as s:
                users = [u.to_json() for u in list_users(s)]
            if args.json:
                emit_json(users)
            else:
                for u in users:
                    print(f"{u['name']:<24} {u['role']:<10} {'active' if u['active'] else 'inactive'}")
            return 0
        if args.action == "unlock":
            if not args.name:
                raise StationError("station users unlock NAME --user ENGINEER")
            by = signed_in(args, "unlocking a user")
            with store.session.begin() as s:
                unlock_user(s, args.name, by)
            print(f"{args.name.strip().lower()} may try a PIN again")
            return 0
        if not args.name or not args.role:
            raise StationError("station users add NAME --role operator|inspector|engineer")
        with store.session() as s:
            first = not roles_on(s, store.data)
        by = None if first else signed_in(args, "adding a user")
        pin = _pin("STATION_PIN" if first else "STATION_NEW_PIN", f"PIN for {args.name}: ", twice=True)
        with store.session.begin() as s:
            info = add_user(s, args.name, args.role, pin, by)
    finally:
        store.engine.dispose()
    if args.json:
        emit_json(info.to_json())
    else:
        print(f"added {info.name} ({info.role})" + (": roles are now checked on this station" if first else ""))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from station.core.terminal import safe
    from station.line.users import audit_trail
    from station.store.db import open_store

    store = open_store(args.data, args.db, args.store)
    try:
        with store.session() as s:
            if args.verify:
                from station.store.audit_chain import verify

                report = verify(s, store.data)
            else:
                events = audit_trail(s, args.limit)
    finally:
        store.engine.dispose()
    if args.verify:
        if args.json:
            emit_json(report.to_json())
        elif report.ok:
            print(f"the audit trail holds: {report.rows} chained rows, every link checked")
        if not report.ok:
            raise StationError(f"the audit trail is broken: {report.reason}")
        return 0
    if args.json:
        emit_json(events)
    else:
        for e in events:
            print(safe(f"{e['at']}  {e['user']:<16} {e['action']:<16} {e['detail']}"))
    return 0
