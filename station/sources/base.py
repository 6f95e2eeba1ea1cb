"""What every source offers: iteration over Frames, a status line, counters, and close()."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from station.core.domain import Frame
from station.core.errors import SourceError


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

    def retune(self, target: str) -> bool:
        """Another recipe's settings for the same device (`target`: SRC without its kind), set
        between two parts; True when anything changed. A source that cannot raises SourceError."""
        raise SourceError(f"{self.name}: its settings cannot change while it runs; start again with {target}")

    @property
    def dropped(self) -> int:
        return self.status.dropped

    def close(self) -> None:
        self.status.state = "finished"

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def reopen(source: Source, open_once: Callable[[], None], closed: threading.Event, backoff: tuple[float, float],
           max_retries: int | None = None, name: str = "") -> bool:
    """A lost device (a camera unplugged, a cable pulled) opened again with capped exponential
    backoff, the attempts shown in its status; False when closed, stopped, or out of retries
    (then the state is "lost"). `open_once` raises SourceError while the device is still gone."""
    prefix = f"{name}: " if name else ""
    delay, attempts = backoff[0], 0
    while not closed.is_set() and not source.should_stop():
        if max_retries is not None and attempts >= max_retries:
            source.status.state = "lost"
            source.status.detail = f"gave up after {attempts} reconnect attempts"
            return False
        attempts += 1
        source.status.detail = f"{prefix}reconnect attempt {attempts}"
        if closed.wait(delay):
            return False
        try:
            open_once()
            source.status.detail = f"{prefix}reconnected after {attempts} attempt(s)"
            return True
        except SourceError:
            delay = min(delay * 2, backoff[1])
    return False
