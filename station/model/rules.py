"""What a model is apart from the engine that runs its network: preprocessing, the verdict rule,
the doubt the review queue sorts by, and turning the network's outputs into rows and heatmaps.

Numpy only, no torch: the torch backend (station.model.classifier) and the ONNX Runtime backend
(station.model.backends.ort) share every line here and differ only in `run_graph`, the one call
from a normalized batch to the network's raw outputs. So the two cannot drift apart in anything
but floating-point rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from station.core.domain import Prediction
from station.core.errors import ModelError, StationError
from station.core.imageio import check_shape, to_unit_float
from station.core.labels import GOOD
from station.model.cam import gradcam
from station.model.card import ModelCard, as_card


@dataclass
class GraphOutputs:
    """The network's raw outputs for a batch (what the exported ONNX graph returns, by name).

    classifier: `features` is the CAM layer (N, C, h, w), `logits` (N, K).
    anomaly/hybrid: `emb` is the patch embedding (N, D, h, w); a hybrid with a classifier head
    adds `features` (its adapter's map) and `logits`."""

    features: np.ndarray | None = None
    logits: np.ndarray | None = None
    emb: np.ndarray | None = None


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float32)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class ClassifierRules:
    """A classifier's card as rules; subclasses supply `run_graph` and `head_weight`."""

    backend = "none"
    device: Any  # where the network runs: a torch.device, or the onnxruntime provider's name
    cam_layer = "backbone"  # the module of the torch network whose output the heatmap reads

    def _init_rules(self, card: ModelCard | dict[str, Any], path: Path | None) -> None:
        """`card`: parsed once where a model directory is loaded; a card being written by
        training (an object) is parsed here."""
        spec = as_card(card, path / "card.json" if path else "card")
        self.spec = spec
        self.card = spec.raw  # as written: training updates and saves it
        self.path = path
        self.classes: list[str] = list(spec.classes)
        self.good_index = self.classes.index(GOOD)
        self.input_size = spec.input_size
        self.mean = np.asarray(spec.mean, dtype=np.float32)
        self.std = np.asarray(spec.std, dtype=np.float32)
        self.threshold = spec.threshold
        self.masks: tuple[tuple[float, float, float, float], ...] = ()

    def set_masks(self, masks: Sequence[tuple[float, float, float, float]]) -> None:
        """Areas (x, y, w, h as fractions of the image) that never raise an alarm. A classifier
        judges the whole image at once, so it cannot leave an area out: it refuses."""
        if masks:
            raise ModelError(f"{self.name} is a classifier: it judges the whole image and cannot ignore an area; "
                             "masks need a model taught from good parts (station teach)")
        self.masks = ()

    # -- the engine's part -------------------------------------------------------------------
    def run_graph(self, x: np.ndarray) -> GraphOutputs:
        raise NotImplementedError

    def head_weight(self) -> np.ndarray:
        """The classifier head's linear weight (K, 2C), for the closed-form Grad-CAM."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.spec.name or (self.path.name if self.path else "unnamed"))

    @property
    def version(self) -> str:
        return version_of(self.card)

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """HxW or HxWxC (uint8/uint16/float, BGR like OpenCV) -> normalized CHW float32."""
        import cv2

        image = check_shape(image)
        s = self.input_size
        if image.dtype not in (np.uint8, np.uint16, np.float32):
            image = to_unit_float(image)
        gray = image.ndim == 2 or image.shape[2] == 1
        if gray and image.ndim == 3:
            image = image[:, :, 0]
        elif not gray and image.shape[2] == 4:
            image = image[:, :, :3]
        if image.shape[:2] != (s, s):
            shrink = image.shape[0] >= s and image.shape[1] >= s
            image = cv2.resize(image, (s, s), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        # (x / range - mean) / std as one multiply and one subtract into a new array: the scale
        # folds the range and the std. Measured on a 256 px part: 1.5 -> 0.09 ms grey, 0.8 ->
        # 0.23 ms colour, which matters once the network itself takes 10 ms.
        if image.dtype in (np.uint8, np.uint16):
            span = 255.0 if image.dtype == np.uint8 else 65535.0
        else:
            image, span = to_unit_float(image), 1.0
        scale = (1.0 / (span * self.std))[:, None, None].astype(np.float32)
        shift = (self.mean / self.std)[:, None, None].astype(np.float32)
        # BGR -> RGB; a gray plane broadcasts to three (a third of the reads for line cameras).
        planes = image[None, :, :] if gray else image.transpose(2, 0, 1)[::-1]
        out = np.empty((3, s, s), dtype=np.float32)
        np.multiply(planes, scale, out=out, casting="unsafe")
        out -= shift
        return out

    def preprocess(self, image: np.ndarray) -> Any:
        """`prepare` as a torch tensor (the public API's form); an ndarray where torch is not
        installed (the line build)."""
        x = self.prepare(image)
        try:
            import torch
        except ImportError:
            return x
        return torch.from_numpy(x)

    def batch(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack([self.prepare(im) for im in images])

    def decide(self, probs: np.ndarray) -> Prediction:
        """One row of class probabilities -> label by the threshold on p_defect, then the top defect."""
        p_defect = float(1.0 - probs[self.good_index])
        if p_defect >= self.threshold and len(self.classes) > 1:
            masked = probs.copy()
            masked[self.good_index] = -1.0
            label = self.classes[int(masked.argmax())]
        else:
            label = GOOD
        return Prediction(label, p_defect, {c: float(p) for c, p in zip(self.classes, probs)})

    def uncertainty(self, pred: Prediction) -> float:
        """What the review queue sorts by, most uncertain first: 1 - the top-two margin."""
        return 1.0 - pred.margin

    def forward_with_cam(self, x: Any, target: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (N, K) and CAMs (N, h, w) for a preprocessed batch, in one network pass.

        The CAM explains the predicted class; for a part judged good it explains the top defect
        class, so the operator still sees where the model looked for trouble. It is closed-form
        in the feature map and the head's weights (station.model.cam): no autograd."""
        out = self.run_graph(np.asarray(x, dtype=np.float32))
        assert out.logits is not None and out.features is not None  # a classifier graph returns both
        probs = softmax(out.logits)
        targets = np.array([self._cam_target(p) for p in probs]) if target is None else np.asarray(target).reshape(-1)
        return probs, gradcam(out.features, self.head_weight(), targets)

    def _cam_target(self, probs: np.ndarray) -> int:
        if len(self.classes) == 1:
            return 0
        masked = probs.copy()
        masked[self.good_index] = -1.0
        return int(masked.argmax())

    def probabilities(self, x: Any) -> np.ndarray:
        """Class probabilities (N, K) for a preprocessed batch, no CAM."""
        out = self.run_graph(np.asarray(x, dtype=np.float32))
        assert out.logits is not None
        return softmax(out.logits)

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        if len(images) == 0:
            return []
        return [self.decide(p) for p in self.probabilities(self.batch(images))]

    def cam(self, image: np.ndarray, target: str | int | None = None) -> np.ndarray:
        """Grad-CAM (float32 HxW in [0, 1], at the image's own size) for the predicted or given class."""
        from station.model.overlay import upsample

        t = None
        if target is not None:
            t = np.array([target if isinstance(target, int) else self._class_index(target)])
        _, cams = self.forward_with_cam(self.batch([image]), t)
        return upsample(cams[0], image.shape)

    def _class_index(self, label: str) -> int:
        if label not in self.classes:
            raise StationError(f"class {label!r} is not one of this model's classes: {', '.join(self.classes)}")
        return self.classes.index(label)


def version_of(card: dict[str, Any]) -> str:
    """A model's version: the content hash of its weights, so two inspections with one version
    were judged identically (on any station of a line)."""
    return str(card.get("weights_sha256", "unsaved"))[:12]
