"""`station train`: transfer learning on a frozen pretrained trunk with cached features.

The trunk runs once per augmented view of each image; the adapter and the head then train on
the cached maps for many epochs at almost no cost. Optional fine-tuning of the trunk's last stage
follows. Class-weighted loss, early stopping on validation, the best state kept, and the decision
threshold calibrated on validation. `small_cnn`, the from-scratch baseline, trains end to end.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

from station import __version__
from station.core.errors import StationError
from station.core.labels import GOOD, is_defect
from station.core.progress import ProgressFn
from station.model.backbone import DEFAULT_INPUT, IMAGENET_MEAN, IMAGENET_STD, AdaptedBackbone, load_pretrained
from station.model.classifier import StationModel
from station.model.directory import load_model_dir, save_model_dir
from station.model.network import StationNet
from station.train import data as tdata
from station.train import metrics
from station.train.augment import augment
from station.train.config import TrainConfig

Stop = Callable[[], bool] | None



def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _class_weights(y: np.ndarray, k: int) -> torch.Tensor:
    """Inverse frequency: 391 good vs 10 defects must not teach 'everything is good' (or defective).
    Classes absent from train get weight 0: nothing to learn from, nothing to balance."""
    counts = np.bincount(y, minlength=k).astype(np.float64)
    w = np.where(counts > 0, len(y) / (np.maximum(counts, 1) * max(1, (counts > 0).sum())), 0.0)
    return torch.tensor(w, dtype=torch.float32)


def load_base(spec: str) -> StationModel:
    """A base model: a model directory, or a registered name."""
    if Path(spec).is_dir():
        return load_model_dir(spec)
    from station.model.registry import resolve_model

    return load_model_dir(resolve_model(spec))


def _build(cfg: TrainConfig, classes: list[str], parent: StationModel | None) -> tuple[StationNet, dict]:
    if parent is not None:
        net = StationNet(parent.spec.arch, len(classes))
        net.backbone.load_state_dict(parent.network.backbone.state_dict())
        with torch.no_grad():  # keep what the parent knew; new defect types start from scratch
            for i, c in enumerate(classes):
                if c in parent.classes:
                    j = parent.classes.index(c)
                    net.head.fc.weight[i] = parent.network.head.fc.weight[j]
                    net.head.fc.bias[i] = parent.network.head.fc.bias[j]
        card = {k: parent.card[k] for k in ("arch", "input_size", "normalization")}
        card["parent"] = {"name": parent.name, "version": parent.version}
        return net, card
    net = StationNet(cfg.arch, len(classes))
    load_pretrained(cfg.arch, net.backbone, cfg.weights)
    return net, {
        "arch": cfg.arch,
        "input_size": cfg.input_size or DEFAULT_INPUT[cfg.arch],
        "normalization": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "parent": None,
    }


def _chunks(n: int, size: int, rng: np.random.Generator | None = None):
    idx = rng.permutation(n) if rng is not None else np.arange(n)
    for i in range(0, n, size):
        yield idx[i : i + size]


def _cache(trunk: nn.Module, x: np.ndarray, device: torch.device, bs: int) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([trunk(torch.from_numpy(x[b]).to(device)) for b in _chunks(len(x), bs)])


def _dihedral(h: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Turns and flips of cached maps: cheap extra views, valid for textures with no up or down."""
    h = torch.rot90(h, int(rng.integers(4)), dims=(2, 3))
    return torch.flip(h, dims=(3,)) if rng.random() < 0.5 else h


def _early_stopping_loop(modules, params, step, val_loss, epochs, cfg, progress, stage, lr: float) -> None:
    """Shared by every stage: train `epochs`, keep the state with the best validation loss."""
    best, best_state, stale = float("inf"), [copy.deepcopy(m.state_dict()) for m in modules], 0
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-3)
    for epoch in range(epochs):
        for m in modules:
            m.train()
        step(opt)
        for m in modules:
            m.eval()
        vl = val_loss()
        if progress:
            progress(f"{stage} (val loss {vl:.3f})", epoch + 1, epochs)
        if vl < best - 1e-4:
            best, best_state, stale = vl, [copy.deepcopy(m.state_dict()) for m in modules], 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    for m, state in zip(modules, best_state):
        m.load_state_dict(state)
        m.eval()


def _fit_cached(net, xtr, ytr, xval, yval, weights, cfg, device, progress, should_stop, anchor: float = 0.0) -> None:
    bb: AdaptedBackbone = net.backbone
    bb.trunk.eval()
    rng = np.random.default_rng(cfg.seed)
    maps, labels = [], []
    for v in range(max(1, cfg.views)):
        if should_stop and should_stop():
            raise StationError("training cancelled")
        xv = xtr if v == 0 else np.stack([augment(x, rng) for x in xtr])
        maps.append(_cache(bb.trunk, xv, device, cfg.batch_size))
        labels.append(torch.as_tensor(ytr, device=device))
        if progress:
            progress("caching trunk features", v + 1, max(1, cfg.views))
    cached, y = torch.cat(maps), torch.cat(labels)
    cached_val, y_val = _cache(bb.trunk, xval, device, cfg.batch_size), torch.as_tensor(yval, device=device)
    loss_fn = nn.CrossEntropyLoss(weight=weights.to(device))
    trainable = [bb.adapter, net.head]
    params = [p for m in trainable for p in m.parameters()]
    start = [p.detach().clone() for p in params] if anchor > 0 else []

    def step(opt) -> None:
        for b in _chunks(len(y), cfg.batch_size, rng):
            if should_stop and should_stop():
                raise StationError("training cancelled")
            opt.zero_grad()
            loss = loss_fn(net.head(bb.adapter(_dihedral(cached[b], rng))), y[b])
            if start:
                loss = loss + anchor * sum(((p - p0) ** 2).sum() for p, p0 in zip(params, start))
            loss.backward()
            opt.step()

    def val_loss() -> float:
        with torch.no_grad():
            return float(loss_fn(net.head(bb.adapter(cached_val)), y_val))

    _early_stopping_loop(trainable, params, step, val_loss, cfg.epochs, cfg, progress, "adapter+head", cfg.lr)


def _fit_end_to_end(net, modules, xtr, ytr, xval, yval, weights, cfg, epochs, device, progress, should_stop, stage, lr) -> None:
    """Training on pixels with augmentation on the fly: small_cnn, or optional fine-tuning."""
    rng = np.random.default_rng(cfg.seed + 1)
    loss_fn = nn.CrossEntropyLoss(weight=weights.to(device))
    yt = torch.as_tensor(ytr)

    def step(opt) -> None:
        for b in _chunks(len(ytr), cfg.batch_size, rng):
            if should_stop and should_stop():
                raise StationError("training cancelled")
            xb = torch.from_numpy(np.stack([augment(xtr[i], rng) for i in b])).to(device)
            opt.zero_grad()
            loss_fn(net(xb), yt[b].to(device)).backward()
            opt.step()

    def val_loss() -> float:
        with torch.no_grad():
            logits = torch.cat([net(torch.from_numpy(xval[b]).to(device)) for b in _chunks(len(xval), 64)])
            return float(loss_fn(logits, torch.as_tensor(yval, device=device)))

    params = [p for m in modules for p in m.parameters()]
    _early_stopping_loop(modules, params, step, val_loss, epochs, cfg, progress, stage, lr)


def train(data: str | Path, out: str | Path, cfg: TrainConfig | None = None, base: str | StationModel | None = None,
          progress: ProgressFn | None = None, should_stop: Stop = None) -> dict:
    """Train a classifier from an ImageFolder tree (from a classifier `base` when given) and
    write it to `out`. Returns the JSON summary. station.train.trainer picks this or hybrid."""
    from station.core.cpu import tune_cpu

    cfg = cfg or TrainConfig()
    t0 = time.perf_counter()
    tune_cpu()
    torch.manual_seed(cfg.seed)
    data = Path(data)
    train_items, val_items = tdata.split_tree(data, cfg.val_fraction, cfg.seed)
    if not val_items:
        raise StationError("need at least two images of some class to hold one out for validation")
    parent = load_base(base) if isinstance(base, str) else base
    if parent is not None and parent.spec.kind != "classifier":
        raise StationError(f"{parent.name} is a {parent.spec.kind} model; train it with station.train.trainer")
    classes = tdata.class_list([l for _, l in train_items + val_items], parent.classes if parent else None)
    net, card = _build(cfg, classes, parent)
    device = _device()
    net.to(device).eval()
    helper = StationModel(net, {**card, "classes": classes, "threshold": 0.5}, device=str(device))
    index = {c: i for i, c in enumerate(classes)}
    xtr = np.stack([helper.prepare(im) for im in tdata.load_images(train_items)])
    xval = np.stack([helper.prepare(im) for im in tdata.load_images(val_items)])
    ytr = np.array([index[l] for _, l in train_items])
    yval = np.array([index[l] for _, l in val_items])
    weights = _class_weights(ytr, len(classes))

    if isinstance(net.backbone, AdaptedBackbone):
        _fit_cached(net, xtr, ytr, xval, yval, weights, cfg, device, progress, should_stop, cfg.anchor if parent else 0.0)
        if cfg.finetune_epochs > 0:
            last = list(net.backbone.trunk.children())[-1]
            _fit_end_to_end(net, [last, net.backbone.adapter, net.head], xtr, ytr, xval, yval, weights, cfg,
                            cfg.finetune_epochs, device, progress, should_stop, "fine-tune", cfg.lr / 10)
    else:
        _fit_end_to_end(net, [net], xtr, ytr, xval, yval, weights, cfg, cfg.epochs, device, progress, should_stop, "train", cfg.lr)

    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(torch.from_numpy(xval[b]).to(device)).float().cpu() for b in _chunks(len(xval), 64)])
    probs = torch.softmax(logits, 1).numpy()
    p_def = 1.0 - probs[:, index[GOOD]]
    helper.threshold = metrics.best_threshold([int(is_defect(l)) for _, l in val_items], p_def.tolist())
    preds = [helper.decide(p).label for p in probs]
    val_metrics = metrics.report([l for _, l in val_items], preds, p_def.tolist(), classes)
    seconds = time.perf_counter() - t0
    card.update({
        "format": 1,
        "name": cfg.name or Path(out).name,
        "classes": classes,
        "threshold": helper.threshold,
        "training_data": {
            "path": str(data),
            "n_train": len(train_items),
            "n_val": len(val_items),
            "classes": {c: int((ytr == i).sum() + (yval == i).sum()) for i, c in enumerate(classes)},
            "sha256": tdata.fingerprint(train_items + val_items),
        },
        "training": {"epochs": cfg.epochs, "views": cfg.views, "finetune_epochs": cfg.finetune_epochs, "seed": cfg.seed,
                     "anchor": cfg.anchor if parent else None,
                     "seconds": round(seconds, 1), "device": str(device)},
        "metrics": {k: v for k, v in val_metrics.items() if k not in ("per_class", "confusion")},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "station_version": __version__,
    })
    save_model_dir(net.cpu(), card, out)
    return {"model": str(out), "classes": classes, "metrics": card["metrics"], "threshold": helper.threshold, "seconds": round(seconds, 1)}
