"""The classifier and its Grad-CAM. `from station.model import load_model` is the public entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from station.model.rules import ClassifierRules


def load_model(spec: str | None = None, data: str | None = None, device: str = "auto",
               backend: str | None = "auto") -> "ClassifierRules":
    """The active model, or the one named by `spec` (a model directory or a registered name), on
    `backend` (auto: onnxruntime where installed and the model has its export, else torch).

    Never unpickles: weights come from safetensors, the graph from ONNX, metadata from JSON.
    """
    from station.model.directory import load_for_inference
    from station.model.registry import override_for, resolve_model

    path = resolve_model(spec, data)
    model = load_for_inference(path, device=device, backend=backend)
    override = override_for(path, data)
    if override is not None:  # set from the station window's model panel
        model.threshold = override
    return model
