"""What the test_bad_models tests of more than one tier share."""

from __future__ import annotations

import json
import shutil

from station.core.config import default_model_dir


def copy_default(tmp_path, name="m"):
    d = tmp_path / name
    shutil.copytree(default_model_dir(), d)
    return d


def edit_card(d, **fields):
    card = json.loads((d / "card.json").read_text())
    card.update(fields)
    (d / "card.json").write_text(json.dumps(card))


def refused(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr
