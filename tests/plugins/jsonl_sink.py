"""A sink kind added from outside the station: every verdict as one JSON line in a file (a
test's stand-in for, say, a plant historian). The whole plug-in is this module and its last line."""

from __future__ import annotations

import json
from pathlib import Path

from station.outputs.config import SinkConfig, SinkKind, register_sink
from station.outputs.message import VerdictMessage


class JsonLinesSink:
    kind = "jsonl"
    tick_s = 0.0

    def __init__(self, cfg: SinkConfig, station: str, model: str) -> None:
        self.name = cfg.name
        self.path = Path(cfg.options["path"])
        self.where = str(self.path)

    def connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, message: VerdictMessage) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(message.to_json()) + "\n")

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


register_sink(SinkKind("jsonl", make=JsonLinesSink, options=("path",)))
