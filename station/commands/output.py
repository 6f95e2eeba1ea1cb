"""Output conventions shared by commands: one JSON document on stdout, progress on stderr."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from station.errors import StationError


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


def device_arg(value: str | None) -> str:
    """`--device`: auto, cpu, cuda or cuda:N; one line when the machine cannot do it."""
    import re

    import torch

    if value in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if value == "cpu":
        return value
    if re.fullmatch(r"cuda(:\d+)?", value or ""):
        if not torch.cuda.is_available():
            raise StationError(f"--device {value}: no CUDA GPU on this machine; use --device cpu or auto")
        index = int(value.split(":")[1]) if ":" in value else 0
        if index >= torch.cuda.device_count():
            raise StationError(f"--device {value}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return value
    raise StationError(f"--device {value!r}: use auto, cpu, cuda or cuda:N")
