"""Grad-CAM that backpropagates through the head only.

Grad-CAM needs d(logit_c)/dA for the feature map A. Everything between A and the logit is the
head, so A is taken as a detached leaf and only the head is differentiated. The result equals
full-autograd Grad-CAM on the same layer (the backbone's parameters do not enter dlogit/dA),
and costs one tiny backward instead of a backward through the whole backbone.
"""

from __future__ import annotations

import torch
from torch import nn


def head_gradcam(
    head: nn.Module, features: torch.Tensor, target: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (N, K) and CAMs (N, h, w) in [0, 1] for `target` (default: each row's argmax)."""
    with torch.enable_grad():
        leaf = features.detach().clone().requires_grad_(True)
        logits = head(leaf)
        if target is None:
            target = logits.argmax(dim=1)
        # Rows are independent, so one backward of the summed selected logits gives every row's gradient.
        selected = logits.gather(1, target.view(-1, 1)).sum()
        (grads,) = torch.autograd.grad(selected, leaf)
    acts = leaf.detach()
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cams = torch.relu((weights * acts).sum(dim=1))
    # Grad-CAM averages each channel's gradient over the map. This head also max-pools, and a
    # small spot found through that branch can leave every cell negative: an all-zero map on a
    # failed part. There, and only there, use the element-wise gradient x activation map
    # (HiResCAM), which keeps the cell the max-pool picked.
    empty = cams.flatten(1).amax(dim=1) <= 0
    if bool(empty.any()):
        cams[empty] = torch.relu((grads[empty] * acts[empty]).sum(dim=1))
    return logits.detach(), normalize(cams)


def normalize(cams: torch.Tensor) -> torch.Tensor:
    """Per map: subtract the minimum, divide by the maximum (as pytorch-grad-cam does)."""
    flat = cams.flatten(1)
    lo = flat.min(dim=1).values.view(-1, 1, 1)
    out = cams - lo
    hi = out.flatten(1).max(dim=1).values.view(-1, 1, 1)
    return torch.where(hi > 1e-12, out / hi.clamp_min(1e-12), torch.zeros_like(out))
