"""The Live tab's shift line: what this shift made, with the yield after reviews, so the operator
and the shift lead read it at the station instead of from a report the next morning.

The counts come from the store on the tasks thread: after a verdict or a review (at most every
two seconds; a camera at 30 fps must not become 30 queries a second) and every 30 s, which also
rolls the line over when a new shift starts. Shift starts are the setting `floor.shifts`."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer

from station.core.errors import StationError
from station.ui.host import WindowHost

MIN_INTERVAL_S = 2.0


class ShiftCounter(QObject):
    def __init__(self, window: WindowHost) -> None:
        super().__init__(window.as_parent())
        self.window_ = window
        self.label = window.live.shift_line
        self.text = ""
        self._busy = False
        self._again = False
        self._last = -1e9
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(30_000)
        self._stopped = False
        self._scheduled = False
        QTimer.singleShot(0, self, self.refresh)  # with self as context: never after the window is gone

    def poke(self) -> None:
        """Something changed the counts; refresh unless one ran within MIN_INTERVAL_S (then the
        next poke or the timer catches up)."""
        if time.monotonic() - self._last >= MIN_INTERVAL_S:
            self.refresh()
        elif not self._scheduled:  # one catch-up at a time, however many parts arrive meanwhile
            self._scheduled = True
            QTimer.singleShot(int(MIN_INTERVAL_S * 1000), self, self._catch_up)

    def _catch_up(self) -> None:
        self._scheduled = False
        self.refresh()

    def refresh(self) -> None:
        if self._stopped:
            return
        if self._busy:
            self._again = True  # the read in flight may predate what changed
            return
        self._again = False
        from station.core import shifts
        from station.line import settings
        from station.store import stats

        try:
            shift = shifts.current(settings.load(self.window_.options.data).floor.shifts)
        except StationError as exc:
            self._show(f"shift counts unavailable: {exc}")
            return
        self._busy = True
        self._last = time.monotonic()

        def read(s):
            return stats.counts(s, since=shift.start, until=shift.end)

        def done(c) -> None:
            self._busy = False
            if self._again:
                self.refresh()
            yield_ = "–" if c.yield_ is None else f"{c.yield_:.1%}"
            # A line of several views counts parts, as the line does; its views in brackets.
            made = f"{c.inspected} inspected  ·  {c.failed} FAIL" if c.parts == c.inspected else (
                f"{c.parts} parts ({c.inspected} views)  ·  {c.failed_parts} FAIL")
            self._show(f"Shift {shift.label}:  {made}  ·  {c.reviewed} reviewed  ·  yield after reviews {yield_}")

        def failed(message: str) -> None:
            self._busy = False
            self._show(f"shift counts unavailable: {message}")

        self.window_.db(read, done, failed)

    def _show(self, text: str) -> None:
        self.text = text
        self.label.setText(text)

    def stop(self) -> None:
        self._stopped = True
        self._timer.stop()
