"""`station run` and `station inspect`."""

from __future__ import annotations

import argparse
import sys
import time

from station.commands.output import Progress, device_arg, emit_json
from station.errors import StationError


def cmd_run(args: argparse.Namespace) -> int:
    from station.model import load_model
    from station.pipeline import inspect_frames, tune_cpu
    from station.recorder import Recorder
    from station.sources import open_source
    from station.store.db import open_store

    if args.limit is not None and args.limit < 1:
        raise StationError("--limit must be at least 1")
    store = open_store(args.data, args.db)
    model = load_model(args.model, args.data, device=device_arg(args.device))
    source = open_source(args.source)
    tune_cpu()
    recorder = Recorder(store, model, args.source)
    summary = {"processed": 0, "skipped": 0, "failed": 0, "errors": [], "verdicts": {"pass": 0, "fail": 0}}
    progress = Progress()
    seen = 0
    t0 = time.perf_counter()
    stop = lambda: args.limit is not None and seen >= args.limit  # noqa: E731
    source.should_stop = stop
    total = len(source) if hasattr(source, "__len__") else None
    try:
        for r in inspect_frames(source, model, recorder, batch_size=args.batch_size, cam=not args.no_cam, should_stop=stop):
            seen += 1
            if r.skipped:
                summary["skipped"] += 1
            elif r.error is not None:
                summary["failed"] += 1
                summary["errors"].append({"origin": r.frame.origin, "error": r.error})
                print(f"station run: skipped {r.frame.origin}: {r.error}", file=sys.stderr)
            else:
                summary["processed"] += 1
                summary["verdicts"][r.prediction.verdict] += 1
            progress("inspected", seen, min(total, args.limit) if total and args.limit else total)
    except KeyboardInterrupt:
        print("station run: stopped by user; results so far are stored", file=sys.stderr)
    finally:
        source.close()
        recorder.close()
    elapsed = time.perf_counter() - t0
    summary["dropped"] = source.dropped
    summary["images_per_s"] = round(summary["processed"] / elapsed, 2) if elapsed > 0 else 0.0
    summary["run_id"] = recorder.run_id
    summary["model"] = {"name": model.name, "version": model.version}
    if source.status.state == "lost":
        summary["source_status"] = f"lost: {source.status.detail}"
    if args.json:
        emit_json(summary)
    else:
        v = summary["verdicts"]
        print(f"{summary['processed']} inspected ({v['pass']} pass, {v['fail']} fail), {summary['skipped']} skipped, "
              f"{summary['failed']} failed, {summary['images_per_s']} images/s")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from pathlib import Path

    import cv2

    from station.imageio import decode, read_bytes
    from station.model import load_model
    from station.model.overlay import draw_box, hot_box, overlay, upsample

    if not Path(args.image).is_file():
        raise StationError(f"image not found: {args.image}")
    image = decode(read_bytes(args.image))
    model = load_model(args.model, args.data, device=device_arg(args.device))
    probs, cams = model.forward_with_cam(model.batch([image]))
    pred = model.decide(probs[0])
    box = hot_box(cams[0], image.shape) if pred.verdict == "fail" else None
    if args.heatmap:
        vis = draw_box(overlay(image, upsample(cams[0], image.shape)), box)
        if not cv2.imwrite(args.heatmap, vis):
            raise StationError(f"cannot write heatmap to {args.heatmap} (use a .png or .jpg name in an existing folder)")
    out = {"label": pred.label, "p_defect": round(pred.p_defect, 6), "verdict": pred.verdict,
           "probabilities": {k: round(v, 6) for k, v in pred.probabilities.items()}, "box": list(box) if box else None}
    if args.json:
        emit_json(out)
    else:
        print(f"{pred.verdict.upper()}  {pred.label}  p_defect={pred.p_defect:.3f}" + (f"  box={list(box)}" if box else ""))
    return 0
