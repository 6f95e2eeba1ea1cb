"""What the test_learning tests of more than one tier share."""

from __future__ import annotations

import pytest
from conftest import run_cli, run_json


@pytest.fixture(scope="module")
def brick(tmp_path_factory):
    out = tmp_path_factory.mktemp("brick")
    run_cli("line-data", str(out), "--line", "brick", "--good", "20", "--stream", "40", "--test", "40", "--seed", "3")
    return out


@pytest.fixture(scope="module")
def brick_taught(brick, tmp_path_factory):
    model = tmp_path_factory.mktemp("models") / "brick-1"
    result = run_json("teach", str(brick / "good"), "--out", str(model), "--bank", "1024")
    return model, result
