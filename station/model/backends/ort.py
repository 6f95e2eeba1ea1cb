"""The ONNX Runtime backend: the exported graph runs in an InferenceSession; the head's weights,
the memory bank and the template come from model.safetensors read as numpy. No torch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from station.core.errors import ModelError
from station.model.anomaly_rules import AnomalyRules, PatchScorer, template_canvas
from station.model.backends import ONNX
from station.model.card import ModelCard
from station.model.rules import ClassifierRules, GraphOutputs
from station.model.template import TemplateStats

# The execution providers `--device auto` tries, best first; the CPU one is always there.
PREFERRED = ("CUDAExecutionProvider", "DmlExecutionProvider", "CPUExecutionProvider")
_DEVICE_NAMES = {"CUDAExecutionProvider": "cuda", "DmlExecutionProvider": "directml", "CPUExecutionProvider": "cpu"}


def providers(device: str | None) -> list[Any]:
    """`--device` as ONNX Runtime execution providers: auto (CUDA or DirectML when present), cpu,
    cuda or cuda:N; one line when the machine cannot do it."""
    import re

    import onnxruntime as ort

    have = ort.get_available_providers()
    if device in (None, "auto"):
        return [p for p in PREFERRED if p in have]
    if device == "cpu":
        return ["CPUExecutionProvider"]
    m = re.fullmatch(r"cuda(?::(\d+))?", device or "")
    if m:
        if "CUDAExecutionProvider" not in have:
            raise ModelError(f"--device {device}: no CUDA GPU for onnxruntime on this machine (no CUDA provider); use --device cpu or auto")
        return [("CUDAExecutionProvider", {"device_id": int(m.group(1) or 0)}), "CPUExecutionProvider"]
    raise ModelError(f"--device {device!r}: use auto, cpu, cuda or cuda:N")


class OnnxModel(ClassifierRules):
    """A classifier on ONNX Runtime."""

    backend = "onnxruntime"

    # Set by station.model.directory (which this package must not import): loads the directory on torch.
    torch_loader: Callable[[Path], Any] | None = None

    def __init__(self, directory: Path, card: ModelCard, state: dict[str, np.ndarray], device: str | None = "auto"):
        import onnxruntime as ort

        self.state = state
        self._torch: Any = None
        options = ort.SessionOptions()
        options.log_severity_level = 3  # its warnings about unused initializers are not the user's business
        from station.core.cpu import limited, threads

        if limited():  # a share of the cores: its pool takes that many and does not spin between runs
            options.intra_op_num_threads = threads()
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        chosen = providers(device)  # its own one-line errors, not "cannot be loaded"
        try:
            self.session = ort.InferenceSession(str(directory / ONNX), options, providers=chosen)
        except Exception as exc:  # noqa: BLE001 (whatever onnxruntime raises for a file it cannot load is the file's fault
            raise ModelError(f"{directory / ONNX}: cannot be loaded ({str(exc).splitlines()[0][:160]})") from None
        self.outputs = [o.name for o in self.session.get_outputs()]
        active = self.session.get_providers()[0]
        self.device = _DEVICE_NAMES.get(active, active)
        self._init_rules(card, directory)

    @property
    def network(self) -> Any:
        """The torch network of the same directory (the public API's `m.network`), loaded on
        first use: inspection never needs it, and the line build has no torch."""
        if self._torch is None:
            if self.torch_loader is None or self.path is None:
                raise AttributeError("this model has no torch network to offer")
            self._torch = self.torch_loader(self.path)
        return self._torch.network

    def run_graph(self, x: Any) -> GraphOutputs:
        outs = self.session.run(None, {"input": np.ascontiguousarray(x, dtype=np.float32)})
        return GraphOutputs(**dict(zip(self.outputs, outs)))

    def head_weight(self) -> np.ndarray:
        return self.state["head.fc.weight"]


class OnnxAnomalyModel(AnomalyRules, OnnxModel):
    """An anomaly or hybrid model on ONNX Runtime."""

    def __init__(self, directory: Path, card: ModelCard, state: dict[str, np.ndarray], device: str | None = "auto"):
        s = state
        bank = s["bank"]
        self._scorer = PatchScorer(bank, (bank * bank).sum(1), s["patch_w"], s["patch_mu"], s["patch_sd"], s["patch_ab"])
        super().__init__(directory, card, state, device)

    cam_layer = "trunk"

    def scorer(self) -> PatchScorer:
        return self._scorer

    def template_stats(self) -> TemplateStats:
        return TemplateStats(self.state["template_mean"], self.state["template_sd"], self.state["template_count"])

    def type_state(self) -> tuple[np.ndarray, np.ndarray]:
        return self.state["type_bank"], self.state["type_of"]

    def colour_state(self) -> np.ndarray:
        return self.state["colour_bank"]


TYPE_KEYS = ("type_bank", "type_of")  # reviewed defects' regions, when reviews named types
ANOMALY_KEYS = ("bank", "patch_w", "patch_mu", "patch_sd", "patch_ab", "template_mean", "template_sd", "template_count")


def load(directory: Path, card: ModelCard, device: str | None = "auto",
         torch_loader: Callable[[Path], Any] | None = None) -> OnnxModel:
    """A checked model directory (card read, export matching) on ONNX Runtime; `torch_loader`
    gives `network` (the public API's torch module) on first use."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    weights = directory / "model.safetensors"
    kind, a = card.kind, card.anomaly
    needed: tuple[str, ...] = ANOMALY_KEYS if kind != "classifier" else ()
    if a is not None and a.types is not None:
        needed += TYPE_KEYS
    if a is not None and a.colour is not None:
        needed += ("colour_bank",)
    if kind == "classifier" or card.head.classes:
        needed += ("head.fc.weight",)
    try:  # the trunk's weights are in the graph: only what the rules read is converted
        state = {k: v.astype(np.float32) for k, v in load_file(str(weights)).items() if k in needed}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{weights}: corrupt or truncated ({str(exc).splitlines()[0][:120]})") from None
    for key in needed:
        if key not in state:
            raise ModelError(f"{weights}: tensor {key} missing")
        if not np.isfinite(state[key]).all():
            raise ModelError(f"{weights}: tensor {key} holds NaN or infinite values; the model is damaged, teach or copy it again")
    if kind == "classifier":
        if state["head.fc.weight"].shape[0] != len(card.classes):
            raise ModelError(f"{weights}: tensor head.fc.weight has {state['head.fc.weight'].shape[0]} rows, the card {len(card.classes)} classes")
        model: OnnxModel = OnnxModel(directory, card, state, device)
        model.torch_loader = torch_loader
        return model
    if state["bank"].ndim != 2 or state["bank"].shape[0] < 1:
        raise ModelError(f"{weights}: no memory bank (tensor 'bank'), or not a matrix")
    canvas = template_canvas(card)
    for key in ("template_mean", "template_sd", "template_count"):
        if tuple(state[key].shape) != canvas:
            raise ModelError(f"{weights}: tensor {key} has shape {tuple(state[key].shape)}, expected {canvas} (the card's anomaly.template.canvas)")
    model = OnnxAnomalyModel(directory, card, state, device)
    model.torch_loader = torch_loader
    return model
