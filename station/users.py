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
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from station.errors import StationError
from station.labels import validate_label
from station.protocols import StationStore
from station.store.repo import iso_utc, now
from station.store.schema import AuditEvent, User

ROLES = ("operator", "inspector", "engineer")
_N, _R, _P = 2**14, 8, 1  # scrypt cost: ~50 ms on a shop PC, so a guessed PIN costs as much
MIN_PIN = 4


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: str
    active: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "active": self.active}


def hash_pin(pin: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def _pin_matches(pin: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def has_users(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(User).where(User.active.is_(True))))


def list_users(session: Session) -> list[UserInfo]:
    return [UserInfo(u.name, u.role, u.active) for u in session.scalars(select(User).order_by(User.name))]


def add_user(session: Session, name: str, role: str, pin: str, by: str | None) -> UserInfo:
    """Add a user. `by` is the engineer adding them (None only for the first user)."""
    name = validate_label(name.strip().lower()) if name else ""
    if role not in ROLES:
        raise StationError(f"unknown role {role!r}; choose {', '.join(ROLES)}")
    if len(pin) < MIN_PIN:
        raise StationError(f"a PIN needs at least {MIN_PIN} characters")
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
    user = session.scalar(select(User).where(User.name == name.strip().lower(), User.active.is_(True)))
    if user is None or not pin or not _pin_matches(pin, user.pin_hash):
        audit(session, name[:128], "sign_in_refused", {})
        raise StationError(f"unknown user or wrong PIN for {name!r}")
    return UserInfo(user.name, user.role, user.active)


def require(session: Session, name: str | None, pin: str | None, role: str, action: str) -> str | None:
    """Who may do `action`: the signed-in user's name, or None on a station without users. One
    line when the user is unknown, the PIN wrong, or the role too low."""
    if not has_users(session):
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
            who = require(s, name, pin, role, action)
        except StationError:
            s.commit()
            raise
        s.commit()
        return who


def audit(session: Session, user: str, action: str, detail: dict[str, Any]) -> None:
    session.add(AuditEvent(at=now(), user=user[:128], action=action, detail=detail))


def audit_trail(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit))
    return [{"at": iso_utc(e.at), "user": e.user, "action": e.action, "detail": e.detail} for e in rows]
