"""When the station raises its voice (settings `alarm.*`): every FAIL, if the plant wants that, and
N FAILs in a row, which on a running line means it is making scrap, not that one part was bad.

The rules live here, without Qt: the window sounds and shows what they return, and a line's
outputs (MQTT, a PLC) can take the same alarms later."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from station.settings import Alarm as AlarmSettings


@dataclass(frozen=True)
class Alarm:
    kind: str  # "fail" (one part) or "streak" (N in a row)
    message: str
    sound: bool


class AlarmRules:
    def __init__(self, cfg: AlarmSettings) -> None:
        self.cfg = cfg
        self.streak = 0

    def verdict(self, verdict: str, label: str | None, origin: str) -> Alarm | None:
        """Feed each judged part in order; returns the alarm it raises, if any."""
        if verdict != "fail":
            self.streak = 0
            return None
        self.streak += 1
        part = f"{label or 'defect'} on {Path(origin).name}"
        n = self.cfg.fails_in_a_row
        if n and self.streak == n:  # once per streak: the line is told, not deafened
            return Alarm("streak", f"{n} FAILs in a row: check the line (last: {part})", self.cfg.sound)
        if self.cfg.on_fail:
            return Alarm("fail", f"FAIL: {part}", self.cfg.sound)
        return None
