"""Fakes for the inspection loop's Protocols (the model, the recorder) and a log of who did what on
which thread; shared by the pipeline's and the run gate's unit tests."""

from __future__ import annotations

import threading

import numpy as np

from station.core.domain import Prediction, Result


class Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []  # (what, frame index, thread name)
        self.lock = threading.Lock()

    def add(self, what: str, index: int) -> None:
        with self.lock:
            self.events.append((what, index, threading.current_thread().name))

    def first(self, what: str, index: int) -> int:
        return next(i for i, (w, k, _) in enumerate(self.events) if w == what and k == index)

    def threads(self, what: str) -> set[str]:
        return {t for w, _, t in self.events if w == what}


class Model:
    """Marks each image with its frame index (the pixel value) and logs each forward pass."""

    def __init__(self, log: Log) -> None:
        self.log = log

    def name(self) -> str:
        return "fake"

    def version(self) -> str:
        return "1"

    def prepare(self, image: np.ndarray) -> np.ndarray:
        return np.full((1, 2, 2), float(image[0, 0]), dtype=np.float32)

    def forward_with_cam(self, x: np.ndarray, target: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        for v in x[:, 0, 0, 0]:
            self.log.add("classify", int(v))
        return self.probabilities(x), np.zeros((len(x), 2, 2), dtype=np.float32)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return np.tile(np.array([[0.9, 0.1]], dtype=np.float32), (len(x), 1))

    def decide(self, probs: np.ndarray) -> Prediction:
        return Prediction(label="good", p_defect=float(probs[1]), probabilities={"good": float(probs[0]), "crack": float(probs[1])})

    def uncertainty(self, pred: Prediction) -> float:
        return 0.0


class Recorder:
    """Logs each commit."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.committed: set[int] = set()

    def already_inspected(self, digests: list[str], model: object) -> set[str]:
        return set()

    def record(self, results: list[Result]) -> list[Result]:
        for r in results:
            self.log.add("commit", r.frame.index)
            self.committed.add(r.frame.index)
        return results

    def close(self, wait_s: float = 0.0) -> int:
        return 0
