"""The network as a graph with named outputs (station.model.rules.GraphOutputs): what the torch
backend runs and what is exported to ONNX, so both backends run one definition.

Exported with the TorchScript-based exporter (opset 17): logits and feature maps then match
torch to 1e-5. The wrapper must be in eval mode when exported, or batch norm is exported with
training statistics and the outputs drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

OPSET = 17


class ClassifierGraph(nn.Module):
    outputs: tuple[str, ...] = ("features", "logits")

    def __init__(self, net: Any) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = self.net.backbone(x)
        return features, self.net.head(features)


class AnomalyGraph(nn.Module):
    """The patch embedding; with a classifier head (hybrid) also its adapter's map and logits.
    The memory bank is not in the graph: the nearest-neighbour search is numpy (station.model.knn)."""

    outputs: tuple[str, ...]

    def __init__(self, net: Any) -> None:
        super().__init__()
        self.net = net
        self.outputs = ("emb", "features", "logits") if net.head is not None else ("emb",)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        emb, out = self.net.features(x)
        if self.net.head is None:
            return (emb,)
        features = self.net.adapter(out)
        return emb, features, self.net.head(features)


def graph_for(net: nn.Module) -> ClassifierGraph | AnomalyGraph:
    # By what it holds, not its class: station.model.anomaly builds on the classifier, which uses this.
    return AnomalyGraph(net) if hasattr(net, "bank") else ClassifierGraph(net)


def export_onnx(net: nn.Module, input_size: int, out: Path) -> None:
    """Write `net`'s graph to `out` (batch size free, input size fixed: the model resizes every
    image to its input size)."""
    import copy
    import warnings

    g = graph_for(copy.deepcopy(net).float().cpu()).eval()
    dummy = torch.zeros(2, 3, input_size, input_size)
    names = list(g.outputs)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes are not the user's business
        torch.onnx.export(g, (dummy,), str(out), opset_version=OPSET, dynamo=False, input_names=["input"],
                          output_names=names, dynamic_axes={k: {0: "n"} for k in ["input", *names]})
