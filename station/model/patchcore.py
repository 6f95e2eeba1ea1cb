"""PatchCore-style good-parts anomaly detection on the station's own frozen trunk.

- Patch features: the trunk's stride-8 stage (40 channels) and its first stride-16 stage (80),
  each averaged over a 3x3 neighbourhood (a patch sees its surroundings), the coarse map
  upsampled to stride 8 and concatenated: 120 numbers per 8x8 pixel patch. Measured on the
  real-photo lines, these two taps beat adding the trunk's output or its stride-4 stage (docs/learning.md).
- Memory bank: patches of good parts, thinned by greedy k-center coreset selection so the bank
  covers the good patches with a bounded size (the cost of a verdict grows with it).
- Anomaly map: each patch's distance to its nearest bank patch, lightly smoothed (station.model.knn,
  numpy, shared by every backend); the image score is the map's maximum.

Pure torch, no training: fitting is one forward pass per good image plus the coreset.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from station.core.progress import ProgressFn

FEATURE_TAPS = (4, 5)  # trunk children: blocks[2] (stride 8, 40 ch) and blocks[3] (stride 16, 80 ch)


def trunk_features(trunk: nn.Sequential, x: torch.Tensor, full: bool = True) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Run the trunk once; the tapped maps for patch features, and the trunk's output. With
    full=False the stages after the last tap are skipped (an anomaly model has no use for them)."""
    taps = []
    last = len(trunk) - 1 if full else max(FEATURE_TAPS)
    for i, layer in enumerate(trunk):
        x = layer(x)
        if i in FEATURE_TAPS:
            taps.append(x)
        if i >= last:
            break
    return taps, x


def patch_embedding(taps: list[torch.Tensor]) -> torch.Tensor:
    """(N, D, h, w) patch features at the finest tap's resolution."""
    fine = taps[0]
    size = fine.shape[-2:]
    parts = []
    for t in taps:
        t = F.avg_pool2d(t.float(), 3, stride=1, padding=1)
        if t.shape[-2:] != size:
            t = F.interpolate(t, size=size, mode="bilinear", align_corners=False)
        parts.append(t)
    return torch.cat(parts, dim=1)


def flatten(emb: torch.Tensor) -> torch.Tensor:
    """(N, D, h, w) -> (N*h*w, D)."""
    return emb.permute(0, 2, 3, 1).reshape(-1, emb.shape[1])


MAX_CANDIDATES = 65536  # patches the coreset chooses among (64 images' worth at 256 px)


def greedy_coreset(patches: torch.Tensor, size: int, seed: int = 0, proj_dim: int = 64,
                   progress: ProgressFn | None = None) -> torch.Tensor:
    """Indices of `size` patches chosen by greedy k-center: each pick is the patch farthest from
    every pick so far. Distances are taken in a random projection (as PatchCore does): the
    choice barely changes, and each of the `size` passes over all patches gets cheaper.

    Each pass costs one sweep over the candidates, so past MAX_CANDIDATES patches the candidates
    are a random sample of them: teaching from 200 good parts stays under a minute on two
    cores, and a sample that large still holds every kind of patch many times over."""
    n = patches.shape[0]
    if size >= n:
        return torch.arange(n)
    g = torch.Generator().manual_seed(seed)
    if n > MAX_CANDIDATES:
        pool = torch.randperm(n, generator=g)[:MAX_CANDIDATES]
        return pool[greedy_coreset(patches[pool], size, seed, proj_dim, progress)]
    if patches.shape[1] > proj_dim:
        proj = torch.randn(patches.shape[1], proj_dim, generator=g) / proj_dim**0.5
        z = patches @ proj
    else:
        z = patches
    z = z.contiguous()
    first = int(torch.randint(n, (1,), generator=g))
    chosen = torch.empty(size, dtype=torch.long)
    chosen[0] = first
    mind = ((z - z[first]) ** 2).sum(1)
    for k in range(1, size):
        nxt = int(torch.argmax(mind))
        chosen[k] = nxt
        mind = torch.minimum(mind, ((z - z[nxt]) ** 2).sum(1))
        if progress and k % 256 == 0:
            progress("coreset", k, size)
    return chosen


def anomaly_maps(emb: torch.Tensor, bank: torch.Tensor, bank_sq: torch.Tensor | None = None) -> torch.Tensor:
    """(N, D, h, w) patch features -> (N, h, w) nearest-neighbour distance maps, smoothed: the
    numpy search every backend uses (station.model.knn), so teaching and inspection agree."""
    from station.model import knn

    sq = None if bank_sq is None else bank_sq.float().cpu().numpy()
    maps = knn.anomaly_maps(emb.float().cpu().numpy(), bank.float().cpu().numpy(), sq)
    return torch.from_numpy(maps).to(emb.device)
