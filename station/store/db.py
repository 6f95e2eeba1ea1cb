"""Engines, SQLite pragmas and migrations.

Start-up stays fast: the schema version is read with one query, and Alembic is imported only
when an upgrade is actually needed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from station.core import config
from station.core.errors import StationError
from station.store.blobs import BlobStore, open_blobs

HEAD = "0015"  # newest revision in migrations/versions; a test checks it against Alembic
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(data: str | None = None, db: str | None = None) -> str:
    db = db or os.environ.get("STATION_DB")
    if db:
        # psycopg (3) is the driver the station ships; SQLAlchemy's bare postgresql:// means psycopg2.
        for bare in ("postgresql://", "postgres://"):
            if db.startswith(bare):
                return "postgresql+psycopg://" + db[len(bare):]
        return db
    return f"sqlite:///{config.data_dir(data) / 'station.db'}"


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("postgresql"):
            # pre_ping: after a server restart every pooled connection is dead; each is checked
            # when taken, so a restart costs one failed batch (spooled), not every later one.
            # connect_timeout: a server that is gone is noticed in seconds, not minutes.
            # Keepalives: a server that vanished mid-query (a pulled cable) is given up on in about
            # 11 s instead of the kernel's two hours, and the batch is spooled.
            engine = create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4,
                                   connect_args={"connect_timeout": 5, "application_name": "station", "keepalives": 1,
                                                 "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3})
        else:
            engine = create_engine(url)
    except Exception as exc:  # noqa: BLE001 (bad URL or a driver that is not installed: the user's to fix)
        raise StationError(f"cannot use database {_redact(url)}: {str(exc).splitlines()[0]}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def unavailable(exc: BaseException) -> bool:
    """The database cannot take a write now (a server down or restarting, a network cut, a
    lock held too long), as opposed to a statement it refused: the caller spools and retries."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (OperationalError, InterfaceError))


@contextlib.contextmanager
def unreachable() -> Iterator[None]:
    """Say a database outage as one line (StationError); anything else passes through."""
    try:
        yield
    except Exception as exc:
        if not unavailable(exc):
            raise
        raise StationError(f"the database is unreachable now ({first_line(exc)[:120]}); "
                           "what you just did may not be recorded: look again when it is back") from None


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer. NORMAL sync is crash-safe in WAL mode (a power cut
    # may drop the newest commits, never corrupt). busy_timeout: two stations wait, not fail.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


def _redact(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 (a URL too broken to parse is still never printed)
        return "<unparseable URL>"


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError:
            return None


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest), in place. Under a lock: two
    stations, or the window's two threads, starting on a new database must not both create its
    tables (one of them used to fail with "table models already exists")."""
    if revision == "head" and current_revision(engine) == HEAD:
        return
    from alembic import command
    from alembic.config import Config

    with _migration_lock(engine):
        if revision == "head" and current_revision(engine) == HEAD:
            return  # another process or thread did it while this one waited
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # held until this transaction ends
                conn.execute(text("SELECT pg_advisory_xact_lock(7270410)"))
                if revision == "head" and conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is not None \
                        and conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD:
                    return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)


def _private_file(engine: Engine) -> None:
    """Create a new SQLite file readable by its owner only (SQLite gives its WAL the same mode)."""
    db = engine.url.database if engine.dialect.name == "sqlite" else None
    if db and db != ":memory:" and not Path(db).exists():
        import os

        try:
            os.close(os.open(db, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError:
            pass  # SQLite will report the real problem in one line


def _migration_lock(engine: Engine) -> contextlib.AbstractContextManager[object]:
    """An exclusive lock on a file beside an SQLite database (blocking). Other databases lock
    inside their own transaction."""
    db = engine.url.database if engine.dialect.name == "sqlite" else None
    if not db or db == ":memory:":
        return contextlib.nullcontext()
    from station.core.fileutil import FileLock

    return FileLock(db + ".migrate.lock")


@dataclass
class Store:
    engine: Engine
    session: sessionmaker[Session]
    data: Path
    url: str
    blobs: BlobStore
    # Why a line's database could not be reached when a run opened it ("" when it was): the run
    # starts anyway and keeps its results on this PC (station.record), migrating when it answers.
    offline: str = ""

    @property
    def shared(self) -> bool:
        """A database server shared by a line (not this PC's own SQLite file)."""
        return self.engine.dialect.name != "sqlite"

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()  # a command's store: its connections go with it


def open_store(data: str | None = None, db: str | None = None, store: str | None = None, offline_ok: bool = False) -> Store:
    """The database (migrated), the data directory, and the image store (`--store`, else
    $STATION_STORE, else the data dir). `offline_ok`: a line's database server that cannot be
    reached is not an error; the store says why in `offline` (a run starts without it)."""
    root = config.data_dir(data)
    url = database_url(data, db)
    engine = make_engine(url)
    _private_file(engine)
    from station.store.dbcheck import check_at_open

    check_at_open(engine, root)
    try:
        migrate(engine)
    except Exception as exc:  # noqa: BLE001 (any driver's failure at connect: sorted below, one line)
        if offline_ok and engine.dialect.name != "sqlite" and unavailable(exc):
            reason = f"the line's database {_redact(url)} is unreachable: {first_line(exc)[:160]}"
            return Store(engine, sessionmaker(engine, expire_on_commit=False), root, url,
                         open_blobs(store or os.environ.get("STATION_STORE"), root), offline=reason)
        _open_failed(url, exc)
    blobs = open_blobs(store or os.environ.get("STATION_STORE"), root)
    return Store(engine, sessionmaker(engine, expire_on_commit=False), root, url, blobs)


def _open_failed(url: str, exc: Exception) -> NoReturn:
    """A database that cannot be opened: one line (a driver's own error class at connect is the
    server's answer, said as it is)."""
    if isinstance(exc, StationError):
        raise exc
    raise StationError(f"cannot open database {_redact(url)}: {first_line(exc)}") from None


def first_line(exc: BaseException) -> str:
    """A database error as one line (the driver's own message, without SQLAlchemy's SQL echo)."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
