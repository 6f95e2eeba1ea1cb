"""Real line peers for the outputs tests, on 127.0.0.1, started and stopped by the suite:

- mosquitto (Debian's broker), with a paho subscriber that keeps every message;
- a PLC over Modbus TCP: a pymodbus server whose memory the PLC's own logic reads and writes;
- a PLC over OPC UA: an asyncua server holding the PLC's nodes, the same logic on them;
- a webhook receiver (http.server) that can refuse for a while;
- Aravis's fake GigE Vision camera (Debian's aravis-tools-cli).

Every peer can be stopped and started again on the same port mid-test, to play an outage.
The PLC logic drives the handshake exactly as a PLC program would and times each part from
raising Trigger to seeing ResultReady.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from line_servers import _wait_port, free_port

COILS = {"trigger": 0, "ack": 1, "ready": 2, "busy": 3, "result_ready": 4, "ok": 5, "ng": 6}
REGISTERS = {"defect_code": 0, "sequence": 1, "heartbeat": 2, "product": 3, "product_ack": 4, "serial_hi": 5, "serial_lo": 6}


def need(program: str) -> str:
    from conftest import ROOT

    path = next((str(p) for p in (ROOT / ".peers/usr/bin" / program, Path("/usr/sbin") / program) if p.exists()), None)
    path = path or shutil.which(program)
    assert path, f"{program} is a test dependency: `make test` installs it (apt-get), see the Makefile"
    return path


@dataclass(frozen=True)
class Certs:
    """PEM files made for one test: an authority, a server certificate for 127.0.0.1 and a client's."""

    ca: Path
    server: Path
    server_key: Path
    client: Path
    client_key: Path


def make_certs(root: Path, name: str = "test") -> Certs:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    root.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def cert(subject: str, key: Any, issuer: Any, issuer_key: Any, ca: bool, san: bool) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                             x509.DNSName("localhost")]), critical=False)
        if ca:
            b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                              key_encipherment=False, data_encipherment=False, key_agreement=False,
                                              encipher_only=False, decipher_only=False), critical=True)
        return b.sign(issuer_key, hashes.SHA256())

    def write(path: Path, obj: Any) -> Path:
        if isinstance(obj, x509.Certificate):
            path.write_bytes(obj.public_bytes(serialization.Encoding.PEM))
        else:
            path.write_bytes(obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
            path.chmod(0o600)
        return path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} authority")])
    ca = cert(f"{name} authority", ca_key, ca_name, ca_key, True, False)
    keys = {n: ec.generate_private_key(ec.SECP256R1()) for n in ("server", "client")}
    return Certs(ca=write(root / f"{name}-ca.pem", ca),
                 server=write(root / f"{name}-server.pem", cert("127.0.0.1", keys["server"], ca_name, ca_key, False, True)),
                 server_key=write(root / f"{name}-server.key", keys["server"]),
                 client=write(root / f"{name}-client.pem", cert("station", keys["client"], ca_name, ca_key, False, False)),
                 client_key=write(root / f"{name}-client.key", keys["client"]))


class Mosquitto:
    def __init__(self, root: Path, tls: Certs | None = None) -> None:
        self.port = free_port()
        self.conf = root / "mosquitto.conf"
        # Persistence, so a subscriber's session and its undelivered messages outlive a restart.
        # `user`: started as root (CI), mosquitto drops to user "mosquitto", which cannot write
        # the test's folder, and then silently persists nothing.
        (root / "mosquitto").mkdir(exist_ok=True)
        user = pwd.getpwuid(os.getuid()).pw_name
        self.conf.write_text(f"user {user}\nlistener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                             f"persistence_location {root / 'mosquitto'}/\nautosave_interval 1\n")
        if tls is not None:  # TLS, and only clients with a certificate from the same authority
            with self.conf.open("a") as f:
                f.write(f"cafile {tls.ca}\ncertfile {tls.server}\nkeyfile {tls.server_key}\nrequire_certificate true\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([need("mosquitto"), "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _wait_port(self.port, 10, self.proc)

    def stop(self) -> None:
        """SIGTERM: the broker goes away (every connection drops) and comes back with its sessions."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Subscriber:
    """Keeps every message on `topic` (QoS 1): the test counts them."""

    def __init__(self, port: int, topic: str, tls: Certs | None = None) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{port}", clean_session=False)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        if tls is not None:
            self.client.tls_set(ca_certs=str(tls.ca), certfile=str(tls.client), keyfile=str(tls.client_key))
        self.client.connect("127.0.0.1", port, keepalive=5)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append((msg.topic, json.loads(msg.payload), bool(msg.retain)))

    def on(self, suffix: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for t, m, _ in self.messages if t.endswith(suffix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class _Loop:
    """An asyncio loop on a thread: pymodbus and asyncua servers live on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class ModbusPlc:
    """A PLC's memory served over Modbus TCP: coils 0-15 and holding registers 0-15. Every write
    the station makes is logged (address, values) in order."""

    def __init__(self) -> None:
        from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext

        plc = self

        class Logged(ModbusSequentialDataBlock):
            def __init__(self, kind: str) -> None:
                super().__init__(0, [0] * 32)
                self.kind = kind

            def setValues(self, address: int, values: Any) -> None:
                super().setValues(address, values)
                if plc.logging:
                    plc.writes.append((self.kind, address - 1, list(values) if isinstance(values, list) else [values]))

        self.logging = True
        self.writes: list[tuple[str, int, list[int]]] = []
        self.co, self.hr = Logged("co"), Logged("hr")
        self.context = ModbusServerContext(devices=ModbusDeviceContext(co=self.co, hr=self.hr), single=True)
        self.port = free_port()
        self._loop = _Loop()
        self._server: Any = None

    def start(self) -> None:
        from pymodbus.server import ModbusTcpServer

        async def up() -> None:
            self._server = ModbusTcpServer(self.context, address=("127.0.0.1", self.port))
            asyncio.ensure_future(self._server.serve_forever())

        self._loop.run(up())
        _wait_port(self.port, 10)

    def stop(self) -> None:
        if self._server is not None:
            self._loop.run(self._server.shutdown())
            self._server = None

    def close(self) -> None:
        self.stop()
        self._loop.close()

    # the PLC program's own access to its memory (not over the network)
    def get(self, name: str) -> Any:
        """A coil's or a register's value, by signal name."""
        if name in COILS:
            return bool(self.co.getValues(COILS[name] + 1, 1)[0])
        return int(self.hr.getValues(REGISTERS[name] + 1, 1)[0])

    def set_coil(self, name: str, value: bool) -> None:
        self.logging = False
        try:
            self.co.setValues(COILS[name] + 1, [int(value)])
        finally:
            self.logging = True

    def set_register(self, name: str, value: int) -> None:
        self.logging = False
        try:
            self.hr.setValues(REGISTERS[name] + 1, [int(value)])
        finally:
            self.logging = True



@dataclass(frozen=True)
class UaCerts:
    """OPC UA application certificates (RSA, with application URIs), made for one test."""

    server: Path
    server_key: Path
    client: Path
    client_key: Path


def make_ua_certs(root: Path, name: str = "ua") -> UaCerts:
    import ipaddress

    from asyncua.crypto import cert_gen
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for who, uri, usage in (("server", "urn:test-plc:server", ExtendedKeyUsageOID.SERVER_AUTH),
                            ("client", "urn:station:client", ExtendedKeyUsageOID.CLIENT_AUTH)):
        key = cert_gen.generate_private_key()
        cert = cert_gen.generate_self_signed_app_certificate(
            key, f"{name} {who}", {}, [x509.UniformResourceIdentifier(uri), x509.DNSName("localhost"),
                                       x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], [usage], days=2)
        out[who] = root / f"{name}-{who}.pem"
        out[who].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out[f"{who}_key"] = root / f"{name}-{who}-key.pem"  # asyncua reads PEM by the .pem ending, else DER
        out[f"{who}_key"].write_bytes(cert_gen.dump_private_key_as_pem(key))
    return UaCerts(**out)


class OpcUaPlc:
    """A PLC's OPC UA server: Boolean Trigger/Ack (the PLC writes), Ready/Busy/ResultReady/
    ResultOK and Int32 DefectCode/Sequence (the station writes), plus a SCADA block for the sink."""

    SIGNALS = {"trigger": "Boolean", "ack": "Boolean", "ready": "Boolean", "busy": "Boolean", "result_ready": "Boolean",
               "ok": "Boolean", "defect_code": "Int16", "sequence": "UInt32", "product": "UInt16", "product_ack": "UInt16"}
    SCADA = {"verdict": "String", "label": "String", "p_defect": "Double", "ok": "Boolean", "defect_code": "Int32",
             "sequence": "Int64", "model": "String", "time": "String"}

    def __init__(self, security: UaCerts | None = None) -> None:
        self.port = free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}/plc/"
        self.security = security  # then its only endpoint is Basic256Sha256, sign and encrypt
        self.sequence_writes: list[int] = []
        self._server: Any = None
        self.nodes: dict[str, Any] = {}

    def node_ids(self, block: str) -> dict[str, str]:
        names = self.SIGNALS if block == "plc" else self.SCADA
        return {k: f"ns=2;s={block}.{k}" for k in names}

    def start(self) -> None:
        from asyncua import ua
        from asyncua.common.callback import CallbackType
        from asyncua.sync import Server

        server = Server()
        server.set_endpoint(self.url)
        if self.security is not None:
            server.set_server_name("test plc")
            server.set_application_uri("urn:test-plc:server")  # as its certificate names it
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            server.load_certificate(str(self.security.server))
            server.load_private_key(str(self.security.server_key))
        idx = server.register_namespace("urn:test-plc")
        assert idx == 2
        obj = server.nodes.objects.add_object(idx, "PLC")
        for block, names in (("plc", self.SIGNALS), ("scada", self.SCADA)):
            for k, vtype in names.items():
                initial = "" if vtype == "String" else 0.0 if vtype == "Double" else False if vtype == "Boolean" else 0
                node = obj.add_variable(ua.NodeId(f"{block}.{k}", idx), f"{block}.{k}",
                                        ua.Variant(initial, getattr(ua.VariantType, vtype)))
                node.set_writable()
                self.nodes[f"{block}.{k}"] = node
        server.start()

        def log_write(event: Any, _dispatcher: Any) -> None:
            for request, status in zip(event.request_params.NodesToWrite, event.response_params, strict=False):
                if request.NodeId.Identifier == "scada.sequence" and status.is_good():
                    self.sequence_writes.append(int(request.Value.Value.Value))

        server.aio_obj.subscribe_server_callback(CallbackType.PostWrite, log_write)
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def get(self, name: str, block: str = "plc") -> Any:
        return self.nodes[f"{block}.{name}"].read_value()

    def set(self, name: str, value: bool) -> None:
        from asyncua import ua

        self.nodes[f"plc.{name}"].write_value(ua.Variant(value, ua.VariantType.Boolean))

    def set_number(self, name: str, value: int) -> None:
        from asyncua import ua

        self.nodes[f"plc.{name}"].write_value(ua.Variant(value, getattr(ua.VariantType, self.SIGNALS[name])))


def handshake_outputs(path: Path, plc_port: int, hook_url: str | None = None) -> Path:
    """An outputs file: the Modbus handshake on `plc_port`, reading each part's serial with its
    Trigger, and (with `hook_url`) a webhook sink named mes."""
    sinks = [{"kind": "webhook", "name": "mes", "url": hook_url}] if hook_url else []
    path.write_text(json.dumps({"handshake": {"protocol": "modbus", "port": plc_port, "ack_timeout_s": 5, "serial": True},
                                "sinks": sinks}))
    return path


def station_process(*args: str) -> subprocess.Popen:
    """`station ARGS` in its own interpreter (a PLC test kills or outlives it), from the repo's root."""
    import sys

    root = Path(__file__).resolve().parent.parent
    return subprocess.Popen([sys.executable, "-m", "station", *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def run_handshake(get: Callable[[str], Any], set_: Callable[[str, bool], None], parts: int, timeout_s: float = 30,
                  between: Callable[[int], None] | None = None, scan_s: float = 0.0) -> list[dict[str, Any]]:
    """The PLC program: for each part wait for Ready, raise Trigger, wait for ResultReady, read the
    result, drop Trigger and raise Ack, wait for ResultReady to drop, drop Ack. Returns one record per part.
    `scan_s`: a real PLC's scan time, from seeing a signal to acting on it (0: at once)."""
    out = []

    def wait(name: str, value: bool, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while bool(get(name)) != value:
            if time.monotonic() > deadline:
                raise AssertionError(f"part {len(out) + 1}: {what} did not come within {timeout_s} s")
            time.sleep(0.0005)
        time.sleep(scan_s)

    for n in range(parts):
        if between is not None:
            between(n)
        wait("ready", True, "Ready")
        t0 = time.perf_counter()
        set_("trigger", True)
        wait("result_ready", True, "ResultReady")
        latency = (time.perf_counter() - t0) * 1000
        record = {"ok": bool(get("ok")), "code": int(get("defect_code")), "sequence": int(get("sequence")), "ms": latency,
                  "busy": bool(get("busy")), "product_ack": int(get("product_ack"))}
        set_("trigger", False)
        set_("ack", True)
        wait("result_ready", False, "ResultReady to drop")
        set_("ack", False)
        out.append(record)
    return out


class Webhook:
    """Records every POSTed JSON body; answers `status` (503: down for now) while `refusing`."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # each POST's Authorization header
        self.refusing = False
        self.status = 503
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if hook.refusing:
                    self.send_response(hook.status)
                else:
                    hook.bodies.append(json.loads(body))
                    hook.authorizations.append(self.headers.get("Authorization"))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/verdicts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeCamera:
    """Aravis's fake GigE Vision camera, on 127.0.0.1 (GVCP port 3956)."""

    def __init__(self, serial: str = "STATION1") -> None:
        self.serial = serial
        self.proc: subprocess.Popen | None = None

    def start(self, warm: bool = True) -> None:
        """warm=False while a station is reconnecting to it: the camera takes one controller at a
        time (GigE Vision's control privilege), and the station must be the one that gets it."""
        self.proc = subprocess.Popen([need("arv-fake-gv-camera-0.8"), "-i", "127.0.0.1", "-s", self.serial],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        assert self.proc.poll() is None, "the fake GigE Vision camera exited at once"
        if not warm:
            return
        # A freshly started fake camera's first ~100 frames never arrive (about 4 s of free-run; in
        # software-trigger mode, ~100 triggers): stream until one does, as a camera warming up.
        from station.sources import open_source

        source = open_source("genicam:127.0.0.1")
        deadline = time.monotonic() + 60
        source.should_stop = lambda: time.monotonic() > deadline
        try:
            assert next(iter(source), None) is not None, "the fake GigE Vision camera sent no frame within 60 s"
        finally:
            source.close()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
