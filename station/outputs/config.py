"""The outputs file (`DATA/outputs.json`, or `--outputs FILE`): which sinks get every verdict and
how the PLC handshake is wired. The format is documented in docs/outputs.md; this module is its
only reader and writer, and every mistake in it is one line naming the entry and the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from station.core.errors import StationError
from station.outputs.ua_security import OutputsError, UaSecurity, UaServerSecurity

FILE_NAME = "outputs.json"
KINDS = ("mqtt", "opcua", "opcua-server", "modbus", "webhook")  # the built-in kinds, in the dialog's order
QUEUE = 10_000  # verdicts a sink keeps while it is down; the oldest go first when it is full

# The PLC programmer's default map (docs/outputs.md): PLC-written signals first.
MODBUS_COILS = {"trigger": 0, "ack": 1, "ready": 2, "busy": 3, "result_ready": 4, "ok": 5, "ng": 6}
MODBUS_REGISTERS = {"defect_code": 0, "sequence": 1, "heartbeat": 2, "product": 3, "product_ack": 4, "serial_hi": 5, "serial_lo": 6}
OPCUA_SIGNALS = ("trigger", "ack", "ready", "busy", "result_ready", "ok", "defect_code", "sequence")
OPCUA_SINK_KEYS = ("verdict", "label", "p_defect", "ok", "defect_code", "sequence", "model", "time")


@dataclass(frozen=True)
class SinkConfig:
    kind: str
    name: str
    queue: int = QUEUE
    host: str = "127.0.0.1"
    port: int = 0
    # mqtt
    topic: str = "station/{station}"
    qos: int = 1
    username: str | None = None
    password_env: str | None = None  # the password is read from this environment variable, never from the file
    # opcua (client: url + nodes; server: host + port)
    url: str = ""
    nodes: dict[str, str] = field(default_factory=dict)
    # modbus
    unit: int = 1
    coils: dict[str, int] = field(default_factory=dict)
    registers: dict[str, int] = field(default_factory=dict)
    heartbeat_s: float = 1.0
    # webhook
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 5.0
    # a registered kind's own keys (SinkKind.options), as written in the file
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return self.url or f"{self.host}:{self.port}"


@dataclass(frozen=True)
class HandshakeConfig:
    protocol: str  # modbus | opcua
    host: str = "127.0.0.1"
    port: int = 502
    unit: int = 1
    url: str = ""
    coils: dict[str, int] = field(default_factory=lambda: dict(MODBUS_COILS))
    registers: dict[str, int] = field(default_factory=lambda: dict(MODBUS_REGISTERS))
    nodes: dict[str, str] = field(default_factory=dict)
    security: dict[str, str] = field(default_factory=dict)  # opcua: see UaSecurity
    ack_timeout_s: float = 5.0  # ResultReady stays up this long waiting for Ack, then the station clears it
    poll_ms: float = 5.0  # how often Trigger and Ack are read
    # The PLC's product code -> the recipe it means ("101": "brick"). When set, the code is read at
    # every Trigger, the part is judged as that recipe, and the code is written back (product_ack)
    # with its result.
    products: dict[str, str] = field(default_factory=dict)
    # Read the part's serial with every Trigger (Modbus: registers serial_hi and serial_lo, a 32-bit
    # number; OPC UA: the node "serial", text or a number); every record and message carries it.
    serial: bool = False

    @property
    def where(self) -> str:
        return self.url or f"{self.host}:{self.port}"


@dataclass(frozen=True)
class OutputsConfig:
    sinks: list[SinkConfig] = field(default_factory=list)
    handshake: HandshakeConfig | None = None
    defect_codes: dict[str, int] = field(default_factory=dict)  # label -> code; else the model's class order
    path: str = ""

    @property
    def empty(self) -> bool:
        return not self.sinks and self.handshake is None

    def to_json(self) -> dict[str, Any]:
        # A kind's own keys go back to the entry's top level, where the file has them.
        out: dict[str, Any] = {"sinks": [{**{k: v for k, v in _changed(s, SinkConfig(kind=s.kind, name=s.name)).items() if k != "options"},
                                          **s.options} for s in self.sinks]}
        if self.handshake is not None:
            out["handshake"] = _changed(self.handshake, HandshakeConfig(protocol=self.handshake.protocol))
        if self.defect_codes:
            out["defect_codes"] = dict(self.defect_codes)
        return out


def _changed(obj: Any, default: Any) -> dict[str, Any]:
    """Only what differs from the defaults (plus the identifying keys): a short file a person reads."""
    mine, base = asdict(obj), asdict(default)
    return {k: v for k, v in mine.items() if k in ("kind", "name", "protocol") or v != base[k]}


def default_path(data: str | Path | None) -> Path:
    from station.core.config import data_dir

    return data_dir(data) / FILE_NAME


def load(path: str | Path) -> OutputsConfig:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OutputsError(f"outputs file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OutputsError(f"outputs file {path} is not readable JSON: {exc}") from None
    return parse(raw, str(path))


def load_for_run(explicit: str | None, data: str | Path | None) -> OutputsConfig:
    """--outputs FILE, else DATA/outputs.json when there is one, else nothing to tell the line."""
    if explicit:
        return load(explicit)
    path = default_path(data)
    return load(path) if path.exists() else OutputsConfig()


def save(config: OutputsConfig, path: str | Path) -> Path:
    from station.core.fileutil import atomic_write

    parse(config.to_json(), str(path))  # what is written must load again
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(config.to_json(), indent=2) + "\n").encode())
    return path


def parse(raw: Any, where: str = "outputs") -> OutputsConfig:
    if not isinstance(raw, dict):
        raise OutputsError(f"{where}: expected a JSON object with 'sinks' and/or 'handshake'")
    unknown = set(raw) - {"sinks", "handshake", "defect_codes"}
    if unknown:
        raise OutputsError(f"{where}: unknown key {sorted(unknown)[0]!r} (keys: sinks, handshake, defect_codes)")
    sinks_raw = raw.get("sinks", [])
    if not isinstance(sinks_raw, list):
        raise OutputsError(f"{where}: 'sinks' must be a list")
    sinks, names = [], set()
    for i, entry in enumerate(sinks_raw):
        sink = _sink(entry, f"{where}: sinks[{i}]")
        if sink.name in names:
            raise OutputsError(f"{where}: sinks[{i}]: the name {sink.name!r} is used twice")
        names.add(sink.name)
        sinks.append(sink)
    handshake = _handshake(raw["handshake"], f"{where}: handshake") if raw.get("handshake") is not None else None
    codes = raw.get("defect_codes", {})
    if not isinstance(codes, dict) or not all(isinstance(v, int) and 0 <= v <= 65535 for v in codes.values()):
        raise OutputsError(f"{where}: defect_codes maps a label to a code from 0 to 65535")
    return OutputsConfig(sinks=sinks, handshake=handshake, defect_codes=dict(codes), path=where)


@dataclass(frozen=True)
class SinkKind:
    """One kind of sink: its name in the file, how it is made, its default port, its own rules
    for an entry, and any keys of its own. A new kind is one module and one line:

        register_sink(SinkKind("jsonl", make=JsonLinesSink, options=("path",)))
    """

    name: str
    # "module:callable" (imported when a run opens it) or the callable: (config, station, model) -> a Sink
    make: str | Callable[[SinkConfig, str, str], Any]
    port: int = 0
    check: Callable[[dict[str, Any], str], None] | None = None  # raises OutputsError naming the key
    options: tuple[str, ...] = ()
    # The station is the server (others connect to it): `station doctor` does not try to connect,
    # as a running station holds the port.
    serves: bool = False


_SINKS: dict[str, SinkKind] = {}


def register_sink(kind: SinkKind) -> None:
    """Add (or replace, by name) a sink kind."""
    _SINKS[kind.name] = kind


def sink_kind(name: str) -> SinkKind | None:
    return _SINKS.get(name)


def _fields(entry: Any, allowed: type, where: str, fixed: tuple[str, ...], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise OutputsError(f"{where}: expected an object")
    names = set(allowed.__dataclass_fields__) - {"path", "options"}  # type: ignore[attr-defined]
    for key in entry:
        if key not in names and key not in extra:
            raise OutputsError(f"{where}: unknown key {key!r}")
    kw = {k: v for k, v in entry.items() if k not in extra}
    for key in fixed:
        if not isinstance(kw.get(key), str) or not kw[key]:
            raise OutputsError(f"{where}: {key!r} is required")
    for key, value in kw.items():
        if key in ("kind", "name", "host", "topic", "url", "username", "password_env", "protocol") and not (
                isinstance(value, str) or value is None and key in ("username", "password_env")):
            raise OutputsError(f"{where}: {key} must be text")
        if key in ("port", "unit", "queue", "qos") and not (isinstance(value, int) and not isinstance(value, bool)):
            raise OutputsError(f"{where}: {key} must be a whole number")
        if key in ("heartbeat_s", "timeout_s", "ack_timeout_s", "poll_ms") and not (
                isinstance(value, (int, float)) and 0 < value <= 3600):
            raise OutputsError(f"{where}: {key} must be a number of seconds above 0 (ms for poll_ms), at most 3600")
        if key in ("coils", "registers") and not (isinstance(value, dict) and all(
                isinstance(v, int) and 0 <= v <= 65535 for v in value.values())):
            raise OutputsError(f"{where}: {key} maps a signal to an address from 0 to 65535")
        if key in ("nodes", "headers") and not (isinstance(value, dict) and all(
                isinstance(v, str) for v in value.values())):
            raise OutputsError(f"{where}: {key} maps names to strings")
    if "port" in kw and not 0 < kw["port"] < 65536:
        raise OutputsError(f"{where}: port must be 1 to 65535")
    return kw


def _sink(entry: Any, where: str) -> SinkConfig:
    named = entry.get("kind") if isinstance(entry, dict) else None
    kind = sink_kind(named) if isinstance(named, str) else None
    kw = _fields(entry, SinkConfig, where, ("kind",), kind.options if kind else ())
    if kind is None:
        raise OutputsError(f"{where}: kind {kw['kind']!r} is not one of {', '.join(_SINKS)}")
    kw.setdefault("name", kind.name)
    kw["options"] = {k: v for k, v in entry.items() if k in kind.options}
    if kind.check is not None:
        kind.check(kw, where)
    kw.setdefault("port", kind.port)  # after the kind's rules: its default may depend on them (mqtt over TLS)
    if kw.get("queue", QUEUE) < 1:
        raise OutputsError(f"{where}: queue must be at least 1")
    return SinkConfig(**kw)


# -- the built-in kinds' own rules ---------------------------------------------------------------
def _needs_url(kind: str, schemes: tuple[str, ...]) -> Callable[[dict[str, Any], str], None]:
    def check(kw: dict[str, Any], where: str) -> None:
        if not kw.get("url"):
            raise OutputsError(f"{where}: {kind} needs 'url'")
        if not str(kw["url"]).startswith(schemes):
            raise OutputsError(f"{where}: {kind} url must start with {' or '.join(schemes)}")
    return check


def _opcua(kw: dict[str, Any], where: str) -> None:
    _needs_url("opcua", ("opc.tcp://",))(kw, where)
    UaSecurity.parse(kw["options"].get("security"), where)
    bad = set(kw.get("nodes", {})) - set(OPCUA_SINK_KEYS)
    if not kw.get("nodes") or bad:
        raise OutputsError(f"{where}: opcua needs 'nodes' naming a node for some of {', '.join(OPCUA_SINK_KEYS)}")


def _opcua_server(kw: dict[str, Any], where: str) -> None:
    UaServerSecurity.parse(kw["options"].get("security"), where)


MQTT_TLS = ("ca_file", "cert_file", "key_file")  # mqtt's own keys: TLS, and a client certificate


def _mqtt(kw: dict[str, Any], where: str) -> None:
    if not isinstance(kw["options"].get("commands", False), bool):
        raise OutputsError(f"{where}: commands is true or false (take a recipe changeover from <topic>/recipe/set)")
    tls = {k: v for k, v in kw["options"].items() if k in MQTT_TLS}
    for key in MQTT_TLS:
        if key in tls and not (isinstance(tls[key], str) and tls[key]):
            raise OutputsError(f"{where}: {key} must be the path of a PEM file")
    if ("cert_file" in tls) != ("key_file" in tls):
        raise OutputsError(f"{where}: cert_file and key_file go together (the station's certificate and its key)")
    if tls and "ca_file" not in tls:
        raise OutputsError(f"{where}: a client certificate needs ca_file, the authority that signed the broker's")
    if tls:
        kw.setdefault("port", 8883)
    if kw.get("qos", 1) not in (0, 1, 2):
        raise OutputsError(f"{where}: qos must be 0, 1 or 2")
    try:
        kw.get("topic", "station/{station}").format(station="x")
    except (KeyError, IndexError, ValueError):
        raise OutputsError(f"{where}: topic may hold {{station}} and no other {{…}}") from None


def _modbus(kw: dict[str, Any], where: str) -> None:
    kw.setdefault("coils", {"ok": 5, "ng": 6})
    kw.setdefault("registers", {k: MODBUS_REGISTERS[k] for k in ("defect_code", "sequence", "heartbeat")})


register_sink(SinkKind("mqtt", "station.outputs.mqtt_sink:MqttSink", port=1883, check=_mqtt, options=MQTT_TLS + ("commands",)))
register_sink(SinkKind("opcua", "station.outputs.opcua_io:OpcUaSink", check=_opcua, options=("security",)))
register_sink(SinkKind("opcua-server", "station.outputs.opcua_server:OpcUaServerSink", port=4841, serves=True,
                       check=_opcua_server, options=("security",)))
register_sink(SinkKind("modbus", "station.outputs.modbus_io:ModbusSink", port=502, check=_modbus))
register_sink(SinkKind("webhook", "station.outputs.webhook_sink:WebhookSink", check=_needs_url("webhook", ("http://", "https://"))))


def _products(value: Any, where: str) -> dict[str, str]:
    """Product codes (whole numbers 1-65535, as the PLC writes them) -> recipe names."""
    from station.core.labels import validate_label

    if not isinstance(value, dict):
        raise OutputsError(f"{where}: products maps a product code to a recipe name")
    out = {}
    for code, name in value.items():
        if not str(code).isdigit() or not 0 < int(code) <= 65535 or not isinstance(name, str):
            raise OutputsError(f"{where}: products maps a product code (1 to 65535) to a recipe name, not {code!r}: {name!r}")
        try:
            out[str(int(code))] = validate_label(name)
        except StationError as exc:
            raise OutputsError(f"{where}: products: {exc}") from None
    return out


def _handshake(entry: Any, where: str) -> HandshakeConfig:
    kw = _fields(entry, HandshakeConfig, where, ("protocol",))
    kw["products"] = _products(kw.get("products", {}), where)
    if kw["protocol"] == "opcua" and kw["products"] and not {"product", "product_ack"} <= set(kw.get("nodes", {})):
        raise OutputsError(f"{where}: a handshake with products needs the nodes product and product_ack")
    if not isinstance(kw.get("serial", False), bool):
        raise OutputsError(f"{where}: serial is true or false")
    if kw["protocol"] == "opcua" and kw.get("serial") and "serial" not in kw.get("nodes", {}):
        raise OutputsError(f"{where}: a handshake that reads the serial needs the node serial")
    if kw["protocol"] == "modbus":
        coils = {**MODBUS_COILS, **kw.get("coils", {})}
        registers = {**MODBUS_REGISTERS, **kw.get("registers", {})}
        unknown = (set(coils) - set(MODBUS_COILS)) | (set(registers) - set(MODBUS_REGISTERS))
        if unknown:
            raise OutputsError(f"{where}: unknown signal {sorted(unknown)[0]!r}")
        kw["coils"], kw["registers"] = coils, registers
    elif kw["protocol"] == "opcua":
        if not str(kw.get("url", "")).startswith("opc.tcp://"):
            raise OutputsError(f"{where}: opcua handshake needs 'url' (opc.tcp://…)")
        missing = [s for s in OPCUA_SIGNALS if s not in kw.get("nodes", {})]
        if missing:
            raise OutputsError(f"{where}: opcua handshake needs a node for {', '.join(missing)}")
        UaSecurity.parse(kw.get("security"), where)
    else:
        raise OutputsError(f"{where}: protocol must be modbus or opcua")
    return HandshakeConfig(**kw)
