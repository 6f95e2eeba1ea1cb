"""Inference backends behind one interface (station.model.rules): which one runs a model.

- torch: the training framework; the only backend that trains, and the fallback.
- onnxruntime: the default wherever it is installed and the model carries a matching export.
  Measured on a 2-core CPU it runs the same network 2.3-2.7x faster (docs/runtime.md), and the
  line bundle ships it without torch.

A model directory holds `model.onnx` beside `model.safetensors`; the card records its hash
(`onnx_sha256`), written in the same rename as the weights, so an export always belongs to its
weights. Exports are made when a model is saved, registered or promoted (station.model.directory).
"""

from __future__ import annotations

import logging
from pathlib import Path

from station.core.errors import ModelError, StationError
from station.model.card import ModelCard

log = logging.getLogger("station.backends")

BACKENDS = ("auto", "torch", "onnxruntime")
ONNX = "model.onnx"


def installed(name: str) -> bool:
    """Whether a backend's engine can be imported here (the line bundle has no torch)."""
    import importlib.util

    return importlib.util.find_spec(name) is not None


def onnx_problem(directory: Path, card: ModelCard) -> str | None:
    """Why this directory's ONNX export cannot be used, or None when it matches its card."""
    from station.core.fileutil import file_sha256

    path = directory / ONNX
    if not path.is_file():
        return f"{path}: missing (the model was saved before exports existed)"
    expected = card.onnx_sha256
    if not expected:
        return f"{directory / 'card.json'}: no field 'onnx_sha256' for {ONNX}"
    if file_sha256(path) != expected:
        return f"{path}: does not match card.json (field 'onnx_sha256'); export it again (station promote)"
    return None


def check_backend(value: str | None) -> str:
    value = value or "auto"
    if value not in BACKENDS:
        raise StationError(f"--backend {value!r}: use one of {', '.join(BACKENDS)}")
    return value


def _nvidia_driver() -> bool:
    """A cheap sign of a CUDA GPU, without importing torch (a second and a half at every start)."""
    import os
    import sys

    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version")
    if sys.platform == "win32":
        return os.path.exists(os.path.join(os.environ.get("SystemRoot", r"C:\Windows"), "System32", "nvcuda.dll"))
    return False


def _ort_has_gpu() -> bool:
    import onnxruntime as ort

    return bool({"CUDAExecutionProvider", "DmlExecutionProvider"} & set(ort.get_available_providers()))


def choose(requested: str | None, directory: Path, card: ModelCard, device: str | None = "auto") -> str:
    """The backend that will run this model: onnxruntime when asked or (auto) when installed and
    the export matches; torch otherwise. One line when the choice cannot be had.

    auto also picks torch where a GPU is wanted (`--device cuda`, or auto on a PC with an NVIDIA
    driver) and this onnxruntime cannot use one (the CPU wheel; onnxruntime-gpu can)."""
    requested = check_backend(requested)
    if requested == "torch":
        if not installed("torch"):
            raise ModelError("--backend torch: torch is not installed here (the line bundle runs onnxruntime only)")
        return "torch"
    wants_gpu = (device or "auto").startswith("cuda") or (device in (None, "auto") and _nvidia_driver())
    if requested == "auto" and wants_gpu and installed("torch") and installed("onnxruntime") and not _ort_has_gpu():
        log.info("running %s on torch: a GPU is wanted and this onnxruntime has no GPU provider", directory.name)
        return "torch"
    problem = onnx_problem(directory, card) if installed("onnxruntime") else "onnxruntime is not installed"
    if problem is None:
        return "onnxruntime"
    if requested == "onnxruntime" or not installed("torch"):
        raise ModelError(problem)
    log.info("running %s on torch: %s", directory.name, problem)
    return "torch"
