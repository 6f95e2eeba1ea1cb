"""The inspection loop's hand-offs, tested directly with fakes for its Protocols: the source, the
model and the recorder. What is checked is the order of events and which thread did what, never
how long anything took."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np
import pytest
from common.pipeline_fakes import Log, Model, Recorder

from station.core.domain import Frame
from station.run.pipeline import inspect_frames


def frames(n: int, log: Log, live: bool = False, bad: tuple[int, ...] = ()):
    for i in range(n):
        log.add("pull", i)
        image = np.zeros((0, 0), dtype=np.uint8) if i in bad else np.full((4, 4), i, dtype=np.uint8)
        yield Frame(origin=f"f{i}", captured_at=datetime.now(UTC), index=i, image=image, live=live)


def test_results_come_in_source_order_and_only_once_committed():
    log = Log()
    recorder = Recorder(log)
    seen = []
    for r in inspect_frames(frames(20, log), Model(log), recorder, batch_size=8):
        assert r.frame.index in recorder.committed, f"frame {r.frame.index} handed on before it was stored"
        seen.append(r.frame.index)
    assert seen == list(range(20))
    # Who does what: frames are pulled and decoded on the prefetch thread, stored on the
    # writer's, and classified on the caller's (the run's worker).
    caller = threading.current_thread().name
    assert log.threads("pull") == {"decode"} and log.threads("classify") == {caller}
    assert caller not in log.threads("commit") and len(log.threads("commit")) == 1


def test_a_live_frame_is_stored_and_handed_on_before_the_next_is_pulled():
    """A camera frame goes alone, and the one after it is fetched only when the consumer asks:
    fetched early, it would be stale by the time it is judged."""
    log = Log()
    gen = inspect_frames(frames(5, log, live=True), Model(log), Recorder(log), batch_size=8)
    for i in range(5):
        r = next(gen)
        assert r.frame.index == i and log.first("commit", i) < len(log.events)
        pulled = [k for w, k, _ in log.events if w == "pull"]
        assert max(pulled) <= i + 1, f"after handing on frame {i}, frames up to {max(pulled)} were pulled"
    assert list(gen) == []


def test_a_stop_finishes_the_batch_in_flight_and_pulls_little_more():
    log = Log()
    stop = threading.Event()
    out = []
    for r in inspect_frames(frames(100, log), Model(log), Recorder(log), batch_size=4, should_stop=stop.is_set):
        out.append(r.frame.index)
        stop.set()
    pulled = [k for w, k, _ in log.events if w == "pull"]
    committed = sorted(k for w, k, _ in log.events if w == "commit")
    # The first verdict is handed on once batch 2 is classified (batch 1 was being stored
    # meanwhile): the batch in flight finishes, is stored and handed on, and nothing after it.
    # (A stop cuts the batch being formed short: the second may hold fewer than four.)
    assert out == committed == list(range(len(out))) and 4 <= len(out) <= 8, out
    assert max(pulled) < len(out) + 8, f"{max(pulled) + 1} frames pulled for a run that judged {len(out)}"


def test_a_frame_that_cannot_be_judged_is_an_error_result_in_its_place():
    log = Log()
    out = list(inspect_frames(frames(6, log, bad=(2,)), Model(log), Recorder(log), batch_size=4))
    assert [r.frame.index for r in out] == list(range(6))
    assert out[2].error and out[2].prediction is None
    assert all(r.error is None and r.prediction is not None for k, r in enumerate(out) if k != 2)
    assert 2 not in {k for w, k, _ in log.events if w == "classify"}


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_without_a_recorder_every_frame_is_judged_once(batch_size):
    log = Log()
    out = [r.frame.index for r in inspect_frames(frames(10, log), Model(log), None, batch_size=batch_size)]
    assert out == list(range(10))
    assert sorted(k for w, k, _ in log.events if w == "classify") == list(range(10))
