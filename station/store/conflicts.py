"""Conflicting labels: the same image content (sha256) labelled differently on two rows, by two
models' inspections of one file, or the same part photographed twice byte for byte.

Nothing is resolved silently: export keeps the newest review and marks the row, the queue shows
the flag, and `station queue --conflicts` lists every conflicted item so an inspector settles it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from station.store.schema import Inspection


@dataclass(frozen=True)
class Conflict:
    sha256: str
    labels: dict[str, list[int]]  # label -> the inspections carrying it

    def names(self) -> list[str]:
        return sorted(self.labels)

    def describe(self) -> str:
        """'crack (#12), good (#40, #41)'"""
        return ", ".join(f"{label} ({', '.join(f'#{i}' for i in ids)})" for label, ids in sorted(self.labels.items()))


def conflicting(by_sha: dict[str, dict[str, list[int]]]) -> dict[str, Conflict]:
    """The rule, in one place: an image whose content carries two or more labels."""
    return {sha: Conflict(sha, {k: sorted(v) for k, v in labels.items()}) for sha, labels in by_sha.items() if len(labels) > 1}


def find(labelled: Iterable[tuple[str, str, int]]) -> dict[str, Conflict]:
    """(sha256, label, inspection id) triples -> the images carrying two or more labels."""
    by_sha: dict[str, dict[str, list[int]]] = {}
    for sha, label, ident in labelled:
        by_sha.setdefault(sha, {}).setdefault(label, []).append(ident)
    return conflicting(by_sha)


def labels_of(session: Session, digests: Iterable[str]) -> dict[str, dict[str, list[int]]]:
    """The labels identical content already carries, for these digests (the queue's page)."""
    wanted = set(digests)
    if not wanted:
        return {}
    q = select(Inspection.sha256, Inspection.label, Inspection.id).where(Inspection.sha256.in_(wanted), Inspection.label.is_not(None))
    out: dict[str, dict[str, list[int]]] = {}
    for sha, label, ident in session.execute(q):
        out.setdefault(sha, {}).setdefault(str(label), []).append(ident)
    return out


def of(session: Session, digests: Iterable[str]) -> dict[str, Conflict]:
    return conflicting(labels_of(session, digests))


def every(session: Session) -> list[Conflict]:
    """Every conflicted image, oldest first."""
    shas = (select(Inspection.sha256).where(Inspection.label.is_not(None)).group_by(Inspection.sha256)
            .having(func.count(func.distinct(Inspection.label)) > 1))
    found = of(session, session.scalars(shas))
    return sorted(found.values(), key=lambda c: min(i for ids in c.labels.values() for i in ids))
