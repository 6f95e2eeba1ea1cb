"""Plain data that crosses module and thread boundaries. Imports nothing from station."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


class Prediction(NamedTuple):
    """What the classifier says about one image. `label` already honours the model's threshold."""

    label: str
    p_defect: float
    probabilities: dict[str, float]

    @property
    def verdict(self) -> str:
        return "pass" if self.label == "good" else "fail"

    @property
    def margin(self) -> float:
        """Top-1 minus top-2 probability: small means the model was torn between two classes."""
        top = sorted(self.probabilities.values(), reverse=True) + [0.0, 0.0]
        return float(top[0] - top[1])


@dataclass(frozen=True)
class Frame:
    """One unit of work from a source: either a file to decode, or pixels already captured."""

    origin: str
    captured_at: datetime
    index: int = 0
    path: str | None = None
    image: Any = None  # numpy array for captured frames; None for files (decoded by the pipeline)
    live: bool = False


@dataclass(frozen=True)
class Result:
    """A frame after the pipeline: a prediction with its evidence, or the reason it failed."""

    frame: Frame
    prediction: Prediction | None = None
    cam: Any = None  # float32 HxW in [0, 1] at the model's feature resolution
    box: tuple[int, int, int, int] | None = None
    sha256: str | None = None
    inspection_id: int | None = None
    error: str | None = None
    skipped: bool = False
    image_shape: tuple[int, ...] | None = None
    preview: Any = None  # small BGR uint8 image for a UI, when asked for
    timings: dict[str, float] = field(default_factory=dict)
    # The file's bytes as read (stored as is, so the stored image is the original); None for a
    # captured frame, whose pixels are frame.image.
    data: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None and self.prediction is not None
