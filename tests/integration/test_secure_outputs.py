"""Secure transports to the line, against real servers with certificates made in the test
(tests/plc_servers.make_certs, make_ua_certs): MQTT over TLS with a client certificate (mosquitto
with `require_certificate`); the PLC handshake and the OPC UA sink signed and encrypted
(Basic256Sha256) against a PLC that offers nothing else; and a peer that refuses the station,
which is a refusal with its own exit, not an outage (#34)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli
from plc_servers import Mosquitto, OpcUaPlc, Subscriber, make_certs, make_ua_certs, run_handshake

pytestmark = pytest.mark.slow


PARTS = 12


@pytest.fixture()
def parts(tmp_path, demo_images) -> Path:
    out = tmp_path / "parts"
    out.mkdir()
    for p in sorted(demo_images.rglob("*.png"))[:PARTS]:
        shutil.copy(p, out / f"{p.parent.name}-{p.name}")
    return out


def _outputs(tmp_path: Path, broker: Mosquitto, **tls: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"sinks": [{"kind": "mqtt", "name": "broker", "port": broker.port, "topic": "line/{station}",
                                           **{k: str(v) for k, v in tls.items()}}]}))
    return path


def test_mqtt_over_tls_with_a_client_certificate_delivers_every_verdict(parts, tmp_path):
    certs = make_certs(tmp_path / "pki")
    broker = Mosquitto(tmp_path, tls=certs)
    broker.start()
    sub = Subscriber(broker.port, "line/#", tls=certs)
    try:
        outputs = _outputs(tmp_path, broker, ca_file=certs.ca, cert_file=certs.client, key_file=certs.client_key)
        proc = run_cli("run", str(parts), "--outputs", str(outputs), "--station", "st-tls", "--json",
                       data=tmp_path / "data")
        summary = json.loads(proc.stdout)
        deadline = time.monotonic() + 30
        while len(sub.on("/verdict")) < PARTS and time.monotonic() < deadline:
            time.sleep(0.1)
        got = sub.on("/verdict")
    finally:
        sub.close()
        broker.kill()
    assert summary["outputs"]["broker"]["delivered"] == PARTS and "refused" not in summary["outputs"]["broker"]
    assert sorted(Path(m["origin"]).name for m in got) == sorted(p.name for p in parts.iterdir())


def test_a_broker_the_station_does_not_trust_is_a_refusal_with_its_own_exit(parts, tmp_path):
    certs = make_certs(tmp_path / "pki")
    stranger = make_certs(tmp_path / "other", name="other")  # the station was given another plant's authority
    broker = Mosquitto(tmp_path, tls=certs)
    broker.start()
    try:
        outputs = _outputs(tmp_path, broker, ca_file=stranger.ca, cert_file=stranger.client, key_file=stranger.client_key)
        proc = run_cli("run", str(parts), "--outputs", str(outputs), "--json", "--forward-wait", "1",
                       data=tmp_path / "data", check=False)
        # `station doctor` says it too, from the station's own outputs file, without sending anything.
        shutil.copy(outputs, tmp_path / "data" / "outputs.json")
        doctor = json.loads(run_cli("doctor", "--json", "--cameras", "0", data=tmp_path / "data").stdout)["outputs"]
    finally:
        broker.kill()
    assert proc.returncode == 3, proc.stderr[-2000:]
    out = json.loads(proc.stdout)["outputs"]["broker"]
    assert out["delivered"] == 0 and out["undelivered"] == PARTS
    assert "not trusted" in out["refused"], out
    assert "refused this station" in proc.stderr and "Traceback" not in proc.stderr
    [told] = doctor["sinks"]
    assert not doctor["ok"] and told["reachable"] is False and "not trusted" in told["refused"], doctor
    assert told["waiting"] == PARTS and "refuses this station" in doctor["detail"]
    # Nothing is lost: the verdicts wait in the outbox for the next start, after the fix.
    fixed = _outputs(tmp_path, broker, ca_file=certs.ca, cert_file=certs.client, key_file=certs.client_key)
    broker.start()
    sub = Subscriber(broker.port, "line/#", tls=certs)
    try:
        again = run_cli("run", str(parts), "--outputs", str(fixed), "--json", data=tmp_path / "data")
        deadline = time.monotonic() + 30
        while len(sub.on("/verdict")) < PARTS and time.monotonic() < deadline:
            time.sleep(0.1)
        got = sub.on("/verdict")
    finally:
        sub.close()
        broker.kill()
    assert json.loads(again.stdout)["outputs"]["broker"]["undelivered"] == 0
    assert len({m["uid"] for m in got}) >= PARTS
    # With the broker stopped, the doctor tells an outage from a refusal.
    shutil.copy(fixed, tmp_path / "data" / "outputs.json")
    down = json.loads(run_cli("doctor", "--json", "--cameras", "0", data=tmp_path / "data").stdout)["outputs"]
    assert not down["ok"] and down["sinks"][0]["refused"] == "" and down["sinks"][0]["waiting"] == 0
    assert "unreachable" in down["detail"], down


def test_the_plc_handshake_and_the_opcua_sink_are_signed_and_encrypted(parts, tmp_path):
    certs = make_ua_certs(tmp_path / "pki")
    plc = OpcUaPlc(security=certs)
    plc.start()
    security = {"policy": "Basic256Sha256", "mode": "SignAndEncrypt", "cert_file": str(certs.client),
                "key_file": str(certs.client_key), "server_cert": str(certs.server)}
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({
        "handshake": {"protocol": "opcua", "url": plc.url, "nodes": plc.node_ids("plc"), "security": security},
        "sinks": [{"kind": "opcua", "name": "scada", "url": plc.url, "nodes": plc.node_ids("scada"), "security": security}]}))
    # --limit: under a handshake a run waits for the next Trigger before it looks for the next part.
    station = subprocess.Popen([sys.executable, "-m", "station", "run", str(parts), "--outputs", str(outputs), "--json",
                                "--limit", str(PARTS),
                                "--data", str(tmp_path / "data")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        records = run_handshake(plc.get, plc.set, PARTS, timeout_s=60)
        out, err = station.communicate(timeout=120)
    finally:
        station.kill()
        plc.stop()
    assert station.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert [r["sequence"] for r in records] == list(range(1, PARTS + 1))
    assert summary["handshake"]["parts"] == PARTS and summary["handshake"]["out_of_order"] == 0
    assert summary["outputs"]["scada"]["delivered"] == PARTS and sorted(plc.sequence_writes) == list(range(1, PARTS + 1))


def test_a_plc_that_only_speaks_encrypted_refuses_a_plain_station(parts, tmp_path):
    plc = OpcUaPlc(security=make_ua_certs(tmp_path / "pki"))
    plc.start()
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"sinks": [{"kind": "opcua", "name": "scada", "url": plc.url, "nodes": plc.node_ids("scada")}]}))
    try:
        proc = run_cli("run", str(parts), "--outputs", str(outputs), "--json", "--forward-wait", "1",
                       data=tmp_path / "data", check=False)
    finally:
        plc.stop()
    assert proc.returncode == 3, proc.stderr[-2000:]
    out = json.loads(proc.stdout)["outputs"]["scada"]
    assert out["delivered"] == 0 and out["undelivered"] == PARTS and "refused the connection" in out["refused"], out
    assert plc.sequence_writes == []


def _read_station(url: str, node: str, security: str | None) -> object:
    from asyncua.sync import Client

    client = Client(url, timeout=5)
    if security:
        client.set_security_string(security)
    try:
        client.connect()
        return client.get_node(f"ns=2;s=Station.{node}").read_value()
    finally:
        try:
            client.disconnect()  # after a refused connect too: it stops the client's loop thread
        except Exception:  # noqa: BLE001 (a refused client has nothing to say goodbye to)
            pass


def test_the_stations_own_opcua_server_lets_in_only_pinned_clients(parts, tmp_path):
    """The opcua-server sink with "security": SCADA with its pinned certificate reads the
    station's nodes, signed and encrypted; a client without security, and one whose certificate
    is not pinned, are refused."""
    from line_servers import free_port

    station_certs = make_ua_certs(tmp_path / "pki")  # `server` is the station's, `client` SCADA's
    stranger = make_ua_certs(tmp_path / "other", name="other")
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/station/"
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"sinks": [{
        "kind": "opcua-server", "name": "scada-read", "host": "127.0.0.1", "port": port,
        "security": {"cert_file": str(station_certs.server), "key_file": str(station_certs.server_key),
                     "client_certs": [str(station_certs.client)]}}]}))
    scada = f"Basic256Sha256,SignAndEncrypt,{station_certs.client},{station_certs.client_key},{station_certs.server}"
    hot = tmp_path / "hot"
    hot.mkdir()
    images = sorted(parts.glob("*.png"))
    station = subprocess.Popen([sys.executable, "-m", "station", "run", f"watch:{hot}", "--outputs", str(outputs), "--json",
                                "--station", "press-4", "--limit", "2", "--data", str(tmp_path / "data")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    refusals = []
    try:
        deadline = time.monotonic() + 120
        while True:  # until the station's server answers
            try:
                name = _read_station(url, "Name", scada)
                break
            except Exception:  # noqa: BLE001 (not listening yet)
                assert time.monotonic() < deadline and station.poll() is None, "the station's OPC UA server did not start"
                time.sleep(0.2)
        shutil.copy(images[0], hot / images[0].name)
        while _read_station(url, "Sequence", scada) != 1:
            assert time.monotonic() < deadline and station.poll() is None, "the first part was not published"
            time.sleep(0.1)
        verdict = _read_station(url, "LastVerdict", scada)
        for security in (None, f"Basic256Sha256,SignAndEncrypt,{stranger.client},{stranger.client_key},{station_certs.server}"):
            try:
                _read_station(url, "LastVerdict", security)
            except Exception as exc:  # noqa: BLE001 (any refusal will do; what matters is that nothing was read)
                refusals.append(f"{type(exc).__name__}: {exc}")
            else:
                refusals.append("read")
        shutil.copy(images[1], hot / images[1].name)
        out, err = station.communicate(timeout=120)
    finally:
        station.kill()
    assert station.returncode == 0, err[-3000:]
    assert name == "press-4" and verdict in ("pass", "fail")
    plain, unpinned = refusals
    assert "No matching endpoints" in plain and "SecurityPolicy#None" in plain, plain  # no endpoint without security
    assert unpinned.startswith("BadCertificateUntrusted"), unpinned
    assert json.loads(out)["processed"] == 2
