"""Shadow mode: a candidate model judges every part the active model judged, on the same run.

The active model's verdict goes to the line first, untouched; the candidate's is stored apart
(the `shadow_verdicts` table) and never reaches an output. `station shadow` and the Models tab
then compare the two on the same parts, and on the parts an inspector reviewed, the truth.

The candidate judges after the part is handed to the line, from the bytes the station stored,
so it adds its own inference time between parts but never to a verdict's way to the PLC.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from station.core.domain import Prediction, Result
from station.core.errors import StationError

if TYPE_CHECKING:
    from station.protocols import InspectionModel, StationStore

log = logging.getLogger("station.trial")


class Shadow:
    """The candidate on one run: `judge` each stored Result; `judged` and `missed` count."""

    def __init__(self, store: StationStore, model: InspectionModel, active_version: str) -> None:
        from station.store import repo
        from station.store.db import unreachable

        if model.version == active_version:
            raise StationError(f"the shadow model {model.name} is the active model itself; choose another to compare")
        self.store, self.model = store, model
        with unreachable(), store.session.begin() as s:
            self.model_id = repo.model_id(s, model.name, model.version, model.card)
        self.judged = 0
        self.missed = 0  # parts not compared: not stored yet (spooled) or unreadable by the candidate

    def judge(self, r: Result) -> Prediction | None:
        """The candidate's verdict on a part the run stored, written beside it; None when the part
        was not stored here (a spooled row has no id yet) or the candidate cannot read it."""
        from station.core.errors import ImageError
        from station.core.imageio import check_shape, decode
        from station.store import repo
        from station.store.db import unreachable

        if r.prediction is None or r.inspection_id is None:
            if r.prediction is not None:
                self.missed += 1
            return None
        try:
            image = decode(r.data) if r.data is not None else check_shape(r.frame.image)
            pred = self.model.decide(self.model.probabilities(self.model.prepare(image)[None])[0])
        except ImageError as exc:
            self.missed += 1
            log.warning("shadow: %s not judged: %s", r.frame.origin, exc)
            return None
        try:
            with unreachable(), self.store.session.begin() as s:
                repo.add_shadow_verdict(s, r.inspection_id, self.model_id, pred)
        except StationError as exc:  # the database is away: the trial loses a part, the line nothing
            self.missed += 1
            log.warning("shadow verdict not stored: %s", exc)
            return None
        self.judged += 1
        return pred
