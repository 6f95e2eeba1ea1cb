"""StationModel: the deploy-side inferencer, and model directories (model.safetensors + card.json)."""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from station.domain import Prediction
from station.errors import ModelError, StationError
from station.imageio import check_shape, to_three_channels, to_unit_float
from station.labels import GOOD, validate_label
from station.model.cam import head_gradcam
from station.model.network import CAM_LAYER, StationNet

WEIGHTS = "model.safetensors"
CARD = "card.json"
REQUIRED = ("arch", "classes", "input_size", "normalization", "threshold")


class StationModel:
    """A loaded model: network + card. Predictions honour the card's threshold on p_defect."""

    def __init__(self, network: StationNet, card: dict[str, Any], path: Path | None = None, device: str = "cpu"):
        self.network = network.eval()
        self.card = card
        self.path = path
        self.classes: list[str] = list(card["classes"])
        self.good_index = self.classes.index(GOOD)
        self.input_size = int(card["input_size"])
        self.mean = np.asarray(card["normalization"]["mean"], dtype=np.float32)
        self.std = np.asarray(card["normalization"]["std"], dtype=np.float32)
        self.threshold = float(card["threshold"])
        self.cam_layer = CAM_LAYER
        self.device = torch.device(device)
        self.network.to(self.device)

    @property
    def name(self) -> str:
        return str(self.card.get("name") or (self.path.name if self.path else "unnamed"))

    @property
    def version(self) -> str:
        """Content hash of the weights: two inspections with one version were judged identically."""
        return str(self.card.get("weights_sha256", "unsaved"))[:12]

    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """HxW or HxWxC (uint8/uint16/float, BGR like OpenCV) -> normalized CHW float tensor."""
        return torch.from_numpy(self._prep(image))

    def _prep(self, image: np.ndarray) -> np.ndarray:
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
        x = to_unit_float(image)
        if gray:  # normalize one plane, then broadcast: a third of the work for gray line cameras
            out = (x[None, :, :] - self.mean[:, None, None]) / self.std[:, None, None]
        else:
            out = (x[:, :, ::-1].transpose(2, 0, 1) - self.mean[:, None, None]) / self.std[:, None, None]
        return np.ascontiguousarray(out, dtype=np.float32)

    def batch(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack([self._prep(im) for im in images]))

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

    def forward_with_cam(self, x: torch.Tensor, target: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (N, K) and CAMs (N, h, w) for a preprocessed batch, in one backbone pass.

        The CAM explains the predicted class; for a part judged good it explains the top defect
        class, so the operator still sees where the model looked for trouble.
        """
        x = x.to(self.device, non_blocking=True)
        # inference_mode, not no_grad: measured 12 vs 23 ms/image for this backbone on CPU.
        # Its output cannot enter autograd, so head_gradcam works on a (cheap) clone of the map.
        with torch.inference_mode():
            features = self.network.backbone(x)
            logits = self.network.head(features)
        features = features.clone()
        probs = torch.softmax(logits.float(), dim=1).cpu().numpy()
        if target is None:
            target = torch.as_tensor([self._cam_target(p) for p in probs], device=features.device)
        _, cams = head_gradcam(self.network.head, features, target)
        return probs, cams.float().cpu().numpy()

    def _cam_target(self, probs: np.ndarray) -> int:
        if len(self.classes) == 1:
            return 0
        masked = probs.copy()
        masked[self.good_index] = -1.0
        return int(masked.argmax())

    def probabilities(self, x: torch.Tensor) -> np.ndarray:
        """Class probabilities (N, K) for a preprocessed batch, no CAM."""
        with torch.inference_mode():
            logits = self.network(x.to(self.device))
        return torch.softmax(logits.float(), dim=1).cpu().numpy()

    def predict(self, images: Sequence[np.ndarray]) -> list[Prediction]:
        if len(images) == 0:
            return []
        return [self.decide(p) for p in self.probabilities(self.batch(images))]

    def cam(self, image: np.ndarray, target: str | int | None = None) -> np.ndarray:
        """Grad-CAM (float32 HxW in [0, 1], at the image's own size) for the predicted or given class."""
        from station.model.overlay import upsample

        t = None
        if target is not None:
            idx = target if isinstance(target, int) else self._class_index(target)
            t = torch.as_tensor([idx])
        _, cams = self.forward_with_cam(self.batch([image]), t)
        return upsample(cams[0], image.shape)

    def _class_index(self, label: str) -> int:
        if label not in self.classes:
            raise StationError(f"class {label!r} is not one of this model's classes: {', '.join(self.classes)}")
        return self.classes.index(label)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_card(directory: Path) -> dict[str, Any]:
    card_path = directory / CARD
    if not card_path.is_file():
        raise ModelError(f"{card_path}: missing (a model directory holds {WEIGHTS} and {CARD})")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{card_path}: not valid JSON ({exc})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{card_path}: expected a JSON object")
    missing = [k for k in REQUIRED if k not in card]
    if missing:
        raise ModelError(f"{card_path}: missing {', '.join(missing)}")
    classes = card["classes"]
    if not isinstance(classes, list) or GOOD not in classes or len(set(classes)) != len(classes):
        raise ModelError(f"{card_path}: classes must be a list of distinct names including '{GOOD}'")
    for c in classes:
        try:
            validate_label(c)
        except StationError as exc:
            raise ModelError(f"{card_path}: {exc}") from None
    if len(classes) < 2:
        raise ModelError(f"{card_path}: field 'classes' needs at least one defect type besides '{GOOD}' (a good-only model passes every part)")
    t = card["threshold"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0.0 < t < 1.0:
        raise ModelError(f"{card_path}: field 'threshold' must be a number between 0 and 1 (exclusive), not {t!r}")
    size = card["input_size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 32 <= size <= 2048:
        raise ModelError(f"{card_path}: field 'input_size' must be a whole number of pixels from 32 to 2048, not {size!r}")
    norm = card["normalization"]
    try:
        mean, std = [float(v) for v in norm["mean"]], [float(v) for v in norm["std"]]
    except (TypeError, KeyError, ValueError):
        raise ModelError(f"{card_path}: field 'normalization' must hold 'mean' and 'std', three numbers each") from None
    if len(mean) != 3 or len(std) != 3 or not all(math.isfinite(v) for v in mean + std) or min(std) <= 0:
        raise ModelError(f"{card_path}: field 'normalization' needs three finite means and three positive stds")
    return card


def load_model_dir(directory: str | os.PathLike[str], device: str = "cpu") -> StationModel:
    """Load a model directory; any defect in it becomes one ModelError naming the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"model directory not found: {directory}")
    card = read_card(directory)
    weights = directory / WEIGHTS
    if not weights.is_file():
        raise ModelError(f"{weights}: missing")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{weights}: corrupt or truncated ({str(exc).splitlines()[0][:120]})") from None
    kind = card.get("kind", "classifier")
    try:
        if kind == "classifier":
            net = StationNet(card["arch"], len(card["classes"]), float(card.get("dropout", 0.2)))
        elif kind in ("anomaly", "hybrid"):
            from station.model.anomaly import build_net, check_card

            check_card(card, directory / CARD)
            bank = state.get("bank")
            if bank is None or bank.ndim != 2 or bank.shape[0] < 1:
                raise ModelError(f"{weights}: no memory bank (tensor 'bank'), or not a matrix")
            net = build_net(card, bank, len(card.get("classifier", {}).get("classes", [])))
        else:
            raise ModelError(f"{directory / CARD}: kind must be one of classifier, anomaly, hybrid, not {kind!r}")
    except ModelError as exc:
        raise ModelError(str(exc) if str(directory) in str(exc) else f"{directory / CARD}: {exc}") from None
    expected = net.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise ModelError(f"{weights}: tensor {key} missing; does not match arch {card['arch']}")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise ModelError(
                f"{weights}: tensor {key} has shape {tuple(state[key].shape)}, "
                f"expected {tuple(tensor.shape)} for {card['arch']} with {len(card['classes'])} classes"
            )
    extra = sorted(set(state) - set(expected))
    if extra:
        raise ModelError(f"{weights}: unexpected tensor {extra[0]}; does not match arch {card['arch']}")
    net.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    digest = file_sha256(weights)
    if card.get("weights_sha256") not in (None, digest):
        # New weights under an old card (a write cut short): its threshold and classes describe
        # another network, and inspections would be recorded under the wrong version.
        raise ModelError(f"{weights}: does not match {CARD} (field 'weights_sha256'); the model was not saved whole, save or copy it again")
    card["weights_sha256"] = digest
    if kind != "classifier":
        from station.model.anomaly import AnomalyModel

        net.set_bank(net.bank)  # the squared norms follow the loaded bank
        return AnomalyModel(net, card, directory, device=device)
    return StationModel(net, card, directory, device=device)


def save_model_dir(network: torch.nn.Module, card: dict[str, Any], out: str | os.PathLike[str], half: bool = True) -> Path:
    """Write weights (fp16 by default: half the size, metrics hold) and card, each atomically."""
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.detach().half() if half and v.is_floating_point() else v.detach()).contiguous().cpu()
        for k, v in network.state_dict().items()
    }
    tmp = out / (WEIGHTS + ".tmp")
    save_file(state, str(tmp), metadata={"format": "pt", "producer": "station"})
    os.replace(tmp, out / WEIGHTS)
    card = dict(card)
    card["weights_sha256"] = file_sha256(out / WEIGHTS)
    card.setdefault("cam_layer", CAM_LAYER)
    tmp_card = out / (CARD + ".tmp")
    tmp_card.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp_card, out / CARD)
    return out
