"""The audit trail, tamper-evident: each row is chained to the one before by a hash.

At 0.9.0 an SQL edit, a deletion or a reordering of audit rows went unnoticed. Now each row's
`chain` is sha256(the previous row's chain, this row's id, time, user, action and detail), so
changing any row breaks its link or the next one, and `station audit --verify` and `station
doctor` name the first broken link. Whoever rewrites the whole chain from the edited row on is
caught by the head this station last saw, kept outside the database (`DATA/audit-head`).

Appends are serialised (SQLite's write lock, taken by the insert; an advisory lock on
PostgreSQL), so stations of a line sharing one database extend one chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from station.core.fileutil import atomic_write
from station.store.repo import now
from station.store.schema import AuditEvent

_PG_LOCK = 727_001  # pg_advisory_xact_lock key: one audit writer at a time on a line's database
HEAD_FILE = "audit-head"


def _link(prev: str | None, event_id: int, at: datetime, user: str, action: str, detail: Any) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    body = json.dumps([prev or "", event_id, at.astimezone(UTC).isoformat(), user, action, detail],
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def append(session: Session, user: str, action: str, detail: dict[str, Any]) -> AuditEvent:
    """Add one audit row, linked to the row before it (committed with the caller's transaction)."""
    event = AuditEvent(at=now(), user=user[:128], action=action, detail=detail)
    if session.get_bind().dialect.name == "postgresql":
        # The id is drawn first and the row inserted once, link and all: a line's stations may
        # then hold INSERT on the audit and no UPDATE (docs/line.md's least-privilege role).
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        event.id = int(session.scalar(text("SELECT nextval(pg_get_serial_sequence('audit', 'id'))")))
        prev = session.scalar(select(AuditEvent.chain).order_by(AuditEvent.id.desc()).limit(1))
        event.chain = _link(prev, event.id, event.at, event.user, event.action, event.detail)
        session.add(event)
        session.flush()
        return event
    session.add(event)
    session.flush()  # the id, and SQLite's write lock until commit
    prev = session.scalar(select(AuditEvent.chain).where(AuditEvent.id < event.id).order_by(AuditEvent.id.desc()).limit(1))
    event.chain = _link(prev, event.id, event.at, event.user, event.action, event.detail)
    return event


@dataclass(frozen=True)
class ChainReport:
    rows: int  # chained rows checked
    head: tuple[int, str] | None  # the newest row's (id, chain)
    broken_at: int | None  # the id of the first row whose link does not hold
    reason: str

    @property
    def ok(self) -> bool:
        return self.broken_at is None and not self.reason

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "head": self.head[0] if self.head else None,
                "broken_at": self.broken_at, "reason": self.reason}


def verify(session: Session, data: Path | None = None) -> ChainReport:
    """Walk the chain in id order; the first row whose stored link is not its computed one is
    named. With `data`, the head last seen there must still be in the chain as it was, and the
    head is moved on when all holds."""
    prev: str | None = None
    started = False
    rows, head = 0, None
    seen: dict[int, str] = {}
    for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if e.chain is None and not started:
            continue  # written before the chain existed
        started = True
        expected = _link(prev, e.id, e.at, e.user, e.action, e.detail)
        if e.chain != expected:
            return ChainReport(rows, head, e.id, f"audit row {e.id} ({e.action} by {e.user}) was changed, or a row "
                                                 f"before it was deleted or moved")
        prev, rows, head = e.chain, rows + 1, (e.id, e.chain)
        seen[e.id] = e.chain
    if data is None:
        return ChainReport(rows, head, None, "")
    path = data / HEAD_FILE
    try:
        last_id, last_chain = path.read_text(encoding="utf-8").split()
        known: tuple[int, str] | None = (int(last_id), last_chain)
    except (OSError, ValueError):
        known = None
    if known is not None and seen.get(known[0]) != known[1]:
        return ChainReport(rows, head, known[0], f"audit row {known[0]}, which this station saw before, is gone or "
                                                 f"was rewritten (the chain was rebuilt, or rows were deleted from the end)")
    if head is not None:
        try:
            atomic_write(path, f"{head[0]} {head[1]}\n".encode())
        except OSError:
            pass  # a read-only data dir: the database's chain alone is checked
    return ChainReport(rows, head, None, "")
