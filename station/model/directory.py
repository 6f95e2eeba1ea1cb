"""A model directory on disk: `card.json` (what the model is) and `model.safetensors` (its
weights, never a pickle). Reading, checking and writing one; which model class a card's `kind`
loads as."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.core.errors import ModelError, StationError
from station.core.fileutil import atomic_write, file_sha256
from station.model.card import ModelCard

if TYPE_CHECKING:
    import torch

    from station.model.classifier import StationModel
    from station.model.rules import ClassifierRules as InferenceModel

WEIGHTS = "model.safetensors"
CARD = "card.json"


def load_card(directory: Path) -> ModelCard:
    """The directory's card, read, checked and typed (station.model.card): one ModelError
    naming the file for anything wrong in it."""
    card_path = directory / CARD
    if not card_path.is_file():
        raise ModelError(f"{card_path}: missing (a model directory holds {WEIGHTS} and {CARD})")
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{card_path}: not valid JSON ({exc})") from None
    return ModelCard.parse(raw, card_path)


def read_card(directory: Path) -> dict[str, Any]:
    """The card as written (checked as load_card checks it), for training to build on."""
    return load_card(directory).raw


def load_model_dir(directory: str | os.PathLike[str], device: str = "cpu") -> StationModel:
    """Load a model directory on torch (to train it, or to run it there); any defect in it
    becomes one ModelError naming the file."""
    directory, card = _checked(directory)
    return _load_torch(directory, card, device)


def load_for_inference(directory: str | os.PathLike[str], device: str = "auto", backend: str | None = "auto") -> InferenceModel:
    """Load a model directory to inspect with, on a backend (torch, onnxruntime, or auto:
    station.model.backends); any defect in it becomes one ModelError naming the file."""
    from station.model import backends

    directory, card = _checked(directory)
    if backends.choose(backend, directory, card, device) == "onnxruntime":
        from station.model.backends import ort

        return ort.load(directory, _check_weights(directory, card), device, torch_loader=load_model_dir)
    from station.model.device import resolve_device

    return _load_torch(directory, card, resolve_device(device))


def _checked(directory: str | os.PathLike[str]) -> tuple[Path, ModelCard]:
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"model directory not found: {directory}")
    card = load_card(directory)
    weights = directory / WEIGHTS
    if not weights.is_file():
        raise ModelError(f"{weights}: missing")
    return directory, card


def _check_weights(directory: Path, card: ModelCard) -> ModelCard:
    """The card, with the digest of the weights beside it (checked against the card's own)."""
    import dataclasses

    digest = file_sha256(directory / WEIGHTS)
    if card.weights_sha256 not in (None, digest):
        # New weights under an old card (a write cut short): its threshold and classes describe
        # another network, and inspections would be recorded under the wrong version.
        raise ModelError(f"{directory / WEIGHTS}: does not match {CARD} (field 'weights_sha256'); the model was not saved whole, save or copy it again")
    card.raw["weights_sha256"] = digest
    return dataclasses.replace(card, weights_sha256=digest)


def _load_torch(directory: Path, card: ModelCard, device: str) -> StationModel:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from station.model.classifier import StationModel
    from station.model.network import StationNet

    weights = directory / WEIGHTS
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{weights}: corrupt or truncated ({str(exc).splitlines()[0][:120]})") from None
    kind = card.kind
    net: Any
    try:
        if kind == "classifier":
            net = StationNet(card.arch, len(card.classes), card.dropout)
        else:
            from station.model.anomaly import build_net

            bank = state.get("bank")
            if bank is None or bank.ndim != 2 or bank.shape[0] < 1:
                raise ModelError(f"{weights}: no memory bank (tensor 'bank'), or not a matrix")
            net = build_net(card, bank, len(card.head.classes))
    except ModelError as exc:
        raise ModelError(str(exc) if str(directory) in str(exc) else f"{directory / CARD}: {exc}") from None
    expected = net.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise ModelError(f"{weights}: tensor {key} missing; does not match arch {card.arch}")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise ModelError(
                f"{weights}: tensor {key} has shape {tuple(state[key].shape)}, "
                f"expected {tuple(tensor.shape)} for {card.arch} with {len(card.classes)} classes"
            )
    extra = sorted(set(state) - set(expected))
    if extra:
        raise ModelError(f"{weights}: unexpected tensor {extra[0]}; does not match arch {card.arch}")
    net.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    card = _check_weights(directory, card)
    if kind != "classifier":
        from station.model.anomaly import AnomalyModel

        net.set_bank(net.bank)  # the squared norms follow the loaded bank
        bad = net.nonfinite()
        if bad:
            raise ModelError(f"{weights}: tensor {bad} holds NaN or infinite values; the model is damaged, teach or copy it again")
        return AnomalyModel(net, card, directory, device=device)
    return StationModel(net, card, directory, device=device)


def check_target(out: str | os.PathLike[str]) -> Path:
    """Refuse, before any training, an --out that cannot become a model directory: a file, or a
    folder with other things in it (saving replaces the folder whole)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StationError(f"--out {out} is a file, not a folder")
    if out.is_dir() and not (out / CARD).is_file() and any(out.iterdir()):
        raise StationError(f"--out {out} is a folder that holds something other than a model; choose a new folder")
    return out


def save_model_dir(network: torch.nn.Module, card: dict[str, Any], out: str | os.PathLike[str], half: bool = True) -> Path:
    """Write weights (fp16 by default: half the size, metrics hold) and card together: both go
    into a new folder that is renamed into place, so a kill at any moment leaves the old model
    or the new one, never new weights under the old card. Anything else in an existing model
    folder (a report, notes) moves along."""
    import shutil
    import tempfile

    from safetensors.torch import save

    from station.model.network import CAM_LAYER

    out = check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.detach().half() if half and v.is_floating_point() else v.detach()).contiguous().cpu()
        for k, v in network.state_dict().items()
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        atomic_write(tmp / WEIGHTS, save(state, metadata={"format": "pt", "producer": "station"}), fsync=True)
        card = dict(card)
        card["weights_sha256"] = file_sha256(tmp / WEIGHTS)
        card.setdefault("cam_layer", CAM_LAYER)
        card.pop("onnx_sha256", None)
        atomic_write(tmp / CARD, json.dumps(card, indent=2, sort_keys=False) + "\n", fsync=True)
        export(tmp)
        if out.is_dir():
            for entry in out.iterdir():
                if entry.name not in (WEIGHTS, CARD, "model.onnx"):
                    os.replace(entry, tmp / entry.name)
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "model")  # out is gone only between these two renames
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def export(directory: Path) -> None:
    """Write `model.onnx` for a model directory and its hash into the card. The graph is exported
    from the weights as saved (fp16, read back), so both backends run the very same numbers."""
    from station.model.backends import ONNX
    from station.model.graph import export_onnx

    model = load_model_dir(directory)
    tmp = directory / f".{ONNX}.tmp"
    try:
        export_onnx(model.network, model.input_size, tmp)
        os.replace(tmp, directory / ONNX)
    finally:
        tmp.unlink(missing_ok=True)
    update_card(directory, {"onnx_sha256": file_sha256(directory / ONNX)})


def update_card(directory: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Set top-level fields of a saved model's card, in place and atomically (the weights and
    their hash are untouched). The card as written."""
    card = json.loads((directory / CARD).read_text(encoding="utf-8"))
    card.update(fields)
    atomic_write(directory / CARD, json.dumps(card, indent=2, sort_keys=False) + "\n", fsync=True)
    return card


def ensure_export(directory: Path) -> bool:
    """Export a model directory that has no matching ONNX export (saved by an older version, or
    copied without it); True when one was written. Needs torch: on a PC without it (the line
    bundle) one line says where to do it."""
    from station.model import backends

    if backends.onnx_problem(directory, load_card(directory)) is None:
        return False
    if not backends.installed("torch"):
        raise ModelError(f"{directory.name} has no ONNX export this station can run, and exporting needs torch: "
                         "promote it on the engineering PC (the full bundle), then copy the model folder here")
    export(directory)
    return True
