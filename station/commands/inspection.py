"""`station run` and `station inspect`."""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Callable, Iterator, Sized
from typing import TYPE_CHECKING

from station.commands.output import Progress, emit_json
from station.core.errors import StationError

if TYPE_CHECKING:
    from station.run.run_report import RunSummary

log = logging.getLogger("station.run")


def cmd_run(args: argparse.Namespace) -> int:
    from station.run.inspection_run import InspectionRun, run_options

    run = InspectionRun(run_options(args.source, args, batch_size=args.batch_size, cam=not args.no_cam, limit=args.limit,
                                    pace_s=args.pace, forward_wait_s=args.forward_wait, user=args.user,
                                    code=_code_kind(args.code)))
    progress = Progress()
    with stop_on_signals(run.stop):
        try:
            run.open()
            total = len(run.source) if isinstance(run.source, Sized) else None
            if total is not None and args.limit:
                total = min(total, args.limit)
            done = 0
            for r in run.results():
                done += 1
                if r.error is not None:
                    log.warning("skipped %s: %s", r.frame.origin, r.error)
                progress("inspected", done, total)
        finally:
            summary = run.close()
    if summary.state == "stopped":
        log.warning("stopped; every result shown so far is stored")
    if args.json:
        emit_json(summary.to_json())
    else:
        v = summary.verdicts
        print(f"{summary.processed} inspected ({v['pass']} pass, {v['fail']} fail), {summary.skipped} skipped, "
              f"{summary.failed} failed, {summary.images_per_s} images/s")
    # Said on stderr in both modes: a plant's log scraper and the person at the terminal both need it.
    if summary.not_stored_count:
        log.warning("%d images not stored (%s)", summary.not_stored_count,
                    summary.disk.message() if summary.disk else "disk full")
    if summary.spool_waiting:
        log.warning("%d results wait in the spool on this PC (the database or the image store is unreachable); "
                    "the next start on this data dir forwards them", summary.spool_waiting)
    for name, out in summary.line_io.get("outputs", {}).items():
        if out["undelivered"] or out["dropped"]:
            log.warning("output %s: %d verdicts not delivered, %d let go from a full queue", name, out["undelivered"], out["dropped"])
    if (hs := summary.line_io.get("handshake")) and hs["latency_ms"]:
        log.info("PLC handshake: %d parts, trigger to result %.1f ms median, %.1f ms p99", hs["parts"],
                 hs["latency_ms"]["median"], hs["latency_ms"]["p99"])
    if summary.unrecorded_count:
        log.warning("%d verdicts were given but not recorded (%s)", summary.unrecorded_count, summary.unrecorded[0].error)
    refused = [f"output {name} refused this station ({out['refused']}); {out['undelivered']} verdicts wait on this PC"
               for name, out in summary.line_io.get("outputs", {}).items() if out.get("refused")]
    if summary.line_refused:
        refused.insert(0, f"{summary.line_refused}; {summary.spool_waiting} results wait on this PC")
    for line in refused:  # not a passing outage: someone must act, and a service manager sees the exit
        log.error("%s", line)
    if refused:
        return EXIT_LINE_REFUSED
    down = _down_too_long(summary, args.data)
    for line in down:
        log.error("%s", line)
    return EXIT_LINE_DOWN if down else 0


EXIT_LINE_REFUSED = 3  # the run went on, but the line's store or an output refused it for good
EXIT_LINE_DOWN = 4  # ... or one of them was still away at the end, for longer than alarm.line_down_minutes


def _down_too_long(summary: RunSummary, data: str | None) -> list[str]:
    """What was still away at the run's end, past the setting, with results waiting for it: a
    blip ends in 0 (the next start forwards them), an outage someone should look at does not."""
    from station.line import settings
    late = settings.load(data).alarm.line_down_minutes * 60
    out = []
    if summary.spool_waiting and summary.line_down_s > late:
        out.append(f"the line's database or store has been away for {summary.line_down_s / 60:.0f} min; "
                   f"{summary.spool_waiting} results wait on this PC")
    for name, o in summary.line_io.get("outputs", {}).items():
        if o["undelivered"] and o.get("down_s", 0) > late:
            out.append(f"output {name} has been unreachable for {o['down_s'] / 60:.0f} min; {o['undelivered']} verdicts wait on this PC")
    return out


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM (a service stop, a shutdown) and the first Ctrl-C ask the run to stop: the batch in
    flight is finished and committed, and the command exits 0. A second Ctrl-C interrupts."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    asked: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if signum == signal.SIGINT and asked:
            raise KeyboardInterrupt
        asked.append(signum)
        log.warning("%s: stopping after the batch in flight", signal.Signals(signum).name)
        stop()

    wanted = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGBREAK] if hasattr(signal, "SIGBREAK") else [])
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def cmd_inspect(args: argparse.Namespace) -> int:
    from pathlib import Path

    import cv2

    from station.core.imageio import decode, read_bytes
    from station.model import load_model
    from station.model.overlay import draw_box, hot_box, overlay, upsample

    if args.image.startswith("s3://"):  # an image as `station queue --json` names it on a line
        from station.store.blobs import read_url

        image = decode(read_url(args.image))
    elif not Path(args.image).is_file():
        raise StationError(f"image not found: {args.image}")
    else:
        image = decode(read_bytes(args.image))
    model = load_model(args.model, args.data, device=args.device, backend=backend_arg(args))
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


def backend_arg(args: argparse.Namespace) -> str:
    """--backend, else the setting inference.backend."""
    from station.line import settings
    return args.backend or settings.load(args.data).inference.backend


def cmd_io_test(args: argparse.Namespace) -> int:
    """Commissioning: a test verdict to each sink, the handshake's inputs as they are now."""
    from station.commands.users import record, signed_in
    from station.line import settings
    from station.outputs.config import load_for_run
    from station.outputs.probe import read_handshake, send_test

    config = load_for_run(args.outputs, args.data)
    if config.empty:
        raise StationError("no outputs are configured: give --outputs FILE, or add them in the window (Settings → Line outputs)")
    who = signed_in(args, "sending a test verdict to the line")  # it writes to the line: an engineer's act
    station = settings.station_name(args.station, args.data)
    results = send_test(config, station, args.verdict) if config.sinks else []
    record(args, who, "io_test", {"verdict": args.verdict, "delivered": [r.name for r in results if r.delivered],
                                  "failed": [r.name for r in results if not r.delivered]})
    handshake = read_handshake(config.handshake) if config.handshake is not None else None
    if args.json:
        emit_json({"verdict": args.verdict, "sinks": [r.to_json() for r in results], "handshake": handshake})
        return 0
    for r in results:
        print(f"{r.name} ({r.kind}, {r.where}): {r.detail} in {r.ms:.0f} ms" if r.delivered else f"{r.name} ({r.kind}, {r.where}): NOT delivered: {r.detail}")
    if handshake is not None:
        print(f"handshake ({handshake['where']}): " + (f"cannot read: {handshake['error']}" if "error" in handshake else
                                                      f"Trigger {'high' if handshake['trigger'] else 'low'}, Ack {'high' if handshake['ack'] else 'low'}"))
    return 0


def _code_kind(kind: str | None) -> str | None:
    from station.model.codes import check_kind

    return check_kind(kind) if kind else None
