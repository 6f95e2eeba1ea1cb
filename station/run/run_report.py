"""What a run reports: the model it ran, its status for a status bar, and its summary (the JSON
`station run --json` prints). Plain data, shared by the run, the CLI and the window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.core.domain import Result
    from station.line.diskguard import DiskState
    from station.outputs.hub import SinkState
    from station.protocols import InspectionModel

LISTED = 1000  # per-frame lists in a summary stop growing here (their counts do not)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    classes: list[str]
    threshold: float
    device: str
    card: dict[str, Any]
    backend: str = "torch"


@dataclass(frozen=True)
class FrameError:
    origin: str
    error: str


def inspected(images: int, parts: int | None) -> str:
    """How many were inspected, as an operator counts: parts, and their views when a part has
    several (`parts` None: one image a part)."""
    return f"{parts} parts ({images} views)" if parts is not None else str(images)


@dataclass(frozen=True)
class RunStatus:
    """A status bar's worth: the source's state and the counters so far."""

    state: str  # opening | connected | reconnecting | lost | finished | pausing | paused | idle
    detail: str = ""
    frames: int = 0
    dropped: int = 0
    processed: int = 0  # images judged (each view of a part counts)
    failed: int = 0
    skipped: int = 0
    fps: float = 0.0
    parts: int | None = None  # whole parts judged, when a part has several views (else `processed`)
    line: str = ""  # "" while results reach the database and the store; else why they are spooled
    line_refused: str = ""  # ... and why the store refuses for good, when it does (an alarm at once)
    spooled: int = 0  # results of this run that went through the spool
    model: str = ""  # the model judging now (it changes when the line promotes another)
    live: bool = False  # a camera or a stream (its state is the camera's light)
    outputs: tuple[SinkState, ...] = ()  # each sink's state, and the PLC handshake's (station.outputs)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "outputs": [s.to_json() for s in self.outputs]}


@dataclass
class RunSummary:
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[FrameError] = field(default_factory=list)
    verdicts: dict[str, int] = field(default_factory=lambda: {"pass": 0, "fail": 0})
    dropped: int = 0
    images_per_s: float = 0.0
    run_id: int | None = None
    model: ModelInfo | None = None
    state: str = "finished"  # finished | stopped | lost | error
    detail: str = ""  # why the source was lost, or the error
    # Judged, but the image was not stored (a full disk), or the row was not committed: the first
    # LISTED of each, and how many in all.
    not_stored: list[FrameError] = field(default_factory=list)
    not_stored_count: int = 0
    unrecorded: list[FrameError] = field(default_factory=list)
    unrecorded_count: int = 0
    disk: DiskState | None = None
    spooled: int = 0  # results kept on this PC's disk during an outage (forwarded, or waiting)
    spool_waiting: int = 0  # still waiting at the end: the next start forwards them
    spool_bytes: int = 0  # ... and what they take on this disk (capped by settings disk.spool_gb)
    line_down_s: float = 0.0  # how long the line's database or store had been away at the end (0: up)
    line_refused: str = ""  # why the line's store refused results for good (the command exits 3)
    switches: list[dict[str, Any]] = field(default_factory=list)  # line promotions followed mid-run
    line_io: dict[str, Any] = field(default_factory=dict)  # "outputs" per sink and "handshake", when configured
    shadow: dict[str, Any] | None = None  # the candidate tried beside the model (--shadow): name, judged, missed
    recipe: dict[str, Any] | None = None  # the product judged (station.run.product): name, version, golden check
    # Parts of several views (station.core.parts): how many, by the part's verdict; None: one view a part.
    parts: dict[str, int] | None = None

    @property
    def whole_parts(self) -> int | None:
        """Parts judged, when a part has several views; None: one view a part."""
        return sum(self.parts.values()) if self.parts else None

    def count(self, r: "Result") -> None:
        """One frame's Result into the counters."""
        if r.skipped:
            self.skipped += 1
        elif r.error is not None:
            self.failed += 1
            self.errors.append(FrameError(r.frame.origin, r.error))
        elif r.prediction is not None:
            self.processed += 1
            self.verdicts[r.prediction.verdict] = self.verdicts.get(r.prediction.verdict, 0) + 1
            if r.image_note:
                self.not_stored_count += 1
                if len(self.not_stored) < LISTED:
                    self.not_stored.append(FrameError(r.frame.origin, r.image_note))
            if r.unrecorded:
                self.unrecorded_count += 1
                if len(self.unrecorded) < LISTED:
                    self.unrecorded.append(FrameError(r.frame.origin, r.unrecorded))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "processed": self.processed, "skipped": self.skipped, "failed": self.failed,
            "errors": [{"origin": e.origin, "error": e.error} for e in self.errors],
            "verdicts": dict(self.verdicts), "dropped": self.dropped, "images_per_s": self.images_per_s,
            "run_id": self.run_id, "state": self.state,
            "model": {"name": self.model.name, "version": self.model.version, "backend": self.model.backend} if self.model else None,
            "not_stored": [{"origin": e.origin, "reason": e.error} for e in self.not_stored], "not_stored_count": self.not_stored_count,
            "unrecorded": [{"origin": e.origin, "reason": e.error} for e in self.unrecorded], "unrecorded_count": self.unrecorded_count,
            "disk": self.disk.to_json() if self.disk else None,
            "spooled": self.spooled, "spool_waiting": self.spool_waiting,
            "spool_bytes": self.spool_bytes, "line_down_s": self.line_down_s, "model_switches": list(self.switches),
            **self.line_io,
        }
        if self.recipe is not None:
            out["recipe"] = self.recipe
        if self.parts is not None:
            out["parts"] = dict(self.parts)
        if self.shadow is not None:
            out["shadow"] = dict(self.shadow)
        if self.line_refused:
            out["line_refused"] = self.line_refused
        if self.state == "lost":
            out["source_status"] = f"lost: {self.detail}"
        return out


def model_info(m: "InspectionModel") -> ModelInfo:
    return ModelInfo(name=m.name, version=m.version, classes=list(m.classes), threshold=m.threshold,
                     device=str(m.device), card=m.card, backend=m.backend)
