"""The outputs file (station.outputs.config): each kind's defaults and rules, and every mistake
named in one line with where it is."""

from __future__ import annotations

import pytest

from station.outputs.config import OutputsError, parse, sink_kind


def test_defaults_per_kind():
    cfg = parse({"sinks": [{"kind": "mqtt"}, {"kind": "mqtt", "name": "tls", "ca_file": "ca.pem"},
                           {"kind": "modbus", "name": "gate"}, {"kind": "webhook", "name": "mes", "url": "http://h/v"},
                           {"kind": "opcua-server", "name": "srv"}]})
    mqtt, tls, gate, mes, srv = cfg.sinks
    assert (mqtt.name, mqtt.port, mqtt.topic) == ("mqtt", 1883, "station/{station}")
    assert tls.port == 8883 and tls.options == {"ca_file": "ca.pem"}, "TLS moves the default port"
    assert gate.port == 502 and gate.coils == {"ok": 5, "ng": 6} and "sequence" in gate.registers
    assert mes.where == "http://h/v" and srv.port == 4841
    assert sink_kind("opcua-server").serves and not sink_kind("mqtt").serves


def test_a_secured_station_server_keeps_its_security_in_the_file(tmp_path):
    from station.outputs.config import UaServerSecurity, load, save

    security = {"cert_file": "station.pem", "key_file": "station-key.pem", "client_certs": ["scada.pem"]}
    cfg = parse({"sinks": [{"kind": "opcua-server", "name": "srv", "security": security}]})
    again = load(save(cfg, tmp_path / "outputs.json"))
    assert again.sinks[0].options["security"] == security
    sec = UaServerSecurity.parse(again.sinks[0].options["security"], "srv")
    assert sec is not None and sec.client_certs == ("scada.pem",) and (sec.policy, sec.mode) == ("Basic256Sha256", "SignAndEncrypt")


@pytest.mark.parametrize("raw, said", [
    ([], "expected a JSON object"),
    ({"sink": []}, "unknown key 'sink'"),
    ({"sinks": [{"kind": "kafka"}]}, "kind 'kafka' is not one of"),
    ({"sinks": [{"kind": "mqtt"}, {"kind": "mqtt"}]}, "the name 'mqtt' is used twice"),
    ({"sinks": [{"kind": "mqtt", "qos": 3}]}, "qos must be 0, 1 or 2"),
    ({"sinks": [{"kind": "mqtt", "topic": "a/{line}"}]}, "topic may hold {station}"),
    ({"sinks": [{"kind": "mqtt", "cert_file": "c.pem"}]}, "cert_file and key_file go together"),
    ({"sinks": [{"kind": "mqtt", "cert_file": "c.pem", "key_file": "k.pem"}]}, "needs ca_file"),
    ({"sinks": [{"kind": "webhook", "url": "ftp://x"}]}, "url must start with http:// or https://"),
    ({"sinks": [{"kind": "opcua", "url": "opc.tcp://h:4840/"}]}, "opcua needs 'nodes'"),
    ({"sinks": [{"kind": "mqtt", "queue": 0}]}, "queue must be at least 1"),
    ({"sinks": [{"kind": "opcua-server", "security": {"cert_file": "s.pem", "key_file": "k.pem"}}]},
     "security needs client_certs"),
    ({"sinks": [{"kind": "opcua-server", "security": {"cert_file": "s.pem", "key_file": "k.pem", "client_certs": ["c.pem"],
                                                     "mode": "None"}}]}, "mode one of SignAndEncrypt, Sign"),
    ({"sinks": [{"kind": "opcua-server", "security": {"key_file": "k.pem", "client_certs": ["c.pem"]}}]}, "security needs cert_file"),
    ({"sinks": [{"kind": "mqtt"}], "defect_codes": {"scratch": 70000}}, "defect_codes maps a label to a code"),
    ({"handshake": {"protocol": "modbus", "serial": "yes"}}, "serial is true or false"),
    ({"handshake": {"protocol": "opcua", "url": "opc.tcp://h:4840/", "serial": True,
                    "nodes": {s: f"ns=2;s={s}" for s in ("trigger", "ack", "ready", "busy", "result_ready", "ok", "defect_code", "sequence")}}},
     "needs the node serial"),
])
def test_each_mistake_is_one_line_naming_where(raw, said):
    with pytest.raises(OutputsError) as caught:
        parse(raw, "outputs.json")
    text = str(caught.value)
    assert said in text and text.startswith("outputs.json") and "\n" not in text
