"""The CLI contract: queue and label, inspect, models and promote, bench, version."""

from __future__ import annotations

import os

import pytest
from conftest import run_json


@pytest.mark.slow
def test_bench_runs_and_reports_contract_keys():
    out = run_json("bench", "--images", "8", "--queue-rows", "3000", "--reps", "1")
    for key in ("forward_images_per_s", "pipeline_images_per_s", "pipeline_vs_forward", "cam_ms",
                "reference_cam_ms", "cam_speedup_vs_reference", "queue_ms_1m", "store_inspections_per_s",
                "onnxruntime_vs_torch_forward", "opcua_server_start_s", "anomaly_cost_vs_forward", "colour_ms_per_image",
                "colour_cost_vs_anomaly", "changeover_ms", "changeover_max_ms", "part_ms", "changeover_vs_part",
                "two_view_parts_per_s", "two_views_vs_half_one_view"):
        assert out[key] is not None and out[key] > 0, key
    assert len(out["pipeline_ms_per_image_by_rep"]) == 1  # --reps 1: one timed round of each
    # A changeover is a row, a golden check of two parts and the part: more than the part alone.
    assert out["changeover_ms"] > out["part_ms"] and out["changeover_max_ms"] >= out["changeover_ms"]
    # Both backends measured in the one run; the pipeline figures are on the default one.
    assert out["backend"] == "onnxruntime" and set(out["backends"]) == {"torch", "onnxruntime"}
    assert out["forward_images_per_s"] == out["backends"]["onnxruntime"]["forward_images_per_s"]
    assert out["onnxruntime_vs_torch_forward"] == pytest.approx(
        out["backends"]["onnxruntime"]["forward_images_per_s"] / out["backends"]["torch"]["forward_images_per_s"], rel=0.01)


def test_window_without_a_display_is_one_line_not_a_qt_abort():
    import subprocess
    import sys

    from conftest import ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "station"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("station gui: error: no display") and len(proc.stderr.strip().splitlines()) == 1
