"""Waiting in a test on what can be observed, never on a fixed time: a CI machine can be three
times slower than this one, and a wait on a condition only takes longer there."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable


def until(done: Callable[[], bool], what: str, proc: subprocess.Popen | None = None, timeout: float = 300.0,
          detail: Callable[[], str] | None = None) -> None:
    """Poll `done` until it holds. Fails naming `what` at `timeout`, or at once when `proc` has
    ended (with its stderr, or `detail` when something else reads that)."""
    deadline = time.monotonic() + timeout
    while not done():
        if proc is not None and proc.poll() is not None:
            said = detail() if detail is not None else (proc.communicate()[1] or "")[-3000:]
            raise AssertionError(f"{what}: the process ended with {proc.returncode}: {said}")
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}" + (f": {detail()}" if detail is not None else ""))
        time.sleep(0.1)


class StderrLines:
    """A child's stderr read as it comes, on a thread of its own, so a test can wait on what the
    station says (a sink down, a PLC lost) while it runs."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.lines.append(line)

    def has(self, *parts: str) -> bool:
        """Whether one line says all of `parts`."""
        return any(all(p in line for p in parts) for line in list(self.lines))

    def text(self, timeout: float = 60) -> str:
        """All of it, once the child has closed its stderr."""
        self._thread.join(timeout)
        return "".join(self.lines)
