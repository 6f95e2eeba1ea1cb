"""Good-parts anomaly models and the hybrid on the torch backend: the network (AnomalyNet) and
the loaded model (AnomalyModel). What they mean, and every rule, is station.model.anomaly_rules,
shared with the ONNX Runtime backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from station.model import patchcore
from station.model.anomaly_rules import ANOMALY, AnomalyRules, PatchScorer, template_canvas
from station.model.card import ModelCard, as_card
from station.model.classifier import StationModel
from station.model.network import Head
from station.model.template import TemplateStats

__all__ = ["ANOMALY", "AnomalyModel", "AnomalyNet", "build_net"]


class AnomalyNet(nn.Module):
    """The trunk, the memory bank, the patch scorer and (hybrid) the classifier head.

    The patch scorer turns each patch's evidence z and its features f into a logit:
    a * z + w . (f - mu) / sd + b, where z = (d - t) / s for the nearest-neighbour distance d, or
    the registered template's residual in the same units when it says more (the larger of the
    two). Taught from good parts alone it is the plain anomaly score (a = 1, w = 0, b = 0, so the
    cut is z = 0); reviews teach w, a and b which feature directions mark this line's defects.
    The image logit is the patches' maximum."""

    trunk: nn.Sequential
    bank: torch.Tensor
    bank_sq: torch.Tensor
    patch_w: torch.Tensor
    patch_mu: torch.Tensor
    patch_sd: torch.Tensor
    patch_ab: torch.Tensor
    adapter: nn.Module | None
    head: Head | None

    def __init__(self, trunk: nn.Sequential, bank: torch.Tensor, adapter: nn.Module | None = None, head: Head | None = None,
                 canvas: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        self.trunk = trunk
        self.register_buffer("bank", bank.float())
        self.register_buffer("bank_sq", (self.bank * self.bank).sum(1), persistent=False)
        width = bank.shape[1]
        self.register_buffer("patch_w", torch.zeros(width))
        self.register_buffer("patch_mu", torch.zeros(width))
        self.register_buffer("patch_sd", torch.ones(width))
        self.register_buffer("patch_ab", torch.tensor([1.0, 0.0]))  # a, b
        # The registered template (station.model.template): mean, spread and count per canvas
        # pixel; 1x1 zeros when the model has none.
        self.register_buffer("template_mean", torch.zeros(canvas))
        self.register_buffer("template_sd", torch.zeros(canvas))
        self.register_buffer("template_count", torch.zeros(canvas))
        self.adapter = adapter
        self.head = head

    def set_template(self, stats: TemplateStats) -> None:
        self.template_mean = torch.from_numpy(stats.mean).float()
        self.template_sd = torch.from_numpy(stats.sd).float()
        self.template_count = torch.from_numpy(stats.count).float()

    def template_stats(self) -> TemplateStats:
        return TemplateStats(*(getattr(self, f"template_{k}").float().cpu().numpy() for k in ("mean", "sd", "count")))

    def set_types(self, vectors: np.ndarray | None, labels: np.ndarray | None) -> None:
        """The reviewed defects' region descriptions (station.model.types), or none."""
        for name in ("type_bank", "type_of"):
            self._buffers.pop(name, None)
        if vectors is not None and labels is not None:
            self.register_buffer("type_bank", torch.from_numpy(np.asarray(vectors, dtype=np.float32)))
            self.register_buffer("type_of", torch.from_numpy(np.asarray(labels, dtype=np.float32)))

    def set_colour(self, bank: np.ndarray | None) -> None:
        """The good parts' chroma (station.model.colour), or none (grey parts)."""
        self._buffers.pop("colour_bank", None)
        if bank is not None:
            self.register_buffer("colour_bank", torch.from_numpy(np.asarray(bank, dtype=np.float32)))

    def set_bank(self, bank: torch.Tensor) -> None:
        if bank.shape[1] != self.patch_w.shape[0]:  # new patch width: the taught scorer again
            width = bank.shape[1]
            self.patch_w, self.patch_mu, self.patch_sd = torch.zeros(width), torch.zeros(width), torch.ones(width)
        self.bank = bank.float().to(self.bank.device)
        self.bank_sq = (self.bank * self.bank).sum(1)

    def nonfinite(self) -> str | None:
        """The first buffer holding NaN or infinity (a damaged file would pass or fail every part)."""
        for name in ("bank", "template_mean", "template_sd", "template_count", "patch_w", "patch_ab", "type_bank", "colour_bank"):
            if name in self._buffers and not bool(torch.isfinite(getattr(self, name)).all()):
                return name
        return None

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(patch embedding N x D x h x w, trunk output)."""
        taps, out = patchcore.trunk_features(self.trunk, x, full=self.head is not None)
        return patchcore.patch_embedding(taps), out

    def raw_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(distance maps, patch embedding, trunk output)."""
        emb, out = self.features(x)
        return patchcore.anomaly_maps(emb, self.bank, self.bank_sq), emb, out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw image scores (N,): the distance map's maximum."""
        return self.raw_maps(x)[0].flatten(1).amax(1)


class AnomalyModel(AnomalyRules, StationModel):
    """A loaded anomaly or hybrid model on torch; training reads and changes its network's
    buffers (the patch scorer, the bank) and the rules see the change at the next call."""

    network: AnomalyNet

    def __init__(self, network: AnomalyNet, card: ModelCard | dict[str, Any], path: Path | None = None, device: str = "cpu"):
        super().__init__(network, card, path, device)
        self.cam_layer = "trunk"

    def scorer(self) -> PatchScorer:
        net = self.network

        def arr(t: torch.Tensor) -> np.ndarray:
            return t.detach().float().cpu().numpy()

        return PatchScorer(arr(net.bank), arr(net.bank_sq), arr(net.patch_w), arr(net.patch_mu), arr(net.patch_sd), arr(net.patch_ab))

    def template_stats(self) -> TemplateStats:
        return self.network.template_stats()

    def type_state(self) -> tuple[np.ndarray, np.ndarray]:
        net = self.network
        return net.type_bank.detach().float().cpu().numpy(), net.type_of.detach().float().cpu().numpy()

    def colour_state(self) -> np.ndarray:
        return self.network.colour_bank.detach().float().cpu().numpy()

    def head_weight(self) -> np.ndarray:
        assert self.network.head is not None  # asked only for a hybrid's classifier
        return self.network.head.fc.weight.detach().float().cpu().numpy()

    def evidence(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z maps N x h x w, patch embedding) for a preprocessed batch, as torch tensors (the
        patch scorer is fitted on them)."""
        xn = x.float().cpu().numpy()
        out = self.run_graph(xn)
        assert out.emb is not None
        return torch.from_numpy(self.evidence_np(out.emb, xn, self.scorer())), torch.from_numpy(out.emb)


def build_net(card: ModelCard | dict[str, Any], bank: torch.Tensor, n_classifier: int = 0) -> AnomalyNet:
    from station.model.backbone import build_backbone

    spec = as_card(card)
    backbone: Any
    backbone, channels = build_backbone(spec.arch)
    adapter = head = None
    if n_classifier > 1:
        adapter, head = backbone.adapter, Head(channels, n_classifier)
    net = AnomalyNet(backbone.trunk, bank, adapter, head, canvas=template_canvas(spec))
    a = spec.anomaly
    if a is not None and a.types is not None:  # shapes for loading; the values come with the weights
        from station.model.defect_shape import FEATURES

        width = FEATURES if a.types.description == "shape" else 2 * int(bank.shape[1])
        net.set_types(np.zeros((a.types.count, width), np.float32), np.zeros(a.types.count, np.float32))
    if a is not None and a.colour is not None:
        net.set_colour(np.zeros((a.colour.bank, 2), np.float32))
    if bank.shape[1] > 1:  # 1: a placeholder while teaching
        with torch.inference_mode():
            width = net.features(torch.zeros(1, 3, 64, 64))[0].shape[1]
        if bank.shape[1] != width:
            from station.core.errors import ModelError

            raise ModelError(f"memory bank patches have {bank.shape[1]} numbers, this trunk gives {width}: tensor 'bank' does not fit")
    return net
