"""The run's say over its frames, asked on the run's own thread (never the decode thread).

The pipeline (`station.run.pipeline.inspect_frames`) asks the gate twice:

- `wait()` before each frame of a batch it has from the decode thread: held while the operator
  has paused and paced when asked, never between two views of one part; False once the run
  stops (a stop, or `--limit` parts taken). The batch is taken first because a source may act
  when asked for more: a PLC's handshake answers the part before, then sees the stop;
- `admit(frame)` then, in source order, before the frame is judged: the frame stamped with when
  the run took it (`Frame.read_at`: a pause is not part of a verdict's latency) and with the
  operator's serial, counted, or marked refused (its product's recipe is blocked); or a `Switch`
  the run must make first (a changeover, the line's promotion or threshold); or None: stop here.

A switch is made by the pipeline after every earlier frame is judged and stored, so each part is
judged by the model and recipe in force when it came. The decode thread only pulls frames and
prepares them; whatever it prepared for a model that no longer judges is prepared again.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from station.core.domain import Frame
from station.run.operator_serial import OperatorSerial

if TYPE_CHECKING:
    from station.run.switching import InspectionRun  # what a switch touches of the run (a Protocol)


@dataclass(frozen=True)
class Switch:
    """A change of model, recipe or threshold, due before `frame` is judged. `make` does it and
    returns the frame to judge after it (marked refused when the change could not be made), or
    None when the frame is to be dropped (a camera retuned for the new product takes a new one)."""

    make: Callable[[Frame], Frame | None]


class RunGate:
    def __init__(self, run: "InspectionRun", stop: threading.Event, paused: threading.Event) -> None:
        self.run = run
        self._stop, self._paused = stop, paused
        self.serial = OperatorSerial()  # the operator's serial for the next part (set from any thread)
        self.taken = 0  # parts taken from the source (the --limit counts these); read by any thread
        self._part: str | None = None  # the part whose views are being taken
        self._open_part = False  # True between a part's first and last view: never paused or paced there
        self._last = 0.0  # when the last part was taken (pacing)
        # True while held by a pause, after every part taken before it was judged and handed on;
        # `idle`: the pipeline waits on a source with nothing new, nothing in flight. Under a
        # pause either means the status says "paused" ("pausing" before), so an operator knows
        # when nothing moves any more. Read by any thread.
        self.holding = False
        self.idle = False

    def should_stop(self) -> bool:
        """Any thread: a stop, or the limit reached (a source waiting for files asks it too)."""
        limit = self.run.options.limit
        return self._stop.is_set() or (limit is not None and self.taken >= limit)

    def holds(self) -> bool:
        """Whether `wait` may wait: the pipeline first hands on what is already stored."""
        return not self._open_part and (self._paused.is_set() or self.run.options.pace_s > 0)

    def wait(self) -> bool:
        """Before the next frame is admitted: held while paused, paced; False: judge no more."""
        if self._open_part:
            return True
        while self._paused.is_set() and not self._stop.is_set():
            self.holding = True
            self._stop.wait(0.05)
        self.holding = False
        if self.should_stop():
            return False
        pace = self.run.options.pace_s
        if pace > 0 and self._last:
            wait = self._last + pace - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return False
        return True

    def admit(self, frame: Frame) -> Frame | Switch | None:
        same = frame.part is not None and frame.part == self._part
        if not same:
            if self.should_stop():
                return None
            if (switch := self._switch(frame)) is not None:
                return switch
        run = self.run
        if frame.refused is None and run.products is not None and run.products.blocked:
            frame = dataclasses.replace(frame, refused=run.products.blocked)  # failed, never judged unchecked
        if not same:
            self.taken += 1
            self._last = time.monotonic()
        self._part = frame.part
        self._open_part = bool(frame.views) and frame.view != frame.views[-1]
        return self.serial.apply(dataclasses.replace(frame, read_at=time.monotonic()))

    def _switch(self, frame: Frame) -> Switch | None:
        """What the run must change before this part: looked at when a part has come and before
        it is judged, so a promotion or rollback made while this station stood idle judges the
        first part after it. (A part whose changeover was refused comes back marked: it is
        failed, not looked at again.)"""
        from station.run import switching

        run, products, follower = self.run, self.run.products, self.run._follower
        if frame.refused is None and products is not None and (wanted := products.due(frame)) is not None:
            return Switch(lambda f: switching.change(run, wanted, f))
        if follower is not None and (promoted := follower.due()) is not None:
            return Switch(lambda f: switching.follow(run, promoted, f))
        if follower is not None and (change := follower.take_threshold()) is not None:
            def threshold(f: Frame) -> Frame:
                switching.apply_threshold(run, change[1])
                return f

            return Switch(threshold)
        return None
