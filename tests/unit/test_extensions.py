"""#31: a new source kind and a new sink kind are each one module and one registration line
(tests/plugins/), and a run through the public Python API uses both like the built-in ones."""

from __future__ import annotations

import json

import pytest
from gui_helpers import rows

from station.core.errors import StationError
from station.run.inspection_run import InspectionRun, RunOptions


def test_a_registered_source_and_sink_run_like_the_built_in_ones(tmp_path):
    import plugins.jsonl_sink
    import plugins.tick_source  # noqa: F401 (registering is all an import does)

    from station.outputs.config import load, save
    from station.sources.spec import parse_spec, starts_by_itself

    assert parse_spec("tick:12").kind == "tick" and starts_by_itself("tick:12")
    outputs = tmp_path / "outputs.json"
    out_file = tmp_path / "historian" / "verdicts.jsonl"
    outputs.write_text(json.dumps({"sinks": [{"kind": "jsonl", "name": "historian", "path": str(out_file)}]}))
    save(load(outputs), outputs)  # the kind's own key survives the window's save
    assert json.loads(outputs.read_text())["sinks"][0] == {"kind": "jsonl", "name": "historian", "path": str(out_file)}

    data = tmp_path / "data"
    with InspectionRun(RunOptions(source="tick:12", data=str(data), outputs=str(outputs), upkeep=False,
                                  forward_wait_s=30)) as run:
        run.open()
        judged = list(run.results())
    summary = run.summary
    assert len(judged) == 12 and summary.processed == 12
    assert summary.line_io["outputs"]["historian"]["delivered"] == 12
    lines = [json.loads(line) for line in out_file.read_text().splitlines()]
    stored = dict(rows(data, "SELECT uid, origin FROM inspections"))
    assert sorted(m["sequence"] for m in lines) == list(range(1, 13))
    assert {m["uid"]: m["origin"] for m in lines} == stored  # each message names its stored part


def test_an_unknown_kind_is_still_one_line(tmp_path):
    from station.outputs.config import load

    bad = tmp_path / "outputs.json"
    bad.write_text(json.dumps({"sinks": [{"kind": "carrier-pigeon"}]}))
    with pytest.raises(StationError, match="kind 'carrier-pigeon' is not one of mqtt, opcua"):
        load(bad)
