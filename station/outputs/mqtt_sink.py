"""MQTT: one JSON message per verdict on `<topic>/verdict` (QoS 1 by default), and the station's
status retained on `<topic>/status`: "online" when it connects, "offline" when it stops, and the
same "offline" as its last will when it dies or loses the network.

With `"commands": true` the station also takes a product changeover from `<topic>/recipe/set`
(the recipe's name, or {"recipe": NAME, "by": WHO}): it answers at once on `<topic>/recipe/requested`,
switches before the next part, and says the product in force, retained, on `<topic>/recipe` with
the first verdict judged as it (every verdict names its recipe too).

With `ca_file` the connection is TLS and the broker's certificate must be signed by that authority
and name the host; with `cert_file` and `key_file` the station shows its own certificate (brokers
that require one: `require_certificate true` in mosquitto). A broker that does not trust the
station, or that the station does not trust, is a refusal (station.outputs.hub.SinkRefused), not
an outage."""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from station.outputs.config import SinkConfig
from station.outputs.hub import SinkRefused
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
        self.recipe_topic = f"{base}/recipe"
        self._client: Any = None
        # Set by station.outputs.lineio when the run takes changeovers: (recipe, how, by) -> None.
        self.on_recipe: Callable[[str, str, str], None] | None = None
        self._recipe_said: str | None = None

    def _status(self, state: str) -> str:
        return json.dumps({"station": self.station, "state": state})

    def connect(self) -> None:
        import paho.mqtt.client as mqtt

        connected = threading.Event()
        refused: list[str] = []
        # A new client per connection: a client we gave up on must not resend on its own later,
        # which would deliver a verdict twice (this runner resends what was not acknowledged).
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"station-{self.station}-{os.getpid()}",
                             clean_session=True)
        def on_connect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
            if not reason.is_failure:
                connected.set()
            elif str(reason) in ("Not authorized", "Bad user name or password"):
                refused.append(f"the broker at {self.where} refused the login: {reason}")

        client.on_connect = on_connect
        if self.cfg.options.get("commands"):
            client.on_message = self._command
        client.will_set(self.status_topic, self._status("offline"), qos=1, retain=True)
        if self.cfg.username:
            client.username_pw_set(self.cfg.username, os.environ.get(self.cfg.password_env or "", None))
        client.reconnect_delay_set(3600, 3600)  # this runner reconnects, not paho
        self._tls(client)
        self._client = client
        try:
            client.connect(self.cfg.host, self.cfg.port, keepalive=10)
        except ssl.SSLCertVerificationError as exc:
            raise SinkRefused(f"the broker's certificate at {self.where} is not trusted: {exc.verify_message}") from None
        client.loop_start()
        if not connected.wait(ANSWER_S):
            if refused:
                raise SinkRefused(refused[0])
            raise ConnectionError(f"the broker at {self.where} did not accept the connection within {ANSWER_S:.0f} s")
        self._publish(self.status_topic, self._status("online"), retain=True)
        if self.cfg.options.get("commands"):
            client.subscribe(f"{self.recipe_topic}/set", qos=1)
            self._recipe_said = None  # said again on this connection with the next verdict

    def _command(self, _c: Any, _u: Any, msg: Any) -> None:
        """A changeover asked for over MQTT (paho's thread): passed to the run, and answered."""
        from station.core.labels import validate_label

        try:
            text = msg.payload.decode("utf-8").strip()
            body = json.loads(text) if text.startswith("{") else {"recipe": text}
            name, by = validate_label(str(body.get("recipe", ""))), str(body.get("by", ""))[:128]
        except Exception as exc:  # noqa: BLE001 (anything on the topic: one line back, never a crash)
            self._client.publish(f"{self.recipe_topic}/requested", json.dumps({"station": self.station, "error": str(exc)[:200]}), qos=1)
            return
        if self.on_recipe is not None:
            self.on_recipe(name, "mqtt", by)
        self._client.publish(f"{self.recipe_topic}/requested", json.dumps({"station": self.station, "recipe": name, "by": by}), qos=1)

    def _tls(self, client: Any) -> None:
        opts = self.cfg.options
        if not opts.get("ca_file"):
            return
        for key in ("ca_file", "cert_file", "key_file"):
            if opts.get(key) and not os.path.isfile(opts[key]):
                raise SinkRefused(f"{key} {opts[key]} does not exist")
        try:
            client.tls_set(ca_certs=opts["ca_file"], certfile=opts.get("cert_file"), keyfile=opts.get("key_file"),
                           cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        except (ssl.SSLError, ValueError) as exc:  # a key that is not the certificate's, a file that is not PEM
            raise SinkRefused(f"the TLS files of output {self.name} do not load: {exc}") from None

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
        if message.recipe and message.recipe != self._recipe_said and self.cfg.options.get("commands"):
            self._publish(self.recipe_topic, json.dumps({"station": self.station, "recipe": message.recipe,
                                                        "since_sequence": message.sequence}), retain=True)
            self._recipe_said = message.recipe
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
