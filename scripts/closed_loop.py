"""The retraining loop at README scale, through the public CLI, timed:
parts the default model never saw (granite texture) -> `station run` -> the first K items of the
review queue labelled from the truth with `station label` -> `station export` -> `station train
--base default` -> `station evaluate` of both models on parts held out before anything ran.

    .venv/bin/python scripts/closed_loop.py [--count 400] [--k 100] [--held-out 150] [--seed 31]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def station(*args: str) -> dict | list | None:
    proc = subprocess.run([sys.executable, "-m", "station", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"station {' '.join(args)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout) if "--json" in args else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--held-out", type=int, default=150)
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--families", default="granite")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = str(tmp / "data")
        station("demo-data", str(tmp / "gen"), "--count", str(args.count), "--seed", str(args.seed), "--families", args.families)
        files = sorted((tmp / "gen").rglob("*.png"))
        random.Random(0).shuffle(files)
        for i, f in enumerate(files):
            dest = tmp / ("held_out" if i < args.held_out else "line") / f.parent.name
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, dest)
        t0 = time.perf_counter()
        run = station("run", str(tmp / "line"), "--data", data, "--json")
        t_run = time.perf_counter() - t0
        queue = station("queue", "--limit", str(args.k), "--data", data, "--json")
        from station.cli import main as cli

        wrong = 0
        t0 = time.perf_counter()
        for item in queue:
            truth = Path(item["origin"]).parent.name
            wrong += truth != item["predicted"]
            with contextlib.redirect_stdout(io.StringIO()):
                cli(["label", str(item["id"]), truth, "--by", "closed-loop", "--data", data])
        t_label = time.perf_counter() - t0
        t0 = time.perf_counter()
        exported = station("export", str(tmp / "reviewed"), "--data", data, "--json")
        t_export = time.perf_counter() - t0
        t0 = time.perf_counter()
        station("train", str(tmp / "reviewed"), "--base", "default", "--out", str(tmp / "new"), "--data", data, "--json")
        t_train = time.perf_counter() - t0
        before = station("evaluate", str(tmp / "held_out"), "--data", data, "--json")
        after = station("evaluate", str(tmp / "held_out"), "--model", str(tmp / "new"), "--data", data, "--json")
    out = {
        "parts_inspected": run["processed"], "reviewed": len(queue), "reviewed_wrong_predictions": wrong,
        "exported": {"train": exported["train"], "val": exported["val"], "classes": exported["classes"]},
        "held_out": before["n"],
        "before": {k: round(before[k], 3) for k in ("accuracy", "precision", "recall", "f1", "auroc")},
        "after": {k: round(after[k], 3) for k in ("accuracy", "precision", "recall", "f1", "auroc")},
        "seconds": {"run": round(t_run, 1), "label": round(t_label, 1), "export": round(t_export, 1), "train": round(t_train, 1)},
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
