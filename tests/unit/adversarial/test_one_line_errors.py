"""Input the station cannot act on gets one line and a non-zero exit, never a traceback; and its
data directory is private."""

from __future__ import annotations

import os
import stat

import pytest
from common.one_line import one_line
from conftest import run_cli


def test_data_naming_a_file_or_an_impossible_folder(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    one_line(run_cli("queue", "--data", str(f), check=False), "is a file")
    one_line(run_cli("queue", "--data", str(f / "sub"), check=False), "cannot create data directory")


@pytest.mark.parametrize("args,word", [
    (["label", "99999999999999999999", "good", "--by", "x"], "outside"),
    (["label", "-3", "good", "--by", "x"], "outside"),
    (["queue", "--limit", "100000000000"], "outside"),
    (["queue", "--limit", "ten"], "not a whole number"),
    (["demo-data", "OUT", "--size", "0"], "outside"),
    (["train", "resources/demo", "--out", "OUT", "--input-size", "0"], "outside"),  # was silently 256
    (["run", "resources/demo", "--batch-size", "0"], "outside"),
    (["run", "resources/demo", "--pace", "nan"], "between 0 and 86400"),
    (["run", "resources/demo", "--forward-wait", "-5"], "between 0 and 86400"),
    (["stats", "--store", "ftp://host/x"], "unknown store"),
    (["stats", "--station", "  "], "needs a name"),
])
def test_absurd_numbers_are_refused_in_one_line(args, word, data_dir):
    one_line(run_cli(*args, check=False, data=data_dir), word)


@pytest.mark.parametrize("device,word", [("cuda", "no CUDA GPU"), ("cuda:3", "no CUDA GPU"), ("bogus", "use auto, cpu")])
def test_devices_this_machine_lacks_are_one_line(device, word, data_dir, demo_images):
    image = str(next((demo_images / "good").glob("*.png")))
    one_line(run_cli("inspect", image, "--device", device, check=False, data=data_dir), word)
    # The same on onnxruntime, whose providers say it in their own words.
    one_line(run_cli("inspect", image, "--device", device, "--backend", "onnxruntime", check=False, data=data_dir), word)


@pytest.mark.parametrize("args", [["demo-data", "{f}"], ["demo-data", "{f}/x"], ["export", "{f}/x"], ["backup", "{f}/x"]])
def test_an_output_folder_under_a_file_is_one_line(args, tmp_path, data_dir):
    """These four reached the crash handler (exit 1, a traceback in the log) at 0.9.1."""
    f = tmp_path / "afile"
    f.write_text("keep me")
    one_line(run_cli(*[a.format(f=f) for a in args], check=False, data=data_dir), "a file stands where a folder must be")
    assert f.read_text() == "keep me"


def test_demo_data_takes_data_like_every_command(tmp_path, data_dir):
    proc = run_cli("demo-data", str(tmp_path / "out"), "--count", "3", data=data_dir)
    assert proc.returncode == 0 and len(list((tmp_path / "out").rglob("*.png"))) == 3


def test_the_data_dir_and_database_are_private(tmp_path):
    data = tmp_path / "fresh"
    run_cli("queue", "--data", str(data))
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(data / "station.db").st_mode) == 0o600


@pytest.mark.parametrize("args", [
    ("models", "--db", "postgresql+psycopg://qa:s3cret-pw@127.0.0.1:1/station"),  # a line that cannot be reached: one line, masked
    ("queue", "--limit", "x", "--db", "postgresql+psycopg://qa:s3cret-pw@127.0.0.1:1/station"),
    ("promote", "default", "--db", "postgresql+psycopg://qa:s3cret-pw@127.0.0.1:1/station"),
])
def test_a_database_password_is_never_printed(args, data_dir):
    proc = run_cli(*args, data=data_dir, check=False)
    assert proc.returncode != 0 and "s3cret-pw" not in proc.stderr + proc.stdout, proc.stderr
    if "postgresql" in proc.stderr:  # echoed: with the password masked
        assert "qa:***@" in proc.stderr, proc.stderr
