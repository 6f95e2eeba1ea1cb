"""No model file can make the station pass every part: a bad card, a bad threshold override,
weights that do not match their card. Each is one line naming the file and the field, and a
model that cannot load is never made active."""

from __future__ import annotations

import json

import pytest
from common.redteam_bad_models import copy_default, edit_card, refused
from conftest import run_cli, run_json


@pytest.fixture()
def image(demo_images):
    return str(next((demo_images / "crack").glob("*.png")))


@pytest.mark.parametrize("threshold", [7, -1, 0, 1, float("nan"), float("inf"), None, "0.5", True])
def test_a_card_threshold_outside_zero_one_is_refused(tmp_path, image, data_dir, threshold):
    d = copy_default(tmp_path)
    edit_card(d, threshold=threshold)
    refused(run_cli("inspect", image, "--model", str(d), check=False, data=data_dir), "card.json", "threshold")


@pytest.mark.parametrize("norm", [{"mean": [0.5, 0.5, 0.5], "std": [0, 1, 1]}, {"mean": [0.5], "std": [1]},
                                  {"mean": "x", "std": [1, 1, 1]}, {"mean": [0.5, 0.5, float("nan")], "std": [1, 1, 1]}])
def test_a_bad_normalization_is_refused(tmp_path, image, data_dir, norm):
    d = copy_default(tmp_path)
    edit_card(d, normalization=norm)
    refused(run_cli("inspect", image, "--model", str(d), check=False, data=data_dir), "normalization")


@pytest.mark.parametrize("size", [0, -5, "224", 1e9, 10.5])
def test_a_bad_input_size_is_refused(tmp_path, image, data_dir, size):
    d = copy_default(tmp_path)
    edit_card(d, input_size=size)
    refused(run_cli("inspect", image, "--model", str(d), check=False, data=data_dir), "input_size")


def test_a_good_only_model_is_refused(tmp_path, image, data_dir):
    d = copy_default(tmp_path)
    edit_card(d, classes=["good"])
    refused(run_cli("inspect", image, "--model", str(d), check=False, data=data_dir), "defect type")


def test_a_threshold_override_of_seven_is_refused_not_used(image, data_dir):
    run_json("models", data=data_dir)  # registers the default
    (data_dir / "models" / "thresholds.json").write_text(json.dumps({"default": 7}))
    refused(run_cli("inspect", image, check=False, data=data_dir), "thresholds.json", "between 0 and 1")
    (data_dir / "models" / "thresholds.json").write_text("[1, 2")
    refused(run_cli("inspect", image, check=False, data=data_dir), "thresholds.json")


def test_weights_that_do_not_match_their_card_are_refused(tmp_path, image, data_dir):
    d = copy_default(tmp_path)
    edit_card(d, weights_sha256="0" * 64)  # a card left behind by a kill between the two writes
    refused(run_cli("inspect", image, "--model", str(d), check=False, data=data_dir), "weights_sha256")


@pytest.mark.parametrize("classes", ["good,crack", [1, 2], ["good", "good", "crack"], None])
def test_wrong_typed_classes_are_refused(tmp_path, image, data_dir, classes):
    d = copy_default(tmp_path)
    edit_card(d, classes=classes)
    refused(run_cli("inspect", image, "--model", str(d), check=False, data=data_dir), "card.json", "classes")


@pytest.mark.parametrize("text", ["[]", "null", "{not json", ""])
def test_a_card_that_is_not_an_object_is_refused(tmp_path, image, data_dir, text):
    d = copy_default(tmp_path)
    (d / "card.json").write_text(text)
    refused(run_cli("inspect", image, "--model", str(d), check=False, data=data_dir), "card.json")


GOOD_SCORE = {"raw_threshold": 30.0, "scale": 1.0, "floor": 20.0}


@pytest.mark.parametrize("anomaly, field", [
    (None, "anomaly"),
    ({**GOOD_SCORE, "scale": float("nan")}, "anomaly.scale"),
    ({**GOOD_SCORE, "template": {"used": True, "canvas": [4, 4], "raw_threshold": 1, "scale": 1}}, "anomaly.template.canvas"),
    ({**GOOD_SCORE, "colour": {"used": True, "raw_threshold": 0.05, "scale": 0.01}}, "anomaly.colour.bank"),
    ({**GOOD_SCORE, "colour": {"used": True, "raw_threshold": None, "scale": 0.01, "bank": 64}}, "anomaly.colour.raw_threshold"),
    ({**GOOD_SCORE, "types": {"classes": ["crack"], "count": 0, "cut": 1.0}}, "anomaly.types"),
])
def test_a_bad_anomaly_section_is_refused_before_the_weights_are_read(tmp_path, image, data_dir, anomaly, field):
    """Every rule about a card is checked where the card is read, once: a colour memory with no
    size, or a NaN scale, is one line naming the field, not a failure deep in the first verdict."""
    d = copy_default(tmp_path)
    edit_card(d, kind="anomaly", anomaly=anomaly)
    refused(run_cli("inspect", image, "--model", str(d), check=False, data=data_dir), "card.json", field)
