"""Every sink on its own thread behind a bounded queue, so a broker that is down, a PLC that is
slow or a web server that hangs never slows inspection: `publish` only appends.

The queue is the sink's outbox on disk (station.outputs.outbox): a verdict is written there
before `publish` returns. A sink's thread connects, sends the oldest queued verdict, and removes
it only once the sink says it was delivered (an MQTT PUBACK, an OPC UA write's status, a Modbus
reply, an HTTP 2xx). On any failure it drops the connection, waits (0.5 s doubling to 10 s) and
sends the same verdict again: nothing is lost while the queue has room, not even in a crash, and
nothing is sent twice on purpose. When the queue is full the oldest verdict goes, and is counted.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from station.outputs.message import VerdictMessage
from station.outputs.outbox import Outbox
from station.store.db import first_line

log = logging.getLogger("station.outputs")
BACKOFF = (0.5, 10.0)


class SinkRefused(ConnectionError):
    """The peer answered and said no, and will say it again until someone acts: an untrusted
    certificate, a rejected login, a missing key file. Still retried (the fix may come on the
    other side), but told apart from an outage: a red light, and the run's exit says so."""


def refusal(exc: BaseException) -> str:
    """Why `exc` is a refusal rather than an outage; "" for an outage."""
    import ssl

    if isinstance(exc, SinkRefused | ssl.SSLCertVerificationError):
        return first_line(exc)
    return ""


class Sink(Protocol):
    kind: str
    name: str
    where: str
    tick_s: float  # how often tick() runs when idle (a heartbeat); 0: never

    def connect(self) -> None: ...
    def send(self, message: VerdictMessage) -> None: ...
    def tick(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class SinkState:
    name: str
    kind: str
    where: str
    state: str  # connecting | connected | reconnecting | stopped
    detail: str = ""
    queued: int = 0
    delivered: int = 0
    dropped: int = 0  # the queue was full: the oldest undelivered verdicts that were let go
    down_s: float = 0.0  # how long it has been unreachable (0 when connected)
    refused: str = ""  # why the peer refuses this station for good (station.outputs.hub.SinkRefused)

    @property
    def ok(self) -> bool:
        return self.state == "connected"

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


class SinkRunner:
    def __init__(self, sink: Sink, queue: int, outbox: Outbox | None = None) -> None:
        self.sink = sink
        self._q = outbox if outbox is not None else Outbox(Path(":memory:"))
        if len(self._q):
            log.info("output %s: %d verdicts from an earlier run wait in %s; they go first", sink.name, len(self._q),
                     self._q.path)
        self._max = queue
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self._state, self._detail, self._refused = "connecting", "", ""
        self._delivered = self._dropped = 0
        self._down_since: float | None = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name=f"sink {sink.name}", daemon=True)
        self._thread.start()

    def put(self, message: VerdictMessage) -> None:
        with self._cond:
            while len(self._q) >= self._max:
                self._q.drop_oldest()
                self._dropped += 1
            self._q.append(message)
            self._cond.notify()

    def state(self) -> SinkState:
        s = self.sink
        down = time.monotonic() - self._down_since if self._down_since is not None else 0.0
        return SinkState(s.name, s.kind, s.where, self._state, self._detail, len(self._q), self._delivered, self._dropped,
                         round(down, 1), self._refused)

    def _loop(self) -> None:
        delay = BACKOFF[0]
        connected = False
        last_tick = 0.0
        while not self._closed.is_set():
            if not connected:
                try:
                    self.sink.connect()
                except Exception as exc:  # noqa: BLE001 (any client library's failure is "not reachable now")
                    self._fail(exc, "cannot connect")
                    if self._closed.wait(delay):
                        break
                    delay = min(delay * 2, BACKOFF[1])
                    continue
                connected = True
                if self._state == "connecting" or not self._q:  # after a failed send, only a delivery says it is back
                    self._up()
            with self._cond:
                if not self._q:
                    wait = self.sink.tick_s - (time.monotonic() - last_tick) if self.sink.tick_s else 0.5
                    self._cond.wait(timeout=max(0.01, min(wait, 0.5)))
                head = self._q.head()
            try:
                if head is not None:
                    self.sink.send(head[1])
                    with self._cond:
                        self._q.remove(head[0])  # a full queue may have let it go meanwhile
                        self._delivered += 1
                if self.sink.tick_s and time.monotonic() - last_tick >= self.sink.tick_s:
                    last_tick = time.monotonic()
                    self.sink.tick()
                if head is not None or self.sink.tick_s:
                    delay = BACKOFF[0]
                    if self._state != "connected":
                        self._up()
            except Exception as exc:  # noqa: BLE001 (a lost connection, a refused write: retried)
                connected = False
                self._fail(exc, "lost")
                self._quietly_close()
                # A sink whose connect() proves nothing (HTTP) fails here: the same backoff applies.
                if self._closed.wait(delay):
                    break
                delay = min(delay * 2, BACKOFF[1])
        self._quietly_close()
        self._state = "stopped"

    def _up(self) -> None:
        log.info("output %s (%s) delivering to %s", self.sink.name, self.sink.kind, self.sink.where)
        self._state, self._detail, self._down_since, self._refused = "connected", "", None, ""

    def _fail(self, exc: BaseException, what: str) -> None:
        detail = f"{what}: {first_line(exc)}"
        refused = refusal(exc)
        if refused and not self._refused:
            log.error("output %s (%s) at %s refuses this station: %s; %d verdicts queued. Retrying, but someone "
                      "must fix it", self.sink.name, self.sink.kind, self.sink.where, refused, len(self._q))
        elif self._state != "reconnecting":  # said once per outage, not once per retry
            log.warning("output %s (%s) at %s: %s; %d verdicts queued, retrying", self.sink.name, self.sink.kind,
                        self.sink.where, detail, len(self._q))
        if self._down_since is None:
            self._down_since = time.monotonic()
        self._state, self._detail, self._refused = "reconnecting", detail, refused

    def _quietly_close(self) -> None:
        try:
            self.sink.close()
        except Exception:
            log.debug("closing output %s", self.sink.name, exc_info=True)

    def drain(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            with self._cond:
                if not self._q:
                    return
            time.sleep(0.05)

    def close(self) -> None:
        self._closed.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=10)
        if not self._thread.is_alive():  # a send stuck past its timeout still holds the outbox
            self._q.close()


class Outputs:
    """The run's sinks: `publish` to all of them, `states` for the window, `close` at the end."""

    def __init__(self, sinks: list[tuple[Sink, int]], outbox: Path | None = None) -> None:
        self.runners = [SinkRunner(sink, queue, Outbox.for_sink(outbox, sink.name) if outbox is not None else None)
                        for sink, queue in sinks]

    def publish(self, message: VerdictMessage) -> None:
        for r in self.runners:
            r.put(message)

    def states(self) -> list[SinkState]:
        return [r.state() for r in self.runners]

    def close(self, wait_s: float) -> list[SinkState]:
        """Go on delivering for up to wait_s, then stop; returns each sink's last state."""
        deadline = time.monotonic() + wait_s
        for r in self.runners:
            r.drain(deadline)
        states = self.states()
        for r in self.runners:
            r.close()
        for s in states:
            if s.queued:
                log.warning("output %s: %d verdicts were not delivered before the run ended (%s); they wait in the "
                            "outbox and go at the next start", s.name, s.queued, s.detail or "still sending")
        return states
