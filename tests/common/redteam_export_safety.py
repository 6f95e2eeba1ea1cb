"""What the test_export_safety tests of more than one tier share."""

from __future__ import annotations

import pytest
from conftest import run_cli, run_json


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, demo_images):
    data = tmp_path_factory.mktemp("export-data")
    run_cli("run", str(demo_images), data=data)
    for item in run_json("queue", "--limit", "10", data=data):
        run_cli("label", str(item["id"]), item["origin"].replace("\\", "/").split("/")[-2], "--by", "=HYPERLINK(\"x\")", data=data)
    return data


def one_line_error(proc, *words):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in proc.stderr


def victim_dir(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    for i in range(3):
        (victim / f"keep{i}.txt").write_text("precious")
    return victim
