"""Output conventions shared by commands: one JSON document on stdout, progress on stderr."""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


class Progress:
    """A throttled one-line progress display on stderr (a plain line per update when not a TTY)."""

    def __init__(self, enabled: bool = True, every: float = 0.5) -> None:
        self.enabled = enabled
        self.every = every
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        final = total is not None and done >= total
        if not self.enabled or (now - self.last < self.every and not final):
            return
        self.last = now
        text = f"{stage}: {done}/{total}" if total else f"{stage}: {done}"
        if self.tty:
            sys.stderr.write("\r\033[K" + text + ("\n" if final else ""))
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()
