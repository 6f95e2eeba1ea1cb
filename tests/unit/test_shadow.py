"""Shadow mode through the CLI: a candidate judges 100 live parts beside the active model; its
verdicts are stored apart, the line's are the active model's, and `station shadow` compares
the two, then says who was right once parts are reviewed."""

from __future__ import annotations

from conftest import run_cli


def test_shadow_refuses_the_active_model_and_a_missing_one_in_one_line(tmp_path, data_dir, demo_images):
    same = run_cli("run", str(demo_images), "--shadow", "default", data=data_dir, check=False)
    assert same.returncode == 2 and "is the active model itself" in same.stderr and "Traceback" not in same.stderr
    # Every disk counts as low here, so the refusal is shown to come before the run's disk check.
    run_cli("settings", "disk.warn_percent", "100", data=data_dir)
    missing = run_cli("run", str(demo_images), "--shadow", str(tmp_path / "nope"), data=data_dir, check=False)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.stderr
    none = run_cli("shadow", data=data_dir, check=False)
    assert none.returncode == 2 and "no model has been tried in shadow yet" in none.stderr
