"""Local users and roles, and the audit trail of what they changed.

Three roles, each able to do what the one before can: an operator runs the line, an inspector
also reviews, an engineer also changes models, thresholds and settings. A PIN (or a password)
is stored as a scrypt hash with its own salt, never as text.

A fresh station has no users and checks no roles, so a single PC works out of the box. The first
user must be an engineer (they add everyone else); from then on `promote`, `rollback` and
threshold changes need an engineer's name and PIN, and each is recorded in `audit` with the name.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from station.core.errors import StationError
from station.core.labels import validate_label
from station.protocols import StationStore
from station.store.audit_chain import append
from station.store.repo import iso_utc, now
from station.store.schema import AuditEvent, User

ROLES = ("operator", "inspector", "engineer")
# scrypt cost: 64 MiB and 0.18 s a guess on this project's 2-core test PC, so the 10^6 six-digit
# PINs of a copied database cost 49 core-hours to try. A hash keeps the cost it was made with.
_N, _R, _P = 2**16, 8, 1
_MAXMEM = 2**27
MIN_PIN = {"operator": 4, "inspector": 4, "engineer": 6}
SLOW_AFTER = 3  # failed PINs in a row; then each try waits 2, 4, 8 ... s after the last failure
LOCK_AFTER = 10  # failed PINs in a row lock the user until an engineer unlocks them


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: str
    active: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "active": self.active}


def hash_pin(pin: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def _pin_matches(pin: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), maxmem=_MAXMEM)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def has_users(session: Session) -> bool:
    """Whether this database has ever had users: a row (active or not), or one added in the audit.

    Once on, roles stay on whatever an SQL edit does to the table: with every user set inactive
    (or deleted) promote asked for no PIN at 0.9.0; now nobody can sign in until a backup is
    restored, and `doctor` says why."""
    if session.scalar(select(func.count()).select_from(User)):
        return True
    return bool(session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user_added")))


ROLES_MARKER = "roles-on"  # in the data dir: a database emptied of users and audit still checks roles


def roles_on(session: Session, data: Path) -> bool:
    """`has_users`, remembered by a file beside the database (deleting it takes the PC's own
    rights, not the database's)."""
    marker = data / ROLES_MARKER
    if has_users(session):
        if not marker.exists():
            try:
                marker.write_text("this station checks roles: its database has users\n", encoding="utf-8")
            except OSError:
                pass  # a read-only data dir: the database alone decides
        return True
    return marker.exists()


def list_users(session: Session) -> list[UserInfo]:
    return [UserInfo(u.name, u.role, u.active) for u in session.scalars(select(User).order_by(User.name))]


def add_user(session: Session, name: str, role: str, pin: str, by: str | None) -> UserInfo:
    """Add a user. `by` is the engineer adding them (None only for the first user)."""
    name = validate_label(name.strip().lower()) if name else ""
    if role not in ROLES:
        raise StationError(f"unknown role {role!r}; choose {', '.join(ROLES)}")
    if len(pin) < MIN_PIN[role]:
        raise StationError(f"an {role}'s PIN needs at least {MIN_PIN[role]} characters")
    if not has_users(session) and role != "engineer":
        raise StationError("the first user must be an engineer (they add the others): --role engineer")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise StationError(f"a user named {name!r} already exists")
    session.add(User(name=name, role=role, pin_hash=hash_pin(pin), active=True, created_at=now(), created_by=by or name))
    audit(session, by or name, "user_added", {"user": name, "role": role})
    return UserInfo(name, role, True)


def authenticate(session: Session, name: str | None, pin: str | None) -> UserInfo:
    """The user `name` if `pin` is theirs; otherwise one line that says which, without telling a
    guesser whether the name exists."""
    if not name:
        raise StationError("this station has users: say who you are with --user NAME (and $STATION_PIN)")
    if not session.scalar(select(func.count()).select_from(User).where(User.active.is_(True))):
        audit(session, name[:128], "sign_in_refused", {"why": "no active user"})
        raise StationError("this station checks roles but its database has no active user (changed outside the "
                           "station?): restore a backup (station restore) or see station doctor")
    key = name.strip().lower()[:128]
    failed, last = _failures(session, key)
    if failed >= LOCK_AFTER:
        audit(session, key, "sign_in_locked", {"failed": failed})
        raise StationError(f"{name!r} is locked after {failed} wrong PINs: an engineer unlocks it (station users unlock NAME)")
    if failed >= SLOW_AFTER:
        wait = 2.0 ** (failed - SLOW_AFTER + 1) - (now() - last).total_seconds()
        if wait > 0:
            # Counted as a failure too: a guesser who does not wait reaches the lock sooner.
            audit(session, key, "sign_in_refused", {"why": "too soon"})
            raise StationError(f"{failed} wrong PINs for {name!r}: wait {wait:.0f} s before the next try")
    user = session.scalar(select(User).where(User.name == key, User.active.is_(True)))
    if user is None or not pin or not _pin_matches(pin, user.pin_hash):
        audit(session, key, "sign_in_refused", {})
        raise StationError(f"unknown user or wrong PIN for {name!r}")
    if audited_role(session, user.name) != user.role:
        audit(session, key, "sign_in_refused", {"why": "role differs from the audit trail"})
        raise StationError(f"{user.name}'s role in the database ({user.role}) is not the one the audit trail gave "
                           "them: it was changed outside the station; see station audit --verify")
    if failed:
        audit(session, key, "signed_in", {"after_failed": failed})  # the run of failures ends here
    return UserInfo(user.name, user.role, user.active)


def _failures(session: Session, name: str) -> tuple[int, datetime]:
    """Failed PINs for `name` since its last good one (or unlock), and when the last failed."""
    since = session.scalar(select(func.max(AuditEvent.id)).where(
        AuditEvent.user == name, AuditEvent.action.in_(("signed_in", "user_unlocked", "user_added")))) or 0
    refused = select(func.count(), func.max(AuditEvent.at)).where(
        AuditEvent.user == name, AuditEvent.action == "sign_in_refused", AuditEvent.id > since)
    count, last = session.execute(refused).one()
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)  # SQLite gives back naive UTC
    return int(count or 0), last or now()


def wrong_pins(session: Session, name: str) -> int:
    """Wrong PINs for `name` since their last good one, or unlock (the window's user list shows it)."""
    return _failures(session, name)[0]


def unlock_user(session: Session, name: str, by: str | None) -> None:
    """Clear a user's run of failed PINs (an engineer's act, audited)."""
    key = name.strip().lower()
    if session.scalar(select(User.id).where(User.name == key)) is None:
        raise StationError(f"no user named {name!r}")
    audit(session, key, "user_unlocked", {"by": by})


def require(session: Session, name: str | None, pin: str | None, role: str, action: str, data: Path) -> str | None:
    """Who may do `action`: the signed-in user's name, or None on a station without users. One
    line when the user is unknown, the PIN wrong, or the role too low."""
    if not roles_on(session, data):
        return None
    user = authenticate(session, name, pin)
    if ROLES.index(user.role) < ROLES.index(role):
        audit(session, user.name, "refused", {"action": action, "role": user.role})
        raise StationError(f"{user.name} is an {user.role}; {action} needs an {role}" if user.role[0] in "aeiou"
                           else f"{user.name} is a {user.role}; {action} needs an {role}")
    return user.name


def check_role(store: StationStore, name: str | None, pin: str | None, role: str, action: str) -> str | None:
    """`require` in a transaction of its own: a refusal is committed to the audit trail before
    it is raised."""
    with store.session() as s:
        try:
            who = require(s, name, pin, role, action, store.data)
        except StationError:
            s.commit()
            raise
        s.commit()
        return who


def audit(session: Session, user: str, action: str, detail: dict[str, Any]) -> None:
    """One row of the tamper-evident trail (station.store.audit_chain)."""
    append(session, user, action, detail)


def audited_role(session: Session, name: str) -> str | None:
    """The role the audit trail gave `name` when it was added: a role edited in the users table
    with SQL no longer matches it (at 0.9.0 that edit went unnoticed)."""
    role = None
    for detail in session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "user_added").order_by(AuditEvent.id)):
        if isinstance(detail, dict) and detail.get("user") == name:
            role = detail.get("role")
    return role if isinstance(role, str) else None


def audit_trail(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit))
    return [{"at": iso_utc(e.at), "user": e.user, "action": e.action, "detail": e.detail} for e in rows]
