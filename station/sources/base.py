"""What every source offers: iteration over Frames, a status line, counters, and close()."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from station.domain import Frame


@dataclass
class SourceStatus:
    state: str = "idle"  # connected | reconnecting | lost | finished | idle
    detail: str = ""
    frames: int = 0
    dropped: int = 0


class Source:
    """Iterate to get Frames. `stop` (set by the consumer) ends waiting sources promptly."""

    live = False
    name = "source"

    def __init__(self) -> None:
        self.status = SourceStatus()
        self.should_stop: Callable[[], bool] = lambda: False

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def arm(self) -> None:
        """A trigger came (a PLC's): a live source forgets a frame it took before it."""

    @property
    def dropped(self) -> int:
        return self.status.dropped

    def close(self) -> None:
        self.status.state = "finished"

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
