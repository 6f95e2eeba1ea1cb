"""The one inspection loop: frames -> decode -> batched classify + CAM -> store -> results.

A generator, driven by `station.run.inspection_run.InspectionRun` (which `station run`, the window's
worker and `station bench` share). It never raises for a bad frame (that becomes an error Result)
and checks `should_stop` between batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Protocol

import numpy as np

from station.core.domain import Frame, Result
from station.core.errors import ImageError
from station.core.imageio import check_shape, decode, read_bytes
from station.protocols import InspectionModel, ResultRecorder
from station.run.gate import Switch

DEFAULT_BATCH = 8  # files per forward pass, for every run; a live frame always goes alone (_batches)


def _batches(frames: Iterable[Frame], size: int, should_stop: Callable[[], bool]) -> Iterator[list[Frame]]:
    """Files are grouped up to `size`; a live frame goes alone (waiting for company adds latency)."""
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if frame.live or len(batch) >= size or should_stop():
            yield batch
            batch = []
        if should_stop():
            break
    if batch:
        yield batch


class _Prefetch:
    """Pulls batches from the source and loads them (read, hash, decode, preprocess) on a helper
    thread, so batch k+1 loads while batch k is classified: the forward pass leaves a core idle
    in its serial stretches, and decoding (OpenCV, GIL released) fills it.

    At most one batch is loaded ahead, so a pause or a stop holds back little. The consumer never
    waits for batch k+1 to exist before it gets batch k, so a hot folder that receives one file a
    minute shows each verdict at once. After a live frame the next one is pulled only when the
    consumer asks for it: a frame fetched early would be stale by the time it is classified.
    """

    _END = object()

    def __init__(self, batches: Iterator[list[Frame]], load: Callable[[list[Frame]], list[_Item]]) -> None:
        import queue
        import threading

        self.batches, self.load = batches, load
        self.queue: "queue.Queue" = queue.Queue()
        self.cond = threading.Condition()
        self.requested = 0  # get() calls so far
        self.delivered = 0  # batches handed to the queue so far
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="decode", daemon=True)
        self.thread.start()

    def _wait_turn(self, live: bool) -> bool:
        with self.cond:
            ahead = (lambda: self.requested > self.delivered) if live else (lambda: self.requested >= self.delivered)
            self.cond.wait_for(lambda: self.closed or ahead())
            return not self.closed

    def _run(self) -> None:
        live = False
        try:
            it = iter(self.batches)
            while self._wait_turn(live):
                batch = next(it, None)
                if batch is None:
                    break
                live = batch[0].live
                self.queue.put(self.load(batch))
                with self.cond:
                    self.delivered += 1
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, raised there)
            self.queue.put(exc)
        finally:
            self.queue.put(self._END)

    def ready(self) -> bool:
        return not self.queue.empty()

    def get(self):
        """The next loaded batch, or None at the end."""
        with self.cond:
            self.requested += 1
            self.cond.notify_all()
        item = self.queue.get()
        if item is self._END:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        # A source blocked waiting (a quiet hot folder) ends with its should_stop; the thread is a
        # daemon and holds nothing uncommitted, so a slow one is not worth holding up an exit.
        self.thread.join(timeout=1.0)


def _load(frames: list[Frame], prepare: Callable[[list[_Item]], None]) -> list[_Item]:
    """Read and hash every file of a batch, then prepare it (`_prepare`)."""
    items = [_read(f) for f in frames]
    prepare(items)
    return items


def _prepare(items: list[_Item], choose: Callable[[Frame], InspectionModel], seen: Callable[[list[str], InspectionModel], set[str]],
             preview: int, code: Callable[[Frame], str | None]) -> None:
    """Decode and prepare each item for the model that judges it now, unless that model judged its
    file already (resuming a large folder must not decode it all to skip it). Items prepared for
    that model and code are left alone: the run's thread calls this on every batch it takes, so
    what was prepared before a changeover or a promotion is prepared again for the new model."""
    todo: dict[int, tuple[InspectionModel, list[_Item]]] = {}  # by model: each view's own is asked for its files
    for item in items:
        if item.error is None:
            model, kind = choose(item.frame), code(item.frame)
            if item.model is not model or item.code != kind:
                item.model, item.code = model, kind
                todo.setdefault(id(model), (model, []))[1].append(item)
    for model, group in todo.values():
        skip = seen([i.sha for i in group if i.sha], model)
        for item in group:
            item.skipped = item.sha is not None and item.sha in skip
            if not item.skipped:
                _decode(item, preview)


class _Item:
    __slots__ = ("frame", "data", "sha", "shape", "preview", "x", "error", "decode_ms", "model", "code", "skipped")

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.data: bytes | None = None
        self.sha: str | None = None
        # The decoded pixels are not kept: only their shape, the model's input and (for a window)
        # a small preview. A batch of eight 80 MP images used to hold all eight decoded at once.
        self.shape: tuple[int, ...] | None = None
        self.preview: np.ndarray | None = None
        self.x: np.ndarray | None = None  # the preprocessed CHW input
        self.error: str | None = None
        self.decode_ms = 0.0
        self.model: InspectionModel | None = None  # the model it was prepared (or skipped) for
        self.code: str | None = None  # the kind of code looked for on it
        self.skipped = False  # that model already judged this file


def _read(frame: Frame) -> _Item:
    from station.store.files import sha256

    item = _Item(frame)
    if frame.refused is not None:  # never read or judged: NOT INSPECTED, with the reason
        item.error = frame.refused
        return item
    if frame.path is not None:
        t = time.perf_counter()
        try:
            item.data = read_bytes(frame.path)
            item.sha = sha256(item.data)
        except ImageError as exc:
            item.error = str(exc)
        item.decode_ms = (time.perf_counter() - t) * 1000
    return item


def _decode(item: _Item, preview: int) -> None:
    """The input of `item.model` (and a preview), or the reason there is none (decode_ms includes
    both); with `item.code`, the serial printed on the part, unless the PLC gave one."""
    t = time.perf_counter()
    try:
        image = decode(item.data) if item.data is not None else check_shape(item.frame.image)
        item.shape = tuple(image.shape)
        if item.code is not None and item.frame.serial_read in (None, "code", "unread"):
            from station.model.codes import read_code

            serial = read_code(image, item.code)
            item.frame = replace(item.frame, serial=serial, serial_read="code" if serial else "unread")
        assert item.model is not None
        item.x = item.model.prepare(image)
        if preview:
            item.preview = _preview(image, preview)
        del image
    except ImageError as exc:
        item.error = str(exc)
    item.decode_ms += (time.perf_counter() - t) * 1000


def inspect_frames(
    frames: Iterable[Frame],
    model: InspectionModel,
    recorder: ResultRecorder | None = None,
    batch_size: int = DEFAULT_BATCH,
    cam: bool = True,
    preview: int = 0,
    should_stop: Callable[[], bool] | None = None,
    code: str | None | Callable[[Frame], str | None] = None,
    pick: Callable[[Frame], InspectionModel] | None = None,
    gate: FrameGate | None = None,
) -> Iterator[Result]:
    """Yield one Result per frame. With a `recorder` every result is stored, and files this
    model already judged are skipped. `code`: the kind of code on the part that is its serial
    (or what says it for a frame). `pick`: the model a frame is judged by (each view of a part
    its own, the model of the moment), else `model`. `gate`: the run's say over its frames
    (station.run.gate), asked on this thread."""
    from station.model.overlay import hot_box

    stop = should_stop or (lambda: False)
    seen = recorder.already_inspected if recorder is not None else (lambda digests, model: set())
    choose = pick or (lambda frame: model)
    code_of = code if callable(code) else (lambda frame: code)

    def prepare(items: list[_Item]) -> None:
        _prepare(items, choose, seen, preview, code_of)

    def judge(items: list[_Item]) -> list[Result]:
        return _classify(items, choose, cam, hot_box)

    prefetch = _Prefetch(_batches(frames, batch_size, stop), lambda batch: _load(batch, prepare))
    try:
        with _Writer(recorder) as writer:
            while True:
                idle = not prefetch.ready()
                if idle:  # hand on what is committed before waiting on the source
                    yield from writer.drain()
                # Taken from the source even when the run then holds or stops: a source may act
                # when asked for more (a PLC's handshake answers the part before, then sees the stop).
                if gate is not None:
                    gate.idle = idle  # nothing in flight while the source has nothing new
                items = prefetch.get()
                if gate is not None:
                    gate.idle = False
                if items is None:
                    break
                ended = False
                if gate is not None:
                    items, ended = yield from _admit(items, gate, writer, judge)
                prepare(items)  # for the model judging now, when the decode thread prepared it for another
                yield from writer.put(judge(items))
                if ended or stop():
                    break
            yield from writer.drain()
    finally:
        prefetch.close()


class FrameGate(Protocol):
    """The run's say over its frames (station.run.gate.RunGate), asked on the run's thread."""

    idle: bool  # set by the pipeline: waiting on the source with nothing in flight

    def holds(self) -> bool: ...
    def wait(self) -> bool: ...
    def admit(self, frame: Frame) -> Frame | Switch | None: ...


def _admit(items: list[_Item], gate: FrameGate, writer: "_Writer",
           judge: Callable[[list[_Item]], list[Result]]) -> Generator[Result, None, tuple[list[_Item], bool]]:
    """Each frame through the gate, in order: held while the run holds (`wait`), then admitted
    (as the gate stamped it) or not; returns the frames to judge and whether the run ends after
    them. A switch the gate asks for is made once every earlier frame is judged and stored, so
    no part is judged by a model or recipe that came after it."""
    kept: list[_Item] = []
    for item in items:
        if gate.holds():  # paused or paced: hand on what is stored before waiting
            yield from writer.drain()
        if not gate.wait():
            return kept, True
        verdict = gate.admit(item.frame)
        dropped = False
        while isinstance(verdict, Switch):
            if kept:
                yield from writer.put(judge(kept))
                kept = []
            yield from writer.drain()
            frame = verdict.make(item.frame)
            if frame is None:  # taken before the camera was set for the new product: a new one comes
                dropped = True
                break
            verdict = gate.admit(frame)
        if dropped or isinstance(verdict, Switch):
            continue
        if verdict is None:
            return kept, True
        item.frame = verdict
        if verdict.refused is not None and item.error is None:
            item.error = verdict.refused  # never judged: NOT INSPECTED, with the reason
        kept.append(item)
    return kept, False


class _Writer:
    """Stores batch k on its own thread while batch k+1 is classified, and hands results on only
    once they are committed (so a consumer never sees a verdict a crash could lose). A live frame
    is stored and handed on at once: waiting for the next frame would add a frame of latency."""

    def __init__(self, recorder: ResultRecorder | None) -> None:
        self.recorder = recorder
        self.pool: ThreadPoolExecutor | None = None
        self.pending: Future[list[Result]] | None = None

    def __enter__(self) -> "_Writer":
        if self.recorder is not None:
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)  # a batch being committed finishes before we return

    def put(self, results: list[Result]) -> Iterator[Result]:
        if self.recorder is None or self.pool is None:
            yield from results
            return
        job = self.pool.submit(self.recorder.record, results)
        yield from self.drain()
        if results and results[0].frame.live:
            yield from job.result()
        else:
            self.pending = job

    def drain(self) -> Iterator[Result]:
        if self.pending is not None:
            job, self.pending = self.pending, None
            yield from job.result()


def _classify(items: list[_Item], choose: Callable[[Frame], InspectionModel], cam: bool,
              hot_box: Callable[..., tuple[int, int, int, int] | None]) -> list[Result]:
    todo = [i for i in items if i.error is None and not i.skipped]
    judged: dict[int, tuple[InspectionModel, np.ndarray, np.ndarray | None]] = {}  # id(item) -> model, probs, cam
    infer_ms = 0.0
    if todo:
        t = time.perf_counter()
        groups: dict[int, list[_Item]] = {}  # one forward pass per model (a part's views may have their own)
        models: dict[int, InspectionModel] = {}
        for i in todo:
            m = choose(i.frame)
            groups.setdefault(id(m), []).append(i)
            models[id(m)] = m
        for key, group in groups.items():
            m = models[key]
            x = np.stack([i.x for i in group if i.x is not None])  # all set: decoded without error
            probs, cams = m.forward_with_cam(x) if cam else (m.probabilities(x), None)
            for k, i in enumerate(group):
                judged[id(i)] = (m, probs[k], cams[k] if cams is not None else None)
        infer_ms = (time.perf_counter() - t) * 1000 / max(1, len(todo))
    results: list[Result] = []
    for item in items:
        if item.error is not None:
            results.append(Result(item.frame, error=item.error, sha256=item.sha, timings={"decode_ms": item.decode_ms}))
            continue
        if item.skipped:
            results.append(Result(item.frame, sha256=item.sha, skipped=True))
            continue
        shape = item.shape
        assert shape is not None and id(item) in judged  # decoded without error, not skipped: classified
        m, p, c = judged[id(item)]
        pred = m.decide(p)
        t = time.perf_counter()
        box = hot_box(c, shape) if (c is not None and pred.verdict == "fail") else None
        results.append(
            Result(
                item.frame,
                prediction=pred,
                cam=c,
                box=box,
                sha256=item.sha,
                image_shape=shape,
                preview=item.preview,
                data=item.data,
                timings={"decode_ms": item.decode_ms, "infer_ms": infer_ms, "box_ms": (time.perf_counter() - t) * 1000},
            )
        )
    return results


def _preview(image: np.ndarray, size: int) -> np.ndarray:
    import cv2

    from station.core.imageio import to_bgr8

    img = to_bgr8(image)
    scale = size / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    return img

