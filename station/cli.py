"""The `station` command. Parsing only: each command's module is imported when it runs,
so `station queue`/`label`/`--help` never import torch or OpenCV."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import NoReturn

from station import __version__
from station.cli_args import COUNT, ID, SEED, _common, _from_station, _int, _outputs_arg, _recipe, _seconds, _threshold, _user
from station.core.errors import StationError
from station.core.redact import mask
from station.model.backends import BACKENDS, installed

# command -> (module under station.commands, function)
COMMANDS = {
    "gui": ("gui", "cmd_gui"),
    "run": ("inspection", "cmd_run"),
    "inspect": ("inspection", "cmd_inspect"),
    "queue": ("review", "cmd_queue"),
    "stats": ("review", "cmd_stats"),
    "shadow": ("review", "cmd_shadow"),
    "io-test": ("inspection", "cmd_io_test"),
    "label": ("review", "cmd_label"),
    "export": ("review", "cmd_export"),
    "train": ("training", "cmd_train"),
    "evaluate": ("training", "cmd_evaluate"),
    "demo-data": ("training", "cmd_demo_data"),
    "teach": ("teaching", "cmd_teach"),
    "line-data": ("teaching", "cmd_line_data"),
    "grab": ("teaching", "cmd_grab"),
    "models": ("registry", "cmd_models"),
    "promote": ("registry", "cmd_promote"),
    "rollback": ("registry", "cmd_rollback"),
    "bench": ("bench", "cmd_bench"),
    "doctor": ("support", "cmd_doctor"),
    "settings": ("upkeep", "cmd_settings"),
    "purge": ("upkeep", "cmd_purge"),
    "backup": ("upkeep", "cmd_backup"),
    "restore": ("upkeep", "cmd_restore"),
    "users": ("users", "cmd_users"),
    "audit": ("users", "cmd_audit"),
    "threshold": ("registry", "cmd_threshold"),
    "recipes": ("recipes", "cmd_recipes"),
    "golden": ("recipes", "cmd_golden"),
    "part": ("parts", "cmd_part"),
    "trace": ("parts", "cmd_trace"),
}
# Commands that train: the line build (onnxruntime, no torch) leaves them to the engineering PC.
TRAINING = ("train", "teach")


class _Parser(argparse.ArgumentParser):
    """argparse that never prints a password: `station models --db postgresql://u:secret@h/db`
    once echoed the secret in its "unrecognized arguments" line."""

    def error(self, message: str) -> NoReturn:
        super().error(mask(message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="station", description="Visual inspection station: classify parts, show where the defect is, review, retrain.")
    parser.add_argument("--version", action="version", version=f"station {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("gui", help="open the station window (default command)")
    p.add_argument("--source", metavar="SRC", help="source to stream (default: the bundled demo)")
    p.add_argument("--exit-after", type=float, metavar="S", help="close the window after S seconds (smoke tests of a build)")
    p.add_argument("--kiosk", action="store_true",
                   help="shop-floor kiosk: full screen, the Live tab only, quitting confirmed (and an engineer's PIN on a station with users)")
    _recipe(p, "the product to judge (default: the station's active recipe)")
    _outputs_arg(p)
    _common(p, model=True, json_out=False)

    p = sub.add_parser("run", help="inspect a source headless and store every result")
    p.add_argument("source", metavar="SRC", nargs="?",
                   help="folder, watch:PATH, video file, camera:N, genicam:ID, rtsp:// or http(s):// URL (default: the recipe's source)")
    _recipe(p, "the product to judge: its model, threshold, masks, outputs and golden check (default: the station's active recipe)")
    p.add_argument("--user", metavar="NAME", help="who starts it (recorded with the changeover and the golden check)")
    p.add_argument("--limit", type=COUNT, metavar="N", help="stop after N frames")
    p.add_argument("--code", metavar="KIND", help="each part's serial is the code printed on it: datamatrix, qr, code128 or any "
                                                 "(default: the recipe's setting code; a PLC's serial comes first)")
    p.add_argument("--batch-size", type=_int(1, 1024), default=8, metavar="B")
    p.add_argument("--no-cam", action="store_true", help="skip heatmaps (faster; verdicts only)")
    p.add_argument("--pace", type=_seconds, default=0.0, metavar="S", help="take at most one frame every S seconds (a line's cycle time)")
    p.add_argument("--forward-wait", type=_seconds, default=30.0, metavar="S",
                   help="at the end, forward spooled results and undelivered verdicts for up to S seconds (spooled results go on the next start)")
    p.add_argument("--shadow", metavar="M", help="a candidate model that judges every part too: stored apart, never sent (station shadow compares)")
    _outputs_arg(p)
    _common(p, model=True)

    p = sub.add_parser("io-test", help="send one test verdict to every output and say which delivered it; read the PLC's handshake inputs")
    p.add_argument("--verdict", choices=("pass", "fail"), default="pass",
                   help="the test verdict (sequence 0, origin io-test); a FAIL may move the reject gate")
    _outputs_arg(p)
    _user(p)
    _common(p)

    p = sub.add_parser("inspect", help="inspect one image without storing it")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--heatmap", metavar="OUT.png", help="write the Grad-CAM overlay with the hot region's box")
    _common(p, db=False, model=True)

    p = sub.add_parser("queue", help="list inspections not yet reviewed")
    p.add_argument("--order", choices=("uncertainty", "recent", "defects", "types"), default="uncertainty",
                   help="types: failed parts whose defect type nobody has named yet, most defective first")
    p.add_argument("--conflicts", action="store_true",
                   help="instead: the reviewed items whose identical image carries another label elsewhere")
    p.add_argument("--limit", type=COUNT, default=50, metavar="N")
    p.add_argument("--group", action="store_true",
                   help="put alike defects side by side: each item gets a group (1 = the largest) by the region its heatmap "
                        "found, under the active model or --model (best with --order types)")
    _from_station(p)
    _common(p, model=True)

    p = sub.add_parser("stats", help="parts inspected, passed, failed, reviewed and the yield after reviews")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--shift", action="store_true", help="this shift only (shift starts: station settings floor.shifts)")
    scope.add_argument("--run", type=ID, metavar="RUN", help="one run")
    _from_station(p)
    _common(p)

    p = sub.add_parser("shadow", help="compare a candidate tried with run --shadow against the line's verdicts on the same parts")
    p.add_argument("--model", metavar="NAME", help="the candidate (default: the one tried last)")
    _common(p)

    p = sub.add_parser("label", help="record a review: confirm or relabel an inspection")
    p.add_argument("id", type=ID, metavar="ID")
    p.add_argument("label", metavar="LABEL")
    p.add_argument("--by", required=True, metavar="NAME", help="who reviewed it")
    p.add_argument("--note", metavar="TEXT")
    _common(p)  # --json too: label prints {"id", "label", "previous"}

    p = sub.add_parser("export", help="write reviewed items as an ImageFolder tree with a manifest")
    p.add_argument("out", metavar="OUT")
    p.add_argument("--include-unreviewed", action="store_true")
    p.add_argument("--val-fraction", type=float, default=0.2, metavar="F")
    p.add_argument("--seed", type=SEED, default=0, metavar="S")
    p.add_argument("--view", metavar="NAME", help="one view of parts seen from several sides (each view has its own model)")
    _from_station(p)
    _common(p)

    p = sub.add_parser("train", help="train a model from an ImageFolder tree")
    p.add_argument("dataset", metavar="DATA", help="has train/ and val/, or one tree that gets split")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--base", metavar="M", help="fine-tune from this model (may add classes)")
    p.add_argument("--arch", default="efficientnet_lite0", choices=("efficientnet_lite0", "small_cnn", "resnet50", "mobilenet_v3_large"))
    p.add_argument("--weights", metavar="FILE", help="local ImageNet weights for resnet50 / mobilenet_v3_large")
    p.add_argument("--epochs", type=COUNT, metavar="N", help="adapter+head epochs (small_cnn: end-to-end epochs)")
    p.add_argument("--views", type=COUNT, metavar="K", help="augmented views per image whose trunk features are cached (default: 2)")
    p.add_argument("--finetune-epochs", type=COUNT, metavar="N", help="then fine-tune the trunk's last stage end to end for N epochs (slow on CPU; default 0)")
    p.add_argument("--input-size", type=_int(32, 1024), metavar="PX", help="square input size, 32 to 1024 (default: 256, the shipped recipe's; 128 for small_cnn)")
    p.add_argument("--anchor", type=float, metavar="A",
                   help="with --base: L2 pull toward the parent's weights, so a few reviews correct it without forgetting (default 1; 0 = off)")
    p.add_argument("--seed", type=SEED, default=0, metavar="S")
    p.add_argument("--name", metavar="NAME", help="model name for the card (default: the --out folder's name)")
    _recipe(p, "the product trained: fine-tune from its model (unless --base), and it judges with the new one unless that is worse")
    _user(p)
    _common(p)

    p = sub.add_parser("evaluate", help="score a model on DATA/<class>/*")
    p.add_argument("dataset", metavar="DATA")
    p.add_argument("--report", metavar="DIR", help="write PNG plots and an HTML page")
    _common(p, db=False, model=True)

    p = sub.add_parser("demo-data", help="generate synthetic textured parts with defects")
    p.add_argument("out", metavar="OUT")
    p.add_argument("--count", type=COUNT, default=500, metavar="N")
    p.add_argument("--seed", type=SEED, default=0, metavar="S")
    p.add_argument("--families", metavar="LIST", help="comma-separated texture families (noise,brushed,weave,cells,granite)")
    p.add_argument("--size", type=_int(16, 4096), default=256, metavar="PX")
    p.add_argument("--codes", choices=("datamatrix", "qr", "code128"),
                   help="print each part's serial on it as this code; OUT/codes.csv lists them (to measure code reading)")
    p.add_argument("--damaged", type=float, default=0.0, metavar="F", help="with --codes: this share of parts get a damaged code")
    _common(p, db=False, json_out=False)  # --data accepted like everywhere; the images go to OUT

    p = sub.add_parser("teach", help="build a good-parts (anomaly) model for a new product line from good images only")
    p.add_argument("good", metavar="GOOD_DIR", help="images of good parts (or a class tree: its good/ is used)")
    p.add_argument("--out", required=True, metavar="DIR", help="the new model directory")
    p.add_argument("--bank", type=COUNT, default=2048, metavar="N", help="memory bank size cap in patches (cost per part grows with it)")
    p.add_argument("--size", type=_int(64, 1024), default=256, metavar="PX",
                   help="input size the parts are scaled to (thin defects on busy textures may need 384 or 512; cost grows with its square)")
    p.add_argument("--name", metavar="NAME", help="model name for the card (default: the --out folder's name)")
    p.add_argument("--template", choices=("auto", "on", "off"), default="auto",
                   help="registered golden template for a fixtured product (auto: used when the good parts register to one another)")
    p.add_argument("--texture", choices=("auto", "off"), default="auto",
                   help="texture memory for material with no template (stone, web, boards); auto: kept when no template is")
    p.add_argument("--seed", type=SEED, default=0, metavar="S")
    _recipe(p, "make (or point) this recipe at the new model: the product it judges, ready for run --recipe")
    _user(p)
    _common(p)

    p = sub.add_parser("grab", help="save N frames of a source (e.g. camera:0) as PNGs, to look over and teach from")
    p.add_argument("source", metavar="SRC", help="any source: DIR, watch:DIR, VIDEO, camera:N, rtsp://...")
    p.add_argument("out", metavar="OUT", help="an empty or new folder for frame-0001.png ...")
    p.add_argument("--frames", type=_int(1, 100_000), default=50, metavar="N", help="frames to keep")
    p.add_argument("--every", type=_int(1, 100_000), default=1, metavar="K",
                   help="keep one frame in K, so a streaming camera's frames span several parts")
    _common(p, db=False)

    p = sub.add_parser("line-data", help="write a product line cut from a real photograph, with drawn defects")
    p.add_argument("out", metavar="OUT", help="gets good/, line/ and test/ class trees")
    p.add_argument("--line", default="brick", metavar="LINE",
                   help="fixtured (every part the same place): brick, gravel, grass; every part a new piece: "
                        "gravel-web, brick-web, ihc-web (colour, with a colour-only defect)")
    p.add_argument("--good", type=COUNT, default=50, metavar="N", help="good parts to teach from")
    p.add_argument("--stream", type=COUNT, default=300, metavar="N", help="parts for the station to inspect (30%% defective)")
    p.add_argument("--test", type=COUNT, default=240, metavar="N", help="unseen test parts (half defective)")
    p.add_argument("--seed", type=SEED, default=0, metavar="S")
    p.add_argument("--size", type=COUNT, default=256, metavar="PX")
    p.add_argument("--strength", type=float, metavar="S",
                   help="every defect drawn at this strength, 0.3 (faint) to 1 (plain); default: each its own in that range")
    p.add_argument("--split", choices=("rows", "quadrants"), default="rows",
                   help="every-part-new lines: test parts from the photo's bottom rows (default), or from two opposite "
                        "quarters while taught parts come from the other two")

    p = sub.add_parser("models", help="list registered models (on a line: and the line's promotions)")
    _common(p)

    p = sub.add_parser("promote", help="make a model the active one")
    p.add_argument("name", metavar="NAME", help="a registered name, or a model directory to register")
    p.add_argument("--as", dest="as_name", metavar="NAME", help="registry name when promoting a directory")
    p.add_argument("--by", default="", metavar="NAME", help="who promotes (recorded in models/promotions.jsonl)")
    p.add_argument("--reason", default="", metavar="TEXT", help="why (recorded)")
    p.add_argument("--force", action="store_true",
                   help="promote a model that `train --base` found worse than its base on held-out reviews")
    _user(p)
    _common(p)

    p = sub.add_parser("rollback", help="make the model that was active before the last promotion active again")
    p.add_argument("--by", default="", metavar="NAME")
    p.add_argument("--reason", default="", metavar="TEXT")
    _user(p)
    _common(p)

    p = sub.add_parser("threshold", help="set a registered model's decision threshold (or back to its calibrated one)")
    p.add_argument("name", metavar="NAME", help="a registered model")
    p.add_argument("value", type=_threshold, metavar="VALUE", help="p_defect at which a part fails, in (0, 1); or: calibrated")
    _user(p)
    _common(p)

    p = sub.add_parser("recipes", help="products: list / add NAME --model M / show NAME / set NAME KEY VALUE / "
                                        "golden NAME pass|fail IMAGE... / use NAME / rollback NAME / export NAME OUT / import DIR")
    p.add_argument("action", choices=("list", "add", "show", "set", "golden", "use", "rollback", "export", "import"))
    p.add_argument("words", nargs="*", metavar="ARG",
                   help="set keys: model, threshold, source, outputs, masks (x,y,w,h;...), roi, golden_policy, band, alarm_on_fail, "
                        "fails_in_a_row, pass_days, keep_one_in, shifts, code")
    p.add_argument("--model", metavar="M", help="add: the registered model that judges the product")
    _user(p)
    _common(p)

    p = sub.add_parser("golden", help="judge a recipe's golden parts: may production start?")
    p.add_argument("recipe_name", metavar="RECIPE")
    _user(p)
    _common(p, model=False)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--backend", choices=BACKENDS, default=None, help="inference engine (default: auto)")

    p = sub.add_parser("part", help="everything about one part, by the serial the PLC gave it: its inspections, models, recipes, reviews")
    p.add_argument("serial", metavar="SERIAL")
    _common(p)

    p = sub.add_parser("trace", help="a dated, hashed bundle for an auditor: inspections, reviews, images, SHA256SUMS")
    p.add_argument("out", metavar="OUT", help="a new or empty folder (with --verify: a bundle to check)")
    p.add_argument("--from", dest="since", metavar="WHEN", help="from this date or time (default: the first inspection)")
    p.add_argument("--to", dest="until", metavar="WHEN", help="up to this time, or to the end of this date (default: now)")
    _recipe(p, "only this product's parts (default: every product)")
    p.add_argument("--verify", action="store_true", help="check a bundle against its SHA256SUMS: exit 0 when every file matches")
    _common(p)

    p = sub.add_parser("users", help="local users and roles: station users add NAME --role ROLE / list / unlock NAME")
    p.add_argument("action", choices=("add", "list", "unlock"))
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("--role", choices=("operator", "inspector", "engineer"))
    _user(p)
    _common(p)

    p = sub.add_parser("audit", help="who changed models, thresholds and users, and who was refused")
    p.add_argument("--limit", type=_int(1, 1_000_000), default=200, metavar="N")
    p.add_argument("--verify", action="store_true", help="check the trail's hash chain; exit 2 naming the first broken link")
    _common(p)

    p = sub.add_parser("doctor", help="versions, devices, cameras, database, disk, models and the log path: one report for support")
    p.add_argument("--cameras", type=_int(0, 64), default=4, metavar="N", help="camera indices to probe (0: none)")
    _common(p)

    p = sub.add_parser("settings", help="show the station's settings, or set one (retention, disk levels, backups, upkeep)")
    p.add_argument("key", nargs="?", metavar="KEY", help="e.g. retention.pass_days")
    p.add_argument("value", nargs="?", metavar="VALUE", help="the new value (JSON: 30, 2.5, true, \"text\")")
    _user(p)
    _common(p)

    p = sub.add_parser("purge", help="apply the retention policy now: delete passed parts' old images (rows are kept)")
    p.add_argument("--dry-run", action="store_true", help="only say what would be freed")
    p.add_argument("--pass-days", type=_int(0, 36500), metavar="N", help="this once: keep passed parts' images N days")
    p.add_argument("--keep-one-in", type=_int(0, 1_000_000), metavar="K", help="this once: then keep one in K (0: none)")
    _user(p)
    _common(p)

    p = sub.add_parser("backup", help="a consistent online copy of the database and the model registry")
    p.add_argument("out", metavar="OUT", help="a new folder")
    _common(p)

    p = sub.add_parser("restore", help="put a backup back (the current database is saved first)")
    p.add_argument("backup", metavar="BACKUP", help="a folder written by station backup")
    _user(p)
    _common(p)

    p = sub.add_parser("bench", help="the performance benchmark, measured side by side in one run")
    p.add_argument("--images", type=COUNT, default=64, metavar="N")
    p.add_argument("--queue-rows", type=COUNT, default=1_000_000, metavar="N", help="rows in the generated queue database")
    p.add_argument("--reps", type=COUNT, default=None, metavar="N",
                   help="repeat each side by side N times and keep the median (default: 5 for forward vs pipeline, 3 for the rest)")
    p.add_argument("--model", metavar="M", help="model directory or registered name (default: the active model)")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="the backend of the pipeline figures (default: auto); the bare forward pass is measured on every installed one")
    _common(p, db=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # No command means the window: `station`, `station --source camera:0`, `station --data D`.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["gui"] + argv
    args = parser.parse_args(argv)
    command = args.command
    module, func = COMMANDS[command]
    from station.core import logs
    logs.setup(getattr(args, "data", None), command, verbose=getattr(args, "verbose", False))
    logging.getLogger("station.cli").info("station %s (%s)", " ".join(argv), __version__)
    try:
        if command in TRAINING:
            if not installed("torch"):
                raise StationError("this is the line build, which inspects, reviews and exports but does not train: "
                                   "train on the engineering PC (the full build) from exported reviews, then copy the model folder here "
                                   "and `station promote` it")
        handler = getattr(importlib.import_module(f"station.commands.{module}"), func)
        return int(handler(args) or 0)
    except StationError as exc:
        from station.core.terminal import safe

        print(safe(f"station {command}: error: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"station {command}: interrupted; everything committed so far is kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os._exit(1)
    except Exception as exc:
        # A database account without a grant is the set-up's problem, not a bug: one line, exit 2.
        if getattr(getattr(exc, "orig", None), "sqlstate", None) != "42501":
            raise
        print(f"station {command}: error: the database refused: {str(exc.orig).splitlines()[0]} (this station's "  # type: ignore[attr-defined]
              f"database account lacks a grant; see the line's set-up in docs/line.md)", file=sys.stderr)
        return 2
    finally:
        # The databases this command checked are recorded as it leaves them (not only at exit):
        # a script may call main() again. Looked up, not imported: --version loads no SQLAlchemy.
        checked = sys.modules.get("station.store.dbcheck")
        if checked is not None:
            checked.leave_all()
