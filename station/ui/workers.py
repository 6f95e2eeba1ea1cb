"""The inspection worker: one thread that owns the model, the device, the source and its own
store session, and runs the same `inspect_frames` generator as `station run`.

Results reach the GUI by signal as plain data (`LiveResult`, with a downscaled preview and its
heatmap already coloured), so the GUI thread only paints. Pause and stop are thread-safe flags
checked between frames; stop is prompt because the sources and the pipeline poll it.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from station.errors import StationError

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


@dataclass
class WorkerConfig:
    source: str
    model: str | None = None
    data: str | None = None
    db: str | None = None
    device: str = "auto"
    pace_s: float = 0.0  # minimum time between frames (the demo plays at a watchable speed)
    batch_size: int = 4
    # Called on the worker thread to load the model; tests pass a deliberately slow one.
    model_factory: Callable[[], Any] | None = None


class InspectionWorker(QObject):
    result = Signal(object)  # LiveResult
    failed = Signal(str)  # one line: the source or model could not be opened, or a bug
    model_ready = Signal(object)  # {"name", "version", "classes", "threshold", "device", "card"}
    finished = Signal(object)  # {"processed", "failed", "run_id", "state"}

    def __init__(self, cfg: WorkerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._source = None
        self._read_at: dict[tuple[str, int], float] = {}
        self.counts = {"processed": 0, "failed": 0}
        self._times: list[float] = []

    # -- called from the GUI thread -------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def pause(self, paused: bool) -> None:
        (self._paused.set if paused else self._paused.clear)()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def snapshot(self) -> dict[str, Any]:
        """Source status for the status bar; plain attribute reads, safe from any thread."""
        src = self._source
        st = src.status if src is not None else None
        now = time.monotonic()
        recent = [t for t in self._times if now - t < 5.0]
        fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
        return {
            "state": "paused" if self.paused and st and st.state == "connected" else (st.state if st else "opening"),
            "detail": st.detail if st else "",
            "frames": st.frames if st else 0,
            "dropped": st.dropped if st else 0,
            "fps": fps,
            **self.counts,
        }

    # -- the worker thread --------------------------------------------------------------------
    def run(self) -> None:
        summary = {"processed": 0, "failed": 0, "run_id": None, "state": "finished"}
        recorder = store = None
        try:
            from station.model import load_model
            from station.pipeline import inspect_frames, tune_cpu
            from station.recorder import Recorder
            from station.sources import open_source
            from station.store.db import open_store

            tune_cpu()
            model = self.cfg.model_factory() if self.cfg.model_factory else load_model(
                self.cfg.model, self.cfg.data, device=_device(self.cfg.device))
            self.model_ready.emit({"name": model.name, "version": model.version, "classes": list(model.classes),
                                   "threshold": model.threshold, "device": str(model.device), "card": model.card})
            store = open_store(self.cfg.data, self.cfg.db)
            self._source = open_source(self.cfg.source)
            self._source.should_stop = self._stop.is_set
            # The window shows every frame it is given, so a folder opened again is inspected
            # and shown again rather than silently skipped.
            recorder = Recorder(store, model, self.cfg.source, skip_inspected=False)
            summary["run_id"] = recorder.run_id
            tag = f"{model.name} {model.version}"
            for r in inspect_frames(self._gated(self._source), model, recorder, batch_size=self.cfg.batch_size,
                                    preview=PREVIEW, should_stop=self._stop.is_set):
                self._times = self._times[-30:] + [time.monotonic()]
                if r.error is not None:
                    self.counts["failed"] += 1
                else:
                    self.counts["processed"] += 1
                self.result.emit(_live(r, self._read_at.pop((r.frame.origin, r.frame.index), time.monotonic()), tag))
            if self._source.status.state == "lost":
                summary["state"] = "lost"
                self.failed.emit(f"source lost: {self._source.status.detail or self.cfg.source}")
        except StationError as exc:
            summary["state"] = "error"
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: the log gets the traceback, the operator one line, the GUI lives
            traceback.print_exc(file=sys.stderr)
            summary["state"] = "error"
            self.failed.emit(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            if self._source is not None:
                self._source.close()
            if recorder is not None:
                try:
                    recorder.close()
                except Exception:  # the run row's end time is cosmetic; every result is committed
                    traceback.print_exc(file=sys.stderr)
            if store is not None:
                store.engine.dispose()
            summary.update(self.counts)
            if self._stop.is_set() and summary["state"] == "finished":
                summary["state"] = "stopped"
            self.finished.emit(summary)

    def _gated(self, frames):
        """Frames from the source, held while paused, paced for the demo, stamped when read."""
        last = 0.0
        for frame in frames:
            while self._paused.is_set() and not self._stop.is_set():
                time.sleep(0.05)
            if self._stop.is_set():
                return
            if self.cfg.pace_s > 0:
                wait = last + self.cfg.pace_s - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    return
                last = time.monotonic()
            self._read_at[(frame.origin, frame.index)] = time.monotonic()
            yield frame


def _device(spec: str) -> str:
    from station.commands.output import device_arg

    return device_arg(spec)


def _live(r, read_at: float, model: str) -> LiveResult:
    if r.error is not None or r.prediction is None:
        return LiveResult(origin=r.frame.origin, read_at=read_at, error=r.error or "skipped", model=model)
    from station.model.overlay import colorize, upsample

    p = r.prediction
    preview = r.preview
    heat = colorize(upsample(r.cam, preview.shape)) if r.cam is not None else None
    box = None
    if r.box is not None and r.image_shape:
        s = preview.shape[1] / r.image_shape[1]
        box = tuple(int(round(v * s)) for v in r.box)
    return LiveResult(origin=r.frame.origin, read_at=read_at, inspection_id=r.inspection_id, label=p.label,
                      p_defect=p.p_defect, verdict=p.verdict, probabilities=dict(p.probabilities), box=box,
                      preview=preview, heat=heat, timings=dict(r.timings), model=model)
