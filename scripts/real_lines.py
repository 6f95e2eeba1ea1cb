"""The README's real-photo table: per product line, four ways the station can learn it, scored on
the same unseen test split, through the CLI as a user would run it.

    python scripts/real_lines.py [--lines brick,gravel] [--seed 1] [--out /tmp/real-lines]

Per line (`station line-data`: 50 good parts, a stream of 300 parts, 240 test parts):
1. default: the shipped model, as installed;
2. retrain: the stream inspected by the default, the first 100 of the queue reviewed (truth from
   the file's folder), exported, `station train --base default`;
3. anomaly: `station teach` on the 50 good parts, nothing else (and with `--template off`: the
   patch memory alone);
4. hybrid: the stream inspected by (3), 100 queue reviews, `station train --base <that model>`;
and a plain patch-kNN baseline on the same 50 good parts: every stride-16 patch of the trunk's
output kept, no neighbourhood averaging, no coreset, with the same threshold rule as teach.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REVIEWS = 100


def station(*args: str, data: Path) -> dict | list | None:
    cmd = [sys.executable, "-m", "station", *args, "--data", str(data)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"station {' '.join(args)}: {proc.stderr.strip()}")
    return json.loads(proc.stdout) if "--json" in args else None


def review(data: Path, n: int) -> None:
    for item in station("queue", "--limit", str(n), "--json", data=data):
        truth = item["origin"].replace("\\", "/").split("/")[-2]
        station("label", str(item["id"]), truth, "--by", "script", data=data)


def score(test: Path, model: str, data: Path) -> dict:
    e = station("evaluate", str(test), "--model", model, "--json", data=data)
    return {k: round(e[k], 3) if e[k] is not None else None for k in ("f1", "auroc", "precision", "recall")}


def plain_knn(line: Path) -> dict:
    """The baseline: raw stride-16 trunk patches of the good parts, nearest-neighbour distance."""
    import torch

    from station.core.config import default_model_dir
    from station.model.directory import load_model_dir
    from station.model.patchcore import nearest_distance
    from station.train import data as tdata
    from station.train import metrics
    from station.train.teach import FOLDS, SIGMAS

    m = load_model_dir(default_model_dir())
    trunk = m.network.backbone.trunk

    def feats(items):
        x = torch.from_numpy(np.stack([m.prepare(im) for im in tdata.load_images(items)]))
        with torch.inference_mode():
            f = torch.cat([trunk(x[i : i + 16]).float() for i in range(0, len(x), 16)])
        return f.permute(0, 2, 3, 1).reshape(len(x), -1, f.shape[1])

    good = feats(tdata.scan(line / "good"))
    folds = np.array_split(np.random.default_rng(0).permutation(len(good)), FOLDS)
    held = np.zeros(len(good))
    for k in folds:
        rest = np.setdiff1d(np.arange(len(good)), k)
        bank = good[rest].reshape(-1, good.shape[-1])
        held[k] = [float(nearest_distance(good[i], bank).max()) for i in k]
    cut = held.mean() + SIGMAS * held.std()
    bank = good.reshape(-1, good.shape[-1])
    items = tdata.scan(line / "test")
    t = time.perf_counter()
    test = feats(items)
    s = np.array([float(nearest_distance(test[i], bank).max()) for i in range(len(test))])
    y = [int(l != "good") for _, l in items]
    out = metrics.binary(y, (s >= cut).astype(int).tolist())
    return {"f1": round(out["f1"], 3), "auroc": round(metrics.auroc(y, s.tolist()), 3), "precision": round(out["precision"], 3),
            "recall": round(out["recall"], 3), "ms_per_image": round((time.perf_counter() - t) * 1000 / len(items), 1)}


def run_line(name: str, root: Path, seed: int) -> dict:
    line = root / name
    if not (line / "test").is_dir():
        subprocess.run([sys.executable, "-m", "station", "line-data", str(line), "--line", name, "--seed", str(seed)], check=True)
    rows: dict[str, dict] = {}
    d0 = root / f"{name}-default-data"
    rows["default"] = score(line / "test", "default", d0)

    t = time.perf_counter()
    station("run", str(line / "line"), "--json", data=d0)
    review(d0, REVIEWS)
    station("export", str(root / f"{name}-reviews-default"), "--json", data=d0)
    station("train", str(root / f"{name}-reviews-default"), "--base", "default", "--out", str(root / f"{name}-retrain"), "--json", data=d0)
    rows["retrain"] = {**score(line / "test", str(root / f"{name}-retrain"), d0), "seconds": round(time.perf_counter() - t)}

    d1 = root / f"{name}-hybrid-data"
    taught = station("teach", str(line / "good"), "--out", str(root / f"{name}-anomaly"), "--json", data=d1)
    rows["anomaly"] = {**score(line / "test", str(root / f"{name}-anomaly"), d1), "seconds": taught["seconds"],
                       "template": taught["template"]}
    # The patch memory alone (what teach gave before the registered template), for comparison.
    bare = station("teach", str(line / "good"), "--out", str(root / f"{name}-anomaly-no-template"), "--template", "off", "--json", data=d1)
    rows["anomaly_no_template"] = {**score(line / "test", str(root / f"{name}-anomaly-no-template"), d1), "seconds": bare["seconds"]}

    t = time.perf_counter()
    station("run", str(line / "line"), "--model", str(root / f"{name}-anomaly"), "--json", data=d1)
    review(d1, REVIEWS)
    station("export", str(root / f"{name}-reviews-anomaly"), "--json", data=d1)
    learned = station("train", str(root / f"{name}-reviews-anomaly"), "--base", str(root / f"{name}-anomaly"),
                      "--out", str(root / f"{name}-hybrid"), "--json", data=d1)
    rows["hybrid"] = {**score(line / "test", str(root / f"{name}-hybrid"), d1), "seconds": round(time.perf_counter() - t),
                      "kind": learned["kind"]}
    rows["plain_knn"] = plain_knn(line)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", default="brick,gravel")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="/tmp/real-lines")
    args = ap.parse_args()
    root = Path(args.out)
    root.mkdir(parents=True, exist_ok=True)
    table = {name: run_line(name, root, args.seed) for name in args.lines.split(",")}
    (root / "table.json").write_text(json.dumps(table, indent=2))
    print("| line | way | F1 | AUROC | precision | recall | time |")
    print("|---|---|---|---|---|---|---|")
    for name, rows in table.items():
        for way, r in rows.items():
            took = f"{r['seconds']} s" if "seconds" in r else (f"{r['ms_per_image']} ms/image" if "ms_per_image" in r else "")
            print(f"| {name} | {way} | {r['f1']} | {r['auroc']} | {r['precision']} | {r['recall']} | {took} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
