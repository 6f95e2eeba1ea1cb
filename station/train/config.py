"""What `station train` and the window's Retrain train with. The defaults are the shipped default
model's recipe (scripts/train_default_model.sh passes nothing else that matters), and the CLI's
options default to these: one home for the recipe. No torch here, so the CLI can read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    arch: str = "efficientnet_lite0"
    epochs: int = 40  # adapter+head epochs on cached maps; small_cnn: end-to-end epochs
    views: int = 2  # augmented views of each training image whose trunk maps are cached
    finetune_epochs: int = 0  # then end-to-end epochs with the trunk's last stage unfrozen
    batch_size: int = 32
    lr: float = 2e-3
    patience: int = 10
    val_fraction: float = 0.2
    seed: int = 0
    weights: str | None = None
    name: str | None = None
    input_size: int | None = None  # None: the arch's default (256 px for efficientnet_lite0)
    # With --base: pull the adapter and head back toward the parent's weights (L2-SP). A few
    # dozen reviews must correct the parent, not make it forget the defect types they lack.
    anchor: float = 1.0
