"""A sink's thread and its queue (station.outputs.hub.SinkRunner), with a fake sink standing in
for a broker or a PLC (the Sink protocol): order kept, nothing lost through failures, a full
queue lets the oldest go and counts it, a refusal told apart from an outage."""

from __future__ import annotations

import threading
import time

import pytest

from station.outputs import hub
from station.outputs.hub import SinkRefused, SinkRunner
from station.outputs.message import VerdictMessage


class FakeSink:
    kind, name, where, tick_s = "fake", "fake", "nowhere", 0.0

    def __init__(self) -> None:
        self.up = threading.Event()
        self.fail_sends = 0
        self.error: Exception = ConnectionError("connection refused")
        self.sent: list[int] = []

    def connect(self) -> None:
        if not self.up.is_set():
            raise self.error

    def send(self, message: VerdictMessage) -> None:
        if self.fail_sends:
            self.fail_sends -= 1
            raise ConnectionError("broken pipe")
        self.sent.append(message.sequence)

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


def _m(n: int) -> VerdictMessage:
    return VerdictMessage(sequence=n, station="st", time="t", verdict="pass", label="good", p_defect=0.0, defect_code=0,
                          model="m", id=None, image=None, origin=f"p{n}")


def _until(cond, what: str, limit: float = 30.0) -> None:
    """Wait on an observable condition; the limit only turns a hang into a failure."""
    deadline = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(hub, "BACKOFF", (0.001, 0.01))


def test_order_is_kept_and_nothing_is_lost_through_failed_sends():
    sink = FakeSink()
    sink.up.set()
    sink.fail_sends = 3
    runner = SinkRunner(sink, queue=100)
    for n in range(1, 11):
        runner.put(_m(n))
    _until(lambda: runner.state().delivered == 10, "not all delivered")
    runner.close()
    assert sink.sent == list(range(1, 11)) and runner.state().queued == 0


def test_a_full_queue_lets_the_oldest_go_and_counts_them():
    sink = FakeSink()  # down
    runner = SinkRunner(sink, queue=3)
    for n in range(1, 6):
        runner.put(_m(n))
    st = runner.state()
    assert st.queued == 3 and st.dropped == 2 and st.state in ("connecting", "reconnecting")
    sink.up.set()
    _until(lambda: runner.state().delivered == 3, "the newest three were not delivered")
    runner.close()
    assert sink.sent == [3, 4, 5]


def test_a_refusal_is_told_apart_and_cleared_by_the_fix():
    sink = FakeSink()
    sink.error = SinkRefused("certificate verify failed: self-signed certificate in chain")
    runner = SinkRunner(sink, queue=10)
    runner.put(_m(1))
    _until(lambda: runner.state().refused != "", "the refusal was not reported")
    st = runner.state()
    assert "self-signed" in st.refused and not st.ok and st.queued == 1
    sink.up.set()
    _until(lambda: runner.state().ok and runner.state().delivered == 1, "not delivered after the fix")
    assert runner.state().refused == ""
    runner.close()
    assert runner.state().state == "stopped"
