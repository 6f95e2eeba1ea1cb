"""A serial the operator gives the next part: typed, or read by a hand scanner (which types it and
presses Enter). It goes to the next part taken from the source, to every view of it; a serial the
PLC gave with the trigger comes first, and a code read from the image never replaces it."""

from __future__ import annotations

import dataclasses

from station.core.domain import Frame


class OperatorSerial:
    def __init__(self) -> None:
        self._next: str | None = None  # set from any thread (the window); taken on the run's thread
        self._part: tuple[str | None, str] = (None, "")  # the part it went to, for that part's other views

    def set(self, serial: str) -> None:
        self._next = serial.strip()[:64] or None

    def apply(self, frame: Frame) -> Frame:
        # The code on the part is read as it is decoded, before the run takes it: the operator's
        # serial, given for this part, still comes first; the PLC's comes before both.
        if frame.serial is not None and frame.serial_read not in ("code", "unread"):
            return frame
        if frame.part is not None and self._part[0] == frame.part:
            return dataclasses.replace(frame, serial=self._part[1], serial_read="operator")
        serial, self._next = self._next, None
        if serial is None:
            return frame
        self._part = (frame.part, serial)
        return dataclasses.replace(frame, serial=serial, serial_read="operator")
