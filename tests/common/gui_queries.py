"""The SQL the station runs on the GUI thread, for the window's tests (a fixture)."""

from __future__ import annotations

import pytest


@pytest.fixture()
def gui_thread_queries():
    """Every SQL statement the station runs on the GUI thread during the test, with the station
    code that ran it (the test's own reads of the database are not counted)."""
    import threading
    import traceback

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen: list[str] = []

    def before(conn, cursor, statement, params, context, executemany) -> None:
        if threading.current_thread() is threading.main_thread():
            station = [f"{f.filename.rsplit('/station/', 1)[-1]}:{f.lineno} {f.name}" for f in traceback.extract_stack()
                       if "/station/" in f.filename and "/tests/" not in f.filename]
            if station:
                seen.append(" <- ".join(reversed(station[-3:])))

    event.listen(Engine, "before_cursor_execute", before)
    yield seen
    event.remove(Engine, "before_cursor_execute", before)
