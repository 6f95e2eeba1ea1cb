"""The classifier and its Grad-CAM. `from station.model import load_model` is the public entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from station.model.classifier import StationModel


def load_model(spec: str | None = None, data: str | None = None, device: str = "cpu") -> "StationModel":
    """The active model, or the one named by `spec` (a model directory or a registered name).

    Never unpickles: weights come from safetensors, metadata from JSON.
    """
    from station.model.directory import load_model_dir
    from station.model.registry import override_for, resolve_model

    path = resolve_model(spec, data)
    model = load_model_dir(path, device=device)
    override = override_for(path, data)
    if override is not None:  # set from the station window's model panel
        model.threshold = override
    return model
