"""`station train`: transfer learning on a frozen backbone's cached features, then optional
fine-tuning of the last blocks; class-weighted loss, early stopping, a calibrated threshold."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from station import __version__
from station.errors import StationError
from station.model.backbone import DEFAULT_INPUT, IMAGENET_MEAN, IMAGENET_STD, load_pretrained
from station.model.classifier import StationModel, load_model_dir, save_model_dir
from station.model.network import StationNet, pool
from station.train import data as tdata
from station.train import metrics, tail
from station.train.augment import augment

Progress = Callable[[str, int, int], None]


@dataclass
class TrainConfig:
    arch: str = "efficientnet_lite0"
    epochs: int = 80  # head epochs on cached features (cheap); small_cnn: end-to-end epochs
    views: int = 4  # augmented views of each training image whose features are cached
    finetune_epochs: int = 0
    finetune_blocks: int = 2
    batch_size: int = 32
    lr: float = 2e-3
    patience: int = 12
    val_fraction: float = 0.2
    seed: int = 0
    weights: str | None = None
    name: str | None = None
    input_size: int | None = None


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _class_weights(y: np.ndarray, k: int) -> torch.Tensor:
    counts = np.bincount(y, minlength=k).astype(np.float64)
    # Classes missing from train get weight 0: nothing to learn from, nothing to balance.
    w = np.where(counts > 0, len(y) / (np.maximum(counts, 1) * max(1, (counts > 0).sum())), 0.0)
    return torch.tensor(w, dtype=torch.float32)


def _build(cfg: TrainConfig, classes: list[str], base: str | None) -> tuple[StationNet, dict]:
    if base:
        parent = load_model_dir(base) if Path(base).is_dir() else _load_named(base)
        arch = parent.card["arch"]
        net = StationNet(arch, len(classes))
        net.backbone.load_state_dict(parent.network.backbone.state_dict())
        with torch.no_grad():  # keep what the parent knew; new defect types start from scratch
            for i, c in enumerate(classes):
                if c in parent.classes:
                    j = parent.classes.index(c)
                    net.head.fc.weight[i] = parent.network.head.fc.weight[j]
                    net.head.fc.bias[i] = parent.network.head.fc.bias[j]
        card = {k: parent.card[k] for k in ("input_size", "normalization")}
        card["arch"] = arch
        card["parent"] = {"name": parent.name, "version": parent.version}
        return net, card
    net = StationNet(cfg.arch, len(classes))
    load_pretrained(cfg.arch, net.backbone, cfg.weights)
    size = cfg.input_size or DEFAULT_INPUT[cfg.arch]
    return net, {
        "arch": cfg.arch,
        "input_size": size,
        "normalization": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "parent": None,
    }


def _load_named(name: str) -> StationModel:
    from station.model import load_model

    return load_model(name)


def _batches(n: int, size: int, rng: np.random.Generator | None = None):
    idx = rng.permutation(n) if rng is not None else np.arange(n)
    for i in range(0, n, size):
        yield idx[i : i + size]


def _features(net: StationNet, x: np.ndarray, device: torch.device, bs: int, keep_trunk: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pooled backbone features, and (for tail fine-tuning) the trunk's feature maps."""
    pooled, trunks = [], []
    with torch.no_grad():
        for b in _batches(len(x), bs):
            xb = torch.from_numpy(x[b]).to(device)
            if keep_trunk:
                h = tail.trunk(net, xb)
                trunks.append(h.cpu())
                fmap = net.backbone.bn2(net.backbone.conv_head(_run_tail_blocks(net, h)))
            else:
                fmap = net.backbone(xb)
            pooled.append(pool(fmap).float().cpu())
    return torch.cat(pooled), (torch.cat(trunks) if keep_trunk else None)


def _run_tail_blocks(net: StationNet, h: torch.Tensor) -> torch.Tensor:
    for block in list(net.backbone.blocks)[tail.TRUNK_STAGES :]:
        h = block(h)
    return h


def _fit_head(net, ftr, ytr, fval, yval, weights, cfg, progress) -> None:
    head = net.head.cpu().train()
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=1e-3)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    val_loss_fn = nn.CrossEntropyLoss(weight=weights)
    rng = np.random.default_rng(cfg.seed)
    best, best_state, stale = float("inf"), copy.deepcopy(head.state_dict()), 0
    for epoch in range(cfg.epochs):
        head.train()
        for b in _batches(len(ytr), 64, rng):
            opt.zero_grad()
            loss_fn(head(ftr[b]), ytr[b]).backward()
            opt.step()
        head.eval()
        with torch.no_grad():
            vl = float(val_loss_fn(head(fval), yval)) if len(yval) else 0.0
        if progress:
            progress(f"head (val loss {vl:.3f})", epoch + 1, cfg.epochs)
        if vl < best - 1e-4:
            best, best_state, stale = vl, copy.deepcopy(head.state_dict()), 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    head.load_state_dict(best_state)


def _fit_end_to_end(net, xtr, ytr, xval, yval, weights, cfg, epochs, params, lr, progress, device, should_stop) -> None:
    """Fine-tuning (or from-scratch training) with augmentation on the fly; best val kept."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss(weight=weights.to(device))
    rng = np.random.default_rng(cfg.seed + 1)
    best, best_state, stale = float("inf"), copy.deepcopy(net.state_dict()), 0
    yt = torch.as_tensor(ytr)
    for epoch in range(epochs):
        net.train()
        if cfg.arch != "small_cnn":
            net.backbone.eval()  # frozen BN statistics: small batches would wreck them
        for b in _batches(len(ytr), cfg.batch_size, rng):
            if should_stop and should_stop():
                raise StationError("training cancelled")
            xb = torch.from_numpy(np.stack([augment(xtr[i], rng) for i in b])).to(device)
            opt.zero_grad()
            loss_fn(net(xb), yt[b].to(device)).backward()
            opt.step()
        net.eval()
        with torch.inference_mode():
            logits = torch.cat([net(torch.from_numpy(xval[b]).to(device)).float().cpu() for b in _batches(len(xval), 64)])
        vl = float(nn.functional.cross_entropy(logits, torch.as_tensor(yval), weight=weights)) if len(yval) else 0.0
        if progress:
            progress(f"train (val loss {vl:.3f})", epoch + 1, epochs)
        if vl < best - 1e-4:
            best, best_state, stale = vl, copy.deepcopy(net.state_dict()), 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    net.load_state_dict(best_state)


def train(
    data: str | Path,
    out: str | Path,
    cfg: TrainConfig | None = None,
    base: str | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train a model from an ImageFolder tree and write it to `out`. Returns the JSON summary."""
    from station.pipeline import tune_cpu

    cfg = cfg or TrainConfig()
    t0 = time.perf_counter()
    tune_cpu()
    torch.manual_seed(cfg.seed)
    data = Path(data)
    train_items, val_items = tdata.split_tree(data, cfg.val_fraction, cfg.seed)
    if not val_items:
        raise StationError("need at least two images of some class to hold one out for validation")
    base_classes = None
    if base:
        base_classes = (load_model_dir(base) if Path(base).is_dir() else _load_named(base)).classes
    classes = tdata.class_list([l for _, l in train_items + val_items], base_classes)
    net, card = _build(cfg, classes, base)
    device = _device()
    net.to(device).eval()
    helper = StationModel(net, {**card, "classes": classes, "threshold": 0.5}, device=str(device))
    index = {c: i for i, c in enumerate(classes)}
    prep = lambda items: np.stack([helper._prep(im) for im in tdata.load_images(items)])  # noqa: E731
    xtr, xval = prep(train_items), prep(val_items)
    ytr = np.array([index[l] for _, l in train_items])
    yval = np.array([index[l] for _, l in val_items])
    weights = _class_weights(ytr, len(classes))
    bs = cfg.batch_size

    if cfg.arch == "small_cnn" and not base:
        _fit_end_to_end(net, xtr, ytr, xval, yval, weights, cfg, cfg.epochs, net.parameters(), 3e-3, progress, device, should_stop)
    else:
        use_tail = cfg.finetune_epochs > 0 and tail.supported(net)
        rng = np.random.default_rng(cfg.seed)
        feats, labels, trunks = [], [], []
        for v in range(max(1, cfg.views)):
            if should_stop and should_stop():
                raise StationError("training cancelled")
            xv = xtr if v == 0 else np.stack([augment(x, rng) for x in xtr])
            f, t = _features(net, xv, device, bs, keep_trunk=use_tail)
            feats.append(f)
            trunks.append(t)
            labels.append(torch.as_tensor(ytr))
            if progress:
                progress("features", v + 1, max(1, cfg.views))
        fval, tval = _features(net, xval, device, bs, keep_trunk=use_tail)
        _fit_head(net, torch.cat(feats), torch.cat(labels), fval, torch.as_tensor(yval), weights, cfg, progress)
        net.to(device)
        if use_tail:
            tail.finetune(net, torch.cat(trunks).to(device), torch.cat(labels).to(device), tval.to(device), torch.as_tensor(yval).to(device),
                          weights.to(device), cfg.finetune_epochs, cfg.seed, cfg.patience, progress, should_stop)
        elif cfg.finetune_epochs > 0:
            for p in net.backbone.parameters():
                p.requires_grad_(False)
            tail_mods = _tail_modules(net, cfg.finetune_blocks)
            params = [p for m in tail_mods for p in m.parameters()] + list(net.head.parameters())
            for p in params:
                p.requires_grad_(True)
            _fit_end_to_end(net, xtr, ytr, xval, yval, weights, cfg, cfg.finetune_epochs, params, 5e-4, progress, device, should_stop)
            for p in net.parameters():
                p.requires_grad_(True)

    net.eval()
    with torch.inference_mode():
        logits = torch.cat([net(torch.from_numpy(xval[b]).to(device)).float().cpu() for b in _batches(len(xval), 64)])
    probs = torch.softmax(logits, 1).numpy()
    p_def = 1.0 - probs[:, index["good"]]
    threshold = metrics.best_threshold([int(l != "good") for _, l in val_items], p_def)
    helper.threshold = threshold
    preds = [helper.decide(p).label for p in probs]
    val_metrics = metrics.report([l for _, l in val_items], preds, p_def.tolist(), classes)
    val_metrics.pop("confusion", None)
    seconds = time.perf_counter() - t0
    card.update(
        {
            "format": 1,
            "name": cfg.name or Path(out).name,
            "classes": classes,
            "threshold": threshold,
            "training_data": {
                "path": str(data),
                "n_train": len(train_items),
                "n_val": len(val_items),
                "classes": {c: int((ytr == i).sum() + (yval == i).sum()) for i, c in enumerate(classes)},
                "sha256": tdata.fingerprint(train_items + val_items),
            },
            "training": {
                "epochs": cfg.epochs,
                "views": cfg.views,
                "finetune_epochs": cfg.finetune_epochs,
                "seed": cfg.seed,
                "seconds": round(seconds, 1),
                "device": str(device),
            },
            "metrics": {k: v for k, v in val_metrics.items() if k != "per_class"},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "station_version": __version__,
        }
    )
    save_model_dir(net.cpu(), card, out)
    return {"model": str(out), "classes": classes, "metrics": card["metrics"], "threshold": threshold, "seconds": round(seconds, 1)}


def _tail_modules(net: StationNet, blocks: int) -> list[nn.Module]:
    bb = net.backbone
    if hasattr(bb, "blocks"):  # timm EfficientNet: last blocks + the 1x1 conv head
        return list(bb.blocks)[-max(1, blocks):] + [bb.conv_head, bb.bn2]
    children = list(bb.children())
    return children[-max(1, blocks):]
