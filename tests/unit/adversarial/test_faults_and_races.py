"""Faults, races and hostile names: a second process, a paused writer, a damaged registry, a corrupt
or read-only database, escape sequences and link loops in file names. Each case once failed (or
would have) on the station's own CLI; each now gets one line or the right rows."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from common.one_line import one_line
from conftest import run_cli, run_json


def test_train_refuses_an_unusable_out_before_training(data_dir, demo_images, tmp_path):
    f = tmp_path / "afile"
    f.write_text("keep me")
    proc = run_cli("train", str(demo_images), "--out", str(f), "--epochs", "1", check=False, data=data_dir)
    one_line(proc, "is a file, not a folder")  # the one line: no epoch was reported, so none ran
    assert "adapter" not in proc.stderr and f.read_text() == "keep me", "refused before any training"
    d = tmp_path / "notes"
    d.mkdir()
    (d / "plan.txt").write_text("keep me")
    one_line(run_cli("train", str(demo_images), "--out", str(d), check=False, data=data_dir), "holds something other than a model")
    one_line(run_cli("teach", str(demo_images / "good"), "--out", str(f), check=False, data=data_dir), "is a file, not a folder")
    assert f.read_text() == "keep me" and (d / "plan.txt").read_text() == "keep me"


def test_a_corrupt_database_is_one_line_and_never_written(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    junk = os.urandom(40_000)
    (data / "station.db").write_bytes(junk)
    for args in (["label", "1", "good", "--by", "ann"], ["queue"], ["export", str(tmp_path / "out")]):
        one_line(run_cli(*args, check=False, data=data), "station.db")
    assert (data / "station.db").read_bytes() == junk


# -- hostile names -----------------------------------------------------------------------------------------
def test_escape_sequences_in_file_names_never_reach_the_terminal(demo_images, data_dir, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    good = sorted((demo_images / "good").glob("*.png"))[0]
    shutil.copy(good, src / "a\x1b[31mRED\x1b]0;pwned\x07.png")
    (src / "b\x1b[2J\u202eevil.png").write_bytes(b"not an image")
    proc = run_cli("run", str(src), data=data_dir)
    queue = run_cli("queue", data=data_dir)
    for text in (proc.stderr, queue.stdout):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[2J" in proc.stderr and "\\u202e" in proc.stderr, "the name is shown, escaped"
    assert "\\x1b[31mRED" in queue.stdout
    assert run_json("queue", data=data_dir)[0]["origin"].endswith("a\x1b[31mRED\x1b]0;pwned\x07.png"), "JSON keeps the real name"


def test_link_loops_and_dangling_links_are_reported_by_name(demo_images, data_dir, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(demo_images / "good", src)
    (src / "loop.png").symlink_to("loop.png")
    (src / "dangling.png").symlink_to("nowhere.png")
    (src / "sub").mkdir()
    (src / "sub" / "up").symlink_to("..")
    out = run_json("run", str(src), data=data_dir)
    errors = {Path(e["origin"]).name: e["error"] for e in out["errors"]}
    assert errors.keys() == {"loop.png", "dangling.png", "up"}
    assert "loop" in errors["loop.png"] and "nothing" in errors["dangling.png"] and "not followed" in errors["up"]
    assert out["processed"] == len(list((demo_images / "good").glob("*.png")))
