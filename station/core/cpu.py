"""Process-wide CPU settings for inference and training."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_done = False
_lock = threading.Lock()


def _given() -> int:
    """`STATION_THREADS` as a positive number, else 0 (unset, 0 or not a number: every core)."""
    import os

    given = os.environ.get("STATION_THREADS", "").strip()
    return int(given) if given.isdigit() else 0


def threads() -> int:
    """The cores inference and training use: `STATION_THREADS` when set (a PC shared with other
    work; the test suite runs two workers on two cores and gives each one), else every core.
    A pool wider than the cores it gets spins and waits on itself: measured in the suite."""
    import os

    return _given() or max(1, os.cpu_count() or 1)


def each(fn: Callable[[T], R], items: Sequence[T], workers: int | None = None) -> list[R]:
    """[fn(x) for x in items], on up to `workers` threads (default: threads()), in order. For the
    parts of one batch where OpenCV and numpy do the work: they let go of the interpreter, and the
    station runs OpenCV itself on one thread (tune_cpu), so parts go side by side."""
    n = min(len(items), workers or threads())
    if n <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(n, thread_name_prefix="parts") as pool:
        return list(pool.map(fn, items))


def limited() -> bool:
    """Whether `STATION_THREADS` sets the cores (then thread pools also stop spinning when idle)."""
    return _given() > 0


def tune_cpu() -> None:
    """CPU settings for inference and training, applied once per process (later calls return at
    once: OpenCV's thread pool must not be reconfigured while another thread is inside one of
    its parallel loops, and the window starts a run on a new thread each time).

    - glibc returns every large freed block to the OS, so each batch page-faults its activation
      buffers back in: system time equal to user time. Raising the mmap and trim thresholds
      keeps them. Measured on this 2-core machine: EfficientNet trunk 35.8 -> 15.0 ms/image at
      batch 8, 60.7 -> 16.6 at batch 32.
    - One thread pool at a time: torch (when the model runs on it; call after loading the model)
      or onnxruntime gets the cores, OpenCV works inline.
    """
    global _done
    with _lock:
        if _done:
            return
        _done = True
        _apply()


def _apply() -> None:
    import sys

    import cv2

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
            libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
        except (OSError, AttributeError):
            pass  # not glibc (musl, say): slower, still correct
    cv2.setNumThreads(1)
    torch = sys.modules.get("torch")  # only when loaded: onnxruntime sizes its own pool, and the line bundle has no torch
    if torch is not None:
        torch.set_num_threads(threads())
