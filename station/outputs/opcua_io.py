"""OPC UA, the station as a client: the verdict sink (writes configured nodes of a PLC or a SCADA
server) and the handshake's link. Values are written as each node's own data type, read once
per connection, so a PLC's Int16 defect code or Byte sequence takes what it expects."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from station.outputs.config import HandshakeConfig, SinkConfig
from station.outputs.hub import SinkRefused
from station.outputs.message import VerdictMessage
from station.outputs.ua_security import UaSecurity

TIMEOUT_S = 4.0  # generous for the same reason as Modbus's (station.outputs.modbus_io)
UNSIGNED_BITS = {"Byte": 8, "UInt16": 16, "UInt32": 32, "UInt64": 64}


def quiet_asyncua() -> None:
    # asyncua logs every session and every missing certificate at INFO: the station's log keeps
    # its own one line per state change instead.
    logging.getLogger("asyncua").setLevel(logging.WARNING)


def _coerce(value: Any, vtype: Any) -> Any:
    from asyncua import ua

    name = vtype.name
    if name == "Boolean":
        return bool(value)
    if name in ("Double", "Float"):
        return float(value)
    if name == "String":
        return "" if value is None else str(value)
    if name == "DateTime":
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if name in UNSIGNED_BITS:
        return int(value or 0) % (1 << UNSIGNED_BITS[name])  # a sequence wraps as the PLC's counter does
    if name in ("SByte", "Int16", "Int32", "Int64"):
        return int(value or 0)
    return ua.Variant(value).Value


# The server said no to who we are or how we ask, and will again: not an outage (station.outputs.hub).
REFUSALS = ("BadSecurity", "BadCertificate", "BadIdentityToken", "BadUserAccessDenied", "BadNoValidCertificates")


class _UaClient:
    def __init__(self, url: str, nodes: dict[str, str], security: UaSecurity | None = None) -> None:
        self.url, self.names, self.security = url, dict(nodes), security
        self._c: Any = None
        self._nodes: dict[str, Any] = {}
        self._types: dict[str, Any] = {}

    def connect(self) -> None:
        from asyncua.sync import Client

        quiet_asyncua()
        self.close()
        client = Client(self.url, timeout=TIMEOUT_S)
        try:
            if (sec := self.security) is not None:
                import os

                for path in (sec.cert_file, sec.key_file, sec.server_cert):
                    if not os.path.isfile(path):
                        raise SinkRefused(f"certificate file {path} does not exist")
                client.set_security_string(f"{sec.policy},{sec.mode},{sec.cert_file},{sec.key_file},{sec.server_cert}")
            client.connect()
            nodes = {k: client.get_node(v) for k, v in self.names.items()}
            types = {k: n.read_data_type_as_variant_type() for k, n in nodes.items()}
        except Exception as exc:
            _disconnect(client)
            if type(exc).__name__.startswith(REFUSALS):
                raise SinkRefused(f"the OPC UA server at {self.url} refused the connection: {type(exc).__name__}") from exc
            if str(exc).startswith("No matching endpoints"):  # asyncua's words for a policy the server does not offer
                policy = f"{self.security.policy} {self.security.mode}" if self.security else "no security"
                raise SinkRefused(f"the OPC UA server at {self.url} refused the connection: it offers no endpoint "
                                  f"with {policy} (see 'security' in the outputs file)") from exc
            raise
        self._c, self._nodes, self._types = client, nodes, types

    def write(self, values: dict[str, Any]) -> None:
        from asyncua import ua

        keys = [k for k in values if k in self._nodes]
        if keys:
            self._c.write_values([self._nodes[k] for k in keys],
                                 [ua.DataValue(ua.Variant(_coerce(values[k], self._types[k]), self._types[k])) for k in keys])

    def read(self, keys: list[str]) -> list[Any]:
        return list(self._c.read_values([self._nodes[k] for k in keys]))

    def close(self) -> None:
        client, self._c = self._c, None
        if client is not None:
            _disconnect(client)


def _disconnect(client: Any) -> None:
    try:
        client.disconnect()
    except Exception:  # noqa: BLE001 (a server that is gone cannot be told goodbye; the loop thread stops all the same)
        pass


class OpcUaSink:
    kind = "opcua"
    tick_s = 0.0

    def __init__(self, cfg: SinkConfig, station: str = "", model: str = "") -> None:
        self.cfg, self.name, self.where = cfg, cfg.name, cfg.url
        self.client = _UaClient(cfg.url, cfg.nodes, UaSecurity.parse(cfg.options.get("security"), cfg.name))

    def connect(self) -> None:
        self.client.connect()

    def send(self, m: VerdictMessage) -> None:
        values = {"verdict": m.verdict, "label": m.label, "p_defect": m.p_defect or 0.0, "ok": m.ok,
                  "defect_code": m.defect_code, "model": m.model, "time": m.time}
        self.client.write(values)
        self.client.write({"sequence": m.sequence})  # last: a client watching it reads a complete result

    def tick(self) -> None:
        pass

    def close(self) -> None:
        self.client.close()


class OpcUaLink:
    """The handshake's signals as nodes on the PLC's OPC UA server."""

    def __init__(self, cfg: HandshakeConfig) -> None:
        self.cfg = cfg
        self.client = _UaClient(cfg.url, cfg.nodes, UaSecurity.parse(cfg.security, "handshake"))
        self.where = f"opcua {cfg.url}"

    def connect(self) -> None:
        self.client.connect()

    def read_inputs(self) -> tuple[bool, bool]:
        trigger, ack = self.client.read(["trigger", "ack"])
        return bool(trigger), bool(ack)

    def read_product(self) -> int:
        return int(self.client.read(["product"])[0] or 0)

    def read_serial(self) -> str | None:
        """The node `serial`: text, or a number; empty or 0 is none."""
        value = self.client.read(["serial"])[0]
        text = str(value).strip() if value is not None else ""
        return text[:64] if text and text != "0" else None

    def write(self, signals: dict[str, bool | int]) -> None:
        flags = {k: v for k, v in signals.items() if k in ("ready", "busy", "result_ready")}
        values = {k: v for k, v in signals.items() if k not in flags}
        if values:
            self.client.write(values)  # the result before the flag that announces it
        if flags:
            self.client.write(flags)

    def close(self) -> None:
        self.client.close()
