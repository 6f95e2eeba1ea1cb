"""`InspectionRun`: one source inspected by one model into one store, start to finish.

`station run`, the window's inspection worker and `station bench` are thin adapters over this
object, so the order of opening, the batch size, the skip policy, the counters and the shutdown
are written once. It imports no Qt: the window drives it from a worker thread and turns its
results into signals.

    run = InspectionRun(RunOptions(source="watch:/line7/drop"))
    run.open()                       # model, store, source, recorder; one line if any fails
    for result in run.results():     # one Result per frame, each committed before it is seen
        ...
    summary = run.close()            # always: the run row gets its end, the source is released

`stop()` and `pause()` may be called from any thread (a signal handler, the GUI thread): the
batch in flight finishes and is committed, nothing after it is read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from station.core.domain import Frame, Result
from station.core.errors import StationError
from station.core.fileutil import RunLock
from station.core.parts import Assembler, PartVerdict
from station.run.gate import RunGate
from station.run.pipeline import DEFAULT_BATCH
from station.run.run_report import ModelInfo, RunStatus, RunSummary, model_info

__all__ = ["DEFAULT_BATCH", "InspectionRun", "ModelInfo", "RunOptions", "RunStatus", "RunSummary"]

if TYPE_CHECKING:
    from station.line.diskguard import DiskGuard
    from station.protocols import FrameSource, InspectionModel
    from station.protocols import StationStore as Store
    from station.record.recorder import Recorder
    from station.upkeep.periodic import UpkeepThread


@dataclass
class RunOptions:
    source: str
    model: str | None = None  # a model directory or registered name; None: the active model
    data: str | None = None
    db: str | None = None
    device: str = "auto"
    backend: str | None = None  # auto, torch or onnxruntime; None: the setting inference.backend
    batch_size: int = DEFAULT_BATCH
    # True: a file this model already judged is skipped (a re-run resumes where it stopped).
    # The window passes False: an operator who opens a folder again expects to see its verdicts.
    skip_inspected: bool = True
    cam: bool = True
    preview: int = 0  # longest side of Result.preview; 0: none
    limit: int | None = None  # parts to take from the source (a part of several views is one), skipped and failed ones included
    pace_s: float = 0.0  # least time between frames (the demo plays at a watchable speed)
    upkeep: bool = True  # retention, WAL checkpoints and the daily backup while it runs (station.upkeep.periodic)
    store: str | None = None  # the image store (--store); None: $STATION_STORE, else the data dir
    station: str | None = None  # this station's name (--station); None: station.line.settings.station_name()
    forward_wait_s: float = 30.0  # at the end, how long to go on forwarding spooled results and undelivered verdicts
    outputs: str | None = None  # the outputs file (--outputs); None: DATA/outputs.json when there is one
    shadow: str | None = None  # a candidate model judging every part beside the active one, never sent (--shadow)
    recipe: str | None = None  # the product (--recipe); None: the station's active one, unless a --model is given
    user: str | None = None  # who started it, for the changeover and the golden check's record
    code: str | None = None  # the code printed on each part that is its serial (station.model.codes); None: the recipe's


# The options a station is started with, under the same names on `station run`, `station gui`
# and the window's Options: each reaches every run through run_options, so one added here
# reaches the command line and the window alike (--outputs once reached the window a commit late).
STATION_OPTIONS = ("model", "data", "db", "store", "station", "device", "backend", "outputs", "shadow", "recipe")


def run_options(source: str, given: Any, **run: Any) -> RunOptions:
    """The one way a run's options are made: the station's options from `given` (the command's
    args, or the window's Options; a missing or None one keeps RunOptions' default), plus what
    this run sets (`run`: batch size, pace, limit, ...)."""
    common = {k: v for k in STATION_OPTIONS if (v := getattr(given, k, None)) is not None}
    return RunOptions(source=source, **{**common, **run})


class InspectionRun:
    def __init__(self, options: RunOptions, model_factory: Callable[[], "InspectionModel"] | None = None,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        """`model_factory` replaces loading `options.model` (bench passes the model it already
        holds; tests pass a deliberately slow one). `clock`: the time of day the shift starts
        are read against (a test's night passes in a moment)."""
        if options.limit is not None and options.limit < 1:
            raise StationError("--limit must be at least 1")
        if options.batch_size < 1:
            raise StationError("--batch-size must be at least 1")
        self.options = options
        self._model_factory = model_factory
        self._clock = clock
        self._stop = threading.Event()
        self._paused = threading.Event()
        self.model: InspectionModel | None = None
        self.source: FrameSource | None = None
        self.camera: Any = None  # the source as opened, before a PLC's gate (station.run.switching.tune)
        self.store: Store | None = None
        self.recorder: Recorder | None = None
        self.guard: DiskGuard | None = None
        self._upkeep: UpkeepThread | None = None
        self.summary = RunSummary()
        self.gate = RunGate(self, self._stop, self._paused)  # pause, pace, limit, switches: on the run's thread
        self._follower: Any = None  # station.line.line_registry.Follower on a line, when no --model pins one
        self._backend: str | None = None
        self._using: RunLock | None = None  # the data dir's run lock, shared with other runs
        self._line: Any = None  # station.outputs.LineIO: the sinks and the PLC handshake, when configured
        self._shadow: Any = None  # station.trial.shadow.Shadow, with --shadow
        self.product: Any = None  # station.run.product.Product: the recipe in force and its golden check
        self.products: Any = None  # station.run.product.Products: that recipe, and the changeovers asked for
        self.station = ""  # this station's name, once open
        self._t0 = 0.0
        self._closed = False
        self._parts = Assembler()  # a part's views, until the last one is judged
        self.view_models: dict[str, InspectionModel] = {}  # view -> its own recipe's model (station.run.view_models)

    # -- any thread --------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def request_recipe(self, name: str, how: str = "operator", by: str = "", again: bool = False) -> None:
        """A changeover to recipe `name` from the next part on (the window, an MQTT command);
        `again`: the same product's newest version (its areas or threshold changed)."""
        if self.products is not None:
            self.products.request(name, how, by, again)

    def pause(self, paused: bool) -> None:
        (self._paused.set if paused else self._paused.clear)()

    def set_serial(self, serial: str) -> None:
        """The operator's serial (typed, or a hand scanner) for the next part taken (station.run.operator_serial)."""
        self.gate.serial.set(serial)

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- the owning thread ---------------------------------------------------------------------
    def open(self) -> ModelInfo:
        """Load the model, open the store and the source, start the run row. Raises
        StationError with one line when any of them cannot be had."""
        from station.core.cpu import tune_cpu
        from station.line import settings as station_settings
        from station.line.diskguard import DiskGuard, store_volumes
        from station.model import load_model
        from station.outputs.config import load_for_run
        from station.record.recorder import Recorder
        from station.run import product, switching
        from station.sources import open_source
        from station.store.db import open_store

        o = self.options
        settings = station_settings.load(o.data)  # a broken settings file is one line, before anything opens
        self._backend = backend = o.backend or settings.inference.backend
        # A line's database that is down does not keep the station from starting: it judges with
        # this PC's active model and keeps its results here until the database answers.
        self.store = store = open_store(o.data, o.db, o.store, offline_ok=True)
        self.station = station = station_settings.station_name(o.station, o.data, remember=True)
        recipe = None if self._model_factory else product.last_known(store, o) if store.offline else product.choose(store, o, station)
        if store.offline:  # the product it last ran, from this PC's copy of its recipe, else this PC's model
            what = f"as {recipe.name} (version {recipe.version}), from this PC's copy of the recipe" if recipe else "on this PC's model"
            logging.getLogger("station.line").warning("%s: starting %s; results are kept on this PC until it answers", store.offline, what)
        outputs = load_for_run(o.outputs, o.data)  # a broken outputs file is one line, before the model loads
        if outputs.handshake is not None:  # the PLC waits on each part: one at a time, none skipped
            o.batch_size, o.skip_inspected = 1, False
        # Held while the run lasts: `station restore` refuses to swap the database under it.
        self._using = RunLock(store.data).__enter__()
        follow = store.shared and o.model is None and self._model_factory is None
        if follow and not store.offline:  # the line's active model, fetched when this station does not have it yet
            from station.line.line_registry import sync

            sync(store, o.data)
        self.model = self._model_factory() if self._model_factory else load_model(o.model, o.data, device=o.device, backend=backend)
        tune_cpu()
        m = self.model
        if o.shadow:  # refused (one line) before the run's row and its disk check start
            from station.trial.shadow import Shadow

            candidate = load_model(o.shadow, o.data, device=o.device, backend=backend)
            self._shadow = Shadow(store, candidate, m.version)
            self.summary.shadow = {"name": candidate.name, "version": candidate.version, "judged": 0, "missed": 0}
        self.products = product.Products(recipe, settings.floor.shifts, self._clock)
        if recipe is not None and not store.offline:
            self.products.watch(store)
        if recipe is not None:
            self.product = product.prepare(recipe, m, store, station, o.user or "")
            self.products.keep(m)
            self.summary.recipe = {"name": recipe.name, "version": recipe.version, "golden": self.product.golden_json}
        info = self.summary.model = model_info(m)
        if follow:
            from station.line.line_registry import Follower, line_threshold

            recorded = (lambda: self.recorder is not None and self.recorder.run_id is not None) if store.offline else None
            self._follower = Follower(store, m.version, ready=recorded)
            if not store.offline and (change := line_threshold(store, m.version)) is not None:
                self._follower.threshold_row = change[0]
                switching.apply_threshold(self, change[1])
        if recipe is not None:  # each view of a part its own recipe, when the product names them
            from station.run import view_models

            self.view_models = view_models.load(self, recipe)
        self.source = self.camera = open_source(o.source, should_stop=self.gate.should_stop)
        if recipe is not None:
            switching.tune(self, recipe.source)  # the product's exposure and gain when it names this camera
        self.guard = DiskGuard(store_volumes(store), settings.disk)
        self.recorder = recorder = Recorder(store, m, o.source, skip_inspected=o.skip_inspected, guard=self.guard, station=station,
                                            recipe=(recipe.name, recipe.version) if recipe else None)
        recorder.model_of = self.model_of  # each view of a part under the model that judged it
        self.summary.run_id = recorder.run_id
        if not outputs.empty:
            from station.outputs.lineio import LineIO

            self._line = LineIO.open(outputs, station, m, store.data / "outbox")
            self._line.recipe = recipe.name if recipe is not None else None
            self._line.on_recipe(self.request_recipe)
            self.source = self._line.gate(self.source)
            self.source.should_stop = self.gate.should_stop
            if hasattr(self.source, "tune"):  # under a PLC: set before each part's frame is taken
                self.source.tune = lambda name: switching.tune_for(self, name)
        if o.upkeep:
            from station.upkeep.periodic import Upkeep, UpkeepThread

            self._upkeep = UpkeepThread(Upkeep(store, settings)).start()
        return info

    def results(self) -> Iterator[Result]:
        """Every frame's Result, counted. Each frame carries when the run took it from its source
        (`Frame.read_at`): the latency the window shows starts there. Pause, pace, `--limit` and
        the switches between parts (changeovers, the line's promotions) are the gate's
        (station.run.gate), asked on this thread; the decode thread only reads and prepares."""
        from station.run.pipeline import inspect_frames

        if self.source is None or self.model is None:
            raise RuntimeError("InspectionRun.results() before open()")
        o = self.options
        self._t0 = time.perf_counter()
        # No stop predicate for the pipeline: on a stop the gate admits no new part, and the
        # pipeline finishes (and the recorder commits) what it holds.
        for r in inspect_frames(self.source, self.model, self.recorder, batch_size=o.batch_size, cam=o.cam, preview=o.preview,
                                code=self._code, pick=self.model_of, gate=self.gate):
            self.summary.count(r)
            if (part := self._parts.add(r)) is not None:
                self._part(part)
            if self._shadow is not None:  # after the line has the verdict: a trial never delays it
                self._shadow.judge(r)
                self.summary.shadow = {**(self.summary.shadow or {}), "judged": self._shadow.judged, "missed": self._shadow.missed}
            yield r
        for part in self._parts.flush():
            self._part(part)

    def _code(self, frame: Frame) -> str | None:
        """The kind of code printed on the part that is its serial: --code, else the product's."""
        current = self.products.current if self.products is not None else None
        return self.options.code or (current.code if current is not None else None)

    def model_of(self, frame: Frame) -> "InspectionModel":
        """The model a frame is judged by: its view's own recipe's (station.run.view_models), else the run's."""
        assert self.model is not None
        return self.view_models.get(frame.view or "", self.model) if self.view_models else self.model

    def _part(self, part: PartVerdict) -> None:
        """A part whose every view is judged: counted, and told to the line once."""
        if part.views[0].frame.part is not None and not part.skipped:
            counts = self.summary.parts = self.summary.parts or {"pass": 0, "fail": 0, "error": 0}
            counts[part.verdict] += 1
        if self._line is not None:
            self._line.part(part, self.model_of(part.deciding.frame).name)

    def status(self) -> RunStatus:
        """The source's state and the counters, for a status bar; plain reads, any thread."""
        st = self.source.status if self.source is not None else None
        state = st.state if st else "opening"
        rec = self.recorder
        if self.paused and state == "connected":
            state = "paused" if self.gate.holding or self.gate.idle else "pausing"
        return RunStatus(state=state, detail=st.detail if st else "",
                         frames=st.frames if st else 0, dropped=st.dropped if st else 0, processed=self.summary.processed,
                         failed=self.summary.failed, skipped=self.summary.skipped, line=rec.outage if rec else "",
                         parts=self.summary.whole_parts,
                         line_refused=rec.refused if rec else "",
                         spooled=rec.spooled if rec else 0, model=self.model.name if self.model else "",
                         outputs=tuple(self._line.states()) if self._line is not None else (),
                         live=bool(self.source is not None and self.source.live))

    def fail(self, message: str) -> None:
        """Record that the run ended on an error (the caller shows `message`)."""
        self.summary.state, self.summary.detail = "error", message

    def close(self) -> RunSummary:
        """Release the source, end the run row, dispose of the store's connections. Safe to call
        more than once and after a failed open()."""
        if self._closed:
            return self.summary
        self._closed = True
        s = self.summary
        try:
            if self._upkeep is not None:
                self._upkeep.stop()
            if self.source is not None:
                self.source.close()
                s.dropped = self.source.dropped
                if self.source.status.state == "lost" and s.state == "finished":
                    s.state, s.detail = "lost", self.source.status.detail or self.options.source
            if self._line is not None:
                s.line_io = self._line.close(self.options.forward_wait_s)
            if self.recorder is not None:
                s.spooled = self.recorder.spooled
                s.spool_waiting = self.recorder.close(self.options.forward_wait_s)
                s.line_refused = self.recorder.refused if s.spool_waiting else ""
                s.spool_bytes = self.recorder.spool.size() if s.spool_waiting else 0
                since = self.recorder.outage_since
                s.line_down_s = round(time.monotonic() - since, 1) if since is not None and s.spool_waiting else 0.0
            if self.guard is not None:
                s.disk = self.guard.check()
        finally:
            if self.store is not None:
                self.store.engine.dispose()
            if self._using is not None:
                self._using.__exit__()
                self._using = None
        elapsed = time.perf_counter() - self._t0 if self._t0 else 0.0
        s.images_per_s = round(s.processed / elapsed, 2) if elapsed > 0 else 0.0
        if self._stop.is_set() and s.state == "finished":
            s.state = "stopped"
        return s

    def __enter__(self) -> "InspectionRun":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

