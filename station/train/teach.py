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
from station.core.errors import StationError
from station.core.labels import GOOD
from station.core.progress import ProgressFn
from station.model import colour, patchcore, template, texture
from station.model.anomaly import ANOMALY, AnomalyModel, AnomalyNet, build_net
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
    template: bool = False
    template_note: str = ""
    texture: bool = False  # a texture memory was kept (no template: every part a new piece of material)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def good_images(folder: Path) -> list[Path]:
    """Every image under FOLDER (or under FOLDER/good when it is a class tree)."""
    from station.core.imageio import IMAGE_SUFFIXES

    if not folder.is_dir():
        raise StationError(f"folder not found: {folder}")
    root = folder / GOOD if (folder / GOOD).is_dir() else folder
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if len(files) < FOLDS:
        raise StationError(f"{root}: {len(files)} good images; teaching needs at least {FOLDS} (50 or more is better)")
    return files


def _embed(net: AnomalyNet, prep, paths: list[Path], progress: ProgressFn | None, stage: str, batch: int = 16,
           grays: list[np.ndarray] | None = None, norm: tuple[np.ndarray, np.ndarray] | None = None,
           chroma: list[np.ndarray] | None = None) -> torch.Tensor:
    """Patch embeddings of these images; with `norm`, their grey images as the model sees them
    (for the template) and their chroma per cell (for the colour memory) are collected too."""
    out = []
    for start in range(0, len(paths), batch):
        chunk = paths[start : start + batch]
        x = torch.from_numpy(np.stack([prep(im) for im in tdata.load_images([(p, GOOD) for p in chunk])]))
        if grays is not None and norm is not None:
            grays.extend(template.gray_images(x.numpy(), *norm))
        with torch.inference_mode():
            out.append(net.features(x)[0])
        if chroma is not None and norm is not None:
            chroma.append(colour.chroma_cells(x.numpy(), *norm, (int(out[-1].shape[2]), int(out[-1].shape[3]))))
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


TEMPLATE_MODES = ("auto", "on", "off")


def _template(net: AnomalyNet, grays: list[np.ndarray], cells: tuple[int, int], seed: int, mode: str,
              progress: ProgressFn | None = None) -> dict:
    """The card's `anomaly.template` section; sets the net's template when it is used.

    Its cut follows the patch memory's rule on the same folds (so each held-out part's two scores
    pair up): each fold is scored against a template of the others, cut = mean + SIGMAS sd."""
    if mode == "off":
        return {"used": False, "reason": "turned off (--template off)"}
    if progress:
        progress("template", 0, FOLDS + 1)
    stats, placed = template.build(grays)
    why = None
    if stats is None:
        why = (f"{placed} of {len(grays)} good parts register to one another (a template needs "
               f"{template.MIN_REGISTERED:.0%}): the parts do not repeat one product in one place")
    else:
        folds = np.array_split(np.random.default_rng(seed).permutation(len(grays)), FOLDS)
        scores = np.zeros(len(grays))
        for k, held in enumerate(folds):
            part, _ = template.build([grays[i] for i in np.setdiff1d(np.arange(len(grays)), held)])
            scores[held] = template.Judge(part).scores([grays[i] for i in held], cells) if part else np.inf
            if progress:
                progress("template", k + 1, FOLDS + 1)
        if not np.isfinite(scores).all():
            why = f"{int((~np.isfinite(scores)).sum())} held-out good parts did not register to the others: too unsteady for a template"
    if why is not None:
        if mode == "on":
            raise StationError(f"--template on: {why}")
        return {"used": False, "reason": why}
    assert stats is not None
    net.set_template(stats)
    h, w = stats.mean.shape
    return {"used": True, "canvas": [int(h), int(w)], "raw_threshold": float(scores.mean() + SIGMAS * scores.std()),
            "scale": float(max(scores.std(), 1e-3)), "good_scores": [round(float(v), 4) for v in scores],
            "registered": placed, "of": len(grays), "rule": f"held-out good mean + {SIGMAS:g} sd ({FOLDS} folds)"}


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
          progress: ProgressFn | None = None, size: int = INPUT_SIZE, template_mode: str = "auto",
          texture_mode: str = "auto") -> TeachResult:
    """Build an anomaly model from good images only and write it to `out`."""
    from station.core.cpu import tune_cpu
    from station.model.directory import check_target, save_model_dir

    t0 = time.perf_counter()
    if template_mode not in TEMPLATE_MODES:
        raise StationError(f"--template must be one of {', '.join(TEMPLATE_MODES)}")
    if texture_mode not in ("auto", "off"):
        raise StationError("--texture must be auto or off")
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
    grays: list[np.ndarray] = []
    chroma: list[np.ndarray] = []
    emb = _embed(helper.network, helper.prepare, paths, progress, "good parts", grays=grays, norm=(helper.mean, helper.std),
                 chroma=chroma)
    cells = (int(emb.shape[2]), int(emb.shape[3]))
    tmpl = _template(helper.network, grays, cells, seed, template_mode, progress)
    # The same folds as the patch memory's held-out scores (_held_out_scores), so the cuts pair up.
    folds = np.array_split(np.random.default_rng(seed).permutation(len(paths)), FOLDS)
    if progress:
        progress("texture", 0, 1)
    tex = (texture.teach(grays, folds, SIGMAS, cells, bool(tmpl["used"])) if texture_mode == "auto"
           else {"used": False, "reason": "turned off (--texture off)"})
    if progress:
        progress("texture", 1, 1)
    del grays
    col, colour_bank = colour.teach(np.concatenate(chroma), folds, SIGMAS)
    helper.network.set_colour(colour_bank)
    scores, floor = _held_out_scores(emb, bank, seed)
    mem = _bank(emb, bank, seed, progress)
    raw_t = float(scores.mean() + SIGMAS * scores.std())
    card["anomaly"].update({"raw_threshold": raw_t, "scale": float(max(scores.std(), 1e-3)), "floor": min(floor, raw_t * 0.99),
                            "good_scores": [round(float(s), 4) for s in scores], "bank": int(mem.shape[0]), "bank_cap": bank,
                            "rule": f"held-out good mean + {SIGMAS:g} sd ({FOLDS} folds)", "template": tmpl, "colour": col, "texture": tex})
    seconds = time.perf_counter() - t0
    card.update({"training_data": {"path": str(good_dir), "n_good": len(paths), "sha256": tdata.fingerprint([(p, GOOD) for p in paths])},
                 "training": {"seconds": round(seconds, 1), "seed": seed}, "metrics": {},
                 "created": datetime.now(UTC).isoformat(timespec="seconds"), "station_version": __version__,
                 "parent": None})
    helper.network.set_bank(mem)
    save_model_dir(helper.network, card, out)
    tdata.write_trained_on(Path(out), paths=list(paths))
    return TeachResult(str(out), ANOMALY, len(paths), int(mem.shape[0]), 0.5, raw_t, round(seconds, 1), bool(tmpl["used"]),
                       str(tmpl.get("reason", "")), bool(tex["used"]))
