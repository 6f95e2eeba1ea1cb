"""How work leaves the GUI thread, so the GUI thread never waits. Two helpers, both here:

- `Tasks`: short jobs with one answer (or a one-line error) delivered back on the GUI thread.
  Each Tasks runs its jobs in order on one thread: the window's database jobs (which keeps the
  SQLite store single-writer and lets a caller rely on "my review is committed before my next
  query runs"), and apart from them a teach and thumbnail loading, so none waits behind another.
- `start_worker` / `join_worker`: a long job that reports as it goes (the inspection run, a
  retrain) on a QThread of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from station.core.errors import StationError

log = logging.getLogger("station.ui.tasks")


class Tasks(QObject):
    _delivered = Signal(int, bool, object)  # job, done (else failed), result or message

    def __init__(self, parent: QObject | None = None, name: str = "station-io") -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._closed = False
        # The callbacks stay here, on the GUI thread: the worker never holds one. A callback bound
        # to a short-lived dialog, dropped last on the worker thread, took the dialog's Python
        # wrapper down there, and the next restyle of the window crashed.
        self._callbacks: dict[int, tuple[Callable[[Any], None] | None, Callable[[str], None] | None]] = {}
        self._jobs = 0
        self._delivered.connect(self._deliver)

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None) -> Future | None:
        """Run `fn()` off the GUI thread; `on_done(result)` or `on_error(message)` runs on it.
        (`fn` itself is dropped on the worker: it must not be the last holder of a widget.)"""
        if self._closed:
            return None
        self._jobs += 1
        job = self._jobs
        self._callbacks[job] = (on_done, on_error)
        future = self._pool.submit(fn)
        delivered = self._delivered

        def finished(f: Future) -> None:
            exc = f.exception()
            if exc is None:
                delivered.emit(job, True, f.result())
                return
            if isinstance(exc, StationError):
                message = str(exc)
            else:  # a bug: keep the traceback for whoever reads the log, one line for the operator
                log.error("background job failed", exc_info=(type(exc), exc, exc.__traceback__))
                message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            delivered.emit(job, False, message)

        future.add_done_callback(finished)
        return future

    def _deliver(self, job: int, done: bool, argument: Any) -> None:
        on_done, on_error = self._callbacks.pop(job, (None, None))
        if self._closed:
            return
        callback = on_done if done else on_error
        if callback is not None:
            callback(argument)

    def close(self) -> None:
        """Finish what is queued (a review in flight must commit), then stop delivering."""
        self._closed = True
        self._pool.shutdown(wait=True)


def start_worker(parent: QObject, worker: QObject, run: Callable[[], None]) -> QThread:
    """A long job that reports as it goes (the inspection run, a retrain): `worker` moves to a
    QThread of its own and `run` starts there; its signals reach the GUI thread queued. A
    Qt-owned thread, not a pool thread: these workers emit many signals for minutes, and a Python
    thread that used Qt and then exits is a known source of interpreter-lock deadlocks (seen here
    in the test suite when both ran on Tasks)."""
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(run)
    thread.start()
    return thread


def join_worker(thread: QThread | None) -> None:
    """After the worker's run() returned (or was asked to stop): end its thread and wait for it."""
    if thread is not None:
        thread.quit()
        thread.wait()
        thread.deleteLater()
