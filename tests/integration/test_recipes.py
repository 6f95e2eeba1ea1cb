"""Recipes through the command line: a product's model, masks and golden parts, and every
inspection, queue, export and statistic kept to its product."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from common.spots import spot_parts
from conftest import run_cli, run_json


@pytest.fixture(scope="module")
def brick(tmp_path_factory) -> dict[str, Path]:
    """A fixtured brick line, taught from 30 good parts, and gravel's model as the wrong one."""
    root = tmp_path_factory.mktemp("recipes")
    run_cli("line-data", str(root / "brick"), "--line", "brick", "--good", "30", "--stream", "0", "--test", "20", "--seed", "3")
    run_cli("line-data", str(root / "gravel"), "--line", "gravel", "--good", "20", "--stream", "0", "--test", "0", "--seed", "4")
    run_cli("teach", str(root / "brick" / "good" / "good"), "--out", str(root / "m_brick"))
    run_cli("teach", str(root / "gravel" / "good" / "good"), "--out", str(root / "m_gravel"))
    return {"root": root, "line": root / "brick", "model": root / "m_brick", "other": root / "m_gravel"}


def _verdicts(data: Path) -> dict[str, tuple[str, str | None, int | None]]:
    with sqlite3.connect(data / "station.db") as db:
        return {Path(o).name: (v, r, rv) for o, v, r, rv in db.execute("SELECT origin, verdict, recipe, recipe_version FROM inspections")}


def test_a_mask_hides_a_drawn_defect_and_the_same_defect_outside_it_fails(brick, tmp_path):
    data = tmp_path / "data"
    plain, inside, outside = spot_parts(brick["line"], tmp_path / "parts")
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    before = run_json("run", str(tmp_path / "parts"), "--recipe", "brick", data=data)
    assert before["recipe"]["name"] == "brick" and before["recipe"]["golden"] is None
    first = _verdicts(data)
    # Without a mask the spot fails wherever it is: the mask below is what makes the difference.
    assert first["top-left.png"][0] == "fail" and first["bottom-right.png"][0] == "fail" and first["plain.png"][0] == "pass"

    run_cli("recipes", "set", "brick", "masks", "0.1,0.1,0.3,0.3", data=data)
    shown = run_json("recipes", "show", "brick", data=data)
    assert shown["version"] == 2 and shown["masks"] == [[0.1, 0.1, 0.3, 0.3]] and [h["version"] for h in shown["history"]] == [1, 2]
    data2 = tmp_path / "data2"  # a fresh store, so every part is judged again under the mask
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data2)
    run_cli("recipes", "set", "brick", "masks", "0.1,0.1,0.3,0.3", data=data2)
    run_json("run", str(tmp_path / "parts"), "--recipe", "brick", data=data2)
    after = _verdicts(data2)
    assert after["top-left.png"][:2] == ("pass", "brick"), "a defect inside a mask never raises an alarm"
    assert after["bottom-right.png"][0] == "fail", "the same defect outside the mask still fails"
    assert after["plain.png"][0] == "pass" and after["plain.png"][2] == 2  # stamped with the recipe's version

    data3 = tmp_path / "data3"  # a region of interest: only the bottom right is judged
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data3)
    run_cli("recipes", "set", "brick", "roi", "0.5,0.5,0.5,0.5", data=data3)
    run_json("run", str(tmp_path / "parts"), "--recipe", "brick", data=data3)
    roi = _verdicts(data3)
    assert (roi["top-left.png"][0], roi["bottom-right.png"][0], roi["plain.png"][0]) == ("pass", "fail", "pass")

    bad = run_cli("recipes", "set", "brick", "masks", "0.8,0.1,0.3,0.3", data=data2, check=False)
    assert bad.returncode == 2 and "not inside the image" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    classifier = run_cli("recipes", "add", "demo", "--model", "default", data=data2)
    assert classifier.returncode == 0
    run_cli("recipes", "set", "demo", "masks", "0.1,0.1,0.2,0.2", data=data2)
    refused = run_cli("run", str(tmp_path / "parts"), "--recipe", "demo", data=data2, check=False)
    assert refused.returncode == 2 and "cannot ignore an area" in refused.stderr


def test_golden_check_refuses_a_recipe_whose_model_was_swapped_for_a_bad_one(brick, tmp_path):
    data = tmp_path / "data"
    test = brick["line"] / "test"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    run_cli("recipes", "golden", "brick", "pass", *map(str, sorted((test / "good").glob("*.png"))[:4]), data=data)
    run_cli("recipes", "golden", "brick", "fail", *map(str, sorted((test / "scratch").glob("*.png"))[:2]), data=data)
    ok = run_json("golden", "brick", data=data)
    assert ok["passed"] and len(ok["parts"]) == 6 and ok["model"] == "m_brick"

    run_cli("recipes", "set", "brick", "model", str(brick["other"]), data=data)  # another product's model
    check = run_cli("golden", "brick", "--json", data=data, check=False)
    report = json.loads(check.stdout)
    assert check.returncode == 1 and not report["passed"] and report["wrong"] >= 1 and report["model"] == "m_gravel"
    run = run_cli("run", str(test), "--recipe", "brick", data=data, check=False)
    assert run.returncode == 2 and "golden check of brick failed" in run.stderr and "production does not start" in run.stderr
    assert _verdicts(data) == {}, "no part is judged by a recipe that failed its golden check"

    run_cli("recipes", "set", "brick", "golden_policy", "alarm", data=data)
    started = run_json("run", str(test), "--recipe", "brick", data=data)
    assert started["processed"] == 20 and started["recipe"]["golden"]["passed"] is False
    with sqlite3.connect(data / "station.db") as db:
        actions = [a for (a,) in db.execute("SELECT action FROM audit ORDER BY id")]
    assert actions.count("golden_check") == 4 and "recipe_added" in actions and "changeover" in actions


def test_queue_export_and_stats_of_one_recipe_never_include_anothers(brick, tmp_path, demo_images):
    data = tmp_path / "data"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    run_cli("recipes", "add", "demo", "--model", "default", data=data)
    run_json("run", str(brick["line"] / "test"), "--recipe", "brick", data=data)
    run_json("run", str(demo_images), "--recipe", "demo", "--limit", "12", data=data)
    listed = {r["name"]: r for r in run_json("recipes", "list", data=data)}
    assert listed["demo"]["active"] and not listed["brick"]["active"], "the last recipe run is the station's product"

    queue = {r: run_json("queue", "--recipe", r, "--limit", "100", data=data) for r in ("brick", "demo", "all")}
    assert len(queue["brick"]) == 20 and len(queue["demo"]) == 12 and len(queue["all"]) == 32
    assert len(run_json("queue", "--limit", "100", data=data)) == 12, "by default, the station's active product"
    for r in ("brick", "demo"):
        for item in queue[r][:6]:
            run_cli("label", str(item["id"]), "good" if item["verdict"] == "pass" else "scratch", "--by", "ines", data=data)
    out = run_json("export", str(tmp_path / "brick-export"), "--recipe", "brick", "--val-fraction", "0.3", data=data)
    assert out["train"] + out["val"] == 6
    with open(tmp_path / "brick-export" / "manifest.csv", newline="") as f:
        origins = [row["origin"] for row in csv.DictReader(f)]
    assert len(origins) == 6 and all(str(brick["line"]) in o for o in origins), "only brick's reviews"
    stats = {r: run_json("stats", "--recipe", r, data=data) for r in ("brick", "demo", "all")}
    assert (stats["brick"]["inspected"], stats["demo"]["inspected"], stats["all"]["inspected"]) == (20, 12, 32)
    assert stats["brick"]["recipe"] == "brick" and stats["all"]["recipe"] is None
    unknown = run_cli("queue", "--recipe", "nope", data=data, check=False)
    assert unknown.returncode == 2 and "no recipe 'nope'" in unknown.stderr and "brick" in unknown.stderr


def test_a_recipe_exported_from_one_station_imports_on_another_and_refuses_a_changed_file(brick, tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    test = brick["line"] / "test"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=here)
    run_cli("recipes", "set", "brick", "masks", "0.1,0.1,0.2,0.2", data=here)
    run_cli("recipes", "golden", "brick", "pass", *map(str, sorted((test / "good").glob("*.png"))[:2]), data=here)
    out = run_json("recipes", "export", "brick", str(tmp_path / "moved"), data=here)
    assert out["files"] >= 4 and len(out["sha256"]) == 64

    changed = tmp_path / "changed"
    import shutil

    shutil.copytree(tmp_path / "moved", changed)
    golden = next((changed / "golden").iterdir())
    golden.write_bytes(golden.read_bytes() + b"x")
    refused = run_cli("recipes", "import", str(changed), data=there, check=False)
    assert refused.returncode == 2 and "differs from the exported file" in refused.stderr
    assert run_json("recipes", "list", data=there) == [], "nothing is kept from a changed folder"

    got = run_json("recipes", "import", str(tmp_path / "moved"), data=there)
    assert got["name"] == "brick" and got["model"] == "m_brick" and got["masks"] == [[0.1, 0.1, 0.2, 0.2]]
    assert run_json("golden", "brick", data=there)["passed"], "the golden parts came along"


@pytest.mark.parametrize("protocol", ["modbus", "opcua"])
def test_the_plc_switches_products_twenty_times_mid_run_and_every_part_is_judged_as_its_trigger_said(brick, tmp_path, protocol):
    """Two taught products on one station under a real PLC (Modbus TCP, or OPC UA): the PLC sets
    the product code before each Trigger, and changes it every second part, 20 times in one run."""
    import statistics
    import subprocess
    import sys

    import cv2
    from conftest import ROOT
    from plc_servers import ModbusPlc, OpcUaPlc, run_handshake

    data = tmp_path / "data"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    run_cli("recipes", "add", "gravel", "--model", str(brick["other"]), data=data)
    codes = {"brick": 101, "gravel": 202}
    goods = {name: sorted((brick["root"] / name / "good" / "good").glob("*.png")) for name in codes}
    n = 42  # 21 blocks of 2 parts: 20 changeovers
    product = ["brick" if (i // 2) % 2 == 0 else "gravel" for i in range(n)]
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, name in enumerate(product):  # distinct images: the store keeps one row per image content and model
        image = cv2.imread(str(goods[name][i % len(goods[name])]), cv2.IMREAD_UNCHANGED)
        image[0, 0] = i
        cv2.imwrite(str(parts / f"part-{i:03d}.png"), image)

    if protocol == "modbus":
        plc: Any = ModbusPlc()
        plc.start()
        handshake = {"protocol": "modbus", "port": plc.port}
        get, set_, set_product = plc.get, plc.set_coil, lambda code: plc.set_register("product", code)
    else:
        plc = OpcUaPlc()
        plc.start()
        handshake = {"protocol": "opcua", "url": plc.url, "nodes": plc.node_ids("plc")}
        get, set_, set_product = plc.get, plc.set, lambda code: plc.set_number("product", code)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"handshake": {**handshake, "ack_timeout_s": 5,
                                                 "products": {str(c): name for name, c in codes.items()}}}))
    station = subprocess.Popen([sys.executable, "-m", "station", "run", str(parts), "--recipe", "brick", "--data", str(data),
                                "--outputs", str(outputs), "--limit", str(n), "--json"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        records = run_handshake(get, set_, n, timeout_s=60, between=lambda i: set_product(codes[product[i]]), scan_s=0.005)
        out, err = station.communicate(timeout=120)
    finally:
        station.kill()
        (plc.close if protocol == "modbus" else plc.stop)()
    assert station.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert summary["processed"] == n and summary["failed"] == 0
    assert summary["handshake"]["out_of_order"] == 0 and summary["handshake"]["ack_timeouts"] == 0
    switches = [s for s in summary["model_switches"] if "recipe" in s]
    assert len(switches) == 20 and [s["recipe"] for s in switches] == ["gravel", "brick"] * 10

    with sqlite3.connect(data / "station.db") as db:
        judged = db.execute("SELECT i.origin, i.recipe, m.name FROM inspections i JOIN models m ON m.id = i.model_id "
                            "ORDER BY i.id").fetchall()
    assert [Path(o).name for o, _, _ in judged] == [f"part-{i:03d}.png" for i in range(n)]
    models = {"brick": "m_brick", "gravel": "m_gravel"}
    wrong = [(o, r, m) for (o, r, m), want in zip(judged, product) if r != want or m != models[want]]
    assert wrong == [], "every part is judged by the recipe in force when its trigger came"
    assert [r["product_ack"] for r in records] == [codes[p] for p in product], "each result names the product it was judged as"
    assert [r["sequence"] for r in records] == list(range(1, n + 1))
    changeover = [r["ms"] for i, r in enumerate(records) if i and product[i] != product[i - 1]]
    steady = [r["ms"] for i, r in enumerate(records) if i and product[i] == product[i - 1]]
    print(f"\n{protocol}: trigger to result at a changeover: median {statistics.median(changeover):.0f} ms, max {max(changeover):.0f} ms; "
          f"without one: median {statistics.median(steady):.0f} ms")


def test_an_unknown_product_code_is_not_inspected_and_never_judged_by_the_old_recipe(brick, tmp_path):
    import subprocess
    import sys

    from conftest import ROOT
    from plc_servers import ModbusPlc, run_handshake

    data = tmp_path / "data"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    plc = ModbusPlc()
    plc.start()
    (tmp_path / "outputs.json").write_text(json.dumps({"handshake": {"protocol": "modbus", "port": plc.port, "ack_timeout_s": 5,
                                                                     "products": {"101": "brick", "303": "tiles"}}}))
    station = subprocess.Popen([sys.executable, "-m", "station", "run", str(brick["line"] / "test" / "good"), "--recipe", "brick",
                                "--data", str(data), "--outputs", str(tmp_path / "outputs.json"), "--limit", "4", "--json"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    codes = [101, 77, 303, 101]  # known; not mapped; mapped to a recipe that does not exist; known again
    try:
        records = run_handshake(plc.get, plc.set_coil, 4, timeout_s=60, between=lambda i: plc.set_register("product", codes[i]))
        out, err = station.communicate(timeout=120)
    finally:
        station.kill()
        plc.close()
    assert station.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert (summary["processed"], summary["failed"]) == (2, 2)
    assert [r["ok"] for r in records][1:3] == [False, False], "a part nobody can judge is NG, never PASS"
    assert [r["product_ack"] for r in records] == [101, 0, 0, 101]
    reasons = [e["error"] for e in summary["errors"]]
    assert "not inspected: product 77" in reasons[0] and "not mapped" in reasons[0]
    assert "not inspected: product tiles" in reasons[1] and "no recipe 'tiles'" in reasons[1]
    with sqlite3.connect(data / "station.db") as db:
        assert db.execute("SELECT count(*), count(DISTINCT recipe) FROM inspections").fetchone() == (2, 1)
        assert db.execute("SELECT count(*) FROM failures WHERE error LIKE 'not inspected%'").fetchone()[0] == 2
    assert err.count("changeover to tiles") == 1 and "Traceback" not in err


def test_an_mqtt_command_changes_the_product_from_the_next_part(brick, tmp_path):
    """A line controller publishes the new product on <topic>/recipe/set; the station answers at
    once, and every part that lands after the answer is judged as the new recipe."""
    import shutil
    import subprocess
    import sys
    import time

    import paho.mqtt.client as mqtt
    from conftest import ROOT
    from plc_servers import Mosquitto, Subscriber

    data, drop = tmp_path / "data", tmp_path / "drop"
    drop.mkdir()
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    run_cli("recipes", "add", "gravel", "--model", str(brick["other"]), data=data)
    broker = Mosquitto(tmp_path)
    broker.start()
    sub = Subscriber(broker.port, "line7/#")
    (tmp_path / "outputs.json").write_text(json.dumps({"sinks": [
        {"kind": "mqtt", "name": "mes", "port": broker.port, "topic": "line7", "commands": True}]}))
    station = subprocess.Popen([sys.executable, "-m", "station", "run", f"watch:{drop}", "--recipe", "brick", "--data", str(data),
                                "--outputs", str(tmp_path / "outputs.json"), "--limit", "6", "--json"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def until(what: str, done: Any) -> None:
        deadline = time.monotonic() + 60
        while not done():
            assert station.poll() is None, station.communicate()[1][-3000:]
            assert time.monotonic() < deadline, what
            time.sleep(0.05)

    goods = {name: sorted((brick["root"] / name / "good" / "good").glob("*.png")) for name in ("brick", "gravel")}
    try:
        until("the station's MQTT status", lambda: any(m.get("state") == "online" for m in sub.on("/status")))
        for i in range(3):
            shutil.copy(goods["brick"][i], drop / f"a-{i}.png")
        until("three verdicts", lambda: len(sub.on("/verdict")) == 3)
        asker = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="line-controller")
        asker.connect("127.0.0.1", broker.port)
        asker.loop_start()
        asker.publish("line7/recipe/set", json.dumps({"recipe": "gravel", "by": "mes"}), qos=1).wait_for_publish(10)
        until("the station's answer", lambda: sub.on("/recipe/requested"))
        asker.publish("line7/recipe/set", json.dumps({"recipe": "no such name!"}), qos=1).wait_for_publish(10)
        until("the refusal of a bad name", lambda: len(sub.on("/recipe/requested")) == 2)
        asker.loop_stop()
        asker.disconnect()
        for i in range(3):
            shutil.copy(goods["gravel"][i], drop / f"b-{i}.png")
        out, err = station.communicate(timeout=120)
    finally:
        station.kill()
        sub.close()
        broker.stop()
    assert station.returncode == 0, err[-3000:]
    answers = sub.on("/recipe/requested")
    assert answers[0] == {"station": answers[0]["station"], "recipe": "gravel", "by": "mes"} and "error" in answers[1]
    assert [m["recipe"] for m in sub.on("/verdict")] == ["brick"] * 3 + ["gravel"] * 3
    assert [m["recipe"] for m in sub.on("/recipe")] == ["brick", "gravel"]
    with sqlite3.connect(data / "station.db") as db:
        rows = db.execute("SELECT origin, recipe FROM inspections ORDER BY id").fetchall()
        how = db.execute("SELECT how, by FROM recipe_changes ORDER BY id").fetchall()
    assert [r for _, r in rows] == ["brick"] * 3 + ["gravel"] * 3
    assert how[-1] == ("mqtt", "mes")


def test_teach_makes_a_recipe_and_teaching_again_is_its_next_version(brick, tmp_path):
    data = tmp_path / "data"
    good = tmp_path / "good"  # eight parts: this is about the recipe's versions, not the model's quality
    good.mkdir()
    for f in sorted((brick["line"] / "good" / "good").glob("*.png"))[:8]:
        (good / f.name).write_bytes(f.read_bytes())
    first = run_json("teach", str(good), "--out", str(tmp_path / "m1"), "--recipe", "tile", data=data)
    assert first["recipe"]["name"] == "tile" and first["recipe"]["version"] == 1 and first["recipe"]["model"] == "m1"
    again = run_json("teach", str(good), "--out", str(tmp_path / "m2"), "--recipe", "tile", "--seed", "1", data=data)
    assert again["recipe"]["version"] == 2 and again["recipe"]["model"] == "m2"
    listed = run_json("recipes", "list", data=data)
    assert [(r["name"], r["model"], r["version"]) for r in listed] == [("tile", "m2", 2)]
    # The product's own history of models: a rollback goes back to the one before, as a new version.
    back = run_json("recipes", "rollback", "tile", data=data)
    assert (back["model"], back["version"]) == ("m1", 3)
    assert run_json("recipes", "rollback", "tile", data=data)["model"] == "m2", "a rollback of a rollback goes forward again"
    audit = run_json("audit", data=data)
    assert [e["detail"]["model"] for e in audit if e["action"] == "recipe_rollback"] == ["m2", "m1"]  # newest first
    once = run_cli("recipes", "add", "solo", "--model", "m1", data=data)
    assert once.returncode == 0
    never = run_cli("recipes", "rollback", "solo", data=data, check=False)
    assert never.returncode == 2 and "nothing to roll back to" in never.stderr
    bad = run_cli("teach", str(good), "--out", str(tmp_path / "m3"), "--recipe", "Bad Name", data=data, check=False)
    assert bad.returncode == 2 and not (tmp_path / "m3").exists(), "a bad recipe name is refused before teaching"


def test_retrain_and_train_of_one_recipe_learn_only_its_reviews(tmp_path, demo_images):
    """Two products judged by the same model: Retrain of one exports and learns only its own
    reviews, and `train --recipe` points that product (and no other) at the new model."""
    from station.learn.retrain import export_dir, retrain

    data = tmp_path / "data"
    halves = {"left": tmp_path / "left", "right": tmp_path / "right"}
    for i, f in enumerate(sorted(demo_images.rglob("*.png"))):
        dest = halves["left" if i % 2 else "right"] / f.parent.name
        dest.mkdir(parents=True, exist_ok=True)
        (dest / f.name).write_bytes(f.read_bytes())
    for name, folder in halves.items():
        run_cli("recipes", "add", name, "--model", "default", data=data)
        run_json("run", str(folder), "--recipe", name, data=data)
    for item in run_json("queue", "--recipe", "all", "--limit", "100", data=data):
        run_cli("label", str(item["id"]), Path(item["origin"]).parent.name, "--by", "ines", data=data)

    result = retrain(str(data), epochs=2)  # the station's product: the last one run
    assert result.recipe == "right"
    with open(export_dir(str(data)) / "manifest.csv", newline="") as f:
        origins = [row["origin"] for row in csv.DictReader(f)]
    right = len(list(halves["right"].rglob("*.png")))
    assert len(origins) == result.export.train + result.export.val == right
    assert all(str(halves["right"]) in o for o in origins), "no part of the other product"

    trained = run_json("train", str(export_dir(str(data))), "--recipe", "right", "--out", str(tmp_path / "m-right"),
                       "--epochs", "2", data=data)
    listed = {r["name"]: r for r in run_json("recipes", "list", data=data)}
    assert listed["left"]["model"] == "default" and listed["left"]["version"] == 1, "the other product is untouched"
    if (trained.get("comparison") or {}).get("verdict") == "worse":
        assert "recipe" not in trained and listed["right"]["model"] == "default"
    else:
        assert trained["recipe"]["name"] == "right" and (listed["right"]["model"], listed["right"]["version"]) == ("m-right", 2)

    mixed = retrain(str(data), epochs=2, recipe="all")  # mixing products only when asked
    assert mixed.recipe is None and mixed.export.train + mixed.export.val == len(list(demo_images.rglob("*.png")))
    refused = run_cli("train", str(export_dir(str(data))), "--recipe", "all", "--out", str(tmp_path / "m-all"), data=data, check=False)
    assert refused.returncode == 2 and "name the one" in refused.stderr and not (tmp_path / "m-all").exists()


def test_golden_check_at_each_shift_start_and_a_refusal_fails_every_part_until_started_again(brick, tmp_path):
    """The run's clock is the test's: the night passes between two parts. The check at the next
    shift passes; after the recipe's model is swapped, the one after refuses, and from then on
    no part is judged (each fails as not inspected, so the reject gate takes it)."""
    import shutil
    from datetime import datetime, timedelta

    from station.run.inspection_run import InspectionRun, RunOptions

    data, hot = tmp_path / "data", tmp_path / "hot"
    hot.mkdir()
    test = brick["line"] / "test"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    run_cli("recipes", "golden", "brick", "pass", *map(str, sorted((test / "good").glob("*.png"))[:3]), data=data)
    run_cli("recipes", "golden", "brick", "fail", *map(str, sorted((test / "scratch").glob("*.png"))[:1]), data=data)
    run_cli("settings", "floor.shifts", "06:00,18:00", data=data)
    now = [datetime(2026, 12, 7, 7, 0).astimezone()]
    run = InspectionRun(RunOptions(source=f"watch:{hot}", data=str(data), recipe="brick", upkeep=False, skip_inspected=False),
                        clock=lambda: now[0])
    thread, results = _in_thread(run)
    parts = sorted((brick["line"] / "good" / "good").glob("*.png"))[:9]
    try:
        for shift, batch in enumerate((parts[:3], parts[3:6], parts[6:9])):
            if shift == 2:
                run_cli("recipes", "set", "brick", "model", str(brick["other"]), data=data)  # swapped in the night
            now[0] += timedelta(hours=12 if shift else 0)
            for p in batch:
                shutil.copy(p, hot / f"{shift}-{p.name}")
            _wait(lambda n=3 * (shift + 1): len(results) == n or not thread.is_alive())
    finally:
        run.stop()
        thread.join(timeout=120)
    verdicts = [(Path(r.frame.origin).name[0], r.error) for r in results]
    assert [s for s, e in verdicts if e is None] == ["0"] * 3 + ["1"] * 3, "the first two shifts judge every part"
    refused = [e for s, e in verdicts if s == "2"]
    # Found by the look for a new version of the product, or at the shift start, whichever came first.
    assert len(refused) == 3 and all(("golden check at shift start" in e or "new version of brick was refused" in e)
                                     and "golden check of brick failed" in e for e in refused)
    with sqlite3.connect(data / "station.db") as db:
        checks = [json.loads(d)["passed"] for (d,) in db.execute("SELECT detail FROM audit WHERE action = 'golden_check' ORDER BY id")]
    assert checks == [True, True, False], "at the start, at the next shift, and the refusal: each recorded"


def _in_thread(run) -> tuple[Any, list]:
    """The run opened and judging on a thread of its own (as the window's worker does); its
    results are appended to the list as they come."""
    import threading

    results: list = []

    def go() -> None:
        with run:
            run.open()
            results.extend(run.results())

    thread = threading.Thread(target=go)
    thread.start()
    return thread, results


def _wait(done, timeout: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_recipe_changed_on_the_command_line_reaches_the_running_station_between_two_parts(brick, tmp_path):
    """`station recipes set` while a station runs the product: the run looks for a new version
    between two parts (every 2 s), and the parts after it are judged by it, without a restart;
    recorded as a changeover `edit` with who made the change."""
    import shutil

    from station.run.inspection_run import InspectionRun, RunOptions

    data, hot = tmp_path / "data", tmp_path / "hot"
    hot.mkdir()
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=data)
    run = InspectionRun(RunOptions(source=f"watch:{hot}", data=str(data), recipe="brick", upkeep=False, skip_inspected=False))
    thread, results = _in_thread(run)
    goods = sorted((brick["line"] / "good" / "good").glob("*.png"))
    try:
        shutil.copy(goods[0], hot / "0.png")
        _wait(lambda: len(results) == 1 or not thread.is_alive())
        run_cli("recipes", "set", "brick", "threshold", "0.999", "--user", "erin", data=data)
        # One part at a time (each waits for the hot folder's half-second settle) until one is judged
        # by the new version: the first after the run's next look.
        for n, p in enumerate(goods[1:21], start=1):
            shutil.copy(p, hot / f"{n}.png")
            _wait(lambda n=n: len(results) == n + 1 or not thread.is_alive())
            if _verdicts(data).get(f"{n}.png", ("", "", 1))[2] == 2:
                break
    finally:
        run.stop()
        thread.join(timeout=120)
    versions = [rv for _, (_, _, rv) in sorted(_verdicts(data).items(), key=lambda kv: int(kv[0].split(".")[0]))]
    assert versions[0] == 1 and versions[-1] == 2 and versions == sorted(versions), versions
    with sqlite3.connect(data / "station.db") as db:
        assert db.execute("SELECT name, version, by, how FROM recipe_changes ORDER BY id DESC LIMIT 1").fetchone() == ("brick", 2, "erin", "edit")
        assert json.loads(db.execute("SELECT detail FROM audit WHERE action = 'recipe_changed' ORDER BY id DESC").fetchone()[0])["threshold"] == 0.999


def test_each_view_of_a_part_is_judged_as_its_own_recipe_with_its_own_model(brick, tmp_path):
    """A top of brick and a side of gravel: judged by brick's model alone, the sides fail (they
    are another material); with the product naming the side's own recipe, every part passes and
    each view's row says which model judged it."""
    import shutil

    top, side = tmp_path / "top", tmp_path / "side"
    top.mkdir()
    side.mkdir()
    bricks = sorted((brick["line"] / "good" / "good").glob("*.png"))[:8]
    gravels = sorted((brick["root"] / "gravel" / "good" / "good").glob("*.png"))[:8]
    for n, (t, s) in enumerate(zip(bricks, gravels)):
        shutil.copy(t, top / f"{n:04d}.png")
        shutil.copy(s, side / f"{n:04d}.png")
    views = f"views:top={top},side={side}"

    def judged(data: Path) -> tuple[dict[str, int], dict[str, set[str]]]:
        run = run_json("run", views, "--recipe", "brick", data=data)
        with sqlite3.connect(data / "station.db") as db:
            models: dict[str, set[str]] = {}
            for view, name in db.execute("SELECT view, models.name FROM inspections JOIN models ON models.id = inspections.model_id"):
                models.setdefault(view, set()).add(name)
        return run["parts"], models

    alone = tmp_path / "alone"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=alone)
    parts, models = judged(alone)
    assert parts["fail"] >= 4, f"gravel sides judged by brick's model should fail: {parts}"
    assert models == {"top": {"m_brick"}, "side": {"m_brick"}}

    own = tmp_path / "own"
    run_cli("recipes", "add", "brick", "--model", str(brick["model"]), data=own)
    run_cli("recipes", "add", "gravel-side", "--model", str(brick["other"]), data=own)
    run_cli("recipes", "set", "brick", "views", "side=gravel-side", data=own)
    parts, models = judged(own)
    assert parts == {"pass": 8, "fail": 0, "error": 0}
    assert models == {"top": {"m_brick"}, "side": {"m_gravel"}}
    # The same parts again: every view was judged by its own recipe's model already, so each is
    # skipped, the side views too (they were once judged again by checking the product's model).
    again = run_json("run", views, "--recipe", "brick", data=own)
    assert again["processed"] == 0 and again["skipped"] == 16, again

    run_cli("recipes", "set", "brick", "views", "side=nosuch", data=own)
    refused = run_cli("run", views, "--recipe", "brick", data=own, check=False)
    assert refused.returncode == 2 and "the side view's recipe nosuch: no recipe 'nosuch'" in refused.stderr
    bad = run_cli("recipes", "set", "brick", "views", "side", data=own, check=False)
    assert bad.returncode == 2 and "VIEW=RECIPE" in bad.stderr
