"""What the line is told about one part: the same record for every sink (MQTT's JSON, a webhook's
body, the OPC UA and Modbus values), and the defect code a PLC sorts on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from station.core.domain import Result
from station.core.parts import PartVerdict

CODE_PASS = 0
CODE_UNKNOWN_DEFECT = 254  # a defect label the code table does not know
CODE_NOT_JUDGED = 255  # the frame could not be judged (unreadable): the gate must reject it


@dataclass(frozen=True)
class VerdictMessage:
    sequence: int  # this station's part counter, never repeated across restarts (under a handshake: the trigger)
    station: str
    time: str  # when the frame was captured, ISO 8601 UTC
    verdict: str  # pass | fail | error
    label: str | None
    p_defect: float | None
    defect_code: int
    model: str
    id: int | None  # the inspection's row id (None while the database is unreachable)
    image: str | None  # the image's key in the store (its sha256)
    origin: str
    trigger: int | None = None  # the trigger this part answered
    uid: str = ""  # the part's UUIDv7, set when it was judged; "" only in outboxes from before 0.9.4
    recipe: str | None = None  # the product it was judged as (station.line.recipes); None: no recipe
    serial: str | None = None  # the part's serial, as the PLC gave it with the trigger; None: none was read
    part: str | None = None  # a part of several views: the part's id (uid is then the deciding view's)
    view: str | None = None  # the view that failed the part, or was missing; None: a pass, or one view
    reason: str | None = None  # why the part is NOT INSPECTED (a view missing or unreadable)

    @property
    def ok(self) -> bool:
        return self.verdict == "pass"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class DefectCodes:
    """Label -> code: the outputs file's table, else the model's defect classes in order from 1."""

    def __init__(self, table: dict[str, int], classes: list[str]) -> None:
        self.table = dict(table)
        defects = [c for c in classes if c != "good"]
        for i, label in enumerate(defects, start=1):
            self.table.setdefault(label, i)
        self.table.setdefault("good", CODE_PASS)

    def code(self, verdict: str, label: str | None) -> int:
        if verdict == "error":
            return CODE_NOT_JUDGED
        if verdict == "pass":
            return CODE_PASS
        return self.table.get(label or "", CODE_UNKNOWN_DEFECT)


def message_for(result: Result, sequence: int, station: str, model: str, codes: DefectCodes,
                recipe: str | None = None) -> VerdictMessage:
    p = result.prediction
    verdict = p.verdict if p is not None else "error"
    label = p.label if p is not None else None
    return VerdictMessage(
        sequence=sequence, station=station, time=result.frame.captured_at.isoformat(), verdict=verdict, label=label,
        p_defect=round(float(p.p_defect), 6) if p is not None else None, defect_code=codes.code(verdict, label),
        model=model, id=result.inspection_id, image=result.sha256, origin=result.frame.origin, trigger=result.frame.trigger,
        uid=result.uid, recipe=recipe, serial=result.frame.serial)


def message_for_part(part: PartVerdict, sequence: int, station: str, model: str, codes: DefectCodes,
                     recipe: str | None = None) -> VerdictMessage:
    """The one message of a part: its verdict, and the deciding view's type, score and image."""
    r = part.deciding
    one = message_for(r, sequence, station, model, codes, recipe)
    if r.frame.part is None:
        return one
    label = one.label if part.verdict != "error" else None
    return replace(one, verdict=part.verdict, label=label, defect_code=codes.code(part.verdict, label),
                   p_defect=one.p_defect if part.verdict != "error" else None, part=part.uid, view=part.view,
                   reason=part.reason, origin=" + ".join(v.frame.origin for v in part.views))
