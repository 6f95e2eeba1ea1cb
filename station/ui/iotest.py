"""The Line outputs dialog's test panel, for the PLC programmer wiring the reject gate: send a
test verdict (PASS, or FAIL after a question: it may move the gate) to every sink in the form
and see which delivered it; watch the handshake's Trigger and Ack as the PLC sets them.
Built on station.outputs.probe, as `station io-test` is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from station.core.errors import StationError
from station.outputs.config import OutputsConfig
from station.ui.dialogs import ask
from station.ui.tasks import Tasks

WATCH_MS = 300  # how often the handshake's inputs are read while watched


class IoTestPanel(QGroupBox):
    def __init__(self, config: Callable[[], OutputsConfig], data: str | None, who: str, station: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Test the wiring", parent)
        self.config, self.data, self.who, self.station = config, data, who, station
        self.tasks = Tasks(self, name="station-io-test")
        self.pass_btn = QPushButton("Send a test PASS")
        self.fail_btn = QPushButton("Send a test FAIL…")
        self.watch = QCheckBox("Watch the handshake")
        self.result = QLabel("A test verdict has sequence 0 and origin io-test, so the PLC can tell it from a part.")
        self.result.setWordWrap(True)
        self.handshake = QLabel("")
        row = QHBoxLayout()
        for w in (self.pass_btn, self.fail_btn, self.watch):
            row.addWidget(w)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.result)
        lay.addWidget(self.handshake)
        self.timer = QTimer(self, interval=WATCH_MS)
        self.timer.timeout.connect(self._poll)
        self._polling = False
        self.pass_btn.clicked.connect(lambda: self.send("pass"))
        self.fail_btn.clicked.connect(self._send_fail)
        self.watch.toggled.connect(self._watch)

    def _current(self) -> OutputsConfig | None:
        try:
            return self.config()
        except StationError as exc:
            self.result.setText(f"the form does not load: {exc}")
            return None

    def _send_fail(self) -> None:
        if ask(self, "Send a test FAIL?", "A FAIL goes to the line's outputs as if a part had failed:\n"
                                          "the reject gate may move. Send it?"):
            self.send("fail")

    def send(self, verdict: str) -> None:
        config = self._current()
        if config is None:
            return
        self.result.setText(f"sending a test {verdict.upper()}…")
        data, who, station = self.data, self.who, self.station

        def job() -> list[Any]:
            from station.line import settings
            from station.line.users import audit
            from station.outputs.probe import send_test
            from station.store.db import open_store

            results = send_test(config, settings.station_name(station, data), verdict)
            store = open_store(data)
            try:
                with store.session.begin() as s:
                    audit(s, who or "(no users)", "io_test", {"verdict": verdict, "delivered": [r.name for r in results if r.delivered],
                                                             "failed": [r.name for r in results if not r.delivered]})
            finally:
                store.engine.dispose()
            return results

        self.tasks.submit(job, self._sent, self.result.setText)

    def _sent(self, results: list[Any]) -> None:
        self.result.setText("\n".join(f"✔ {r.name}: delivered in {r.ms:.0f} ms" if r.delivered else f"✘ {r.name}: NOT delivered: {r.detail}"
                                      for r in results))

    def _watch(self, on: bool) -> None:
        if on:
            self._poll()
            self.timer.start()
        else:
            self.timer.stop()
            self.handshake.setText("")

    def _poll(self) -> None:
        config = self._current()
        if self._polling or config is None:
            return
        handshake = config.handshake
        if handshake is None:
            self.handshake.setText("no handshake in the form: choose modbus or opcua above")
            return
        from station.outputs.probe import read_handshake

        self._polling = True
        self.tasks.submit(lambda: read_handshake(handshake), self._read, self._read_failed)

    def _read(self, state: dict[str, Any]) -> None:
        self._polling = False
        if not self.watch.isChecked():
            return
        if "error" in state:
            self.handshake.setText(f"handshake {state['where']}: cannot read: {state['error']}")
        else:
            level = {True: "HIGH", False: "low"}
            self.handshake.setText(f"handshake {state['where']}:  Trigger {level[state['trigger']]}  ·  Ack {level[state['ack']]}")

    def _read_failed(self, message: str) -> None:
        self._polling = False
        self.handshake.setText(message)

    def close_panel(self) -> None:
        self.timer.stop()
        self.tasks.close()
