"""The PLC handshake: the line says when a part is in place, the station says what to do with it.

    PLC                    station
    Trigger ↑   ───────▶   Ready ↓, Busy ↑; exactly one frame is taken (a camera's next frame,
                           a software-triggered camera's answer, a folder's next file), or
                           one of each view of a part seen from several sides
                           ... judged and stored ...
                ◀───────   OK / NG, DefectCode, Sequence; then ResultReady ↑, Busy ↓
    Trigger ↓, Ack ↑ ──▶   ResultReady ↓, OK ↓, NG ↓, Ready ↑
    Ack ↓                  (any Trigger high from now on is the next part)

The PLC drops Trigger no later than it raises Ack: a Trigger still high at the Ack is the same
part (logged), and the station waits for it to drop. Any Trigger seen high after that is a new
part, however short the PLC kept it low (a PLC scan can be faster than `poll_ms`).

Signals are levels, polled every `poll_ms` over the link (Modbus coils, OPC UA nodes), so a
dropped connection loses nothing: the station reconnects and writes the levels again.
The handshake runs on whichever thread iterates the source (the pipeline's reader); the run
hands each verdict over with `done()`.
Out of order: a Trigger held high is one part; an Ack with no result waiting, or still high from
the last part, is logged and ignored; an Ack that never comes is logged after `ack_timeout_s`
and the station clears ResultReady and is Ready again (the PLC's own watchdog decides the part).
"""

from __future__ import annotations

import logging
import queue
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from station.core.domain import Frame
from station.outputs.config import HandshakeConfig
from station.outputs.hub import BACKOFF, SinkState
from station.outputs.message import VerdictMessage
from station.sources.base import Source
from station.store.db import first_line

log = logging.getLogger("station.plc")
T = TypeVar("T")
JUDGE_S = 60.0  # a verdict not back from the pipeline in this long is a bug; the part is failed


class PlcLink(Protocol):
    where: str

    def connect(self) -> None: ...
    def read_inputs(self) -> tuple[bool, bool]: ...  # Trigger, Ack
    def read_product(self) -> int: ...  # the product code the PLC set for this part
    def read_serial(self) -> str | None: ...  # the part's serial the PLC set for it (None: none)
    def write(self, signals: dict[str, bool | int]) -> None: ...
    def close(self) -> None: ...


class _Stopped(Exception):
    pass


class Handshake:
    def __init__(self, link: PlcLink, cfg: HandshakeConfig) -> None:
        self.link, self.cfg = link, cfg
        self.poll_s = cfg.poll_ms / 1000
        self._results: queue.Queue[VerdictMessage] = queue.Queue()
        self._state, self._detail = "connecting", ""
        self._down_since: float | None = time.monotonic()
        self.parts = 0
        self.latencies_ms: list[float] = []
        self.ack_timeouts = 0
        self.out_of_order = 0
        self.reconnects = 0

    # -- the run's side ---------------------------------------------------------------------
    def gate(self, source: Source) -> "TriggeredSource":
        return TriggeredSource(self, source)

    def done(self, message: VerdictMessage) -> None:
        """The verdict for the part just handed out (called by the run as each result comes)."""
        self._results.put(message)

    def state(self) -> SinkState:
        down = time.monotonic() - self._down_since if self._down_since is not None else 0.0
        return SinkState("plc", f"handshake ({self.cfg.protocol})", self.link.where, self._state, self._detail,
                         0, self.parts, 0, round(down, 1))

    def to_json(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        return {"protocol": self.cfg.protocol, "parts": self.parts, "ack_timeouts": self.ack_timeouts,
                "out_of_order": self.out_of_order, "reconnects": self.reconnects,
                "latency_ms": {"median": round(statistics.median(lat), 2), "p99": round(_p99(lat), 2),
                               "max": round(lat[-1], 2)} if lat else None}

    # -- the link, never given up on -------------------------------------------------------
    def io(self, fn: Callable[[], T], should_stop: Callable[[], bool]) -> T:
        delay = BACKOFF[0]
        while True:
            if self._state != "connected":
                try:
                    self.link.connect()
                    if self._state == "reconnecting":
                        self.reconnects += 1
                    log.info("PLC handshake connected (%s)", self.link.where)
                    self._state, self._detail, self._down_since, delay = "connected", "", None, BACKOFF[0]
                except Exception as exc:  # noqa: BLE001 (any client library's failure is "not reachable now")
                    self._lost(exc)
                    if _sleep(delay, should_stop):
                        raise _Stopped from None
                    delay = min(delay * 2, BACKOFF[1])
                    continue
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 (a dropped connection: reconnect and do it again)
                self._lost(exc)

    def write(self, signals: dict[str, bool | int], should_stop: Callable[[], bool]) -> None:
        self.io(lambda: self.link.write(signals), should_stop)

    def _lost(self, exc: BaseException) -> None:
        if self._state == "connected" or not self._detail:
            log.warning("PLC handshake (%s): %s; retrying", self.link.where, first_line(exc))
        if self._down_since is None:
            self._down_since = time.monotonic()
        self._state, self._detail = "reconnecting", first_line(exc)
        try:
            self.link.close()
        except Exception:  # noqa: BLE001 (closing what already failed)
            pass

    def close(self) -> None:
        try:
            if self._state == "connected":
                self.link.write({"ready": False, "busy": False, "result_ready": False})  # the line must not wait on a stopped station
        except Exception:  # noqa: BLE001 (the PLC's watchdog sees a station that is gone)
            pass
        self.link.close()
        self._state = "stopped"


class TriggeredSource(Source):
    """The run's source under the handshake: one frame of the inner source per PLC trigger."""

    live = True
    name = "plc-triggered"

    def __init__(self, hs: Handshake, inner: Source) -> None:
        super().__init__()
        self.hs, self.inner = hs, inner
        self.status = inner.status  # the camera's state is the run's state
        # Called with each part's product before its frame is taken: the run sets the camera as
        # that product's recipe says (exposure, gain), so the frame is taken the way it is judged.
        self.tune: Callable[[str], None] | None = None

    def __iter__(self) -> Iterator[Frame]:
        hs, stop = self.hs, self.should_stop
        self.inner.should_stop = stop
        parts = self.inner.parts() if hasattr(self.inner, "parts") else None  # station.sources.views
        frames = iter(self.inner) if parts is None else iter(())
        try:
            hs.write({"ready": True, "busy": False, "result_ready": False, "ok": False, "ng": False}, stop)
            # A Trigger already high when the station first says Ready is a PLC waiting for it: a part.
            armed, ack_noted = True, False
            while not stop():
                trigger, ack = hs.io(hs.link.read_inputs, stop)
                if not trigger:
                    armed = True
                    if ack and not ack_noted:
                        hs.out_of_order += 1
                        log.warning("PLC raised Ack with no result waiting; ignored")
                    ack_noted = ack
                    _sleep(hs.poll_s, stop)
                    continue
                if not armed:  # still high from the part before: one trigger is one part
                    _sleep(hs.poll_s, stop)
                    continue
                armed = False
                t0 = time.perf_counter()
                seq = hs.parts + 1
                hs.write({"ready": False, "busy": True}, stop)
                code = hs.io(hs.link.read_product, stop) if hs.cfg.products else 0  # read with the Trigger: this part's product
                product = (hs.cfg.products.get(str(code), f"?{code}") if code else "?0") if hs.cfg.products else None
                serial = hs.io(hs.link.read_serial, stop) if hs.cfg.serial else None  # this part's identity
                if product is not None and self.tune is not None:
                    self.tune(product)
                self.inner.arm()
                # A part of several views is all its views, taken together; one answer for all.
                part = next(parts, None) if parts is not None else [f] if (f := next(frames, None)) is not None else None
                if part is None:
                    log.warning("the source ended while the PLC waited for part %d", seq)
                    return
                for frame in part:
                    yield replace(frame, trigger=seq, live=True, product=product, serial=serial, serial_read="plc" if serial else None)
                message = self._verdict(seq, stop)
                # product_ack: the code of the recipe that judged this part; 0 when none judged it
                # as the PLC asked (an unknown code, a recipe that could not be loaded).
                ack_code = code if product is not None and message.recipe == product else 0
                hs.write({"ok": message.ok, "ng": not message.ok, "defect_code": message.defect_code, "sequence": seq,
                          **({"product_ack": ack_code} if hs.cfg.products else {}), "result_ready": True, "busy": False}, stop)
                hs.parts = seq
                hs.latencies_ms.append((time.perf_counter() - t0) * 1000)
                armed, acked = self._await_ack(seq, ack)
                hs.write({"result_ready": False, "ok": False, "ng": False, "ready": True}, stop)
                # This part's Ack stays high until the PLC sees ResultReady fall, a scan or more
                # later: that is the sequence, not an Ack with nothing waiting (198 of 200 parts of a
                # PLC with a 10 ms scan were counted out of order at 0.9.3).
                ack_noted = acked
        except _Stopped:
            return
        finally:
            self.inner.close()

    def _verdict(self, seq: int, stop: Callable[[], bool]) -> VerdictMessage:
        try:
            return self.hs._results.get(timeout=JUDGE_S)
        except queue.Empty:
            raise RuntimeError(f"no verdict for part {seq} within {JUDGE_S:.0f} s") from None

    def _await_ack(self, seq: int, ack_at_trigger: bool) -> tuple[bool, bool]:
        """Bounded by ack_timeout_s, and not cut short by a stop: the last part's result must be
        seen by the PLC before the station says it is no longer Ready. Returns whether the
        next Trigger may be taken at once (it was low at the Ack), and whether the Ack came."""
        hs = self.hs
        deadline = time.monotonic() + hs.cfg.ack_timeout_s
        past: Callable[[], bool] = lambda: time.monotonic() > deadline  # noqa: E731 (a PLC gone for good ends the wait too)
        low_seen = not ack_at_trigger
        if ack_at_trigger:
            hs.out_of_order += 1
            log.warning("part %d: Ack was still high from the part before; waiting for a new one", seq)
        while True:
            try:
                trigger, ack = hs.io(hs.link.read_inputs, past)
            except _Stopped:
                trigger, ack = False, False
            if ack and low_seen:
                if trigger:
                    hs.out_of_order += 1
                    log.warning("part %d: Trigger still high at the Ack; the next part waits for it to drop", seq)
                return not trigger, True
            low_seen = low_seen or not ack
            if time.monotonic() > deadline:
                hs.ack_timeouts += 1
                log.warning("part %d: the PLC did not acknowledge the result within %.1f s; clearing ResultReady",
                            seq, hs.cfg.ack_timeout_s)
                return not trigger, False
            time.sleep(hs.poll_s)

    def close(self) -> None:
        self.inner.close()

    @property
    def dropped(self) -> int:
        return self.inner.dropped


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> bool:
    """Sleep in short slices; True when asked to stop meanwhile."""
    end = time.monotonic() + seconds
    while True:
        if should_stop():
            return True
        left = end - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.05))


def _p99(sorted_values: list[float]) -> float:
    if len(sorted_values) < 2:
        return sorted_values[-1]
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[98]

