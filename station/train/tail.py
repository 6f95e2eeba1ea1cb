"""Fine-tuning the last stages of EfficientNet on cached trunk features.

The frozen trunk (stem + first five stages, stride 16) runs once per augmented view; only the
last stages, the 1x1 conv head and the classifier train, on the cached 14x14 maps. On a 2-core
CPU this is what makes fine-tuning affordable: the trunk is most of the cost of a full pass.
"""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from torch import nn

from station.errors import StationError

TRUNK_STAGES = 5


def supported(net: nn.Module) -> bool:
    bb = net.backbone
    return all(hasattr(bb, a) for a in ("conv_stem", "bn1", "blocks", "conv_head", "bn2")) and len(bb.blocks) > TRUNK_STAGES


def trunk(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    bb = net.backbone
    h = bb.bn1(bb.conv_stem(x))
    for block in list(bb.blocks)[:TRUNK_STAGES]:
        h = block(h)
    return h


def tail_modules(net: nn.Module) -> list[nn.Module]:
    bb = net.backbone
    return list(bb.blocks)[TRUNK_STAGES:] + [bb.conv_head, bb.bn2]


def tail_logits(net: nn.Module, h: torch.Tensor) -> torch.Tensor:
    bb = net.backbone
    for block in list(bb.blocks)[TRUNK_STAGES:]:
        h = block(h)
    return net.head(bb.bn2(bb.conv_head(h)))


def _dihedral(h: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    h = torch.rot90(h, int(rng.integers(4)), dims=(2, 3))
    return torch.flip(h, dims=(3,)) if rng.random() < 0.5 else h


def finetune(
    net: nn.Module,
    cached: torch.Tensor,
    y: torch.Tensor,
    cached_val: torch.Tensor,
    yval: torch.Tensor,
    weights: torch.Tensor,
    epochs: int,
    seed: int,
    patience: int,
    progress: Callable[[str, int, int], None] | None,
    should_stop: Callable[[], bool] | None,
    lr: float = 3e-4,
    batch: int = 32,
) -> None:
    params = [p for m in tail_modules(net) for p in m.parameters()] + list(net.head.parameters())
    for p in net.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    rng = np.random.default_rng(seed + 7)
    best, best_state, stale = float("inf"), copy.deepcopy(net.state_dict()), 0
    for epoch in range(epochs):
        for m in tail_modules(net):
            m.train()
        net.head.train()
        for idx in np.array_split(rng.permutation(len(y)), max(1, len(y) // batch)):
            if should_stop and should_stop():
                raise StationError("training cancelled")
            xb = _dihedral(cached[idx], rng)
            opt.zero_grad()
            loss_fn(tail_logits(net, xb), y[idx]).backward()
            opt.step()
        sched.step()
        net.eval()
        with torch.no_grad():
            logits = torch.cat([tail_logits(net, cached_val[i : i + 64]) for i in range(0, len(yval), 64)])
            vl = float(nn.functional.cross_entropy(logits, yval, weight=weights))
        if progress:
            progress(f"fine-tune (val loss {vl:.3f})", epoch + 1, epochs)
        if vl < best - 1e-4:
            best, best_state, stale = vl, copy.deepcopy(net.state_dict()), 0
        else:
            stale += 1
            if stale >= patience:
                break
    net.load_state_dict(best_state)
    for p in net.parameters():
        p.requires_grad_(True)
    net.eval()
