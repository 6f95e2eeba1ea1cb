"""Commissioning a line's outputs: send one test verdict to every sink and say, per sink,
whether it was delivered; read the PLC handshake's inputs (Trigger, Ack) as they are now.

A test verdict is marked as one: sequence 0 (no part ever has it; parts count from 1),
origin and model "io-test", no inspection id. Sent as PASS unless a FAIL is asked for: a FAIL
may move the reject gate, so whoever asks for it is asked first (the window) or says so (the CLI).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from station.core.domain import new_uid
from station.core.errors import StationError
from station.outputs.config import HandshakeConfig, OutputsConfig, SinkConfig
from station.outputs.message import VerdictMessage

TEST = "io-test"
TIMEOUT_S = 10.0  # a sink that has neither answered nor failed by then is reported as not answering


@dataclass(frozen=True)
class ProbeResult:
    name: str
    kind: str
    where: str
    delivered: bool
    detail: str  # "delivered" or why not, in one line
    ms: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def test_message(station: str, verdict: str) -> VerdictMessage:
    if verdict not in ("pass", "fail"):
        raise StationError(f"a test verdict is pass or fail, not {verdict!r}")
    return VerdictMessage(sequence=0, station=station, time=datetime.now(UTC).isoformat(timespec="milliseconds"),
                          verdict=verdict, label="good" if verdict == "pass" else TEST, p_defect=None,
                          defect_code=0 if verdict == "pass" else 1, model=TEST, id=None, image=None, origin=TEST,
                          uid=new_uid())


def _send(cfg: SinkConfig, message: VerdictMessage) -> None:
    from station.outputs.lineio import make_sink

    sink = make_sink(cfg, message.station, TEST)
    try:
        sink.connect()
        sink.send(message)
    finally:
        sink.close()


def send_test(config: OutputsConfig, station: str, verdict: str = "pass") -> list[ProbeResult]:
    """One test verdict to every sink, all at once; each sink's outcome, in the file's order."""
    from station.store.db import first_line

    if not config.sinks:
        raise StationError("no outputs are configured: add a sink in Settings → Line outputs (or the outputs file) first")
    message = test_message(station, verdict)
    pool = ThreadPoolExecutor(max_workers=len(config.sinks), thread_name_prefix="io-test")
    t0 = time.perf_counter()
    jobs = [(cfg, pool.submit(_send, cfg, message)) for cfg in config.sinks]
    out = []
    for cfg, job in jobs:
        try:
            job.result(timeout=max(0.1, TIMEOUT_S - (time.perf_counter() - t0)))
            ok, detail = True, "delivered"
        except FutureTimeout:
            ok, detail = False, f"no answer in {TIMEOUT_S:.0f} s"
        except Exception as exc:  # noqa: BLE001 (any sink's failure is that sink's answer, said in one line)
            ok, detail = False, first_line(exc)[:200]
        out.append(ProbeResult(cfg.name, cfg.kind, cfg.where, ok, detail, round((time.perf_counter() - t0) * 1000, 1)))
    pool.shutdown(wait=False, cancel_futures=True)  # a hung sink's thread is left to its own timeout
    return out


def read_handshake(cfg: HandshakeConfig) -> dict[str, Any]:
    """The PLC's Trigger and Ack as they are now (connect, read once, close), or why they could
    not be read: {"where", "trigger", "ack"} or {"where", "error"}."""
    from station.store.db import first_line

    try:
        return {**_read(cfg), "where": cfg.where}
    except Exception as exc:  # noqa: BLE001 (any client library's failure is the PLC's answer here)
        return {"error": first_line(exc)[:200], "where": cfg.where}


def _read(cfg: HandshakeConfig) -> dict[str, bool]:
    if cfg.protocol == "modbus":
        from station.outputs.modbus_io import ModbusLink

        link: Any = ModbusLink(cfg)
    else:
        from station.outputs.opcua_io import OpcUaLink

        link = OpcUaLink(cfg)
    try:
        link.connect()
        trigger, ack = link.read_inputs()
    finally:
        link.close()
    return {"trigger": bool(trigger), "ack": bool(ack)}
