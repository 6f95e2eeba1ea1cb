"""The window's side of the alarms: each judged part goes through station.line.alarms' rules, and an
alarm shows in the banner above the tabs and sounds the system bell (a line PC's speaker or
buzzer; `alarm.sound` false keeps it silent). The rules are read from the settings at each Start,
so a change in the Settings dialog applies from the next run."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QApplication

from station.core.errors import StationError
from station.line.alarms import Alarm, AlarmRules, Health
from station.ui.host import WindowHost
from station.ui.workers import LiveResult

log = logging.getLogger("station.ui.alarms")


class AlarmBell:
    def __init__(self, window: WindowHost) -> None:
        self.window_ = window
        self.rules: AlarmRules | None = None
        self.rang = 0  # alarms sounded or shown this session
        self.last: Alarm | None = None

    def reset(self) -> None:
        """A new run: the streak starts over, with the settings as they are now."""
        from station.line import settings
        try:
            self.rules = AlarmRules(settings.load(self.window_.options.data).alarm)
        except StationError as exc:  # a broken settings file is said elsewhere; the defaults still guard
            log.warning("alarms use their defaults: %s", exc)
            self.rules = AlarmRules(settings.Alarm())

    def result(self, r: LiveResult) -> None:
        if self.rules is None or r.error is not None or r.verdict is None:
            return
        rules = r.product.alarm(self.rules.cfg) if r.product is not None else None
        alarm = self.rules.verdict(r.verdict, r.label, r.origin, r.recipe, rules)
        if alarm is not None:
            self.ring(alarm)

    def health(self, parts: list[Health]) -> None:
        if self.rules is not None:
            for alarm in self.rules.health(parts):
                self.ring(alarm)

    def ring(self, alarm: Alarm) -> None:
        self.rang += 1
        self.last = alarm
        log.warning("alarm: %s", alarm.message)
        self.window_.banner.show_alarm(alarm.message)
        if alarm.sound:
            QApplication.beep()
