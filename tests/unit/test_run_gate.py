"""The run's say over its frames (station.run.gate) is asked on the run's own thread, never the
decode thread: pause, --limit, the stamps and the switches between parts. Tested directly with
fakes for the pipeline's Protocols; what is checked is order and threads, never durations."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
from common.pipeline_fakes import Log, Model, Recorder

from station.core.domain import Frame
from station.run.gate import RunGate, Switch
from station.run.pipeline import inspect_frames


def parts(n: int, log: Log, views: tuple[str, ...] = ("top", "side"), live: bool = False):
    """n parts, each a frame per view; a frame's pixels are its index."""
    k = 0
    for p in range(n):
        for v in views:
            log.add("pull", k)
            yield Frame(origin=f"p{p}-{v}", captured_at=datetime.now(UTC), index=k, image=np.full((4, 4), k, dtype=np.uint8),
                        live=live, part=f"p{p}", view=v, views=views)
            k += 1


def fake_run(limit: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(options=SimpleNamespace(limit=limit, pace_s=0.0), products=None, _follower=None)


class Watched(threading.Event):
    """An Event that says when someone has looked at it `n` times (a pause loop is running)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.looks, self.looked = n, 0, threading.Event()

    def is_set(self) -> bool:
        self.looks += 1
        if self.looks >= self.n:
            self.looked.set()
        return super().is_set()


def test_limit_counts_whole_parts_on_the_runs_thread():
    log = Log()
    gate = RunGate(fake_run(limit=3), threading.Event(), threading.Event())
    admitted: list[str] = []
    admit = gate.admit

    def spy(frame):
        admitted.append(threading.current_thread().name)
        return admit(frame)

    gate.admit = spy  # type: ignore[method-assign]
    out = [r.frame for r in inspect_frames(parts(10, log), Model(log), Recorder(log), batch_size=4, gate=gate)]
    assert [(f.part, f.view) for f in out] == [(f"p{p}", v) for p in range(3) for v in ("top", "side")]
    assert gate.taken == 3 and all(f.read_at is not None for f in out)
    assert set(admitted) == {threading.current_thread().name}, "the gate is asked on the run's thread"
    assert log.threads("pull") == {"decode"}


def test_a_pause_judges_nothing_until_it_is_lifted_and_never_parts_two_views():
    log = Log()
    paused = Watched(3)
    paused.set()
    gate = RunGate(fake_run(), threading.Event(), paused)
    got: list[Frame] = []
    worker = threading.Thread(target=lambda: got.extend(r.frame for r in inspect_frames(parts(3, log, live=True), Model(log),
                                                                                       Recorder(log), gate=gate)))
    worker.start()
    assert paused.looked.wait(30), "the gate never looked at the pause"
    assert gate.holding, "held by the pause: the status says paused, not pausing"
    assert not [e for e in log.events if e[0] in ("classify", "commit")], "a part was judged while paused"
    paused.clear()
    worker.join(30)
    assert not gate.holding
    assert [f.index for f in got] == list(range(6))
    # Paused again after the first view of a part: its second view is still taken.
    log2, paused2, stop = Log(), Watched(10**9), threading.Event()
    gate2 = RunGate(fake_run(), stop, paused2)
    gen = inspect_frames(parts(2, log2, live=True), Model(log2), Recorder(log2), gate=gate2)
    assert next(gen).frame.view == "top"
    paused2.set()
    assert next(gen).frame.view == "side", "a pause held a part between its views"
    stop.set()  # a stop ends the pause, and no new part is taken
    assert list(gen) == []


class Gate:
    """Admits every frame; before frame 5 asks for a switch to model `b` (a changeover)."""

    def __init__(self, choose: dict[str, object], b: object, log: Log) -> None:
        self.choose, self.b, self.log, self.switched = choose, b, log, False
        self.idle = False

    def holds(self) -> bool:
        return False

    def wait(self) -> bool:
        return True

    def admit(self, frame: Frame) -> Frame | Switch | None:
        if frame.index == 5 and not self.switched:
            def make(f: Frame) -> Frame:
                self.log.add("switch", f.index)
                self.choose["now"], self.switched = self.b, True
                return f

            return Switch(make)
        return frame


class Tagged(Model):
    """A second model: its inputs are the frame's value plus 100, so who prepared what shows."""

    def prepare(self, image: np.ndarray) -> np.ndarray:
        return np.full((1, 2, 2), float(image[0, 0]) + 100, dtype=np.float32)


def test_a_switch_comes_after_every_earlier_part_is_stored_and_later_ones_are_prepared_again():
    log = Log()
    a, b = Model(log), Tagged(log)
    choose: dict[str, object] = {"now": a}
    recorder = Recorder(log)
    frames = (Frame(origin=f"f{i}", captured_at=datetime.now(UTC), index=i, image=np.full((4, 4), i, dtype=np.uint8))
              for i in range(12))
    out = [r.frame.index for r in inspect_frames(frames, a, recorder, batch_size=4, pick=lambda f: choose["now"],
                                                 gate=Gate(choose, b, log))]
    assert out == list(range(12))
    switch = log.first("switch", 5)
    assert all(log.first("commit", i) < switch for i in range(5)), "a part before the switch was stored after it"
    judged = [k for w, k, _ in log.events if w == "classify"]
    # Frames 0-4 by the first model (their own values); 5-11 prepared again for the second (+100),
    # though the decode thread had prepared 5-7 (and maybe 8-11) before the switch.
    assert judged == list(range(5)) + [i + 100 for i in range(5, 12)], judged
