"""A damaged SQLite database is refused at open, before anything is written into it.

At 0.9.0, with pages corrupted near the end of the file, `label` and `run` exited 0 and wrote
into it. SQLite notices damage only on the pages a statement touches, so every command now runs
`PRAGMA quick_check` at open, unless the file is exactly as a station command last left it: a
command that ends records the file's size and modification time (`DATA/db-checked`), and the next
one checks again only when they differ. So the cost (0.25 s warm, 3.3 s cold for a 240 MB,
1-million-row file) is paid after someone else changed the file (a copy, a tool, a crash mid-write),
not on every `station label`. `station doctor` runs the full `integrity_check` every time.
"""

from __future__ import annotations

import atexit
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from station.core.errors import StationError

MARKER = "db-checked"
_leave: dict[str, tuple[Engine, Path]] = {}  # databases this process checked: recorded as left at exit


def _stamp(db: Path) -> str:
    try:
        st = db.stat()
    except OSError:
        return "-"
    return f"{st.st_size}:{st.st_mtime_ns}"


def check_at_open(engine: Engine, data: Path) -> None:
    """Refuse, in one line, an SQLite database that fails SQLite's quick check."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return
    db = Path(engine.url.database)
    if str(db) in _leave:  # checked once by this process (the window opens a store per Start; doctor three)
        return
    marker = data / MARKER
    try:
        known = marker.read_text(encoding="utf-8").strip()
    except OSError:
        known = ""
    if not db.exists() or known != _stamp(db):
        try:
            with engine.connect() as conn:
                found = [r[0] for r in conn.execute(text("PRAGMA quick_check(3)"))]
        except SQLAlchemyError as exc:
            found = [str(getattr(exc, "orig", exc)).splitlines()[0]]
            if not any(w in found[0] for w in ("not a database", "malformed", "corrupt")):
                return  # not opened at all (no such folder, no permission): opening reports that, in its words
        if found != ["ok"]:
            raise StationError(f"{db} is damaged ({'; '.join(str(f) for f in found)[:200]}): nothing was written; "
                               f"restore the newest backup (`station restore`) or see `station doctor`")
    if not _leave:
        atexit.register(_record_all)
    _leave[str(db)] = (engine, marker)


def _record_all() -> None:
    for db, (engine, marker) in list(_leave.items()):
        record_left(engine, Path(db), marker)


def leave_all() -> None:
    """A command's end: record every database it checked as it leaves it, and forget them, so the
    next command in this process (a script calling `station.cli.main` twice) checks afresh."""
    _record_all()
    _leave.clear()


def record_left(engine: Engine, db: Path, marker: Path) -> None:
    """The file as this process leaves it: the next command need not check it again."""
    try:
        engine.dispose()  # the last connection's close checkpoints the WAL into the file
        marker.write_text(_stamp(db) + "\n", encoding="utf-8")
    except OSError:
        pass  # a read-only data dir: the next command checks again
