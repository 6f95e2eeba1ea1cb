"""Two inference backends, one set of verdicts: torch (which trains) and ONNX Runtime (the default
where installed). Exports are made when a model is saved, registered or promoted, and a load
refuses an export that does not belong to its card."""

from __future__ import annotations

import json

from station.core.config import default_model_dir


def test_the_shipped_model_carries_a_matching_export():
    card = json.loads((default_model_dir() / "card.json").read_text())
    from station.core.fileutil import file_sha256

    assert card["onnx_sha256"] == file_sha256(default_model_dir() / "model.onnx")
