"""Parts, not frames: the serial the PLC gives each part at its Trigger rides on its record and
on every message, and `station part SERIAL` shows the part's whole history (its verdict, the
model and recipe that judged it, its image and heatmap, its reviews, its export) in one place.
A real Modbus TCP PLC on loopback, a real webhook receiver, the real CLI."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import run_cli, run_json
from plc_servers import ModbusPlc, Webhook, handshake_outputs, run_handshake, station_process

pytestmark = pytest.mark.slow


def test_a_part_is_found_by_the_serial_the_plc_gave_it_with_its_whole_history(demo_images, tmp_path):
    images = sorted(demo_images.rglob("*.png"))[:6]
    serials = [4711, 4712, 70_000, 0, 4715, 4_294_967_295]  # 70000 and the largest need both registers; 0 is none
    plc, hook = ModbusPlc(), Webhook()
    plc.start()
    outputs = handshake_outputs(tmp_path / "outputs.json", plc.port, hook.url)
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, p in enumerate(images):
        (folder / f"part-{i}.png").write_bytes(p.read_bytes())
    data = tmp_path / "data"
    station = station_process("run", str(folder), "--data", str(data), "--outputs", str(outputs), "--limit", str(len(images)),
                              "--forward-wait", "30", "--json")

    def set_serial(n: int) -> None:  # the PLC program writes the part's serial before it raises Trigger
        plc.set_register("serial_hi", serials[n] >> 16)
        plc.set_register("serial_lo", serials[n] & 0xFFFF)

    try:
        run_handshake(plc.get, plc.set_coil, len(images), timeout_s=60, between=set_serial)
        out, err = station.communicate(timeout=120)
    finally:
        station.kill()
        plc.close()
        hook.close()
    assert station.returncode == 0 and "Traceback" not in err, err[-3000:]
    assert json.loads(out)["processed"] == len(images)
    told = {m["origin"].rsplit("/", 1)[-1]: m["serial"] for m in hook.bodies}
    assert told == {f"part-{i}.png": (str(s) if s else None) for i, s in enumerate(serials)}, "every message names its part"

    history = run_json("part", "70000", data=data)
    [judged] = history["views"]
    assert history["serial"] == "70000" and judged["origin"].endswith("part-2.png") and judged["reviews"] == []
    assert [(p["verdict"], p["views"]) for p in history["parts"]] == [(judged["verdict"], [])] and judged["part"] == judged["uid"]
    assert judged["model"] == "default" and judged["image"] and (data / judged["image_path"]).exists()
    # Reviewed twice (the second corrects the first), then exported: all of it on the part.
    label = "good" if judged["verdict"] == "fail" else "scratch"
    run_cli("label", str(judged["id"]), label, "--by", "ann", data=data)
    run_cli("label", str(judged["id"]), "good", "--by", "bob", "--note", "looked again", data=data)
    queued = run_json("queue", "--limit", "10", data=data)
    assert len(queued) == 5 and all(q["serial"] == told[q["origin"].rsplit("/", 1)[-1]] for q in queued)
    for other in queued:
        run_cli("label", str(other["id"]), "good", "--by", "ann", data=data)
    run_cli("export", str(tmp_path / "dataset"), data=data)
    # ... and a model taught from that export (registered for the product): the part went into it.
    run_cli("teach", str(tmp_path / "dataset"), "--out", str(tmp_path / "taught-6"), "--recipe", "widgets", data=data)
    later = run_json("part", "70000", data=data)["views"][0]
    assert [(r["by"], r["label"]) for r in later["reviews"]] == [("ann", label), ("bob", "good")]
    assert later["label"] == "good" and later["reviews"][1]["note"] == "looked again" and later["exported_at"]
    assert later["trained_into"] == ["taught-6"]
    assert run_json("part", "4294967295", data=data)["views"][0]["origin"].endswith("part-5.png")
    text = run_cli("part", "70000", data=data).stdout
    assert "part 70000: 1 inspection" in text and "by bob" in text and "exported" in text and "went into models: taught-6" in text

    missing = run_cli("part", "0", data=data, check=False)
    assert missing.returncode == 2 and "no part with serial '0'" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1


def test_a_trace_bundle_holds_what_was_judged_and_verifies_against_its_hashes(demo_images, tmp_path):
    import csv
    import hashlib
    import shutil

    data = tmp_path / "data"
    run_cli("run", str(demo_images), data=data)
    queue = run_json("queue", "--limit", "3", data=data)
    run_cli("label", str(queue[0]["id"]), "good", "--by", "ann", "--note", "=HYPERLINK(\"http://x\")", data=data)
    out = tmp_path / "audit"
    made = run_json("trace", str(out), "--from", "2000-01-01", data=data)
    assert (made["inspections"], made["reviews"], made["images"], made["missing"], made["parts"]) == (24, 1, 24, 0, 24)
    assert run_json("trace", str(out), "--verify", data=data) == {"out": str(out), "ok": True, "wrong": []}
    if shutil.which("sha256sum"):  # the manifest is the standard format: an auditor needs no station to check it
        assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out).returncode == 0
    with open(out / "inspections.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 24 and all(hashlib.sha256((out / r["image"]).read_bytes()).hexdigest() == r["image_sha256"] for r in rows)
    with open(out / "reviews.csv", newline="") as f:
        [review] = list(csv.DictReader(f))
    assert review["by"] == "ann" and review["note"].startswith("'="), "a note is never run as a spreadsheet formula"

    (out / "inspections.csv").write_text((out / "inspections.csv").read_text().replace("pass", "fail", 1))
    (out / "extra.txt").write_text("slipped in")
    image = next((out / "images").iterdir())
    image.unlink()
    bad = run_cli("trace", str(out), "--verify", data=data, check=False)
    assert bad.returncode == 1
    assert {"inspections.csv: changed", "extra.txt: not in the manifest", f"images/{image.name}: missing"} <= {
        line.removeprefix("station trace: ") for line in bad.stderr.splitlines()}

    none = run_json("trace", str(tmp_path / "empty"), "--to", "2001-01-01", data=data)
    assert none["inspections"] == 0
    again = run_cli("trace", str(out), data=data, check=False)
    assert again.returncode == 2 and "not an empty folder" in again.stderr


def test_the_code_printed_on_each_part_is_its_serial_and_a_damaged_code_is_recorded_unread(tmp_path):
    import csv
    import sqlite3
    from pathlib import Path

    parts = tmp_path / "parts"
    run_cli("demo-data", str(parts), "--count", "200", "--seed", "11", "--codes", "datamatrix", "--damaged", "0.05")
    with open(parts / "codes.csv", newline="") as f:
        labels = {row["file"]: row for row in csv.DictReader(f)}
    data = tmp_path / "data"
    run_cli("run", str(parts), "--code", "datamatrix", "--no-cam", data=data)
    with sqlite3.connect(data / "station.db") as db:
        read = {Path(o).relative_to(parts).as_posix(): (s, how) for o, s, how in db.execute("SELECT origin, serial, serial_read FROM inspections")}
    assert set(read) == set(labels)
    whole = [f for f, row in labels.items() if row["damaged"] == "0"]
    damaged = [f for f, row in labels.items() if row["damaged"] == "1"]
    right = [f for f in whole if read[f] == (labels[f]["serial"], "code")]
    wrong = [f for f in labels if read[f][0] is not None and read[f][0] != labels[f]["serial"]]
    print(f"\nDataMatrix serials read on {len(right)} of {len(whole)} generated parts; {len(damaged)} damaged codes, "
          f"{sum(read[f] == (None, 'unread') for f in damaged)} recorded unread; {len(wrong)} read wrong")
    assert len(right) >= 0.99 * len(whole) and damaged and wrong == []
    assert all(read[f] == (None, "unread") for f in damaged), "a damaged code is recorded as unread, never guessed"
    part = run_json("part", labels[whole[0]]["serial"], data=data)
    assert part["views"][0]["origin"].endswith(whole[0])

    # A product reads its own kind of code: the recipe's setting, no flag needed.
    qr = tmp_path / "qr"
    run_cli("demo-data", str(qr), "--count", "12", "--seed", "12", "--codes", "qr")
    run_cli("recipes", "add", "tagged", "--model", "default", data=data)
    run_cli("recipes", "set", "tagged", "code", "qr", data=data)
    refused = run_cli("recipes", "set", "tagged", "code", "barcode", data=data, check=False)
    assert refused.returncode == 2 and "datamatrix or qr or code128 or any" in refused.stderr
    run_cli("run", str(qr), "--recipe", "tagged", "--no-cam", data=data)
    with sqlite3.connect(data / "station.db") as db:
        tagged = db.execute("SELECT count(*), count(serial) FROM inspections WHERE recipe = 'tagged' AND serial_read = 'code'").fetchone()
    assert tagged == (12, 12)
