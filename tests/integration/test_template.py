"""The registered golden template: a fixtured product's good parts, registered to one another, as
the anomaly model's second opinion. Measured on the stochastic real-photo line (gravel), where
the patch memory alone confuses faint defects with stone edges."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import label_in_process, run_cli, run_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gravel(tmp_path_factory):
    out = tmp_path_factory.mktemp("gravel")
    run_cli("line-data", str(out), "--line", "gravel", "--good", "20", "--stream", "30", "--test", "60", "--seed", "5")
    return out


@pytest.fixture(scope="module")
def gravel_taught(gravel, tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    proc = run_cli("teach", str(gravel / "good"), "--out", str(models / "gravel-1"), "--bank", "512")
    bare = run_json("teach", str(gravel / "good"), "--out", str(models / "gravel-bare"), "--bank", "512", "--template", "off")
    return models / "gravel-1", models / "gravel-bare", proc.stdout, bare


def test_teach_keeps_a_template_when_the_good_parts_register(gravel_taught, gravel, data_dir):
    model, bare, said, bare_json = gravel_taught
    assert "registered template: yes" in said
    card = json.loads((model / "card.json").read_text())
    tmpl = card["anomaly"]["template"]
    assert tmpl["used"] is True and tmpl["registered"] == tmpl["of"] == 20
    assert len(tmpl["good_scores"]) == 20 and tmpl["raw_threshold"] > 0
    assert bare_json["template"] is False and "turned off" in bare_json["template_note"]
    assert json.loads((bare / "card.json").read_text())["anomaly"]["template"]["used"] is False
    # The texture memory is for material with no template: here the template sees what it would.
    assert card["anomaly"]["texture"] == {"used": False, "reason": "the registered template judges this line"}
    assert bare_json["texture"] is True and "texture memory: yes" not in said
    # Cold start from 20 good parts, no defect ever shown: the template tells gravel's faint
    # stains, spots and cracks from stone edges; the patch memory alone does far worse.
    with_t = run_json("evaluate", str(gravel / "test"), "--model", str(model), data=data_dir)
    without = run_json("evaluate", str(gravel / "test"), "--model", str(bare), data=data_dir)
    assert with_t["auroc"] >= 0.95 and with_t["f1"] >= 0.85, with_t
    assert with_t["auroc"] > without["auroc"] + 0.1, (with_t, without)


def test_the_template_map_peaks_on_a_faint_defect(gravel_taught):
    from station.model import load_model
    from station.train.photolines import _finish, capture, draw_defect, load_photo

    model, bare, _, _ = gravel_taught
    m = load_model(str(model))
    photo = load_photo("gravel")
    for i, (kind, center) in enumerate([("stain", (80, 170)), ("spot", (180, 70)), ("crack", (128, 128))]):
        rng = np.random.default_rng(200 + i)
        img = capture(photo, 256, rng)
        draw_defect(img, kind, 0.5, rng, center=center)  # half strength: hard to see by eye on gravel
        part = _finish(img, rng)
        assert m.predict([part])[0].label != "good", kind
        heat = m.cam(part)
        y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
        assert np.hypot(x - center[0], y - center[1]) < 40, (kind, x, y)
    # A good part of the same product passes.
    rng = np.random.default_rng(299)
    assert m.predict([_finish(capture(photo, 256, rng), rng)])[0].label == "good"


def test_a_template_model_runs_the_same_on_both_backends(gravel_taught, gravel):
    from backend_checks import compare_backends

    from station.core.imageio import decode, read_bytes

    model = gravel_taught[0]
    images = [decode(read_bytes(p)) for p in sorted((gravel / "test").rglob("*.png"))]
    got = compare_backends(model, images)
    print(f"\ntemplate model: backends agree on {got['images']} gravel parts, worst heatmap r {got['worst_heatmap_r']:.5f}")


def test_parts_that_do_not_repeat_get_no_template(demo_images, tmp_path):
    """Generated textures are a new piece of material each: nothing to register, so teaching says
    why it kept no template; `--template on` refuses in one line."""
    said = run_cli("teach", str(demo_images / "good"), "--out", str(tmp_path / "m"), "--bank", "256").stdout
    assert "registered template: no" in said and "register to one another" in said, said
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["anomaly"]["template"]["used"] is False
    proc = run_cli("teach", str(demo_images / "good"), "--out", str(tmp_path / "m2"), "--template", "on", check=False)
    errors = [line for line in proc.stderr.splitlines() if "error" in line]  # the rest is teach's progress
    assert proc.returncode == 2 and len(errors) == 1 and "--template on" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "m2").exists()


def test_reviews_of_a_templated_line_retrain_into_a_hybrid(gravel_taught, gravel, data_dir, tmp_path):
    """Teach -> inspect -> review -> retrain on the stochastic line: reviewed good parts join the
    template as well as the patch memory, and the hybrid keeps the template's sight."""
    model, _, _, _ = gravel_taught
    run = run_json("run", str(gravel / "line"), "--model", str(model), data=data_dir)
    assert run["processed"] == 30 and run["failed"] == 0
    for q in run_json("queue", "--limit", "24", data=data_dir):
        label_in_process(data_dir, q["id"], q["origin"].replace("\\", "/").split("/")[-2], "qa")
    run_json("export", str(tmp_path / "reviewed"), data=data_dir)
    trained = run_json("train", str(tmp_path / "reviewed"), "--base", str(model), "--out", str(tmp_path / "gravel-2"),
                       "--epochs", "5", data=data_dir)
    card = json.loads((tmp_path / "gravel-2" / "card.json").read_text())
    tmpl = card["anomaly"]["template"]
    assert trained["kind"] == "hybrid" and tmpl["used"] is True
    assert tmpl["reviewed_good_absorbed"] == card["training"]["reviewed_good_into_bank"] > 0, tmpl
    after = run_json("evaluate", str(gravel / "test"), "--model", str(tmp_path / "gravel-2"), data=data_dir)
    assert after["auroc"] >= 0.95 and after["f1"] >= 0.85, after


def test_a_part_of_another_product_fails(gravel_taught, tmp_path):
    """Nothing of a brick face registers to the gravel product: the model says anomaly."""
    from station.model import load_model
    from station.train.photolines import _finish, capture, load_photo

    model, _, _, _ = gravel_taught
    rng = np.random.default_rng(7)
    brick = _finish(capture(load_photo("brick"), 256, rng), rng)
    pred = load_model(str(model)).predict([brick])[0]
    assert pred.label == "anomaly" and pred.p_defect > 0.9


def test_a_damaged_template_is_one_line(gravel_taught, gravel, tmp_path, data_dir):
    from safetensors.torch import load_file, save_file

    model, _, _, _ = gravel_taught
    image = str(next((gravel / "test" / "good").glob("*.png")))
    nan = tmp_path / "nan-template"
    shutil.copytree(model, nan)
    state = load_file(str(nan / "model.safetensors"))
    state["template_sd"][10, 10] = float("nan")
    save_file(state, str(nan / "model.safetensors"))
    card = json.loads((nan / "card.json").read_text())
    card.pop("weights_sha256")
    (nan / "card.json").write_text(json.dumps(card))
    proc = run_cli("inspect", image, "--model", str(nan), check=False, data=data_dir)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "template_sd" in proc.stderr and "Traceback" not in proc.stderr

    bad = tmp_path / "bad-canvas"
    shutil.copytree(model, bad)
    card = json.loads((bad / "card.json").read_text())
    card["anomaly"]["template"]["canvas"] = [3, "wide"]
    (bad / "card.json").write_text(json.dumps(card))
    proc = run_cli("inspect", image, "--model", str(bad), check=False, data=data_dir)
    assert proc.returncode == 2 and "anomaly.template.canvas" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1

    resized = tmp_path / "other-canvas"
    shutil.copytree(model, resized)
    card = json.loads((resized / "card.json").read_text())
    card["anomaly"]["template"]["canvas"] = [64, 64]  # the card no longer matches the tensors
    (resized / "card.json").write_text(json.dumps(card))
    proc = run_cli("inspect", image, "--model", str(resized), check=False, data=data_dir)
    assert proc.returncode == 2 and "template_mean" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
