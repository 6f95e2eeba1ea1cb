"""A part seen from two sides: two folders paired by file name under a real Modbus TCP PLC that
gives each part a serial. One answer per part after both views are judged; a part whose view
never came (or cannot be read) is NOT INSPECTED with the reason, never passed; every part is one
row of its own and its views are rows that name it. The real CLI, a real webhook receiver."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import run_cli, run_json
from plc_servers import ModbusPlc, Webhook, handshake_outputs, run_handshake, station_process

pytestmark = pytest.mark.slow

PARTS = 200


def test_two_views_a_part_one_answer_each_and_a_missing_view_never_passes(tmp_path):
    made = tmp_path / "made"
    run_cli("demo-data", str(made), "--count", str(2 * PARTS), "--seed", "5")
    images = sorted(made.rglob("*.png"))
    top, side = tmp_path / "top", tmp_path / "side"
    top.mkdir()
    side.mkdir()
    # The good tops first, so a part whose side is missing would pass on its top alone.
    images.sort(key=lambda p: (p.parent.name != "good", p.name))
    for n in range(PARTS):
        (top / f"{n:04d}.png").write_bytes(images[n].read_bytes())
        (side / f"{n:04d}.png").write_bytes(images[PARTS + n].read_bytes())
    gone = {3, 40, 77}  # their side view never comes
    for n in gone:
        (side / f"{n:04d}.png").unlink()
    (side / "0005.png").write_bytes(b"not a picture")  # and this side view cannot be read

    plc, hook = ModbusPlc(), Webhook()
    plc.start()
    outputs = handshake_outputs(tmp_path / "outputs.json", plc.port, hook.url)
    data = tmp_path / "data"
    station = station_process("run", f"views:top={top},side={side}", "--data", str(data), "--outputs", str(outputs),
                              "--forward-wait", "30", "--json")

    def set_serial(n: int) -> None:
        plc.set_register("serial_hi", 0)
        plc.set_register("serial_lo", 5000 + n)

    try:
        answers = run_handshake(plc.get, plc.set_coil, PARTS, timeout_s=60, between=set_serial)
        plc.set_coil("trigger", True)  # one trigger more: the folders are done, the run ends
        out, err = station.communicate(timeout=120)
    finally:
        station.kill()
        plc.close()
        hook.close()
    assert station.returncode == 0 and "Traceback" not in err, err[-3000:]
    summary = json.loads(out)
    assert summary["handshake"]["parts"] == PARTS and summary["handshake"]["ack_timeouts"] == 0
    assert [a["sequence"] for a in answers] == list(range(1, PARTS + 1)), "one answer per part, in order"
    not_inspected = gone | {5}
    for n in not_inspected:
        assert not answers[n]["ok"] and answers[n]["code"] == 255, f"part {n} lacks a view and must be rejected as not judged"
    assert all(answers[n]["code"] != 255 for n in range(PARTS) if n not in not_inspected)
    assert summary["parts"]["error"] == len(not_inspected) and sum(summary["parts"].values()) == PARTS

    assert len(hook.bodies) == PARTS, "one message a part, not one a view"
    by_serial = {m["serial"]: m for m in hook.bodies}
    assert set(by_serial) == {str(5000 + n) for n in range(PARTS)}
    missing = by_serial["5003"]
    assert missing["verdict"] == "error" and missing["view"] == "side" and "0003 is not in" in missing["reason"]
    assert by_serial["5005"]["verdict"] == "error" and by_serial["5005"]["reason"].startswith("side: ")
    fails = [m for m in hook.bodies if m["verdict"] == "fail"]
    assert fails and all(m["view"] in ("top", "side") and m["label"] != "good" for m in fails)

    with sqlite3.connect(data / "station.db") as db:
        parts = db.execute("SELECT uid, serial, verdict, view, reason FROM parts").fetchall()
        views = db.execute("SELECT part_uid, view, serial FROM inspections").fetchall()
    assert len(parts) == PARTS and len(views) == 2 * PARTS - len(not_inspected)
    assert {uid for uid, *_ in parts} == {uid for uid, *_ in views}, "every view names its part"
    assert all(serial == next(s for u, s, *_ in parts if u == uid) for uid, _, serial in views)
    assert not [p for p in parts if p[1] in {str(5000 + n) for n in not_inspected} and p[2] != "error"]

    # The part's history shows the part and both of its views.
    fail = fails[0]["serial"]
    history = run_json("part", fail, data=data)
    assert history["verdict"] == "fail" and [p["views"] for p in history["parts"]] == [["top", "side"]]
    assert sorted(v["view"] for v in history["views"]) == ["side", "top"]
    assert len({v["part"] for v in history["views"]}) == 1
    text = run_cli("part", "5003", data=data).stdout
    assert "part ERROR (no side view: 0003 is not in" in text and "views top, side" in text

    # An auditor's bundle holds every part, the three not inspected among them, and checks against its hashes.
    bundle = tmp_path / "audit"
    made = run_json("trace", str(bundle), data=data)
    assert made["parts"] == PARTS and made["inspections"] == 2 * PARTS - len(not_inspected)
    assert run_json("trace", str(bundle), "--verify", data=data)["ok"]
    assert sum(line.count(",error,") for line in (bundle / "parts.csv").read_text().splitlines()) == len(not_inspected)

    # Each view has its own model: an export holds one view's reviews, never a mix of sides.
    with sqlite3.connect(data / "station.db") as db:
        ids = db.execute("SELECT id, view FROM inspections ORDER BY id LIMIT 12").fetchall()
    for iid, _ in ids:
        run_cli("label", str(iid), "good", "--by", "ann", data=data)
    mixed = run_cli("export", str(tmp_path / "mixed"), data=data, check=False)
    assert mixed.returncode == 2 and "several views (side, top)" in mixed.stderr and "--view" in mixed.stderr
    side_only = run_json("export", str(tmp_path / "side-set"), "--view", "side", data=data)
    assert side_only["train"] + side_only["val"] == sum(v == "side" for _, v in ids) > 0
    with open(tmp_path / "side-set" / "manifest.csv", newline="") as f:
        assert {row["view"] for row in __import__("csv").DictReader(f)} == {"side"}
