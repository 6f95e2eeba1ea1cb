"""Backups of what cannot be re-made: the database (every review, the audit trail) and the model
registry. Images are content-addressed files; copy `images/` with any file tool.

A backup is a folder: `station.db` (a consistent online copy, taken with SQLite's backup API in
one read transaction, so a running station keeps writing meanwhile), `models/` and `backup.json`
(what is in it, and the database file's hash). It is built under a temporary name and renamed
into place, so a folder with the final name is always complete.

Restore writes the backup into the live database through the same API (other connections see
the restored content at their next transaction, never half of it), after saving the current
database as a backup of its own. PostgreSQL has pg_dump for all of this (the README's recipe).
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from station import __version__
from station.core import config
from station.core.errors import StationError
from station.core.fileutil import RUN_LOCK, FileLock, atomic_write, file_sha256, make_folder, runs_holding
from station.line.settings import Backup
from station.store.db import HEAD, Store, migrate

log = logging.getLogger("station.upkeep.backup")

MANIFEST = "backup.json"
AUTO_PREFIX = "auto-"
PG_HINT = "for PostgreSQL use pg_dump and pg_restore (README: Running for months)"


@dataclass(frozen=True)
class BackupResult:
    out: Path
    bytes: int
    inspections: int
    reviews: int

    def to_json(self) -> dict[str, Any]:
        return {"out": str(self.out), "bytes": self.bytes, "inspections": self.inspections, "reviews": self.reviews}


def _sqlite_path(store: Store, what: str) -> Path:
    if store.engine.dialect.name != "sqlite" or not store.engine.url.database or store.engine.url.database == ":memory:":
        raise StationError(f"{what} works on the station's SQLite database; {PG_HINT}")
    return Path(store.engine.url.database)


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    return (conn.execute("SELECT count(*) FROM inspections").fetchone()[0], conn.execute("SELECT count(*) FROM reviews").fetchone()[0])


def _check(conn: sqlite3.Connection, where: Path) -> None:
    status = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if status != "ok":
        raise StationError(f"{where}: the database fails its integrity check ({status})")


def backup(store: Store, out: Path) -> BackupResult:
    """Copy the database and the registry into the new folder `out`."""
    db = _sqlite_path(store, "station backup")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StationError(f"{out} already exists and is not an empty folder; choose a new one")
    make_folder(out.parent, "backup's parent folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        copy = tmp / "station.db"
        src = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)  # all pages in one read transaction: writers go on, the copy is one moment
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _check(dst, db)
            inspections, reviews = _counts(dst)
            revision = dst.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        finally:
            dst.close()
            src.close()
        registry = store.data / "models"
        if registry.is_dir():
            shutil.copytree(registry, tmp / "models", ignore=shutil.ignore_patterns(".*", "*.lock"), symlinks=True)
        files = {str(f.relative_to(tmp)): file_sha256(f) for f in sorted((tmp / "models").rglob("*")) if f.is_file()}
        manifest = {"format": 2, "files": files, "created": datetime.now(UTC).isoformat(), "station": config.station_name(), "version": __version__,
                    "revision": revision, "inspections": inspections, "reviews": reviews,
                    "db_sha256": file_sha256(copy), "db_bytes": copy.stat().st_size}
        atomic_write(tmp / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        if out.exists():
            out.rmdir()  # empty, checked above
        tmp.rename(out)
    except sqlite3.Error as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StationError(f"cannot back up {db}: {exc}") from None
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StationError(f"cannot write the backup to {out}: {exc.strerror or exc}") from None
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    log.info("backup of %s written to %s (%d bytes, %d inspections, %d reviews)", db, out, size, inspections, reviews)
    return BackupResult(out, size, inspections, reviews)


@dataclass(frozen=True)
class RestoreResult:
    backup: Path
    inspections: int
    reviews: int
    saved: Path  # the database as it was before, as a backup of its own
    models: list[str]  # registry entries copied back

    def to_json(self) -> dict[str, Any]:
        return {"backup": str(self.backup), "inspections": self.inspections, "reviews": self.reviews,
                "saved": str(self.saved), "models": self.models}


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or "db_sha256" not in manifest:
            raise ValueError("no db_sha256")
    except FileNotFoundError:
        raise StationError(f"{folder} is not a station backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise StationError(f"{path}: not a readable backup manifest ({exc})") from None
    return manifest


def restore(store: Store, folder: Path) -> RestoreResult:
    """Replace the live database's content with the backup's; put back its models and its active
    one. Refused while a run uses this data dir (a restore under a run cost it 388 of 500 parts)."""
    try:
        with FileLock(store.data / RUN_LOCK, blocking=False):
            if runs_holding(store.data):  # the only sign of a run on Windows
                raise BlockingIOError
            return _restore(store, folder)
    except BlockingIOError:
        raise StationError("a run is using this data dir (station run or the window): stop it, then restore; "
                           "nothing was changed") from None


def _restore(store: Store, folder: Path) -> RestoreResult:
    db = _sqlite_path(store, "station restore")
    folder = Path(folder)
    manifest = read_manifest(folder)
    _check_tree(folder, manifest)  # before anything live is touched
    copy = folder / "station.db"
    if not copy.is_file() or file_sha256(copy) != manifest["db_sha256"]:
        raise StationError(f"{copy} is missing or changed since the backup was taken (hash differs); not restored")
    try:
        src = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            _check(src, copy)
            revision = src.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            if revision > HEAD:
                raise StationError(f"{folder} was made by a newer station (database revision {revision}); upgrade first")
            inspections, reviews = _counts(src)
            if _users(src) == 0 and _live_has_users(store):
                raise StationError(f"{folder} is from before this station had users: restoring it would switch the "
                                   "roles off and lose the audit trail; not restored")
            saved = backup(store, store.data / "backups" / f"before-restore-{datetime.now(UTC):%Y%m%d-%H%M%S}")
            live = sqlite3.connect(db, timeout=30)
            try:
                src.backup(live)
            finally:
                live.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StationError(f"cannot restore {folder}: {exc}") from None
    migrate(store.engine)  # a backup from an older station is brought up to date
    models = _restore_registry(folder / "models", store.data / "models")
    log.info("restored %s into %s (%d inspections, %d reviews); the previous database is in %s", folder, db, inspections,
             reviews, saved.out)
    return RestoreResult(folder, inspections, reviews, saved.out, models)


def _users(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])
    except sqlite3.OperationalError:  # a backup from before users existed
        return 0


def _live_has_users(store: Store) -> bool:
    from station.line.users import roles_on

    with store.session() as s:
        return roles_on(s, store.data)


def _check_tree(folder: Path, manifest: dict[str, Any]) -> None:
    """A backup is plain files and folders, each as the manifest lists it: a link (to /etc, say),
    a device or a file the manifest does not know is refused before the live data is touched."""
    if folder.is_symlink():
        raise StationError(f"{folder} is a link; restore from the backup folder itself")
    listed = manifest.get("files")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_symlink():
            raise StationError(f"{folder}: {rel} is a link; a backup holds plain files only; not restored")
        if not (path.is_file() or path.is_dir()):
            raise StationError(f"{folder}: {rel} is not a plain file; not restored")
        if listed is not None and path.is_file() and rel.parts[0] == "models":
            if listed.get(str(rel)) != file_sha256(path):
                raise StationError(f"{folder}: {rel} is not as the backup wrote it (unlisted or changed); not restored")
    active = folder / "models" / "ACTIVE"
    if active.is_file():
        name = active.read_text(encoding="utf-8", errors="replace").strip()
        if not name or "/" in name or "\\" in name or name.startswith(".") or not (folder / "models" / name).is_dir():
            raise StationError(f"{folder}: models/ACTIVE names {name[:60]!r}, not a model of the backup; not restored")


def _restore_registry(src: Path, dst: Path) -> list[str]:
    """Models the backup has and this station lacks are copied back; none is deleted or
    overwritten. The backup's active model is active again."""
    if not src.is_dir():
        return []
    dst.mkdir(parents=True, exist_ok=True)
    copied = []
    for entry in sorted(src.iterdir()):
        if entry.is_dir() and not entry.name.startswith(".") and not (dst / entry.name).exists():
            shutil.copytree(entry, dst / entry.name)
            copied.append(entry.name)
    active = src / "ACTIVE"
    if active.is_file() and (dst / active.read_text(encoding="utf-8").strip()).is_dir():
        atomic_write(dst / "ACTIVE", active.read_bytes())
    return copied


def backups_folder(store: Store, policy: Backup) -> Path:
    return Path(policy.folder) if policy.folder else store.data / "backups"


def scheduled_backup(store: Store, policy: Backup, now: datetime | None = None) -> BackupResult | None:
    """Take the daily backup when the newest is a day old (or there is none), then keep the
    newest `policy.keep`. None when nothing was due."""
    if not policy.daily or store.engine.dialect.name != "sqlite":
        return None
    now = now or datetime.now(UTC)
    folder = backups_folder(store, policy)
    autos = sorted(p for p in folder.glob(f"{AUTO_PREFIX}*") if p.is_dir()) if folder.is_dir() else []
    if autos:
        try:
            newest = datetime.strptime(autos[-1].name[len(AUTO_PREFIX):], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            newest = datetime.fromtimestamp(autos[-1].stat().st_mtime, UTC)
        if now - newest < timedelta(days=1):
            return None
    result = backup(store, folder / f"{AUTO_PREFIX}{now:%Y%m%d-%H%M%S}")
    autos.append(result.out)
    for old in autos[: max(0, len(autos) - policy.keep)]:
        shutil.rmtree(old, ignore_errors=True)
        log.info("old backup %s removed (keeping %d)", old, policy.keep)
    return result

