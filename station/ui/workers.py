"""The inspection worker: one thread that owns an InspectionRun (the model, the device, the
source and its own store session), the same object `station run` drives.

Results reach the GUI by signal as plain data (`LiveResult`, with a downscaled preview and its
heatmap already coloured), so the GUI thread only paints. Pause and stop are thread-safe flags
checked between frames; stop is prompt because the sources and the pipeline poll it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from station.core.domain import UNCERTAIN_BAND
from station.core.errors import StationError
from station.core.parts import Assembler, PartVerdict
from station.run.inspection_run import InspectionRun, RunOptions, RunStatus

if TYPE_CHECKING:
    from station.line.recipes import Recipe

log = logging.getLogger("station.ui.worker")

PREVIEW = 512  # longest side of the image sent to the GUI


@dataclass(frozen=True)
class LiveResult:
    """One verdict as the window shows it (or the reason there is none)."""

    origin: str
    read_at: float  # time.monotonic() when the frame left the source
    inspection_id: int | None = None
    label: str | None = None
    p_defect: float = 0.0
    verdict: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    box: tuple[int, int, int, int] | None = None  # in preview pixels
    preview: np.ndarray | None = None
    heat: np.ndarray | None = None  # BGR heatmap at the preview's size
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    not_kept: str | None = None  # judged, but the row (or the image) was not stored, and why
    recipe: str | None = None  # the product it was judged as (station.line.recipes)
    product: "Recipe | None" = None  # ... its recipe: its alarm rules
    serial: str | None = None  # the part's serial (the PLC's, or the code on it)
    threshold: float | None = None  # the cut and the uncertain band it was judged at (a changeover changes them)
    band: float | None = None
    view: str | None = None  # the view shown (the one that decided the part); None: a part of one view
    # A part of several views: every view, in the station's order, each with its own verdict and heatmap.
    # The fields above are the part's: its verdict, and the deciding view's image, type and score.
    views: tuple["LiveResult", ...] = ()


class InspectionWorker(QObject):
    """The window's adapter over InspectionRun: the run lives on this worker's thread, its
    results leave as signals."""

    result = Signal(object)  # LiveResult
    failed = Signal(str)  # one line: the source or model could not be opened, or a bug
    model_ready = Signal(object)  # ModelInfo
    skipped = Signal(str)  # one line: a part this model judged before, not judged again
    finished = Signal(object)  # RunSummary

    def __init__(self, options: RunOptions, model_factory: Callable[[], Any] | None = None) -> None:
        """`model_factory`: called on the worker thread to load the model (tests pass a slow one)."""
        super().__init__()
        self.run_ = InspectionRun(dataclasses.replace(options, preview=PREVIEW, forward_wait_s=5.0), model_factory=model_factory)
        self._times: list[float] = []
        self._first: float | None = None

    # -- called from the GUI thread -------------------------------------------------------
    def stop(self) -> None:
        self.run_.stop()

    def pause(self, paused: bool) -> None:
        self.run_.pause(paused)

    def set_serial(self, serial: str) -> None:
        """The operator's serial for the next part (typed, or a hand scanner's Enter)."""
        self.run_.set_serial(serial)

    def request_recipe(self, name: str, by: str, again: bool = False) -> None:
        """The operator picked another product (or its areas changed): it judges from the next part on."""
        self.run_.request_recipe(name, "operator", by, again)

    @property
    def paused(self) -> bool:
        return self.run_.paused

    def snapshot(self) -> RunStatus:
        """Source status for the status bar; plain attribute reads, safe from any thread."""
        now = time.monotonic()
        recent = [t for t in self._times if now - t < 5.0]
        # Parts per second over the last 5 s (or since the first part, at least 1 s). Results come
        # a batch at a time, microseconds apart: the span between two of them once read 1,976 fps.
        span = max(1.0, min(5.0, now - self._first)) if self._first is not None else 1.0
        return dataclasses.replace(self.run_.status(), fps=len(recent) / span)

    # -- the worker thread --------------------------------------------------------------------
    def run(self) -> None:
        run = self.run_
        try:
            info = run.open()
            self.model_ready.emit(info)
            tag = f"{info.name} {info.version}"
            parts = Assembler()  # a part of several views is shown once, when its last view is judged
            part: PartVerdict | None = None
            for r in run.results():
                if r.frame.part is not None:
                    if (part := parts.add(r)) is None or part.skipped:
                        continue
                    r = part.deciding
                if r.skipped:  # judged before: counted in the summary, not shown as a new verdict
                    self.skipped.emit(f"{Path(r.frame.origin).name} was inspected before by {tag}: skipped "
                                      f"(its verdict is in Review; tick Inspect again to judge it anew)")
                    continue
                now = time.monotonic()
                self._first = now if self._first is None else self._first
                self._times = self._times[-300:] + [now]
                # The product in force now is this part's: a changeover happens between two segments
                # of results, on this thread.
                product = run.products.current if run.products is not None else None
                live = _live(r, r.frame.read_at if r.frame.read_at is not None else now, tag)
                if r.frame.part is not None and part is not None:
                    live = _part_live(part, live, tag)
                self.result.emit(dataclasses.replace(live, recipe=product.name if product else None, product=product,
                                                     **_cut(run.model_of(r.frame) if run.model is not None else None, product)))
        except StationError as exc:
            run.fail(str(exc))
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: the log gets the traceback, the operator one line, the GUI lives
            log.error("inspection worker failed", exc_info=True)
            run.fail(f"internal error: {type(exc).__name__}: {exc}")
            self.failed.emit(run.summary.detail)
        finally:
            try:
                summary = run.close()
            except Exception:
                log.error("closing the inspection run failed", exc_info=True)
                summary = run.summary
            if summary.state == "lost":
                self.failed.emit(f"source lost: {summary.detail}")
            self.finished.emit(summary)


def _part_live(part: PartVerdict, deciding: LiveResult, model: str) -> LiveResult:
    """The part as the window shows it: its verdict (a missing view: NOT INSPECTED, with the
    reason), the deciding view large, every view beside it."""
    views = tuple(deciding if v is part.deciding else _live(v, deciding.read_at, model) for v in part.views)
    views = tuple(dataclasses.replace(v, view=r.frame.view) for v, r in zip(views, part.views))
    shown = dataclasses.replace(deciding, view=part.deciding.frame.view, views=views)
    if part.verdict == "error":
        return dataclasses.replace(shown, error=part.reason, origin=part.deciding.frame.origin)
    return shown


def _cut(model: Any, product: "Recipe | None") -> dict[str, Any]:
    """The threshold and band a part was judged at: the recipe's band, else the model card's."""
    if model is None:
        return {}
    band = product.band if product is not None and product.band is not None else (model.card or {}).get("uncertain_band")
    return {"threshold": float(model.threshold), "band": UNCERTAIN_BAND if band is None else float(band),
            "model": f"{model.name} {model.version}"}


def _live(r, read_at: float, model: str) -> LiveResult:
    if r.error is not None or r.prediction is None:
        return LiveResult(origin=r.frame.origin, read_at=read_at, error=r.error or "skipped", model=model)
    from station.model.overlay import colorize, upsample

    p = r.prediction
    preview = r.preview
    heat = colorize(upsample(r.cam, preview.shape)) if r.cam is not None else None
    box: tuple[int, int, int, int] | None = None
    if r.box is not None and r.image_shape:
        s = preview.shape[1] / r.image_shape[1]
        x, y, w, h = (int(round(v * s)) for v in r.box)
        box = (x, y, w, h)
    return LiveResult(origin=r.frame.origin, read_at=read_at, inspection_id=r.inspection_id, label=p.label,
                      p_defect=p.p_defect, verdict=p.verdict, probabilities=dict(p.probabilities), box=box,
                      preview=preview, heat=heat, timings=dict(r.timings), model=model, serial=r.frame.serial,
                      not_kept=f"not recorded: {r.unrecorded}" if r.unrecorded else
                      "kept on this PC until the line's server is back" if r.spooled else r.image_note)
