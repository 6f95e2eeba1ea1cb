"""When the station raises its voice (settings `alarm.*`): every FAIL, if the plant wants that, and
N FAILs in a row, which on a running line means it is making scrap, not that one part was bad.

And when the line loses something it depends on: the camera, or an output (a broker, the PLC),
down for more than a blip.

The rules live here, without Qt: the window sounds and shows what they return."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from station.line.settings import Alarm as AlarmSettings


@dataclass(frozen=True)
class Alarm:
    kind: str  # "fail" (one part), "streak" (N in a row) or "lost" (the camera or an output)
    message: str
    sound: bool


LOST_AFTER_S = 3.0  # a blip (a broker restarting, a cable reseated) is not worth a siren


@dataclass(frozen=True)
class Health:
    """One thing the line depends on, as the run reports it: the camera, or an output."""

    name: str  # "camera", "line" (its database and image store), or the output's name
    ok: bool
    detail: str = ""
    refused: bool = False  # the other side answers "no" (a full bucket, an untrusted certificate): no blip


@dataclass
class AlarmRules:
    cfg: AlarmSettings
    streak: int = 0
    product: str | None = None  # the recipe of the last part fed
    _down: dict[str, float] = field(default_factory=dict)  # name -> since when (monotonic)
    _rang: set[str] = field(default_factory=set)  # lost, and said so: said again only after it came back

    def health(self, parts: list[Health], now: float | None = None) -> list[Alarm]:
        """Feed the camera's and the outputs' states (every status poll); returns an alarm for each
        that has been down LOST_AFTER_S, once per outage."""
        now = time.monotonic() if now is None else now
        out = []
        for h in parts:
            if h.ok:
                self._down.pop(h.name, None)
                self._rang -= {h.name, f"{h.name}:refused"}
                continue
            since = self._down.setdefault(h.name, now)
            # The line's database and store are waited for longer: results are safe on this PC's
            # disk, and a server restart takes a while; a refusal waits for nothing.
            after = 0.0 if h.refused else self.cfg.line_down_minutes * 60 if h.name == "line" else LOST_AFTER_S
            key = f"{h.name}:refused" if h.refused else h.name
            if self.cfg.on_lost and key not in self._rang and now - since >= after:
                self._rang.add(key)
                out.append(Alarm("lost", _lost_message(h), self.cfg.sound))
        return out

    def verdict(self, verdict: str, label: str | None, origin: str, product: str | None = None,
                rules: AlarmSettings | None = None) -> Alarm | None:
        """Feed each judged part in order; returns the alarm it raises, if any. `rules`: the
        product's (a recipe may ring for every FAIL, or after fewer in a row, than the station)."""
        cfg = rules or self.cfg
        if product != self.product:  # a streak is one product's: a changeover starts it over
            self.product, self.streak = product, 0
        if verdict != "fail":
            self.streak = 0
            return None
        self.streak += 1
        part = f"{label or 'defect'} on {Path(origin).name}"
        n = cfg.fails_in_a_row
        if n and self.streak == n:  # once per streak: the line is told, not deafened
            return Alarm("streak", f"{n} FAILs in a row: check the line (last: {part})", cfg.sound)
        if cfg.on_fail:
            return Alarm("fail", f"FAIL: {part}", cfg.sound)
        return None


def _lost_message(h: Health) -> str:
    why = h.detail or "not answering"
    if h.name == "camera":
        return f"camera lost: {why}"
    # The operator's question is whether anything is lost: it is not; and whether to call someone.
    if h.name == "line":
        return (f"the line refuses this station: {why}; results are kept on this PC until someone fixes it" if h.refused
                else f"the line's database or image store is away: {why}; results are kept on this PC")
    if h.refused:
        return f"output {h.name} refuses this station: {why}; verdicts are kept on this PC until someone fixes it"
    return f"output {h.name} lost: {why}; verdicts are kept and sent when it is back"
