"""`station bench`: figures measured side by side in one run, on the same images.

Ratios are what to quote: this machine is shared and noisy, so absolute rates drift, but two
measurements interleaved in one process drift together.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np

from station.core.cpu import threads
from station.core.progress import ProgressFn


def _timeit(fn: Callable[[], Any], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def bench(images: int = 64, queue_rows: int = 1_000_000, model_spec: str | None = None, data: str | None = None,
          progress: ProgressFn | None = None, backend: str | None = None, reps: int | None = None) -> dict[str, Any]:
    """`backend` is the one the pipeline figures are on (default: auto, as `station run`); the
    bare forward pass is measured on every installed backend, interleaved. Each side by side is
    repeated `reps` times and its median kept (default 5 for forward vs pipeline, 3 for the
    others; 1 is a quick look, as noisy as one run)."""
    from station.core.cpu import tune_cpu
    from station.core.imageio import decode, read_bytes
    from station.model import backends, load_model
    from station.run.inspection_run import InspectionRun, RunOptions
    from station.sources.folder import FolderSource
    from station.store.db import open_store
    from station.train import synth

    say = progress or (lambda *a: None)
    with tempfile.TemporaryDirectory(prefix="station-bench-") as tmp_name:
        tmp = Path(tmp_name)
        synth.generate(tmp / "images", images, seed=12345)
        model = load_model(model_spec, data, device="cpu", backend=backend or "auto")
        engines = {model.backend: model}
        for other in ("torch", "onnxruntime"):
            if other not in engines and backends.installed(other):
                engines[other] = load_model(model_spec, data, device="cpu", backend=other)
        tune_cpu()
        paths = FolderSource(tmp / "images").paths

        decoded = [decode(read_bytes(p)) for p in paths]
        x = model.batch(decoded)
        bs = 8

        def forward(m: Any) -> Callable[[], None]:
            def run() -> None:  # the bare network: what every verdict waits for
                for i in range(0, len(x), bs):
                    m.run_graph(x[i : i + bs])
            return run

        store = open_store(str(tmp / "data"))

        def run_of(source: str) -> Callable[[], None]:
            def run_it() -> None:  # exactly what `station run` does, through the same InspectionRun
                run = InspectionRun(RunOptions(source=source, data=str(tmp / "data"), batch_size=bs, upkeep=False,
                                               skip_inspected=False), model_factory=lambda: model)
                run.open()
                try:
                    for _ in run.results():
                        pass
                finally:
                    run.close()
            return run_it

        # The same images as parts of two views (half top, half side, paired by name): a two-view
        # line judges twice the pixels a part, so its parts/s is measured against half of one view's.
        half = len(paths) // 2
        for view, chunk in (("top", paths[:half]), ("side", paths[half:2 * half])):
            (tmp / "views" / view).mkdir(parents=True)
            for n, p in enumerate(chunk):
                (tmp / "views" / view / f"{n:04d}.png").write_bytes(Path(p).read_bytes())

        legs = {**{name: forward(m) for name, m in engines.items()}, "pipeline": run_of(str(tmp / "images")),
                "two_views": run_of(f"views:top={tmp / 'views' / 'top'},side={tmp / 'views' / 'side'}")}
        for leg in legs.values():
            leg()  # warm-up: first calls pay for allocation and kernel selection (and the first run writes the files)
        main, sub = reps or 5, reps or 3
        times: dict[str, list[float]] = {k: [] for k in legs}
        for rep in range(main):  # interleaved, so all see the same machine
            for k, leg in legs.items():
                times[k] += _timeit(leg, 1)
            say("forward vs pipeline", rep + 1, main)
        ips = {k: len(x) / statistics.median(v) for k, v in times.items() if k != "two_views"}
        two_view_parts_s = half / statistics.median(times["two_views"])
        forward_ips, pipeline_ips = ips[model.backend], ips["pipeline"]

        torch_model = engines.get("torch")
        cam_ms, ref_ms = _cam_side_by_side(model, torch_model, x[:bs], say, sub)
        anomaly = _anomaly_side_by_side(torch_model, x, bs, say, sub) if torch_model is not None else {}
        if torch_model is not None:
            anomaly.update(_template_side_by_side(torch_model, bs, say, sub))
        store_ips = _store_rate(store, model, decoded[0], tmp)
        say("changeover", 0, 1)
        from station.run.changeover_timing import changeover_ms

        second = load_model(model_spec, data, device="cpu", backend=model.backend)  # the second product's model
        changeover = changeover_ms(open_store(str(tmp / "recipes")), {"bench-a": model, "bench-b": second}, paths, decoded)
        say("OPC UA server start", 0, 1)
        ua_start = _opcua_server_start_s(sub)
        say("queue", 0, 1)
        queue_ms = _queue_ms(tmp / "queue.db", queue_rows)
    out: dict[str, Any] = {
        "images": len(x),
        "batch_size": bs,
        "backend": model.backend,
        "device": str(model.device),
        "threads": threads(),  # the cores inference used (STATION_THREADS, else all)
        "forward_images_per_s": round(forward_ips, 2),
        "pipeline_images_per_s": round(pipeline_ips, 2),
        "pipeline_vs_forward": round(pipeline_ips / forward_ips, 3),
        "backends": {k: {"forward_images_per_s": round(ips[k], 2),
                         "forward_ms_per_image_by_rep": [round(t * 1000 / len(x), 2) for t in times[k]]} for k in engines},
        "pipeline_ms_per_image_by_rep": [round(t * 1000 / len(x), 2) for t in times["pipeline"]],
        "two_view_parts_per_s": round(two_view_parts_s, 2),
        # parts/s of two views a part against half of one view's: 1.0 costs nothing for pairing the views
        "two_views_vs_half_one_view": round(two_view_parts_s / (pipeline_ips / 2), 3),
    }
    if "torch" in ips and "onnxruntime" in ips:
        out["onnxruntime_vs_torch_forward"] = round(ips["onnxruntime"] / ips["torch"], 3)
    return {
        **out,
        "cam_ms": round(cam_ms, 2) if cam_ms is not None else None,
        "reference_cam_ms": round(ref_ms, 2) if ref_ms is not None else None,
        "cam_speedup_vs_reference": round(ref_ms / cam_ms, 2) if cam_ms and ref_ms else None,
        "store_inspections_per_s": round(store_ips, 1),
        "queue_rows": queue_rows,
        "queue_ms_1m": round(queue_ms, 2),
        "opcua_server_start_s": round(ua_start, 2) if ua_start is not None else None,
        **changeover,
        "model": {"name": model.name, "version": model.version},
        **anomaly,
    }


def _anomaly_side_by_side(model, x, bs: int, say, reps: int, sizes: tuple[int, ...] = (512, 1024, 2048, 4096)) -> dict[str, Any]:
    """The good-parts anomaly path (trunk taps + nearest-neighbour map + score) beside the bare
    classifier forward, on the same batches, at several memory-bank sizes: a verdict's cost grows
    with the bank, and `station teach --bank` caps it. Banks are random patches of these images
    (the cost depends on the size, not on which patches)."""
    import torch

    from station.model import patchcore, texture
    from station.model.anomaly import AnomalyModel, AnomalyNet
    from station.model.colour import BANK
    from station.model.template import gray_images
    from station.train.teach import DEFAULT_BANK, base_card

    trunk = model.network.backbone.trunk
    with torch.inference_mode():
        patches = patchcore.flatten(AnomalyNet(trunk, torch.zeros(1, 1)).features(torch.from_numpy(x[:bs]))[0])
    g = torch.Generator().manual_seed(0)
    card = {**base_card("bench"), "input_size": model.input_size}
    card["anomaly"].update({"raw_threshold": 30.0, "scale": 1.0, "floor": 20.0})

    def forward() -> None:
        for i in range(0, len(x), bs):
            model.run_graph(x[i : i + bs])

    anomaly = {}
    for size in sizes:
        bank = patches[torch.randint(len(patches), (size,), generator=g)]
        m = AnomalyModel(AnomalyNet(trunk, bank).eval(), card)
        anomaly[size] = lambda m=m: [m.forward_with_cam(x[i : i + bs]) for i in range(0, len(x), bs)]
        anomaly[size]()  # warm-up
    # The colour memory (colour parts only) and the texture memory (lines with no template), each
    # on the default bank beside the same path without; the texture's numbers fitted to these images.
    net = AnomalyNet(trunk, patches[torch.randint(len(patches), (DEFAULT_BANK,), generator=g)]).eval()
    net.set_colour(np.random.default_rng(0).normal(0.0, 0.1, (BANK, 2)).astype(np.float32))
    norm = (np.asarray(card["normalization"]["mean"], np.float32), np.asarray(card["normalization"]["std"], np.float32))
    stats = texture.fit([texture.measure_maps(gr) for gr in gray_images(x[:16], *norm)], (model.input_size // 8,) * 2)
    variants = {-1: {"colour": {"used": True, "raw_threshold": 0.05, "scale": 0.01, "bank": BANK}},
                -2: {"texture": {"used": True, "measures": list(texture.MEASURES), **stats.to_card(), "raw_threshold": 3.0, "scale": 1.0}}}
    for key, section in variants.items():
        m = AnomalyModel(net, {**card, "anomaly": {**card["anomaly"], **section}})
        anomaly[key] = lambda m=m: [m.forward_with_cam(x[i : i + bs]) for i in range(0, len(x), bs)]
        anomaly[key]()
    fwd: list[float] = []
    per: dict[int, list[float]] = {s: [] for s in [*sizes, -1, -2]}
    for rep in range(reps):  # interleaved, as above
        fwd += _timeit(forward, 1)
        for size in per:
            per[size] += _timeit(anomaly[size], 1)
        say("anomaly vs forward", rep + 1, reps)
    f = statistics.median(fwd)
    med = {k: statistics.median(v) for k, v in per.items()}
    curve = [{"bank": s, "ms_per_image": round(med[s] * 1000 / len(x), 2), "cost_vs_forward": round(med[s] / f, 3)} for s in sizes]
    at = med[DEFAULT_BANK] if DEFAULT_BANK in med else med[sizes[-1]]
    return {"anomaly_bank": DEFAULT_BANK, "anomaly_images_per_s": round(len(x) / at, 2), "anomaly_vs_forward": round(f / at, 3),
            "anomaly_cost_vs_forward": round(at / f, 3), "anomaly_bank_curve": curve,
            "colour_ms_per_image": round(med[-1] * 1000 / len(x), 2), "colour_cost_vs_anomaly": round(med[-1] / at, 3),
            "texture_ms_per_image": round(med[-2] * 1000 / len(x), 2), "texture_cost_vs_anomaly": round(med[-2] / at, 3),
            "texture_cost_vs_forward": round(med[-2] / f, 3)}


def _template_side_by_side(model, bs: int, say, reps: int, parts: int = 32) -> dict[str, Any]:
    """The anomaly path with a registered template beside the same path without one and the bare
    forward, interleaved, on parts of a real-photo line (registration's cost depends on what it
    sees: generated textures never register). Needs the photographs (scikit-image)."""
    import torch

    from station.core.errors import StationError
    from station.model import patchcore, template
    from station.model.anomaly import AnomalyModel, AnomalyNet
    from station.train import photolines
    from station.train.teach import DEFAULT_BANK, base_card

    try:
        photo = photolines.load_photo("gravel")
    except StationError as exc:
        return {"template_note": str(exc)}
    rng = np.random.default_rng(0)
    images = [photolines._finish(photolines.capture(photo, model.input_size, rng), rng) for _ in range(parts)]
    x = model.batch(images)
    trunk = model.network.backbone.trunk
    stats, _ = template.build(template.gray_images(x[: parts // 2], model.mean, model.std))
    if stats is None:
        return {"template_note": "the bench's gravel parts did not register"}
    with torch.inference_mode():
        patches = patchcore.flatten(AnomalyNet(trunk, torch.zeros(1, 1)).features(torch.from_numpy(x[:bs]))[0])
    bank = patches[torch.randint(len(patches), (DEFAULT_BANK,), generator=torch.Generator().manual_seed(0))]
    card = {**base_card("bench"), "input_size": model.input_size}
    card["anomaly"].update({"raw_threshold": 30.0, "scale": 1.0, "floor": 20.0})
    plain = AnomalyModel(AnomalyNet(trunk, bank).eval(), card)
    h, w = stats.mean.shape
    card_t = {**card, "anomaly": {**card["anomaly"], "template": {"used": True, "canvas": [h, w], "raw_threshold": 1.0, "scale": 0.2}}}
    net_t = AnomalyNet(trunk, bank, canvas=(h, w)).eval()
    net_t.set_template(stats)
    with_t = AnomalyModel(net_t, card_t)

    def forward() -> None:
        for i in range(0, len(x), bs):
            model.run_graph(x[i : i + bs])

    legs = {"forward": forward,
            "anomaly": lambda: [plain.forward_with_cam(x[i : i + bs]) for i in range(0, len(x), bs)],
            "template": lambda: [with_t.forward_with_cam(x[i : i + bs]) for i in range(0, len(x), bs)]}
    for leg in legs.values():
        leg()  # warm-up (the template's keypoints are found on first use)
    times: dict[str, list[float]] = {k: [] for k in legs}
    for rep in range(reps):
        for k, leg in legs.items():
            times[k] += _timeit(leg, 1)
        say("template vs anomaly vs forward", rep + 1, reps)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"template_parts": parts, "template_ms_per_image": round(med["template"] * 1000 / len(x), 2),
            "template_anomaly_ms_per_image": round(med["anomaly"] * 1000 / len(x), 2),
            "template_cost_vs_forward": round(med["template"] / med["forward"], 3),
            "template_cost_vs_anomaly": round(med["template"] / med["anomaly"], 3)}


def _cam_side_by_side(model, torch_model, x, say, reps: int) -> tuple[float | None, float | None]:
    """Per-image ms: our closed-form Grad-CAM pass (network + map, on the bench's backend) vs
    pytorch-grad-cam's GradCAM on the same layer of the torch network, each from the
    preprocessed batch to one map per image, alternated."""
    ref = None
    if torch_model is not None and getattr(torch_model.network, "backbone", None) is not None:
        try:
            from pytorch_grad_cam import GradCAM
            from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
        except ImportError:  # dev-only dependency; the bench still reports the rest
            pass
        else:
            ref = GradCAM(model=torch_model.network, target_layers=[torch_model.network.backbone])
    probs, _ = model.forward_with_cam(x)
    targets = [model._cam_target(p) for p in probs]
    ours, theirs = [], []
    if ref is not None:
        import torch

        xt = torch.from_numpy(x)
    for rep in range(reps):
        ours += _timeit(lambda: model.forward_with_cam(x), 1)
        if ref is not None:
            theirs += _timeit(lambda: ref(input_tensor=xt, targets=[ClassifierOutputTarget(t) for t in targets]), 1)
        say("cam vs reference", rep + 1, reps)
    n = len(x)
    return statistics.median(ours) * 1000 / n, (statistics.median(theirs) * 1000 / n if theirs else None)


def _store_rate(store, model, image: np.ndarray, tmp: Path, n: int = 1000) -> float:
    """Inspections/s the store sustains on its own: files + rows, in pipeline-sized batches."""
    from datetime import datetime

    import cv2

    from station.core.domain import Frame, Prediction, Result
    from station.record.recorder import Recorder

    png = cv2.imencode(".png", image)[1].tobytes()
    cam = np.random.default_rng(0).random((7, 7), dtype=np.float32)
    probs = {c: 1.0 / len(model.classes) for c in model.classes}
    rec = Recorder(store, model, "bench:store", skip_inspected=False)
    t = time.perf_counter()
    for start in range(0, n, 8):
        results = []
        for i in range(start, min(n, start + 8)):
            frame = Frame(origin=f"bench#{i}", captured_at=datetime.now(UTC), index=i, path=f"bench{i}.png")
            data = png + i.to_bytes(4, "little")  # distinct bytes: every inspection writes a file
            results.append(Result(frame, prediction=Prediction("good", 0.1, probs), cam=cam, image_shape=image.shape, data=data))
        rec.record(results)
    rec.close()
    return n / (time.perf_counter() - t)


def _opcua_server_start_s(reps: int) -> float | None:
    """Median seconds from starting the station's OPC UA server (the opcua-server output) until a
    client reads its Station.Name; None without asyncua."""
    import socket

    try:
        from asyncua import ua
        from asyncua.sync import Client
    except ImportError:
        return None
    from station.outputs.config import SinkConfig
    from station.outputs.opcua_server import NAMESPACE, OpcUaServerSink

    times = []
    for _ in range(reps):
        with socket.socket() as probe:  # a free loopback port
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sink = OpcUaServerSink(SinkConfig(kind="opcua-server", name="bench", port=port), "bench", "bench")
        t = time.perf_counter()
        sink.connect()
        try:
            with Client(f"opc.tcp://127.0.0.1:{port}/station/", timeout=5) as client:
                idx = client.get_namespace_index(NAMESPACE)
                name = client.get_node(ua.NodeId(ua.String("Station.Name"), idx)).read_value()
            times.append(time.perf_counter() - t)
            if name != "bench":
                raise RuntimeError(f"the OPC UA server answered {name!r}")
        finally:
            sink.close()
    return statistics.median(times)


def _queue_ms(path: Path, rows: int) -> float:
    """Median ms of the default queue query over `rows` inspections, a tenth of them reviewed."""
    import sqlite3

    from sqlalchemy.orm import Session

    from station.store import repo
    from station.store.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    con = sqlite3.connect(path)
    con.execute("INSERT INTO models (id, name, version, arch, classes, threshold, card, registered_at) VALUES (1,'b','b','x','[]',0.5,'{}','2026-01-01')")
    con.execute("INSERT INTO runs (id, source, model_id, station, started_at, processed, failed) VALUES (1,'b',1,'b','2026-01-01',0,0)")
    rng = np.random.default_rng(0)
    chunk = 100_000
    for start in range(0, rows, chunk):
        k = min(chunk, rows - start)
        p = rng.random(k)
        u = rng.random(k)
        lab = rng.random(k) < 0.1
        con.executemany(
            "INSERT INTO inspections (run_id, model_id, origin, captured_at, sha256, image_path, width, height, predicted,"
            " probabilities, p_defect, uncertainty, verdict, timings, label) VALUES (1,1,?,?,?,?,256,256,?,'{}',?,?,?,'{}',?)",
            (
                (f"o{start + i}", f"2026-01-01 00:{(start + i) // 60 % 60:02d}:{(start + i) % 60:02d}", f"{start + i:064x}", "i.png",
                 "good" if p[i] < 0.5 else "spot", float(p[i]), float(u[i]), "pass" if p[i] < 0.5 else "fail",
                 "good" if lab[i] else None)
                for i in range(k)
            ),
        )
        con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()
    times = []
    with Session(engine) as s:
        repo.queue(s, "uncertainty", 50)
        for _ in range(20):
            t = time.perf_counter()
            repo.queue(s, "uncertainty", 50)
            times.append(time.perf_counter() - t)
    engine.dispose()
    return statistics.median(times) * 1000
