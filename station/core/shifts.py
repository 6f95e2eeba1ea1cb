"""Shifts: the day split at the plant's shift start times (setting `floor.shifts`, station local
time), so the Live tab and `station stats --shift` count what this shift made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from station.core.errors import StationError

DEFAULT = "06:00,14:00,22:00"


@dataclass(frozen=True)
class Shift:
    label: str  # "14:00–22:00", as a plant names its shifts
    start: datetime  # aware, local time
    end: datetime


def parse(text: str) -> list[time]:
    """'06:00,14:00,22:00' -> the start times, sorted. One line on anything else."""
    starts: list[time] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            hh, mm = part.split(":")
            starts.append(time(int(hh), int(mm)))
        except ValueError:
            raise StationError(f"shift start {part!r} is not HH:MM (for example 06:00,14:00,22:00)") from None
    if len(set(starts)) != len(starts):
        raise StationError(f"shift starts repeat in {text!r}")
    return sorted(starts)


def current(text: str, now: datetime | None = None) -> Shift:
    """The shift `now` (default: this moment, local time) falls in; the last shift of a day
    runs past midnight into the first start of the next."""
    starts = parse(text)
    now = (now or datetime.now()).astimezone()
    day = now.date()
    # Candidate starts from yesterday to tomorrow: the latest one not after now opens the shift.
    candidates = sorted(datetime.combine(day + timedelta(days=d), t, tzinfo=now.tzinfo) for d in (-1, 0, 1) for t in starts)
    start = max(c for c in candidates if c <= now)
    end = min(c for c in candidates if c > start)
    return Shift(label=f"{start:%H:%M}–{end:%H:%M}", start=start, end=end)
