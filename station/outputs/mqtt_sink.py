"""MQTT: one JSON message per verdict on `<topic>/verdict` (QoS 1 by default), and the station's
status retained on `<topic>/status`: "online" when it connects, "offline" when it stops, and the
same "offline" as its last will when it dies or loses the network."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from station.outputs.config import SinkConfig
from station.outputs.message import VerdictMessage

ANSWER_S = 5.0  # the broker's CONNACK / PUBACK must come within this, or the connection is dropped and retried


class MqttSink:
    kind = "mqtt"
    tick_s = 0.0

    def __init__(self, cfg: SinkConfig, station: str, model: str = "") -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.where = f"{cfg.host}:{cfg.port}"
        self.station = station
        base = cfg.topic.format(station=station).rstrip("/")
        self.verdict_topic, self.status_topic = f"{base}/verdict", f"{base}/status"
        self._client: Any = None

    def _status(self, state: str) -> str:
        return json.dumps({"station": self.station, "state": state})

    def connect(self) -> None:
        import paho.mqtt.client as mqtt

        connected = threading.Event()
        # A new client per connection: a client we gave up on must not resend on its own later,
        # which would deliver a verdict twice (this runner resends what was not acknowledged).
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"station-{self.station}-{os.getpid()}",
                             clean_session=True)
        def on_connect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
            if not reason.is_failure:
                connected.set()

        client.on_connect = on_connect
        client.will_set(self.status_topic, self._status("offline"), qos=1, retain=True)
        if self.cfg.username:
            client.username_pw_set(self.cfg.username, os.environ.get(self.cfg.password_env or "", None))
        client.reconnect_delay_set(3600, 3600)  # this runner reconnects, not paho
        self._client = client
        client.connect(self.cfg.host, self.cfg.port, keepalive=10)
        client.loop_start()
        if not connected.wait(ANSWER_S):
            raise ConnectionError(f"the broker at {self.where} did not accept the connection within {ANSWER_S:.0f} s")
        self._publish(self.status_topic, self._status("online"), retain=True)

    def _publish(self, topic: str, payload: str, retain: bool = False) -> None:
        info = self._client.publish(topic, payload, qos=self.cfg.qos, retain=retain)
        deadline = time.monotonic() + ANSWER_S
        while not info.is_published():
            if not self._client.is_connected():
                raise ConnectionError(f"the connection to {self.where} was lost")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broker at {self.where} did not acknowledge within {ANSWER_S:.0f} s")
            info.wait_for_publish(timeout=0.05)

    def send(self, message: VerdictMessage) -> None:
        self._publish(self.verdict_topic, json.dumps(message.to_json()))

    def tick(self) -> None:
        pass

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected():
                self._client = client
                self._publish(self.status_topic, self._status("offline"), retain=True)
        except Exception:  # noqa: BLE001 (the last will says "offline" if this does not)
            pass
        finally:
            self._client = None
            client.disconnect()
            client.loop_stop()
