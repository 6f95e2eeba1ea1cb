"""Shadow mode through the CLI: a candidate judges 100 live parts beside the active model; its
verdicts are stored apart, the line's are the active model's, and `station shadow` compares
the two, then says who was right once parts are reviewed."""

from __future__ import annotations

import sqlite3

from conftest import run_cli, run_json


def _db(data, sql: str) -> list[tuple]:
    with sqlite3.connect(data / "station.db") as conn:
        return list(conn.execute(sql))


def test_a_candidate_judges_100_live_parts_beside_the_active_model(tmp_path, data_dir):
    from station.train import synth

    parts, good = tmp_path / "parts", tmp_path / "teach"
    synth.generate(parts, count=100, seed=5)
    synth.generate(good, count=40, seed=9)
    run_cli("teach", str(good / "good"), "--out", str(tmp_path / "candidate"), "--bank", "512", data=data_dir)

    summary = run_json("run", str(parts), "--shadow", str(tmp_path / "candidate"), "--no-cam", data=data_dir)
    assert summary["processed"] == 100
    assert summary["shadow"]["judged"] == 100 and summary["shadow"]["missed"] == 0
    # The line's record is the active model's alone: its verdicts, one row per part.
    line = dict(_db(data_dir, "SELECT verdict, count(*) FROM inspections GROUP BY verdict"))
    assert line == {k: v for k, v in summary["verdicts"].items() if v}
    rows = _db(data_dir, "SELECT i.id, i.verdict, s.verdict FROM inspections i JOIN shadow_verdicts s ON s.inspection_id = i.id")
    assert len(rows) == 100 and len({r[0] for r in rows}) == 100

    report = run_json("shadow", data=data_dir)
    assert report["candidate"] == "candidate" and report["active"] == ["default"] and report["parts"] == 100
    assert report["agree"] == sum(a == c for _, a, c in rows)
    assert report["candidate_fail"] == sum(c == "fail" for *_, c in rows)
    assert report["only_candidate_fail"] == sum(c == "fail" and a == "pass" for _, a, c in rows)
    assert report["reviewed"] == 0 and report["candidate_scores"] is None

    # An inspector reviews 20 parts: the report says who was right on those.
    truth = {}
    for inspection_id, origin in _db(data_dir, "SELECT id, origin FROM inspections ORDER BY id LIMIT 20"):
        truth[inspection_id] = origin.replace("\\", "/").split("/")[-2]
        run_cli("label", str(inspection_id), truth[inspection_id], "--by", "ines", data=data_dir)
    verdicts = {i: (a, c) for i, a, c in rows}
    report = run_json("shadow", "--model", "candidate", data=data_dir)
    assert report["reviewed"] == 20
    assert report["active_scores"]["right"] == sum((verdicts[i][0] == "fail") == (t != "good") for i, t in truth.items())
    assert report["candidate_scores"]["right"] == sum((verdicts[i][1] == "fail") == (t != "good") for i, t in truth.items())
    text = run_cli("shadow", data=data_dir).stdout
    assert "on 20 reviewed parts" in text and "beside default on 100 parts" in text
