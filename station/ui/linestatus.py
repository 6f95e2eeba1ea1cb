"""The status bar's line lights: are results reaching the line's database and image store, which
model judges now (a line promotion switches it between parts), and one light per output (MQTT,
OPC UA, Modbus, webhook, the PLC handshake) and for the camera. A camera or an output down for
more than a blip rings the alarm bell (station.line.alarms), as does the line's store refusing writes or
its database and store away for longer than `alarm.line_down_minutes`."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from station.line.alarms import Health
from station.run.inspection_run import RunStatus
from station.ui.host import WindowHost

GREEN, ORANGE, RED = "#2e7d32", "#b06000", "#b00020"
LIVE_DOWN = ("reconnecting", "lost")


class OutputLights(QWidget):
    """● name per output; green delivering, orange retrying (with how many verdicts wait)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("outputLights")
        self.lay = QHBoxLayout(self)
        self.lay.setContentsMargins(0, 0, 0, 0)
        self.lights: dict[str, QLabel] = {}

    def light(self, name: str) -> QLabel:
        if name not in self.lights:
            label = QLabel()
            label.setObjectName(f"light-{name}")
            self.lay.addWidget(label)
            self.lights[name] = label
        return self.lights[name]

    def set_states(self, states: dict[str, tuple[str, str, str]]) -> None:
        """name -> (colour, text, tooltip); lights of names no longer reported go away."""
        for name in list(self.lights):
            if name not in states:
                self.lights.pop(name).deleteLater()
        for name, (colour, text, tip) in states.items():
            label = self.light(name)
            label.setText(f"● {text}")
            label.setStyleSheet(f"color: white; background: {colour}; padding: 0 6px; border-radius: 3px;")
            label.setToolTip(tip)
        self.setVisible(bool(states))


def leftovers(line_io: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per sink, at a run's end: (verdicts still in its outbox, verdicts let go from a full queue)."""
    return {name: (int(o.get("undelivered", 0)), int(o.get("dropped", 0)))
            for name, o in line_io.get("outputs", {}).items() if o.get("undelivered") or o.get("dropped")}


class LineStatus(QLabel):
    def __init__(self, window: WindowHost) -> None:
        super().__init__()
        self.window_ = window
        self.setObjectName("lineStatus")
        self._model = ""
        self._switched = ""
        self.lights = OutputLights()
        window.statusBar().addPermanentWidget(self.lights)
        window.statusBar().addPermanentWidget(self)
        self.lights.hide()

    def show_status(self, s: RunStatus) -> None:
        if self._model and s.model and s.model != self._model:
            self._switched = f" (switched from {self._model})"
        self._model = s.model or self._model
        model = f"model {self._model}{self._switched}" if self._model else ""
        if s.line_refused:
            # Not a passing outage: no retry will change it, someone must fix the store or its key.
            self.setText(f"✖ the line refuses: {s.line_refused} · kept on this PC · {model}")
            self.setStyleSheet(f"color: white; background: {RED}; padding: 0 6px;")
            self.setToolTip("The image store answers but refuses this station's writes (a full or locked bucket, "
                            "a key without write rights, a certificate this PC does not trust). Verdicts are "
                            "given and kept on this PC's disk; they are forwarded once someone fixes it.")
        elif s.line:
            # Judging goes on; what is not yet on the server is safe on this PC's disk.
            self.setText(f"⚠ kept on this PC: {s.line} · {model}")
            self.setStyleSheet(f"color: white; background: {ORANGE}; padding: 0 6px;")
            self.setToolTip("Verdicts are given and kept on this PC's disk; they are forwarded, in order, "
                            "as soon as the database and the image store answer again.")
        else:
            self.setText(model)
            self.setStyleSheet("")
            self.setToolTip(f"{s.spooled} results went through the local spool during this run" if s.spooled else "")
        self.setVisible(bool(self.text()))
        self._lights(s)

    def show_leftovers(self, left: dict[str, tuple[int, int]]) -> str:
        """After a run: an orange light per sink that did not get everything, until the next Start.
        The verdicts wait on this PC's disk (station.outputs.outbox); the light says how many."""
        self.lights.set_states({name: (ORANGE if not dropped else RED,
                                       f"{name}: {waiting} kept for the next start" if waiting else f"{name}: {dropped} let go",
                                       f"{waiting} verdicts wait in this PC's outbox and go first at the next Start; "
                                       f"{dropped} were let go because the queue was full")
                                for name, (waiting, dropped) in left.items()})
        return "; ".join(f"{name}: {w} verdicts kept on this PC for the next start" if w else
                         f"{name}: {d} verdicts let go (queue full)" for name, (w, d) in left.items())

    def _lights(self, s: RunStatus) -> None:
        states: dict[str, tuple[str, str, str]] = {}
        health: list[Health] = []
        if s.live:  # a camera or a stream: its own light, and the bell when it is gone
            down = s.state in LIVE_DOWN
            states["source"] = (RED if s.state == "lost" else ORANGE if down else GREEN,
                                f"source {s.state}", s.detail)
            health.append(Health("camera", not down, s.detail))
        # The line's database and store: an alarm when away for alarm.line_down_minutes, or refusing.
        health.append(Health("line", not (s.line or s.line_refused), s.line_refused or s.line, refused=bool(s.line_refused)))
        for o in s.outputs:
            waiting = f", {o.queued} waiting" if o.queued else ""
            dropped = f", {o.dropped} let go (queue full)" if o.dropped else ""
            # Short, for a status bar: "broker: 18 waiting" says both that it is down and what waits;
            # the count stays while a reconnected output catches up, until the last one is delivered.
            doing = f": {o.queued} waiting" if o.queued else "" if o.ok else ": connecting" if o.state == "connecting" else ": retrying"
            doing = ": refused" + (f", {o.queued} waiting" if o.queued else "") if o.refused else doing
            states[o.name] = (GREEN if o.ok else RED if o.refused else ORANGE, f"{o.name}{doing}",
                              f"{o.kind} at {o.where}: {o.state}{' – ' + o.detail if o.detail else ''}; "
                              f"{o.delivered} delivered{waiting}{dropped}")
            # Still on its first attempt (the OPC UA server takes a second or two to start): not lost yet.
            health.append(Health(o.name, o.ok or (o.state == "connecting" and not o.refused), o.detail, refused=bool(o.refused)))
        self.lights.set_states(states)
        if health:
            self.window_.bell.health(health)
