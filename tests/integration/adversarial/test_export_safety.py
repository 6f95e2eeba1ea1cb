"""Export never touches a file outside OUT, never loses a file it did not write, and a crash or
a second export costs one line, not a blocked folder."""

from __future__ import annotations

import os

import pytest
from common.redteam_export_safety import one_line_error, victim_dir
from conftest import run_cli, run_json

pytestmark = pytest.mark.slow  # many command-line round trips


def test_a_linked_split_folder_is_refused_and_its_target_untouched(reviewed, tmp_path):
    out = tmp_path / "out"
    run_json("export", str(out), data=reviewed)
    victim = victim_dir(tmp_path)
    import shutil

    shutil.rmtree(out / "train")
    os.symlink(victim, out / "train")
    one_line_error(run_cli("export", str(out), check=False, data=reviewed), "symbolic link")
    assert sorted(p.name for p in victim.iterdir()) == ["keep0.txt", "keep1.txt", "keep2.txt"]
