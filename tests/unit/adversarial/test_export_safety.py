"""Export never touches a file outside OUT, never loses a file it did not write, and a crash or
a second export costs one line, not a blocked folder."""

from __future__ import annotations

import csv
import os

from common.redteam_export_safety import one_line_error, victim_dir
from conftest import run_cli, run_json


def test_a_linked_class_folder_is_refused(reviewed, tmp_path):
    out = tmp_path / "out"
    run_json("export", str(out), data=reviewed)
    victim = victim_dir(tmp_path)
    (out / "val" / "zzz").symlink_to(victim)
    one_line_error(run_cli("export", str(out), check=False, data=reviewed), "symbolic link")
    assert len(list(victim.iterdir())) == 3


def test_planted_links_at_old_temporary_names_redirect_nothing(reviewed, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".station-export").touch()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for name in (".manifest.csv.tmp", ".dataset.json.tmp"):
        (out / name).symlink_to(victim)
    run_json("export", str(out), data=reviewed)
    assert victim.read_text() == "precious"
    assert (out / "manifest.csv").is_file() and not (out / "manifest.csv").is_symlink()


def test_a_linked_manifest_is_refused(reviewed, tmp_path):
    out = tmp_path / "out"
    run_json("export", str(out), data=reviewed)
    victim = tmp_path / "victim.csv"
    victim.write_text("precious")
    (out / "manifest.csv").unlink()
    (out / "manifest.csv").symlink_to(victim)
    one_line_error(run_cli("export", str(out), check=False, data=reviewed), "symbolic link")
    assert victim.read_text() == "precious"


def test_files_export_did_not_write_survive_a_re_export(reviewed, tmp_path):
    out = tmp_path / "out"
    first = run_json("export", str(out), data=reviewed)
    label = next(iter(first["classes"]))
    split = "train" if (out / "train" / label).is_dir() else "val"
    mine = out / split / label / "my-notes.png"
    mine.write_bytes(b"not an export")
    run_json("export", str(out), data=reviewed)
    assert mine.read_bytes() == b"not an export"


def test_a_crashed_first_export_is_resumed_not_refused(reviewed, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".station-export").touch()  # what a kill leaves before the manifest exists
    (out / "train").mkdir()
    (out / "train" / "good").mkdir()
    result = run_json("export", str(out), data=reviewed)
    assert result["train"] + result["val"] == 10


def test_a_second_export_into_the_same_folder_is_refused_while_one_runs(reviewed, tmp_path):
    import fcntl

    out = tmp_path / "out"
    run_json("export", str(out), data=reviewed)
    fd = os.open(out / ".station-export.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # an export in progress holds this
    try:
        one_line_error(run_cli("export", str(out), check=False, data=reviewed), "another export")
    finally:
        os.close(fd)
    run_json("export", str(out), data=reviewed)


def test_manifest_cells_cannot_run_as_formulas(reviewed, tmp_path):
    out = tmp_path / "out"
    run_json("export", str(out), data=reviewed)
    with open(out / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["reviewed_by"] == "'=HYPERLINK(\"x\")" for r in rows)
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values())
