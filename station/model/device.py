"""Which torch device a command or the window runs the model on."""

from __future__ import annotations

from station.core.errors import StationError


def resolve_device(value: str | None) -> str:
    """`--device` (and the window's device option): auto, cpu, cuda or cuda:N; one line when the
    machine cannot do it."""
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
