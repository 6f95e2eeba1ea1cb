"""The run's one touch point with the line: the sinks and the PLC handshake of an outputs file.

    io = LineIO.open(config, station="st-3", model=model)
    source = io.gate(source)         # under a handshake: one frame per PLC trigger
    io.part(part)                    # every judged part (station.core.parts): to every sink, and to the PLC
    io.states()                      # one SinkState per sink (and "plc"): the window's lights
    io.close(wait_s)                 # deliver what is queued for up to wait_s, then stop
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.core.parts import PartVerdict
from station.outputs.config import OutputsConfig, OutputsError, SinkConfig, sink_kind
from station.outputs.handshake import Handshake
from station.outputs.hub import Outputs, Sink, SinkState
from station.outputs.message import DefectCodes, message_for_part
from station.outputs.outbox import Sequence

if TYPE_CHECKING:
    from station.sources.base import Source

log = logging.getLogger("station.outputs")


def make_sink(cfg: SinkConfig, station: str, model: str) -> Sink:
    """The sink its kind's registration makes (station.outputs.config.SinkKind)."""
    import importlib

    kind = sink_kind(cfg.kind)
    if kind is None:
        raise OutputsError(f"no sink kind {cfg.kind!r}")
    make = kind.make
    if isinstance(make, str):
        module, _, name = make.partition(":")
        make = getattr(importlib.import_module(module), name)
    sink: Sink = make(cfg, station, model)
    return sink


class LineIO:
    def __init__(self, config: OutputsConfig, station: str, model_name: str, classes: list[str],
                 outbox: Path | None = None) -> None:
        """`outbox`: the folder of the sinks' disk queues and the sequence (DATA/outbox); None
        keeps them in memory (a crash then loses what a down sink had queued)."""
        self.config, self.station = config, station
        self.model_name = model_name
        self.recipe: str | None = None  # the product every message names (station.line.recipes)
        self.codes = DefectCodes(config.defect_codes, classes)
        self._sinks = [make_sink(c, station, model_name) for c in config.sinks]
        self.outputs = Outputs([(sink, c.queue) for sink, c in zip(self._sinks, config.sinks)], outbox) if config.sinks else None
        self.handshake: Handshake | None = None
        if config.handshake is not None:
            h = config.handshake
            if h.protocol == "modbus":
                from station.outputs.modbus_io import ModbusLink

                self.handshake = Handshake(ModbusLink(h), h)
            else:
                from station.outputs.opcua_io import OpcUaLink

                self.handshake = Handshake(OpcUaLink(h), h)
        self._sequence = Sequence(outbox)
        self._closed: list[SinkState] | None = None
        kinds = ", ".join([s.name for s in config.sinks] + (["plc handshake"] if config.handshake else []))
        log.info("outputs from %s: %s", config.path or "the settings", kinds)

    @classmethod
    def open(cls, config: OutputsConfig, station: str, model: Any, outbox: Path | None = None) -> "LineIO":
        return cls(config, station, model.name, list(model.classes), outbox)

    def on_recipe(self, ask: Callable[[str, str, str], None]) -> None:
        """Changeovers asked for through the outputs (an MQTT sink with commands) go to `ask`."""
        for sink in self._sinks:
            if hasattr(sink, "on_recipe"):
                sink.on_recipe = ask

    def gate(self, source: "Source") -> "Source":
        return self.handshake.gate(source) if self.handshake is not None else source

    def switch_model(self, model: Any, recipe: str | None = None) -> None:
        """A new model from the next part on (and, at a changeover, a new product)."""
        self.model_name = model.name
        if recipe is not None:
            self.recipe = recipe
        self.codes = DefectCodes(self.config.defect_codes, list(model.classes))

    def part(self, part: PartVerdict, model: str | None = None) -> None:
        """A part, once every view is judged: one message to every sink, one answer to the PLC.
        `model`: the name of the model that judged its deciding view (each view may have its own)."""
        if part.skipped:
            return
        r = part.deciding
        own = self._sequence.next()
        seq = r.frame.trigger if self.handshake is not None and r.frame.trigger is not None else own
        message = message_for_part(part, seq, self.station, model or self.model_name, self.codes, self.recipe)
        if self.outputs is not None:
            self.outputs.publish(message)
        if self.handshake is not None:
            self.handshake.done(message)

    def states(self) -> list[SinkState]:
        if self._closed is not None:
            return list(self._closed)
        out = self.outputs.states() if self.outputs is not None else []
        return out + ([self.handshake.state()] if self.handshake is not None else [])

    def close(self, wait_s: float) -> dict[str, Any]:
        """Stop the handshake, deliver what the sinks still hold for up to wait_s; the summary's
        `outputs` (per sink: delivered, queued = not delivered, dropped) and `handshake`."""
        if self.handshake is not None:
            self.handshake.close()
        states = self.outputs.close(wait_s) if self.outputs is not None else []
        self._closed = states + ([self.handshake.state()] if self.handshake is not None else [])
        out: dict[str, Any] = {"outputs": {s.name: {"kind": s.kind, "delivered": s.delivered, "undelivered": s.queued,
                                                    "dropped": s.dropped, "state": s.state, "down_s": round(s.down_s, 1),
                                                    **({"refused": s.refused} if s.refused else {})} for s in states}}
        if self.handshake is not None:
            out["handshake"] = self.handshake.to_json()
        return out
