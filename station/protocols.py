"""The seams between packages, as Protocols: what the inspection loop needs of a model, a frame
source, a recorder and a store. mypy checks every implementation against them where they meet
(station.run.pipeline, station.run.inspection_run), so a second model backend (ONNX Runtime, say) or a
new source (a GigE camera) knows exactly what to provide."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from station.core.domain import Frame, Prediction, Result
    from station.model.card import ModelCard
    from station.sources.base import SourceStatus
    from station.store.blobs import BlobStore


class InspectionModel(Protocol):
    """A loaded model as the inspection loop uses it: station.model.rules on a backend (torch:
    StationModel, AnomalyModel; onnxruntime: OnnxModel, OnnxAnomalyModel)."""

    classes: list[str]
    threshold: float
    spec: ModelCard  # the card, parsed and checked once when the model was loaded
    card: dict[str, Any]  # the same card as written (what the store keeps beside each model version)
    device: Any
    backend: str  # "onnxruntime" or "torch"
    masks: tuple[tuple[float, float, float, float], ...]  # areas that never raise an alarm (a recipe's)

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    def prepare(self, image: np.ndarray) -> np.ndarray: ...
    def forward_with_cam(self, x: np.ndarray, target: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def probabilities(self, x: np.ndarray) -> np.ndarray: ...
    def decide(self, probs: np.ndarray) -> Prediction: ...
    def uncertainty(self, pred: Prediction) -> float: ...
    def set_masks(self, masks: Sequence[tuple[float, float, float, float]]) -> None: ...
    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]: ...


class FrameSource(Protocol):
    """Frames to inspect, a status line and counters. `should_stop` is given once, when the
    source is opened (station.sources.open_source): a source that waits (a hot folder, a camera
    reconnecting) asks it, so a stop ends the stream and the pipeline finishes what it holds."""

    live: bool
    status: SourceStatus
    should_stop: Callable[[], bool]

    def __iter__(self) -> Iterator[Frame]: ...
    @property
    def dropped(self) -> int: ...
    def close(self) -> None: ...


class ResultRecorder(Protocol):
    """Stores results (files first, then rows), and says which files a model already judged."""

    run_id: int | None  # None while a run that began with the line's database down is not recorded yet

    def already_inspected(self, digests: list[str], model: "InspectionModel") -> set[str]: ...
    def record(self, results: list[Result]) -> list[Result]: ...
    def close(self, wait_s: float = ...) -> int: ...



class StationStore(Protocol):
    """Where results go: a database (engine and sessions), the data dir, and the image store
    (station.store.blobs). station.store.db.Store is the implementation."""

    engine: Engine
    session: sessionmaker[Session]
    data: Path
    url: str
    blobs: BlobStore
    offline: str  # why a line's database was unreachable when it was opened ("" when it was not)

    @property
    def shared(self) -> bool: ...
