"""A source kind added from outside the station: `tick:N`, N generated parts (a test's stand-in
for, say, a line-scan camera's SDK). The whole plug-in is this module and its last line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np

from station.core.domain import Frame
from station.sources.base import Source
from station.sources.kinds import SourceKind, register_source


class TickSource(Source):
    live = True
    name = "tick"

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def __iter__(self) -> Iterator[Frame]:
        rng = np.random.default_rng(7)
        self.status.state = "connected"
        for i in range(self.count):
            if self.should_stop():
                return
            image = rng.integers(90, 160, size=(96, 96, 3), dtype=np.uint8)
            self.status.frames += 1
            yield Frame(origin=f"tick:{i}", captured_at=datetime.now(UTC), index=i, image=image, live=True)


def open_tick(target: str, options: dict[str, Any]) -> Source:
    return TickSource(int(target))


register_source(SourceKind("tick", ("tick:",), open_tick))
