"""The README's type-naming rows: how many defect types the station names right after 100 reviews,
when the inspector spends them one part at a time or on the review grid's groups.

    python scripts/type_naming.py [--lines brick,gravel] [--seed 1] [--split rows|quadrants] [--out /tmp/type-naming]

Per line (`station line-data`): teach on the 50 good parts, inspect the 300-part stream, then two
inspectors with 100 reviews each, truth from each file's folder:
- one at a time: the 60 least certain parts, then 40 from `--order types` (unnamed defects);
- groups: the 60 least certain parts, then 40 actions on `queue --order types --group`: a group
  is named with one key (its most common true type), and each part of another type in it is
  taken out of the selection first, one action each (it stays in the queue).
Each inspector's reviews are exported and `station train --base` retrains the taught model;
`station evaluate` gives F1 and the type accuracy on the 240 unseen test parts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

FIRST, THEN = 60, 40


def station(*args: str, data: Path) -> dict | list:
    proc = subprocess.run([sys.executable, "-m", "station", *args, "--data", str(data), "--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"station {' '.join(args)}: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def truth(item: dict) -> str:
    return item["origin"].replace("\\", "/").split("/")[-2]


def label(data: Path, ids_labels: list[tuple[int, str]]) -> None:
    from station.store import repo
    from station.store.db import open_store

    with open_store(str(data), None, None) as store, store.session() as s:
        for i, lab in ids_labels:
            repo.add_review(s, i, lab, "script")
        s.commit()


def one_at_a_time(data: Path) -> int:
    items = station("queue", "--order", "types", "--limit", str(THEN), data=data)
    label(data, [(it["id"], truth(it)) for it in items])
    return sum(truth(it) != "good" for it in items)


def by_groups(data: Path, model: Path) -> int:
    items = station("queue", "--order", "types", "--group", "--limit", "200", "--model", str(model), data=data)
    groups: dict[int, list[dict]] = {}
    for it in items:
        if it["group"] is not None:
            groups.setdefault(it["group"], []).append(it)
    spent, named = 0, []
    for g in sorted(groups):
        members = groups[g]
        kind, _ = Counter(truth(it) for it in members).most_common(1)[0]
        others = [it for it in members if truth(it) != kind]
        if spent + 1 + len(others) > THEN:
            break
        spent += 1 + len(others)
        named += [(it["id"], kind) for it in members if truth(it) == kind]
    label(data, named)
    return sum(lab != "good" for _, lab in named)


def run_line(name: str, root: Path, seed: int, split: str = "rows") -> dict:
    line = root / name
    if not (line / "test").is_dir():
        subprocess.run([sys.executable, "-m", "station", "line-data", str(line), "--line", name, "--seed", str(seed),
                        "--split", split],
                       check=True, capture_output=True)
    base, model = root / f"{name}-data", root / f"{name}-taught"
    taught = {}
    if not model.is_dir():
        taught = station("teach", str(line / "good"), "--out", str(model), data=base)
        station("run", str(line / "line"), "--model", str(model), data=base)
        first = station("queue", "--limit", str(FIRST), data=base)
        label(base, [(it["id"], truth(it)) for it in first])
    rows = {"taught": {**_score(line, model, base), "seconds": taught.get("seconds")}}
    for way in ("one_at_a_time", "groups"):
        data = root / f"{name}-{way}"
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(base, data)
        defects = one_at_a_time(data) if way == "one_at_a_time" else by_groups(data, model)
        station("export", str(root / f"{name}-{way}-export"), data=data)
        trained = station("train", str(root / f"{name}-{way}-export"), "--base", str(model), "--out", str(root / f"{name}-{way}-model"),
                          data=data)
        rows[way] = {**_score(line, root / f"{name}-{way}-model", data), "defects_named_after_first_60": defects,
                     "seconds": trained.get("seconds"), "comparison": (trained.get("comparison") or {}).get("verdict")}
    return rows


def _score(line: Path, model: Path, data: Path) -> dict:
    e = station("evaluate", str(line / "test"), "--model", str(model), data=data)
    return {k: None if e.get(k) is None else round(e[k], 3) for k in ("f1", "auroc", "type_accuracy")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", default="brick,gravel")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--split", default="rows", choices=("rows", "quadrants"), help="where web lines' test parts come from")
    ap.add_argument("--out", default="/tmp/type-naming")
    args = ap.parse_args()
    root = Path(args.out)
    root.mkdir(parents=True, exist_ok=True)
    table = {name: run_line(name, root, args.seed, args.split) for name in args.lines.split(",")}
    (root / "table.json").write_text(json.dumps(table, indent=2))
    print("| line | reviews | defects named | F1 | AUROC | type accuracy | seconds | vs its base |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in table.items():
        for way, r in rows.items():
            print(f"| {name} | {way} | {r.get('defects_named_after_first_60', '')} | {r['f1']} | {r['auroc']} | {r['type_accuracy']} "
                  f"| {r.get('seconds')} | {r.get('comparison', '')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
