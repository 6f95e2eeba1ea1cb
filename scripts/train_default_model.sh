#!/usr/bin/env bash
# Reproduces models/default and resources/demo from scratch: synthetic data, fixed seeds.
# Seeds 1 (train) and 99 (the unseen test split quoted in the README) never overlap.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
WORK=${WORK:-$(mktemp -d)}
"$BIN/station" demo-data "$WORK/train" --count 6000 --seed 1
"$BIN/station" demo-data "$WORK/test" --count 300 --seed 99
"$BIN/station" train "$WORK/train" --out "$WORK/default" --name default --views 2 --input-size 256 --json > "$WORK/train.json"
"$BIN/station" evaluate "$WORK/test" --model "$WORK/default" --json > "$WORK/test.json"
python3 - "$WORK" <<'PY'
import json, sys, pathlib
work = pathlib.Path(sys.argv[1])
card_path = work / "default" / "card.json"
card = json.loads(card_path.read_text())
card["training_data"]["path"] = "station demo-data --count 6000 --seed 1"  # not the temporary dir
test = json.loads((work / "test.json").read_text())
card["test_metrics"] = {"split": "demo-data --count 300 --seed 99 (never used in training)",
                        **{k: test[k] for k in ("n", "accuracy", "precision", "recall", "f1", "auroc")}}
card_path.write_text(json.dumps(card, indent=2) + "\n")
print(json.dumps(card["test_metrics"], indent=2))
PY
rm -rf models/default && cp -r "$WORK/default" models/default
rm -rf resources/demo && "$BIN/station" demo-data resources/demo --count 40 --seed 2024
