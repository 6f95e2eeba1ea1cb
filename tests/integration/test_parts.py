"""Parts, not frames: the serial the PLC gives each part at its Trigger rides on its record and
on every message, and `station part SERIAL` shows the part's whole history (its verdict, the
model and recipe that judged it, its image and heatmap, its reviews, its export) in one place.
A real Modbus TCP PLC on loopback, a real webhook receiver, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli, run_json
from plc_servers import ModbusPlc, Webhook, run_handshake

pytestmark = pytest.mark.slow


def test_a_part_is_found_by_the_serial_the_plc_gave_it_with_its_whole_history(demo_images, tmp_path):
    images = sorted(demo_images.rglob("*.png"))[:6]
    serials = [4711, 4712, 70_000, 0, 4715, 4_294_967_295]  # 70000 and the largest need both registers; 0 is none
    plc, hook = ModbusPlc(), Webhook()
    plc.start()
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"handshake": {"protocol": "modbus", "port": plc.port, "ack_timeout_s": 5, "serial": True},
                                   "sinks": [{"kind": "webhook", "name": "mes", "url": hook.url}]}))
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, p in enumerate(images):
        (folder / f"part-{i}.png").write_bytes(p.read_bytes())
    data = tmp_path / "data"
    station = subprocess.Popen([sys.executable, "-m", "station", "run", str(folder), "--data", str(data), "--outputs", str(outputs),
                                "--limit", str(len(images)), "--forward-wait", "30", "--json"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

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
    [judged] = history["inspections"]
    assert history["serial"] == "70000" and judged["origin"].endswith("part-2.png") and judged["reviews"] == []
    assert judged["model"] == "default" and judged["image"] and (data / judged["image_path"]).exists()
    # Reviewed twice (the second corrects the first), then exported: all of it on the part.
    label = "good" if judged["verdict"] == "fail" else "scratch"
    run_cli("label", str(judged["id"]), label, "--by", "ann", data=data)
    run_cli("label", str(judged["id"]), "good", "--by", "bob", "--note", "looked again", data=data)
    run_cli("export", str(tmp_path / "dataset"), data=data)
    later = run_json("part", "70000", data=data)["inspections"][0]
    assert [(r["by"], r["label"]) for r in later["reviews"]] == [("ann", label), ("bob", "good")]
    assert later["label"] == "good" and later["reviews"][1]["note"] == "looked again" and later["exported_at"]
    assert run_json("part", "4294967295", data=data)["inspections"][0]["origin"].endswith("part-5.png")
    text = run_cli("part", "70000", data=data).stdout
    assert "part 70000: 1 inspection" in text and "by bob" in text and "exported" in text

    missing = run_cli("part", "0", data=data, check=False)
    assert missing.returncode == 2 and "no part with serial '0'" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
