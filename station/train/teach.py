"""`station teach`: a new product line from good parts alone, and the hybrid learned from reviews.

Teach: every good image goes through the frozen trunk once; its patches form the memory bank
(greedy coreset, at most `bank` patches). The threshold comes from good parts alone: the
images are split into FOLDS, each fold is scored against a bank built from the others, and the
raw threshold is the held-out scores' mean plus SIGMAS standard deviations. A held-out good
image scores a little higher than a new good part will against the full bank, so the rule errs
towards fewer false alarms.

Learn (the review loop, `station train --base <anomaly or hybrid model>`):
- reviewed good parts join the memory bank (coreset again), so a false alarm stops recurring;
- reviewed defects train a classifier head from the shipped model (`station.train.fit`), which
  makes the model a hybrid that names the defect types it has seen;
- the anomaly threshold is recalibrated on the reviewed validation split plus the held-out good
  scores kept from teaching, for the combined verdict (one-standard-error rule).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from station import __version__
from station.errors import StationError
from station.labels import GOOD
from station.model import patchcore
from station.model.anomaly import ANOMALY, AnomalyModel, AnomalyNet, build_net
from station.progress import ProgressFn
from station.train import data as tdata

FOLDS = 5
SIGMAS = 3.0
DEFAULT_BANK = 2048
INPUT_SIZE = 256


@dataclass
class TeachResult:
    model: str
    kind: str
    images: int
    memory_bank: int
    threshold: float
    raw_threshold: float
    seconds: float

    def to_json(self) -> dict:
        return dict(self.__dict__)


def good_images(folder: Path) -> list[Path]:
    """Every image under FOLDER (or under FOLDER/good when it is a class tree)."""
    from station.imageio import IMAGE_SUFFIXES

    if not folder.is_dir():
        raise StationError(f"folder not found: {folder}")
    root = folder / GOOD if (folder / GOOD).is_dir() else folder
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if len(files) < FOLDS:
        raise StationError(f"{root}: {len(files)} good images; teaching needs at least {FOLDS} (50 or more is better)")
    return files


def _embed(net: AnomalyNet, prep, paths: list[Path], progress: ProgressFn | None, stage: str, batch: int = 16) -> torch.Tensor:
    out = []
    for start in range(0, len(paths), batch):
        chunk = paths[start : start + batch]
        x = torch.from_numpy(np.stack([prep(im) for im in tdata.load_images([(p, GOOD) for p in chunk])]))
        with torch.inference_mode():
            out.append(net.features(x)[0])
        if progress:
            progress(stage, min(start + batch, len(paths)), len(paths))
    return torch.cat(out)


def _bank(emb: torch.Tensor, size: int, seed: int, progress: ProgressFn | None = None) -> torch.Tensor:
    patches = patchcore.flatten(emb)
    return patches[patchcore.greedy_coreset(patches, size, seed, progress=progress)]


def _held_out_scores(emb: torch.Tensor, size: int, seed: int) -> tuple[np.ndarray, float]:
    """Each fold scored against a bank from the other folds: image scores, and the median patch
    distance (the map's floor for the heatmap)."""
    n = emb.shape[0]
    folds = np.array_split(np.random.default_rng(seed).permutation(n), FOLDS)
    scores = np.zeros(n)
    medians = []
    for k, held in enumerate(folds):
        rest = np.setdiff1d(np.arange(n), held)
        bank = _bank(emb[rest], max(64, size * len(rest) // n), seed + k)
        maps = patchcore.anomaly_maps(emb[held], bank)
        scores[held] = maps.flatten(1).amax(1).numpy()
        medians.append(float(maps.median()))
    return scores, float(np.median(medians))


def _helper(card: dict, bank: torch.Tensor, n_cls: int = 0) -> AnomalyModel:
    from station.model.backbone import load_pretrained

    net = build_net(card, bank, n_cls)
    load_pretrained(card["arch"], net.trunk)
    return AnomalyModel(net.eval(), card)


def base_card(name: str, size: int = INPUT_SIZE) -> dict:
    from station.model.backbone import IMAGENET_MEAN, IMAGENET_STD

    return {"format": 1, "kind": ANOMALY, "name": name, "arch": "efficientnet_lite0", "input_size": size,
            "normalization": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}, "classes": [GOOD, ANOMALY],
            "threshold": 0.5, "cam_layer": "trunk",
            "anomaly": {"raw_threshold": 1.0, "scale": 1.0, "floor": 0.0, "taps": list(patchcore.FEATURE_TAPS)}}


def teach(good_dir: str | Path, out: str | Path, bank: int = DEFAULT_BANK, seed: int = 0, name: str | None = None,
          progress: ProgressFn | None = None, size: int = INPUT_SIZE) -> TeachResult:
    """Build an anomaly model from good images only and write it to `out`."""
    from station.cpu import tune_cpu
    from station.model.directory import check_target, save_model_dir

    t0 = time.perf_counter()
    if bank < 64:
        raise StationError("--bank must be at least 64 patches")
    if not 64 <= size <= 1024 or size % 32:
        raise StationError("--size must be a multiple of 32 between 64 and 1024 pixels")
    out = check_target(out)
    tune_cpu()
    torch.manual_seed(seed)
    paths = good_images(Path(good_dir))
    card = base_card(name or out.name, size)
    helper = _helper(card, torch.zeros(1, 1))
    emb = _embed(helper.network, helper.prepare, paths, progress, "good parts")
    scores, floor = _held_out_scores(emb, bank, seed)
    mem = _bank(emb, bank, seed, progress)
    raw_t = float(scores.mean() + SIGMAS * scores.std())
    card["anomaly"].update({"raw_threshold": raw_t, "scale": float(max(scores.std(), 1e-3)), "floor": min(floor, raw_t * 0.99),
                            "good_scores": [round(float(s), 4) for s in scores], "bank": int(mem.shape[0]), "bank_cap": bank,
                            "rule": f"held-out good mean + {SIGMAS:g} sd ({FOLDS} folds)"})
    seconds = time.perf_counter() - t0
    card.update({"training_data": {"path": str(good_dir), "n_good": len(paths), "sha256": tdata.fingerprint([(p, GOOD) for p in paths])},
                 "training": {"seconds": round(seconds, 1), "seed": seed}, "metrics": {},
                 "created": datetime.now(UTC).isoformat(timespec="seconds"), "station_version": __version__,
                 "parent": None})
    helper.network.set_bank(mem)
    save_model_dir(helper.network, card, out)
    return TeachResult(str(out), ANOMALY, len(paths), int(mem.shape[0]), 0.5, raw_t, round(seconds, 1))
