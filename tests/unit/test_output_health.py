"""Each output as `station doctor` sees it (station.outputs.health), against real loopback peers:
what waits in its outbox, and whether it answers, is away, or refuses; nothing is sent."""

from __future__ import annotations

from plc_servers import Webhook

from station.outputs.config import parse
from station.outputs.hub import refusal
from station.outputs.message import VerdictMessage
from station.outputs.outbox import Outbox
from station.outputs.webhook_sink import WebhookSink


def test_answers_away_and_what_waits(tmp_path):
    from line_servers import free_port

    hook = Webhook()
    try:
        config = parse({"sinks": [{"kind": "webhook", "name": "mes", "url": hook.url},
                                  {"kind": "modbus", "name": "gate", "port": free_port()},
                                  {"kind": "opcua-server", "name": "srv", "port": free_port()}]})
        box = Outbox.for_sink(tmp_path / "outbox", "gate")
        box.append(VerdictMessage(sequence=7, station="st", time="2026-12-06T10:00:00+00:00", verdict="fail", label="dent",
                                  p_defect=0.9, defect_code=1, model="m", id=None, image=None, origin="p7"))
        box.close()
        from station.outputs.health import check_outputs

        mes, gate, srv = check_outputs(config, tmp_path, "st")
    finally:
        hook.close()
    assert (mes.reachable, mes.refused, mes.waiting, mes.detail) == (True, "", 0, "answers")
    assert gate.reachable is False and gate.refused == "" and gate.detail.startswith("unreachable")
    assert gate.waiting == 1 and gate.oldest_s is not None and gate.oldest_s > 0
    assert srv.reachable is None, "the station's own server is not tried: a running station holds its port"
    assert hook.bodies == [], "nothing was sent"


def test_a_webhook_that_says_forbidden_is_a_refusal_and_a_503_is_not():
    hook = Webhook()
    hook.refusing = True
    cfg = parse({"sinks": [{"kind": "webhook", "name": "mes", "url": hook.url}]}).sinks[0]
    sink = WebhookSink(cfg)
    message = VerdictMessage(sequence=1, station="st", time="t", verdict="pass", label="good", p_defect=0.0,
                             defect_code=0, model="m", id=None, image=None, origin="p1")
    try:
        found = []
        for status in (503, 403, 401):
            hook.status = status
            try:
                sink.send(message)
            except ConnectionError as exc:
                found.append(refusal(exc))
    finally:
        hook.close()
    assert found[0] == "" and "HTTP 403 (forbidden)" in found[1] and "HTTP 401 (not authorised)" in found[2]
