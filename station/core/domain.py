"""Plain data that crosses module and thread boundaries. Imports nothing from station."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from station.core.labels import is_defect


def new_uid() -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Made when a part is
    judged, before any commit, so it names the part in every message even while the database is
    down, never repeats across restarts or stations, and sorts by time."""
    value = (time.time_ns() // 1_000_000 & (1 << 48) - 1) << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC's variant
    return str(uuid.UUID(int=value))


class Prediction(NamedTuple):
    """What the classifier says about one image. `label` already honours the model's threshold."""

    label: str
    p_defect: float
    probabilities: dict[str, float]

    @property
    def verdict(self) -> str:
        return "fail" if is_defect(self.label) else "pass"

    @property
    def margin(self) -> float:
        """Top-1 minus top-2 probability: small means the model was torn between two classes."""
        top = sorted(self.probabilities.values(), reverse=True) + [0.0, 0.0]
        return float(top[0] - top[1])


@dataclass(frozen=True)
class Frame:
    """One unit of work from a source: either a file to decode, or pixels already captured."""

    origin: str
    captured_at: datetime
    index: int = 0
    path: str | None = None
    image: Any = None  # numpy array for captured frames; None for files (decoded by the pipeline)
    live: bool = False
    trigger: int | None = None  # the trigger this frame answers (a triggered camera, a PLC handshake)
    read_at: float | None = None  # time.monotonic() when the run took it from its source (after any pause)
    # The recipe the line says this part is (a PLC's product code, read at its trigger); None: the run's own.
    product: str | None = None
    # Why this part must not be judged (its product cannot be judged here): it fails as not inspected.
    refused: str | None = None
    serial: str | None = None  # the part's serial: the PLC's (read with its trigger) or a code's on the part
    serial_read: str | None = None  # how: "plc", "code", or "unread" (a code was looked for and not read); None: not asked
    # A part seen from several sides (station.sources.views): the part's id, shared by its views,
    # this frame's view, and every view the part has. None/(): a part of one view.
    part: str | None = None
    view: str | None = None
    views: tuple[str, ...] = ()


UNCERTAIN_BAND = 0.05  # a model card's `uncertain_band` overrides it


def is_uncertain(p_defect: float, threshold: float, band: float | None = None) -> bool:
    """A verdict this close to the cut reads UNCERTAIN – CHECK in the window, and retention keeps
    its image for good (it is the part an engineer will want to look at again)."""
    return abs(p_defect - threshold) < (UNCERTAIN_BAND if band is None else band)


@dataclass(frozen=True)
class Result:
    """A frame after the pipeline: a prediction with its evidence, or the reason it failed."""

    frame: Frame
    prediction: Prediction | None = None
    cam: Any = None  # float32 HxW in [0, 1] at the model's feature resolution
    box: tuple[int, int, int, int] | None = None
    sha256: str | None = None
    inspection_id: int | None = None
    error: str | None = None
    skipped: bool = False
    image_shape: tuple[int, ...] | None = None
    preview: Any = None  # small BGR uint8 image for a UI, when asked for
    timings: dict[str, float] = field(default_factory=dict)
    # The file's bytes as read (stored as is, so the stored image is the original); None for a
    # captured frame, whose pixels are frame.image.
    data: bytes | None = field(default=None, repr=False, compare=False)
    # Set by the recorder when the verdict stands but something was not kept: why the image was
    # not stored (a full disk), or why the row could not be committed (the database was unavailable).
    image_note: str | None = None
    unrecorded: str | None = None
    uid: str = field(default_factory=new_uid)  # the part's id everywhere (messages, rows, spool)
    # Kept on this PC's disk until the database or the image store is back (station.record.spool).
    spooled: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.prediction is not None


@dataclass(frozen=True)
class ReviewRecord:
    """What a review (or its undo) did: the item's label now and before, and who else had
    reviewed it first (both events are kept; the newest is the current label)."""

    id: int  # the inspection
    label: str | None  # None: an undo put the item back in the queue
    previous: str | None
    review_id: int
    by: str = ""
    predicted: str | None = None
    already_reviewed_by: str | None = None
    already_reviewed_at: str | None = None
    undid: int | None = None  # the review event an undo reverted
    conflict: str | None = None  # identical image content labelled otherwise elsewhere: "crack (#12), good (#40)"

    @property
    def contested(self) -> bool:
        """Someone else reviewed this item before this event."""
        return bool(self.already_reviewed_by) and self.already_reviewed_by != self.by

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "label": self.label, "previous": self.previous, "review_id": self.review_id}
        if self.undid is not None:
            out["undid"] = self.undid
        else:
            out.update({"predicted": self.predicted, "by": self.by})
        if self.already_reviewed_by is not None:
            out.update({"already_reviewed_by": self.already_reviewed_by, "already_reviewed_at": self.already_reviewed_at})
        if self.conflict is not None:
            out["conflict"] = self.conflict
        return out
