"""The demo-data generator is deterministic for a seed and lays out an ImageFolder tree."""

import hashlib

from conftest import run_cli


def _digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.png"))}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    run_cli("demo-data", str(tmp_path / "a"), "--count", "15", "--seed", "3")
    run_cli("demo-data", str(tmp_path / "b"), "--count", "15", "--seed", "3")
    run_cli("demo-data", str(tmp_path / "c"), "--count", "15", "--seed", "4")
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert len(a) == 15 and a == b
    assert set(a.values()).isdisjoint(c.values())
    classes = {k.split("/")[0] for k in a}
    assert classes == {"good", "crack", "scratch", "spot", "stain"}


def test_progress_is_one_finished_line_per_update(tmp_path):
    """Not a terminal: each update is a whole line, `demo-data: done/total`, ending at the total."""
    proc = run_cli("demo-data", str(tmp_path / "p"), "--count", "12", "--seed", "5")
    lines = proc.stderr.splitlines()
    progress = [line for line in lines if line.startswith("demo-data: ")]
    assert progress and progress[-1] == "demo-data: 12/12"
    assert proc.stderr.endswith("\n") and lines[-1].startswith("wrote 12 images")


def test_unknown_family_is_one_line_error(tmp_path):
    proc = run_cli("demo-data", str(tmp_path / "x"), "--families", "marble", check=False)
    assert proc.returncode != 0
    assert "unknown texture family 'marble'" in proc.stderr and "Traceback" not in proc.stderr
