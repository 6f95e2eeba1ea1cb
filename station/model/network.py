"""The plain nn.Module the station deploys: backbone feature map -> [GAP, GMP] -> dropout -> linear.

Max pooling beside average pooling keeps a defect that fills one cell of the 7x7 map from being
diluted 49-fold; measured on the synthetic set it is what separates small spots from texture.

Kept apart from training code (anomalib's torch_model habit): this is all a deployment needs.
"""

from __future__ import annotations

import torch
from torch import nn

from station.model.backbone import build_backbone

CAM_LAYER = "backbone"


def pool(features: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) -> (N, 2C): average and max over space."""
    return torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)


class Head(nn.Module):
    def __init__(self, in_features: int, n_classes: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * in_features, n_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Feature map (N, C, h, w), or already pooled features (N, 2C) -> logits."""
        if features.ndim == 4:
            features = pool(features)
        return self.fc(self.dropout(features))


class StationNet(nn.Module):
    """Normalized NCHW batch -> logits. `backbone`'s output is the map Grad-CAM reads."""

    def __init__(self, arch: str, n_classes: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.arch = arch
        self.backbone, self.n_features = build_backbone(arch)
        self.head = Head(self.n_features, n_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))
