"""Learning from reviews for a good-parts model: the anomaly model becomes a hybrid.

Called by `station train DATA --base M` (and the window's Retrain) when M is an anomaly or
hybrid model. DATA is an export of reviews (train/ and val/). See station.train.teach for the
rules; this module holds the steps.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from station import __version__
from station.core.errors import StationError
from station.core.labels import GOOD
from station.core.progress import ProgressFn
from station.model.anomaly import ANOMALY, AnomalyModel, AnomalyNet, build_net
from station.model.classifier import StationModel
from station.train import data as tdata
from station.train import metrics, patchhead
from station.train.teach import DEFAULT_BANK, _embed

MIN_DEFECTS = 2  # reviewed defect images before a classifier head is worth training
MIN_VAL_EACH = 5  # reviewed good parts and defects in validation before the head may vote on verdicts


def _classifier(data: Path, tmp: Path, cfg, progress: ProgressFn | None, should_stop) -> StationModel | None:
    """Train the defect classifier on the reviews, from the shipped model (it already knows
    scratches, cracks, spots and stains on generated textures). None when there is too little."""
    from station.core.config import default_model_dir
    from station.train.config import TrainConfig
    from station.train.fit import train

    train_items, val_items = tdata.split_tree(data, 0.2, 0)
    defects = [l for _, l in train_items if l != GOOD]
    if len(defects) < MIN_DEFECTS or not any(l == GOOD for _, l in train_items):
        return None
    tcfg = TrainConfig(epochs=cfg.epochs if cfg else 40, views=cfg.views if cfg else 3, seed=cfg.seed if cfg else 0,
                       name="classifier", anchor=cfg.anchor if cfg else 1.0)
    train(data, tmp, tcfg, base=str(default_model_dir()), progress=progress, should_stop=should_stop)
    from station.model.directory import load_model_dir

    return load_model_dir(tmp)


def learn(data: str | Path, out: str | Path, base: AnomalyModel, cfg=None, progress: ProgressFn | None = None,
          should_stop: Callable[[], bool] | None = None) -> dict:
    """Reviews in DATA (export tree) + the anomaly/hybrid `base` -> a hybrid model in `out`."""
    from station.core.cpu import tune_cpu
    from station.model.directory import save_model_dir

    t0 = time.perf_counter()
    tune_cpu()
    data = Path(data)
    train_items, val_items = tdata.split_tree(data, 0.2, 0)
    card = {k: v for k, v in base.card.items() if k not in ("weights_sha256",)}
    card["anomaly"] = dict(card["anomaly"])
    for part in ("template", "colour", "texture"):  # recalibration moves their cuts too: the base's card stays as it was
        if isinstance(card["anomaly"].get(part), dict):
            card["anomaly"][part] = dict(card["anomaly"][part])
    size = int(card["anomaly"].get("bank_cap", DEFAULT_BANK))
    net = base.network

    # 1. Reviewed good parts join the bank: the coreset keeps what the bank did not yet cover.
    goods = [p for p, l in train_items if l == GOOD]
    if goods:
        grays: list[np.ndarray] = []  # for the template: the same decoded images, not read twice
        chroma: list[np.ndarray] = []  # and for the colour memory, when the model keeps one
        emb = _embed(net, base.prepare, goods, progress, "reviewed good parts", grays=grays, norm=(base.mean, base.std),
                     chroma=chroma if base.colour_bank is not None else None)
        from station.model import patchcore

        merged = torch.cat([net.bank.float(), patchcore.flatten(emb)])
        net.set_bank(merged[patchcore.greedy_coreset(merged, size, 0, progress=progress)])
        if base.judge is not None:  # and the registered template, for the same reason
            from station.model import template

            stats, absorbed = template.absorb(net.template_stats(), grays)
            net.set_template(stats)
            card["anomaly"]["template"] = {**card["anomaly"]["template"], "reviewed_good_absorbed": absorbed}
        if base.colour_bank is not None:  # a colour a reviewed good part showed is a good colour
            from station.model import colour

            net.set_colour(colour.bank_of(np.concatenate([base.colour_bank, np.concatenate(chroma).reshape(-1, 2)])))
            card["anomaly"]["colour"]["bank"] = int(net.colour_bank.shape[0])
    if should_stop and should_stop():
        raise StationError("training cancelled")

    # 2. The reviews teach the patch scorer which feature directions mark this line's defects.
    defects = sum(l != GOOD for _, l in train_items)
    scorer = None
    if defects >= MIN_DEFECTS and goods:
        scorer = patchhead.fit(AnomalyModel(net.eval(), card), train_items, progress=progress)

    # 3. Reviewed defects train the classifier head that names defect types.
    with tempfile.TemporaryDirectory(prefix="station-head-") as tmp:
        cls_model = _classifier(data, Path(tmp) / "classifier", cfg, progress, should_stop)
    if cls_model is not None:
        new = build_net(card, net.bank, len(cls_model.classes))
        new.trunk.load_state_dict(net.trunk.state_dict())
        new.adapter.load_state_dict(cls_model.network.backbone.adapter.state_dict())
        new.head.load_state_dict(cls_model.network.head.state_dict())
        new.set_bank(net.bank)
        for name in ("patch_w", "patch_mu", "patch_sd", "patch_ab", "template_mean", "template_sd", "template_count"):
            getattr(new, name).copy_(getattr(net, name))
        if "colour_bank" in net._buffers:  # the colour memory goes with the rest (a hybrid once lost it)
            new.set_colour(net.colour_bank.detach().float().cpu().numpy())
        net = new
        defect_types = [c for c in cls_model.classes if c != GOOD]
        card["kind"] = "hybrid"
        card["classifier"] = {"classes": list(cls_model.classes), "threshold": float(cls_model.threshold),
                              "type_threshold": float(cls_model.threshold), "votes": True,
                              "metrics": cls_model.card.get("metrics", {})}
        card["classes"] = [GOOD] + defect_types + ([] if ANOMALY in defect_types else [ANOMALY])
    # 4. Reviewed defects' regions name the type of a failed part (station.model.types).
    named = _name_types(net, card, train_items + val_items, progress)  # the cut is set on val; the names may use it too
    model = AnomalyModel(net.eval(), card)

    # 5. The cut, for the combined verdict, on the reviewed validation split.
    val_metrics = _calibrate(model, val_items, card)
    seconds = time.perf_counter() - t0
    card.update({
        "name": Path(out).name, "threshold": 0.5,
        "parent": {"name": base.name, "version": base.version},
        "training_data": {"path": str(data), "n_train": len(train_items), "n_val": len(val_items),
                          "classes": _counts(train_items + val_items), "sha256": tdata.fingerprint(train_items + val_items)},
        "training": {"seconds": round(seconds, 1), "reviewed_good_into_bank": len(goods), "patch_scorer": scorer,
                     "named_defects": named},
        "metrics": val_metrics, "created": datetime.now(UTC).isoformat(timespec="seconds"), "station_version": __version__,
    })
    save_model_dir(net, card, out)
    return {"model": str(out), "kind": card["kind"], "classes": card["classes"], "metrics": val_metrics,
            "threshold": 0.5, "memory_bank": int(net.bank.shape[0]), "seconds": round(seconds, 1)}


def _name_types(net: AnomalyNet, card: dict, items: tdata.Items, progress: ProgressFn | None) -> int:
    """Describe each reviewed defect's region and keep them as the type bank; how many."""
    from station.model import types

    net.set_types(None, None)
    card["anomaly"].pop("types", None)
    defects = [(p, l) for p, l in items if l != GOOD and l != ANOMALY]
    if len(defects) < MIN_DEFECTS:
        return 0
    helper = AnomalyModel(net.eval(), card)
    desc = []
    for start in range(0, len(defects), 16):
        images = tdata.load_images(defects[start : start + 16])
        desc.append(helper.regions(np.stack([helper.prepare(im) for im in images])))
        if progress:
            progress("defect regions", min(start + 16, len(defects)), len(defects))
    bank = types.fit(np.concatenate(desc), [l for _, l in defects], standardised=helper.region_kind == "shape")
    net.set_types(bank.vectors, bank.labels)
    card["anomaly"]["types"] = {"classes": bank.classes, "cut": round(float(bank.cut), 6), "count": len(defects),
                                "description": helper.region_kind}
    named = [c for c in card.get("classes", []) if c not in (GOOD, ANOMALY)]
    card["classes"] = [GOOD] + sorted(set(named) | set(bank.classes)) + [ANOMALY]
    return len(defects)


def _counts(items: tdata.Items) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, label in items:
        out[label] = out.get(label, 0) + 1
    return out


CLASSIFIER_OFF = 0.9999  # a cut the head never reaches: the reviews said it did not help


def _classifier_cuts(model: AnomalyModel) -> list[float]:
    """Candidate cuts for the head, strictest first (ties go to the stricter one)."""
    if not model.has_classifier:
        return [1.0]
    base = model.classifier_threshold
    return sorted({base, CLASSIFIER_OFF, *[c for c in (0.5, 0.8, 0.9, 0.95, 0.98, 0.99) if c > base]}, reverse=True)


def _calibrate(model: AnomalyModel, val_items: tdata.Items, card: dict) -> dict:
    """Move the raw anomaly threshold to the best cut for the combined verdict, when the reviews
    hold both good parts and defects; report validation metrics either way."""
    if not val_items:
        return {}
    images = tdata.load_images(val_items)
    rows = []
    for start in range(0, len(images), 16):
        x = torch.from_numpy(np.stack([model.prepare(im) for im in images[start : start + 16]]))
        rows.append(model.forward_with_cam(x)[0])
    rows_np = np.concatenate(rows)
    y = np.array([int(l != GOOD) for _, l in val_items])
    a = card["anomaly"]
    if model.has_classifier:
        model.classifier_votes = False  # until the reviews below show it helps
        card["classifier"]["votes"] = False
    learned = bool(model.network.patch_w.any())
    if 0 < y.sum() < len(y):
        p_anom = np.clip(rows_np[:, -1], 1e-12, 1 - 1e-12)
        logit = np.log(p_anom / (1.0 - p_anom))
        # Untaught scorer: the held-out good scores from teaching count too (they are distances
        # under the same scorer). Taught: they are not comparable, the reviews alone decide.
        good_p = np.zeros(0) if learned else 1.0 / (1.0 + np.exp(-np.clip(model.good_logits(), -50, 50)))
        labels = np.concatenate([y, np.zeros(len(good_p), dtype=int)]).tolist()
        p_cls = 1.0 - rows_np[:, 0] if model.has_classifier else np.zeros(len(y))
        enough = min(int(y.sum()), int(len(y) - y.sum())) >= MIN_VAL_EACH
        best: tuple[float, float, float] | None = None
        # The classifier's cut and the anomaly cut together: a head trained on a few dozen
        # reviews may only be trusted where it is sure, and the reviews say how sure.
        for cls_cut in _classifier_cuts(model) if enough else [CLASSIFIER_OFF]:
            caught = p_cls >= cls_cut if model.has_classifier else np.zeros(len(y), bool)
            s = np.concatenate([np.where(caught, 1.0, p_anom), good_p])
            cut = metrics.best_threshold(labels, s.tolist())
            f1 = metrics.binary(labels, (np.asarray(s) >= cut).astype(int).tolist())["f1"]
            if best is None or f1 > best[0] + 1e-9:
                best = (f1, cls_cut, cut)
        assert best is not None  # the loop runs at least once
        _, cls_cut, cut = best
        shift = float(np.log(cut / (1.0 - cut))) if enough or not learned else 0.0
        if learned:
            model.network.patch_ab[1] -= shift  # the cut moves to 0.5
        else:
            model.shift_cut(shift)
        a["rule"] = str(a.get("rule", "")) + "; recalibrated on reviews"
        rows_np[:, -1] = 1.0 / (1.0 + np.exp(-(logit - shift)))
        if model.has_classifier:
            votes = cls_cut < CLASSIFIER_OFF
            card["classifier"].update({"threshold": float(cls_cut) if votes else card["classifier"]["threshold"], "votes": votes})
            model.classifier_threshold, model.classifier_votes = card["classifier"]["threshold"], votes
    preds = [model.decide(r) for r in rows_np]
    out = metrics.report([l for _, l in val_items], [p.label for p in preds], [p.p_defect for p in preds], model.classes)
    return {k: v for k, v in out.items() if k not in ("per_class", "confusion")}
