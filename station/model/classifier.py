"""StationModel: a model on the torch backend, the only one that trains (a model directory is
read by station.model.directory). Everything but running the network is station.model.rules,
shared with the ONNX Runtime backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from station.model.card import ModelCard
from station.model.graph import AnomalyGraph, ClassifierGraph, graph_for
from station.model.network import CAM_LAYER
from station.model.rules import ClassifierRules, GraphOutputs


class StationModel(ClassifierRules):
    """A loaded model: network + card. Predictions honour the card's threshold on p_defect."""

    backend = "torch"
    network: Any  # StationNet here, AnomalyNet in AnomalyModel (torch types submodules loosely anyway)

    def __init__(self, network: torch.nn.Module, card: ModelCard | dict[str, Any], path: Path | None = None, device: str = "cpu"):
        self.network = network.eval()
        self._init_rules(card, path)
        self.cam_layer = CAM_LAYER
        self.device = torch.device(device)
        self.network.to(self.device)

    _graph: ClassifierGraph | AnomalyGraph | None = None

    def graph(self) -> ClassifierGraph | AnomalyGraph:
        """The module whose outputs are GraphOutputs' fields: what runs here and what is
        exported to ONNX (station.model.graph). Made once per network, not per batch."""
        if self._graph is None or self._graph.net is not self.network:
            self._graph = graph_for(self.network)
        return self._graph

    def run_graph(self, x: Any) -> GraphOutputs:
        t = torch.as_tensor(x).to(self.device, non_blocking=True)
        g = self.graph()
        # inference_mode, not no_grad: measured 12 vs 23 ms/image for this backbone on CPU.
        with torch.inference_mode():
            outs = g(t)
        return GraphOutputs(**{name: o.float().cpu().numpy() for name, o in zip(g.outputs, outs)})

    def head_weight(self) -> np.ndarray:
        return self.network.head.fc.weight.detach().float().cpu().numpy()
