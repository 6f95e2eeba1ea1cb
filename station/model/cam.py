"""Grad-CAM in closed form, from the feature map alone: no autograd, no torch.

The CAM layer is the backbone's output A (N, C, h, w); after it the head is
    logit_c = sum_k W[c, k] * mean(A_k) + sum_k W[c, C + k] * max(A_k) + b_c
(average and max pooling, then one linear layer; dropout is the identity at inference). So
    d logit_c / d A_k(i, j) = W[c, k] / hw + W[c, C + k] * [A_k(i, j) is the channel's maximum]
and Grad-CAM's channel weight, the mean of that over the map, is (W[c, k] + W[c, C + k]) / hw
(a tied maximum shares the max term evenly, as torch's amax gradient does). This equals
autograd Grad-CAM on the same layer (tests/unit/test_model.py and tests/integration/test_model.py check it against both)
and needs only the map and the head's weights: the ONNX runtime path can use it as it is.
"""

from __future__ import annotations

import numpy as np


def gradcam(features: np.ndarray, weight: np.ndarray, target: np.ndarray) -> np.ndarray:
    """CAMs (N, h, w) in [0, 1] for each row's `target` class. `weight` is the head's linear
    weight (K, 2C): columns :C act on the average-pooled map, C: on the max-pooled one."""
    a = np.asarray(features, dtype=np.float32)
    n, c, h, w = a.shape
    hw = float(h * w)
    rows = np.asarray(weight, dtype=np.float32)[np.asarray(target, dtype=np.int64)]
    w_avg, w_max = rows[:, :c], rows[:, c:]
    alpha = (w_avg + w_max) / hw  # the mean gradient per channel
    cams = np.maximum(np.einsum("nc,nchw->nhw", alpha, a), 0.0)
    # Grad-CAM averages each channel's gradient over the map. The max-pool branch can make a
    # small spot's evidence cancel out: an all-zero map on a failed part. There, and only there,
    # use the element-wise gradient x activation (HiResCAM), which keeps the cell the max picked.
    empty = cams.reshape(n, -1).max(axis=1) <= 0
    if empty.any():
        sub = a[empty]
        flat = sub.reshape(len(sub), c, -1)
        is_max = flat == flat.max(axis=2, keepdims=True)
        share = (is_max / is_max.sum(axis=2, keepdims=True)).reshape(sub.shape)
        grads = w_avg[empty][:, :, None, None] / hw + w_max[empty][:, :, None, None] * share
        cams[empty] = np.maximum((grads * sub).sum(axis=1), 0.0)
    return normalize(cams)


def normalize(cams: np.ndarray) -> np.ndarray:
    """Per map: subtract the minimum, divide by the maximum (as pytorch-grad-cam does)."""
    flat = cams.reshape(len(cams), -1)
    out = cams - flat.min(axis=1)[:, None, None]
    hi = out.reshape(len(out), -1).max(axis=1)[:, None, None]
    return np.where(hi > 1e-12, out / np.maximum(hi, 1e-12), 0.0).astype(np.float32)
