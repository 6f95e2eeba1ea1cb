"""How each configured output is doing, seen from outside a run (`station doctor`): what waits in
its outbox on this PC and since when, and whether it takes a connection now, told apart as an
outage (retried until it answers) or a refusal (an untrusted certificate, a rejected login:
someone must act). Nothing is sent: a doctor run never moves a reject gate."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from station.outputs.config import OutputsConfig, SinkConfig, sink_kind

CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class OutputHealth:
    name: str
    kind: str
    where: str
    waiting: int  # verdicts in this PC's outbox for it (sent first at the next start)
    oldest_s: float | None  # how long the oldest of them has waited
    reachable: bool | None  # None: not tried (the station serves this one itself)
    refused: str  # why it refuses this station for good; "" otherwise
    detail: str  # one line

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _outbox(folder: Path, name: str) -> tuple[int, float | None]:
    from station.outputs.outbox import Outbox

    path = Outbox.for_sink(folder, name).path
    if not path.is_file():
        return 0, None
    box = Outbox(path)
    try:
        head = box.head()
        waiting = len(box)
    finally:
        box.close()
    if head is None:
        return 0, None
    try:
        since = datetime.fromisoformat(head[1].time)
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        return waiting, max(0.0, (datetime.now(UTC) - since).total_seconds())
    except ValueError:
        return waiting, None


def _connect(cfg: SinkConfig, station: str) -> None:
    from station.outputs.lineio import make_sink

    sink = make_sink(cfg, station, "doctor")
    try:
        sink.connect()
    finally:
        sink.close()


def check_outputs(config: OutputsConfig, data: str | Path | None, station: str) -> list[OutputHealth]:
    """Each sink of `config`, in the file's order; connections are tried all at once."""
    from station.core import config as station_config
    from station.outputs.hub import refusal
    from station.store.db import first_line

    folder = station_config.data_dir(data) / "outbox"
    tried = [cfg for cfg in config.sinks if not (kind := sink_kind(cfg.kind)) or not kind.serves]
    pool = ThreadPoolExecutor(max_workers=max(1, len(tried)), thread_name_prefix="doctor-output")
    jobs = {cfg.name: pool.submit(_connect, cfg, station) for cfg in tried}
    out = []
    for cfg in config.sinks:
        waiting, oldest = _outbox(folder, cfg.name)
        reachable: bool | None = None
        refused, detail = "", "served by the station while it runs"
        if cfg.name in jobs:
            try:
                jobs[cfg.name].result(timeout=CONNECT_TIMEOUT_S)
                reachable, detail = True, "answers"
            except FutureTimeout:
                reachable, detail = False, f"no answer in {CONNECT_TIMEOUT_S:.0f} s"
            except Exception as exc:  # noqa: BLE001 (any sink's failure is that sink's finding, in one line)
                refused = refusal(exc)
                reachable, detail = False, ("refuses this station: " if refused else "unreachable: ") + first_line(exc)[:200]
        out.append(OutputHealth(cfg.name, cfg.kind, cfg.where, waiting, None if oldest is None else round(oldest, 1),
                                reachable, refused, detail))
    pool.shutdown(wait=False, cancel_futures=True)  # a hung connection is left to its own timeout
    return out
