"""Good-parts anomaly models and the hybrid: the deploy side (card `kind` "anomaly" or "hybrid").

- anomaly: the shipped frozen trunk plus a memory bank of good patches (station.model.patchcore).
  p_anomaly = sigmoid((score - t) / s): 0.5 exactly at the raw threshold t set from good parts,
  so the card's threshold (0.5) lives in (0, 1) like every model's and the window's threshold
  box means the same thing for every kind.
- hybrid: the same, plus a classifier head (adapter + linear, as StationNet) trained on reviewed
  defects. When the reviews show it helps (`classifier.votes`), its p_defect is rescaled so its
  own cut also lands on 0.5, and the part's p_defect is the larger of the two: FAIL when the
  anomaly score says so *or* the classifier is confident of a defect. Either way it names the
  type of a failed part when it recognises one, else the type is `anomaly` (nobody named it yet).

The heatmap is the anomaly map, as the sigmoid of each patch's logit: 0.5 at the cut, near 0 on
a typical good patch. Where only the classifier fired, its Grad-CAM is shown instead, so every
failed part shows where.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from station.domain import Prediction
from station.labels import GOOD
from station.model import patchcore
from station.model.cam import gradcam
from station.model.classifier import StationModel
from station.model.network import Head
from station.model.template import Judge, TemplateStats, gray_images

ANOMALY = "anomaly"
UNMATCHED_Z = 3.0  # evidence for a part that does not register to the template: fails, not with certainty


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

    def logit_maps(self, emb: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """(N, h, w) per-patch defect logits from features and the anomaly evidence z (0 at the
        taught cut, in standard deviations of held-out good parts)."""
        a, b = self.patch_ab[0], self.patch_ab[1]
        out = a * z + b
        if bool(self.patch_w.any()):
            f = (emb - self.patch_mu[None, :, None, None]) / self.patch_sd[None, :, None, None]
            out = out + torch.einsum("ndhw,d->nhw", f, self.patch_w)
        return out

    def set_bank(self, bank: torch.Tensor) -> None:
        if bank.shape[1] != self.patch_w.shape[0]:  # new patch width: the taught scorer again
            width = bank.shape[1]
            self.patch_w, self.patch_mu, self.patch_sd = torch.zeros(width), torch.zeros(width), torch.ones(width)
        self.bank = bank.float().to(self.bank.device)
        self.bank_sq = (self.bank * self.bank).sum(1)

    def nonfinite(self) -> str | None:
        """The first buffer holding NaN or infinity (a damaged file would pass or fail every part)."""
        for name in ("bank", "template_mean", "template_sd", "template_count", "patch_w", "patch_ab"):
            if not bool(torch.isfinite(getattr(self, name)).all()):
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


class AnomalyModel(StationModel):
    """A loaded anomaly or hybrid model; the pipeline, evaluate and the window use it as they use
    the classifier: `forward_with_cam` gives rows and maps, `decide` turns a row into a verdict."""

    network: AnomalyNet

    def __init__(self, network: AnomalyNet, card: dict[str, Any], path: Path | None = None, device: str = "cpu"):
        self.kind = str(card.get("kind", ANOMALY))
        a = card["anomaly"]
        self.raw_threshold = float(a["raw_threshold"])
        self.scale = float(a["scale"])
        head = card.get("classifier", {})
        self.classifier_classes: list[str] = list(head.get("classes", []))
        self.classifier_threshold = float(head.get("threshold", 0.5))  # its cut when it votes on the verdict
        self.classifier_votes = bool(head.get("votes", True))
        self.type_threshold = float(head.get("type_threshold", self.classifier_threshold))  # its cut for naming a type
        tmpl = a.get("template")
        self.judge = Judge(network.template_stats()) if isinstance(tmpl, dict) and tmpl.get("used") else None
        self.template_threshold = float(tmpl["raw_threshold"]) if self.judge else 0.0
        self.template_scale = float(tmpl["scale"]) if self.judge else 1.0
        super().__init__(network, card, path, device)
        self.cam_layer = "trunk"

    @property
    def has_classifier(self) -> bool:
        return self.network.head is not None and len(self.classifier_classes) > 1

    def p_anomaly(self, raw: np.ndarray | float) -> np.ndarray:
        """p for raw distance scores under the distance term alone (what teaching calibrates)."""
        z = (np.asarray(raw, dtype=np.float64) - self.raw_threshold) / max(self.scale, 1e-6)
        return _sigmoid(z)

    def evidence(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z maps N x h x w, patch embedding, trunk output) for a preprocessed batch: per patch,
        how far past the taught cut it is in held-out good standard deviations, by the patch
        memory or (when the model has one) the registered template, whichever says more."""
        net: AnomalyNet = self.network
        dist, emb, out = net.raw_maps(x)
        z = (dist - self.raw_threshold) / max(self.scale, 1e-6)
        if self.judge is not None:
            grays = gray_images(x.float().cpu().numpy(), self.mean, self.std)
            cells = (int(z.shape[1]), int(z.shape[2]))
            zt = torch.empty_like(z)
            for i, gray in enumerate(grays):
                r = self.judge.residual(gray, cells)
                if r is None:  # not the taught product at all (or turned, or upside down)
                    zt[i] = UNMATCHED_Z
                else:
                    zt[i] = torch.from_numpy((r - self.template_threshold) / max(self.template_scale, 1e-6)).to(z)
            z = torch.maximum(z, zt)
        return z, emb, out

    def good_logits(self) -> np.ndarray:
        """The untaught scorer's logits of the good parts held out while teaching."""
        a = self.card["anomaly"]
        z = (np.asarray(a.get("good_scores", []), dtype=np.float64) - self.raw_threshold) / max(self.scale, 1e-6)
        tmpl = a.get("template") or {}
        if self.judge is not None and len(tmpl.get("good_scores", [])) == len(z):
            zt = (np.asarray(tmpl["good_scores"], dtype=np.float64) - self.template_threshold) / max(self.template_scale, 1e-6)
            z = np.maximum(z, zt)
        return z

    def shift_cut(self, shift: float) -> None:
        """Move the untaught scorer's cut by `shift` logits (both the distance's and the template's)."""
        a = self.card["anomaly"]
        new_raw = float(a["raw_threshold"] + a["scale"] * shift)
        a["raw_threshold"] = self.raw_threshold = max(new_raw, float(a["floor"]) + 0.5 * float(a["scale"]))
        if self.judge is not None:
            tmpl = a["template"]
            tmpl["raw_threshold"] = self.template_threshold = max(float(tmpl["raw_threshold"] + tmpl["scale"] * shift), 0.5 * float(tmpl["scale"]))

    def logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-patch logit maps and the trunk output, for a preprocessed batch."""
        z, emb, out = self.evidence(x)
        return self.network.logit_maps(emb, z), out

    def _rescaled_classifier(self, p_def: float) -> float:
        t = min(max(self.classifier_threshold, 1e-3), 1 - 1e-3)
        return 0.5 * p_def / t if p_def < t else 0.5 + 0.5 * (p_def - t) / (1 - t)

    def forward_with_cam(self, x: torch.Tensor, target: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
        x = x.to(self.device, non_blocking=True)
        net: AnomalyNet = self.network
        with torch.inference_mode():
            maps, out = self.logits(x)
            feats = net.adapter(out) if net.adapter is not None and self.has_classifier else None
            logits = net.head(feats) if net.head is not None and feats is not None else None
        maps_np = maps.float().cpu().numpy()
        p_anom = _sigmoid(maps_np.reshape(len(maps_np), -1).max(1))
        rows = [p_anom[:, None]]
        # 0.5 at the cut, near 0 on a typical good patch: a good part's map stays dark.
        heat = _sigmoid(maps_np).astype(np.float32)
        if logits is not None:
            probs = torch.softmax(logits.float(), 1).cpu().numpy()
            rows.insert(0, probs)
            cls_fail = np.array([self.classifier_votes and self._rescaled_classifier(1.0 - p[0]) >= 0.5 for p in probs])
            anom_fail = p_anom >= 0.5
            only_cls = cls_fail & ~anom_fail
            if only_cls.any():  # where only the classifier saw it, its Grad-CAM shows where
                idx = np.flatnonzero(only_cls)
                t = torch.as_tensor([1 + int(np.argmax(probs[i, 1:])) for i in idx])
                assert net.head is not None and feats is not None  # only_cls: the classifier ran
                cams = torch.from_numpy(gradcam(feats[idx].float().cpu().numpy(), net.head.fc.weight.detach().float().cpu().numpy(),
                                                t.numpy()))
                up = torch.nn.functional.interpolate(cams[:, None], size=heat.shape[1:], mode="bilinear", align_corners=False)
                heat[idx] = up[:, 0].numpy()
        return np.concatenate(rows, axis=1), heat

    def probabilities(self, x: torch.Tensor) -> np.ndarray:
        return self.forward_with_cam(x)[0]

    def decide(self, row: np.ndarray) -> Prediction:
        p_anom = float(row[-1])
        p_cls = 0.0
        label = ANOMALY
        probs: dict[str, float] = {}
        if self.has_classifier:
            cls = row[:-1]
            if self.classifier_votes:
                p_cls = self._rescaled_classifier(float(1.0 - cls[0]))
            # The head names the type when it recognises one, whether or not it votes.
            if float(1.0 - cls[0]) >= self.type_threshold:
                label = self.classifier_classes[1 + int(np.argmax(cls[1:]))]
            probs = {c: float(p) for c, p in zip(self.classifier_classes[1:], cls[1:])}
        p_defect = max(p_anom, p_cls)
        if p_defect < self.threshold:
            label = GOOD
        probs = {GOOD: 1.0 - p_defect, **probs, ANOMALY: p_anom}
        return Prediction(label, p_defect, probs)

    def uncertainty(self, pred: Prediction) -> float:
        """Least certain = closest to the cut, in the units the threshold is set in (1 at the
        cut, 0 at certainty): the doubt here is the anomaly score's distance to its threshold,
        not a tie between classes."""
        return float(max(0.0, 1.0 - abs(pred.p_defect - self.threshold) / max(self.threshold, 1 - self.threshold)))


def build_net(card: dict[str, Any], bank: torch.Tensor, n_classifier: int = 0) -> AnomalyNet:
    from station.model.backbone import build_backbone

    backbone: Any
    backbone, channels = build_backbone(card.get("arch", "efficientnet_lite0"))
    adapter = head = None
    if n_classifier > 1:
        adapter, head = backbone.adapter, Head(channels, n_classifier)
    net = AnomalyNet(backbone.trunk, bank, adapter, head, canvas=template_canvas(card))
    if bank.shape[1] > 1:  # 1: a placeholder while teaching
        with torch.inference_mode():
            width = net.features(torch.zeros(1, 3, 64, 64))[0].shape[1]
        if bank.shape[1] != width:
            from station.errors import ModelError

            raise ModelError(f"memory bank patches have {bank.shape[1]} numbers, this trunk gives {width}: tensor 'bank' does not fit")
    return net


def template_canvas(card: dict[str, Any]) -> tuple[int, int]:
    tmpl = card.get("anomaly", {}).get("template")
    if isinstance(tmpl, dict) and tmpl.get("used"):
        h, w = tmpl["canvas"]
        return int(h), int(w)
    return (1, 1)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(z, dtype=np.float64), -50, 50)))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def check_card(card: dict[str, Any], where: Path) -> None:
    """The anomaly section must describe a usable score: a model with a NaN or negative scale
    would pass or fail every part. One ModelError naming the file and the field."""
    from station.errors import ModelError

    a = card.get("anomaly")
    if not isinstance(a, dict):
        raise ModelError(f"{where}: field 'anomaly' must be an object with raw_threshold, scale and floor")
    for key in ("raw_threshold", "scale", "floor"):
        if not _finite(a.get(key)):
            raise ModelError(f"{where}: field 'anomaly.{key}' must be a finite number, not {a.get(key)!r}")
    if a["scale"] <= 0 or a["raw_threshold"] <= a["floor"]:
        raise ModelError(f"{where}: field 'anomaly' needs scale > 0 and raw_threshold > floor")
    tmpl = a.get("template")
    if tmpl is not None:
        if not isinstance(tmpl, dict) or not isinstance(tmpl.get("used"), bool):
            raise ModelError(f"{where}: field 'anomaly.template' must be an object with 'used' true or false")
        if tmpl["used"]:
            canvas = tmpl.get("canvas")
            if not (isinstance(canvas, list) and len(canvas) == 2 and all(isinstance(v, int) and 16 <= v <= 8192 for v in canvas)):
                raise ModelError(f"{where}: field 'anomaly.template.canvas' must be [height, width] in pixels, not {canvas!r}")
            for key in ("raw_threshold", "scale"):
                if not _finite(tmpl.get(key)) or tmpl[key] <= 0:
                    raise ModelError(f"{where}: field 'anomaly.template.{key}' must be a positive number, not {tmpl.get(key)!r}")
    if card.get("kind") == "hybrid":
        cls = card.get("classifier", {}).get("classes") if isinstance(card.get("classifier"), dict) else None
        if not isinstance(cls, list) or len(cls) < 2 or cls[0] != GOOD:
            raise ModelError(f"{where}: field 'classifier.classes' must list '{GOOD}' first and at least one defect type")
        if not _finite(card["classifier"].get("threshold")) or not 0 < card["classifier"]["threshold"] < 1:
            raise ModelError(f"{where}: field 'classifier.threshold' must be a number between 0 and 1")
