"""Good-parts anomaly models and the hybrid as rules (card `kind` "anomaly" or "hybrid"), numpy only.

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

The network (station.model.anomaly.AnomalyNet, or its ONNX export) gives only the patch
embedding and the head's outputs; the nearest-neighbour search, the template, the patch scorer
and the verdict are here, shared by both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from station.core.domain import Prediction
from station.core.errors import ModelError
from station.core.labels import GOOD
from station.model import colour, knn, texture
from station.model.cam import gradcam
from station.model.card import ModelCard, as_card
from station.model.defect_shape import FEATURES, describe_shapes, shape_of
from station.model.rules import ClassifierRules, softmax
from station.model.template import Compared, Judge, TemplateStats, gray_images
from station.model.types import TypeBank, describe

ANOMALY = "anomaly"
UNMATCHED_Z = 3.0  # evidence for a part that does not register to the template: fails, not with certainty


@dataclass
class PatchScorer:
    """The memory bank and the patch scorer: logit = a * z + w . (f - mu) / sd + b per patch."""

    bank: np.ndarray
    bank_sq: np.ndarray
    w: np.ndarray
    mu: np.ndarray
    sd: np.ndarray
    ab: np.ndarray

    def logit_maps(self, emb: np.ndarray, z: np.ndarray) -> np.ndarray:
        """(N, h, w) per-patch defect logits from features and the anomaly evidence z (0 at the
        taught cut, in standard deviations of held-out good parts)."""
        out = self.ab[0] * z + self.ab[1]
        if self.w.any():
            f = (emb - self.mu[None, :, None, None]) / self.sd[None, :, None, None]
            out = out + np.einsum("ndhw,d->nhw", f, self.w)
        return out.astype(np.float32)


class AnomalyRules(ClassifierRules):
    """An anomaly or hybrid card as rules; subclasses supply `run_graph`, `head_weight`,
    `scorer` and `template_stats`."""

    def _init_rules(self, card: ModelCard | dict[str, Any], path: Path | None) -> None:
        super()._init_rules(card, path)
        spec = self.spec
        self.kind = spec.kind
        a = spec.anomaly
        if a is None:
            raise ModelError(f"{path or 'card'}: an {spec.kind} model needs its field 'anomaly'")
        self.raw_threshold = a.raw_threshold
        self.scale = a.scale
        head = spec.head
        self.classifier_classes: list[str] = list(head.classes)
        self.classifier_threshold = head.threshold  # its cut when it votes on the verdict
        self.classifier_votes = head.votes
        self.type_threshold = head.type_threshold  # its cut for naming a type
        self.judge = Judge(self.template_stats()) if a.template is not None else None
        self.template_threshold = a.template.raw_threshold if a.template is not None else 0.0
        self.template_scale = a.template.scale if a.template is not None else 1.0
        self.colour_bank = self.colour_state() if a.colour is not None else None
        self.colour_field = colour.Field(self.colour_bank) if self.colour_bank is not None else None
        self.colour_threshold = a.colour.raw_threshold if a.colour is not None else 0.0
        self.colour_scale = a.colour.scale if a.colour is not None else 1.0
        self.texture: texture.TextureStats | None = None
        if a.texture is not None:
            if a.texture.measures != texture.MEASURES:
                raise ModelError(f"{path or 'card'}: its texture memory measures {', '.join(a.texture.measures)}; "
                                 f"this station measures {', '.join(texture.MEASURES)}: teach the line again")
            self.texture = texture.TextureStats.of(a.texture.stats)
        self.texture_threshold = a.texture.raw_threshold if a.texture is not None else 0.0
        self.texture_scale = a.texture.scale if a.texture is not None else 1.0
        # Reviewed defects' regions (station.model.types): they name a failed part's type.
        named = a.types
        self.types: TypeBank | None = None
        # How the reviewed defects were described: by their shape against the template (a
        # fixtured line, 0.9.5), or by trunk features of the region (every other line, and older cards).
        self.type_description = named.description if named is not None else self.region_kind
        if named is not None:
            vectors, labels = self.type_state()
            self.types = TypeBank(vectors, labels.astype(np.int64), list(named.classes), named.cut,
                                  standardised=self.type_description == "shape")

    def scorer(self) -> PatchScorer:
        raise NotImplementedError

    def type_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(region descriptions n x 2D, type index n) of the reviewed defects."""
        raise NotImplementedError

    def template_stats(self) -> TemplateStats:
        raise NotImplementedError

    def colour_state(self) -> np.ndarray:
        """(k, 2) the good parts' chroma (station.model.colour), for a model that keeps one."""
        raise NotImplementedError

    def set_masks(self, masks: Sequence[tuple[float, float, float, float]]) -> None:
        """Areas (x, y, w, h as fractions of the image) that never raise an alarm: their patches
        are left out of the part's score, its heatmap and its type."""
        self.masks = tuple(tuple(float(v) for v in m) for m in masks)  # type: ignore[misc]

    def _ignored(self, h: int, w: int) -> np.ndarray | None:
        """(h, w) True for every map cell a mask touches: a defect's patches near a mask's edge
        still see part of it, so a cell is ignored as soon as any of it is masked."""
        if not self.masks:
            return None
        out = np.zeros((h, w), bool)
        for x, y, mw, mh in self.masks:
            c0, c1 = int(np.floor(x * w)), int(np.ceil((x + mw) * w))
            r0, r1 = int(np.floor(y * h)), int(np.ceil((y + mh) * h))
            out[r0:r1, c0:c1] = True
        return out

    @property
    def has_classifier(self) -> bool:
        return len(self.classifier_classes) > 1

    def evidence_np(self, emb: np.ndarray, x: np.ndarray, scorer: PatchScorer,
                    compared: list[Compared | None] | None = None) -> np.ndarray:
        """z maps (N, h, w): per patch, how far past the taught cut it is in held-out good
        standard deviations, by the patch memory, the registered template, the colour memory or
        the texture memory (when the model has them), whichever says more. `compared` collects each part's
        registration to the template, for the shape of its defect (registered once per part)."""
        dist = knn.anomaly_maps(emb, scorer.bank, scorer.bank_sq)
        z = (dist - self.raw_threshold) / max(self.scale, 1e-6)
        cells = (int(z.shape[1]), int(z.shape[2]))
        grays = gray_images(np.asarray(x, dtype=np.float32), self.mean, self.std) if self.judge is not None or self.texture is not None else []
        if self.judge is not None:
            from station.core.cpu import each

            for i, c in enumerate(each(self.judge.compare, grays)):  # the batch's parts side by side
                if compared is not None:
                    compared.append(c)
                r = None if c is None else c.residual(cells)
                # A part that does not register is not the taught product at all (or turned).
                zt = UNMATCHED_Z if r is None else (r - self.template_threshold) / max(self.template_scale, 1e-6)
                z[i] = np.maximum(z[i], zt)
        if self.texture is not None:
            z = np.maximum(z, texture.evidence(grays, self.texture, cells, self.texture_threshold, self.texture_scale))
        if self.colour_field is not None:
            d = self.colour_field.distances(colour.chroma_cells(np.asarray(x, dtype=np.float32), self.mean, self.std, cells))
            z = np.maximum(z, (d - self.colour_threshold) / max(self.colour_scale, 1e-6))
        return z.astype(np.float32)

    def good_logits(self) -> np.ndarray:
        """The untaught scorer's logits of the good parts held out while teaching."""
        a = self.card["anomaly"]
        z = (np.asarray(a.get("good_scores", []), dtype=np.float64) - self.raw_threshold) / max(self.scale, 1e-6)
        tmpl = a.get("template") or {}
        if self.judge is not None and len(tmpl.get("good_scores", [])) == len(z):
            zt = (np.asarray(tmpl["good_scores"], dtype=np.float64) - self.template_threshold) / max(self.template_scale, 1e-6)
            z = np.maximum(z, zt)
        col = a.get("colour") or {}
        if self.colour_bank is not None and len(col.get("good_scores", [])) == len(z):
            z = np.maximum(z, (np.asarray(col["good_scores"], dtype=np.float64) - self.colour_threshold) / max(self.colour_scale, 1e-6))
        tex = a.get("texture") or {}
        if self.texture is not None and len(tex.get("good_scores", [])) == len(z):
            z = np.maximum(z, (np.asarray(tex["good_scores"], dtype=np.float64) - self.texture_threshold) / max(self.texture_scale, 1e-6))
        return z

    def shift_cut(self, shift: float) -> None:
        """Move the untaught scorer's cut by `shift` logits (the distance's and every other memory's)."""
        a = self.card["anomaly"]
        new_raw = float(a["raw_threshold"] + a["scale"] * shift)
        a["raw_threshold"] = self.raw_threshold = max(new_raw, float(a["floor"]) + 0.5 * float(a["scale"]))
        if self.judge is not None:
            tmpl = a["template"]
            tmpl["raw_threshold"] = self.template_threshold = max(float(tmpl["raw_threshold"] + tmpl["scale"] * shift), 0.5 * float(tmpl["scale"]))
        if self.colour_bank is not None:
            col = a["colour"]
            col["raw_threshold"] = self.colour_threshold = max(float(col["raw_threshold"] + col["scale"] * shift), colour.MIN_CUT)
        if self.texture is not None:
            tex = a["texture"]
            tex["raw_threshold"] = self.texture_threshold = float(tex["raw_threshold"] + tex["scale"] * shift)

    def _rescaled_classifier(self, p_def: float) -> float:
        t = min(max(self.classifier_threshold, 1e-3), 1 - 1e-3)
        return 0.5 * p_def / t if p_def < t else 0.5 + 0.5 * (p_def - t) / (1 - t)

    def forward_with_cam(self, x: Any, target: Any = None) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        x = np.asarray(x, dtype=np.float32)
        out = self.run_graph(x)
        assert out.emb is not None  # an anomaly graph returns the patch embedding
        scorer = self.scorer()
        compared: list[Compared | None] = []
        maps = scorer.logit_maps(out.emb, self.evidence_np(out.emb, x, scorer, compared))
        ignored = self._ignored(int(maps.shape[1]), int(maps.shape[2]))
        if ignored is not None:
            maps[:, ignored] = MASKED_LOGIT
        p_anom = _sigmoid(maps.reshape(len(maps), -1).max(1))
        rows = [p_anom[:, None]]
        if self.types is not None:
            rows.insert(0, self.types.rows(self._descriptions(out.emb, maps, compared, failing=p_anom >= min(0.5, self.threshold))))
        # 0.5 at the cut, near 0 on a typical good patch: a good part's map stays dark.
        heat = _sigmoid(maps).astype(np.float32)
        if self.has_classifier and out.logits is not None and out.features is not None:
            probs = softmax(out.logits)
            rows.insert(0, probs)  # row: head's classes, then (types) type probabilities and best likeness, then p_anomaly
            cls_fail = np.array([self.classifier_votes and self._rescaled_classifier(1.0 - p[0]) >= 0.5 for p in probs])
            only_cls = cls_fail & ~(p_anom >= 0.5)
            if only_cls.any():  # where only the classifier saw it, its Grad-CAM shows where
                idx = np.flatnonzero(only_cls)
                t = np.array([1 + int(np.argmax(probs[i, 1:])) for i in idx])
                cams = gradcam(out.features[idx], self.head_weight(), t)
                h, w = heat.shape[1:]
                cell_mask = self._ignored(h, w)
                for j, i in enumerate(idx):  # bilinear, half-pixel centres (as torch's align_corners=False)
                    heat[i] = cv2.resize(cams[j], (w, h), interpolation=cv2.INTER_LINEAR)
                    if cell_mask is not None and cell_mask.flat[int(np.argmax(heat[i]))]:
                        # The head looked hardest inside a mask: its vote is about an area
                        # that never raises an alarm, so it is not counted.
                        probs[i] = 0.0
                        probs[i, 0] = 1.0
                        heat[i] = 0.0
        return np.concatenate(rows, axis=1), heat

    @property
    def region_kind(self) -> str:
        """How `regions` describes a defect: "shape" against the template, else "region"."""
        return "shape" if self.judge is not None else "region"

    def regions(self, x: Any) -> np.ndarray:
        """(N, D) descriptions of each part's defect, as new reviewed defects are described for
        naming: its shape against the template where the model has one, else the region its
        anomaly map points at (station.model.defect_shape, station.model.types)."""
        x = np.asarray(x, dtype=np.float32)
        if self.judge is not None:
            return describe_shapes(self.judge, gray_images(x, self.mean, self.std))
        out = self.run_graph(x)
        assert out.emb is not None
        scorer = self.scorer()
        return describe(out.emb, scorer.logit_maps(out.emb, self.evidence_np(out.emb, x, scorer)))

    def _descriptions(self, emb: np.ndarray, maps: np.ndarray, compared: list[Compared | None], failing: np.ndarray) -> np.ndarray:
        """The type bank's kind of description. Shapes come from the judging's own registration
        and are measured for failing parts only; a passing part's type is `good` whatever it says."""
        if self.type_description != "shape" or self.judge is None:
            return describe(emb, maps)
        out = np.zeros((len(emb), FEATURES), np.float32)
        for i in np.flatnonzero(failing):
            out[i] = shape_of(compared[i])
        return out

    def probabilities(self, x: Any) -> np.ndarray:
        return self.forward_with_cam(x)[0]

    def decide(self, row: np.ndarray) -> Prediction:
        p_anom = float(row[-1])
        p_cls = 0.0
        label = ANOMALY
        probs: dict[str, float] = {}
        if self.has_classifier:
            cls = row[: len(self.classifier_classes)]
            if self.classifier_votes:
                p_cls = self._rescaled_classifier(float(1.0 - cls[0]))
            # The head names the type when it recognises one, whether or not it votes.
            if float(1.0 - cls[0]) >= self.type_threshold:
                label = self.classifier_classes[1 + int(np.argmax(cls[1:]))]
            probs = {c: float(p) for c, p in zip(self.classifier_classes[1:], cls[1:])}
        if self.types is not None:  # the region's likeness to reviewed defects names the type instead
            k = len(self.types.classes)
            named = row[-k - 2 : -2]
            label = self.types.classes[int(np.argmax(named))] if float(row[-2]) >= self.types.cut else ANOMALY
            probs = {c: float(p) for c, p in zip(self.types.classes, named)}
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


MASKED_LOGIT = -30.0  # a masked patch: as sure a good patch as a float32 sigmoid can say


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(z, dtype=np.float64), -50, 50)))


def template_canvas(card: ModelCard | dict[str, Any]) -> tuple[int, int]:
    a = as_card(card).anomaly
    return a.template.canvas if a is not None and a.template is not None else (1, 1)
