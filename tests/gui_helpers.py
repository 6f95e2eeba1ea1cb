"""Helpers for the pytest-qt tests: open the real window, wait for the store, always close."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text


def store_jobs_done(qtbot, w) -> None:
    """Until every store job the window queued so far has finished and its answer reached the
    window: one more job behind them on the tasks thread (one worker, first in first out)."""
    done: list[bool] = []
    w.db(lambda session: None, lambda _: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=30_000)


def rows(data: Path, sql: str, **params) -> list:
    """Read the station's SQLite file directly, as an auditor would."""
    engine = create_engine(f"sqlite:///{data / 'station.db'}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def slow_model_factory(data: Path, delay_s: float, calls: list | None = None):
    """The real default model, made slow: each batch sleeps `delay_s` per image before its forward
    pass. `calls` collects (thread id, start, end) of each slow forward pass."""
    def make():
        import threading

        from station.model import load_model

        model = load_model(None, str(data))
        real = model.forward_with_cam

        def slow(x):
            start = time.perf_counter()
            time.sleep(delay_s * x.shape[0])
            if calls is not None:
                calls.append((threading.get_ident(), start, time.perf_counter()))
            return real(x)

        model.forward_with_cam = slow
        return model
    return make


def modal_dialog(qtbot, timeout: int = 5000):
    from PySide6.QtWidgets import QApplication

    found = []
    qtbot.waitUntil(lambda: found.append(QApplication.activeModalWidget()) or found[-1] is not None, timeout=timeout)
    return found[-1]


def station_window(qtbot, data: Path):
    """The real window on `data`, shown, not started (closed by the test, or by pytest-qt)."""
    from station.ui.main_window import MainWindow, Options

    w = MainWindow(Options(autostart=False, device="cpu", data=str(data)))
    qtbot.addWidget(w)
    w.show()
    return w


def start_on(w, source: str, reviewer: str) -> None:
    """What an operator does: their name, the source typed on the Live tab, Start."""
    w.set_reviewer(reviewer)
    w.live.source_bar.set_source(source)
    w.live.source_bar.start_btn.click()


@contextmanager
def gui_thread_sql() -> Iterator[list[str]]:
    """Every SQL statement the station runs on the GUI thread meanwhile, with the station code
    that ran it (the test's own reads of the database are not counted)."""
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
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", before)


def sign_in(qtbot, dialog, name: str, pin: str) -> str:
    """Name and PIN into a SignInDialog and OK; waits for the check (made off the GUI thread) and
    returns the refusal it shows ("" when it signed in)."""
    dialog.name.setText(name)
    dialog.pin.setText(pin)
    dialog._check()
    qtbot.waitUntil(dialog.buttons.isEnabled, timeout=10_000)
    return dialog.error.text() if dialog.user is None else ""
