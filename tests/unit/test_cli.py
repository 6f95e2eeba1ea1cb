"""The CLI contract: queue and label, inspect, models and promote, bench, version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli, run_json

from station import __version__


def test_version_and_help_are_quick():
    import subprocess
    import sys

    from conftest import ROOT

    # Quick because nothing heavy is imported: an interpreter start plus argparse.
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "station", "--version"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.stdout.strip() == f"station {__version__}"
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "station" in imported and not imported & {"torch", "torchvision", "cv2", "onnxruntime", "PySide6", "sqlalchemy"}, imported
    for cmd in ("run", "queue", "label", "export", "train", "evaluate", "demo-data", "models", "promote", "bench", "inspect"):
        assert "usage: station" in run_cli(cmd, "--help").stdout


@pytest.fixture(scope="module")
def reviewed_data(tmp_path_factory, demo_images):
    data = tmp_path_factory.mktemp("data")
    run_json("run", str(demo_images), data=data)
    return data


def test_queue_orders(reviewed_data):
    unc = run_json("queue", "--limit", "100", data=reviewed_data)
    assert len(unc) == 24
    assert set(unc[0]) >= {"id", "origin", "image", "predicted", "p_defect", "verdict", "captured_at"}
    u = [i["uncertainty"] for i in unc]
    assert u == sorted(u, reverse=True)
    defects = run_json("queue", "--order", "defects", "--limit", "5", data=reviewed_data)
    p = [i["p_defect"] for i in defects]
    assert p == sorted(p, reverse=True) and len(p) == 5
    recent = run_json("queue", "--order", "recent", "--limit", "100", data=reviewed_data)
    assert [i["captured_at"] for i in recent] == sorted((i["captured_at"] for i in recent), reverse=True)
    assert recent[0]["captured_at"].endswith("+00:00")


def test_label_confirm_relabel_and_refusals(reviewed_data):
    item = run_json("queue", "--limit", "1", data=reviewed_data)[0]
    out = run_json("label", str(item["id"]), item["predicted"], "--by", "ann", data=reviewed_data)
    assert out == {**out, "id": item["id"], "label": item["predicted"], "previous": item["predicted"]}
    again = run_cli("label", str(item["id"]), "dent", "--by", "bob", "--json", data=reviewed_data)
    body = json.loads(again.stdout)
    assert body["previous"] == item["predicted"] and body["label"] == "dent"
    assert "already reviewed by ann" in again.stderr
    ids = [i["id"] for i in run_json("queue", "--limit", "100", data=reviewed_data)]
    assert item["id"] not in ids and len(ids) == 23

    for bad in ("../x", "Scratch", "a" * 65, ""):
        proc = run_cli("label", str(item["id"]), bad, "--by", "ann", data=reviewed_data, check=False)
        assert proc.returncode == 2 and "invalid label" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = run_cli("label", "999999", "good", "--by", "ann", data=reviewed_data, check=False)
    assert proc.returncode == 2 and "no inspection with id 999999" in proc.stderr


def test_inspect_json_and_heatmap(tmp_path, demo_images):
    import cv2

    image = sorted((demo_images / "crack").glob("*.png"))[0]
    heat = tmp_path / "heat.png"
    out = run_json("inspect", str(image), "--heatmap", str(heat))
    assert set(out) >= {"label", "p_defect", "verdict", "probabilities", "box"}
    assert out["verdict"] == "fail" and out["label"] != "good"
    x, y, w, h = out["box"]
    img = cv2.imread(str(image))
    assert 0 <= x < img.shape[1] and 0 < w <= img.shape[1] and 0 < h <= img.shape[0]
    written = cv2.imread(str(heat))
    assert written.shape == img.shape
    proc = run_cli("inspect", str(tmp_path / "none.png"), check=False)
    assert proc.returncode == 2 and "image not found" in proc.stderr


def test_models_and_promote(tmp_path, data_dir):
    from station.core.config import default_model_dir

    models = run_json("models", data=data_dir)
    assert [m["name"] for m in models] == ["default"] and models[0]["active"]
    # Every key the changelog promises, with the shipped card's values.
    assert set(models[0]) == {"name", "active", "kind", "classes", "metrics", "test_metrics", "threshold",
                              "calibrated_threshold", "created", "arch", "parent", "path"}
    assert models[0]["kind"] == "classifier" and models[0]["calibrated_threshold"] == models[0]["threshold"] == pytest.approx(0.678, abs=5e-4)
    assert models[0]["test_metrics"]["f1"] >= 0.98 and "seed 99" in models[0]["test_metrics"]["split"]
    proc = run_cli("promote", str(default_model_dir()), "--as", "copy", data=data_dir)
    assert "copy" in proc.stdout
    models = {m["name"]: m for m in run_json("models", data=data_dir)}
    assert models["copy"]["active"] and not models["default"]["active"]
    proc = run_cli("promote", "ghost", data=data_dir, check=False)
    assert proc.returncode == 2 and "no model named 'ghost'" in proc.stderr


def test_upgrade_refreshes_the_shipped_default_model(data_dir):
    """A data dir registered by an older release holds an older `default`; the new one replaces it."""
    from station.core.config import default_model_dir

    run_json("models", data=data_dir)
    stale = data_dir / "models" / "default" / "card.json"
    stale.write_text(stale.read_text().replace('"threshold"', '"old_threshold"', 1))
    (data_dir / "models" / "default" / "model.safetensors").write_bytes(b"an older release's weights")
    out = run_json("inspect", str(next((default_model_dir().parent.parent / "resources" / "demo" / "good").glob("*.png"))), data=data_dir)
    assert out["verdict"] in ("pass", "fail")
    assert stale.read_bytes() == (default_model_dir() / "card.json").read_bytes()


def test_registry_first_start_is_safe_from_many_threads(tmp_path):
    """The window's worker and its I/O thread resolve the model at the same moment on a fresh
    install (this raced once: two writers of one temporary file)."""
    import threading

    from station.model.registry import list_models, resolve_model

    errors: list[BaseException] = []

    def hit(fn):
        try:
            fn(str(tmp_path))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=hit, args=(fn,)) for fn in (list_models, lambda d: resolve_model(None, d)) * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [m.name for m in list_models(str(tmp_path))] == ["default"]
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["ACTIVE", "default"], "no temporary files left"


def test_doctor_reports_every_check_and_names_the_one_that_fails(tmp_path, demo_images, data_dir):
    run_json("run", str(demo_images), data=data_dir)  # stored images: the disk check has a rate to project
    report = run_json("doctor", "--cameras", "2", data=data_dir)
    for name in ("versions", "devices", "cameras", "database", "store", "outputs", "disk", "models", "log"):
        assert report[name]["ok"] is True, (name, report[name])
    assert report["ok"] is True
    assert report["versions"]["packages"]["torch"].startswith("2.14.1")
    assert report["database"]["inspections"] == 24 and report["database"]["schema"]
    assert report["disk"]["bytes_per_day_last_week"] > 0 and report["disk"]["days_until_full"] > 0
    assert report["models"]["active"] == "default"
    assert report["log"]["path"] == str(data_dir / "logs" / "station.log") and Path(report["log"]["path"]).is_file()
    # A database that does not open fails its own check, in one line, and the rest still report.
    broken = run_json("doctor", "--cameras", "0", "--db", f"sqlite:///{tmp_path}/no/such/dir/x.db", data=data_dir)
    assert broken["ok"] is False and broken["database"]["ok"] is False
    assert "cannot open database" in broken["database"]["detail"] and "\n" not in broken["database"]["detail"]
    assert broken["versions"]["ok"] and broken["disk"]["ok"] and broken["models"]["ok"]
