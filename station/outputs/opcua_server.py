"""The station's own OPC UA server, for SCADA to read: `Station` with its status, the last
verdict and the counters, as string node ids in the namespace urn:inspection-station
(e.g. ns=2;s=Station.LastVerdict). Read-only for clients. With no "security" the firewall of the
OT network decides who reaches it; with one, its only endpoint signs and encrypts and only the
pinned clients' certificates are let in (docs/outputs.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from station.outputs.config import SinkConfig
from station.outputs.hub import SinkRefused
from station.outputs.message import VerdictMessage
from station.outputs.opcua_io import quiet_asyncua
from station.outputs.ua_security import UaServerSecurity

NAMESPACE = "urn:inspection-station"
# node -> (OPC UA type, initial value)
NODES: dict[str, tuple[str, Any]] = {
    "Name": ("String", ""), "Status": ("String", "running"), "Model": ("String", ""),
    "LastVerdict": ("String", ""), "LastLabel": ("String", ""), "LastPDefect": ("Double", 0.0),
    "LastDefectCode": ("Int32", 0), "Sequence": ("Int64", 0), "Passed": ("Int64", 0), "Failed": ("Int64", 0),
    "LastTime": ("String", ""),
}


class OpcUaServerSink:
    kind = "opcua-server"
    tick_s = 0.0

    def __init__(self, cfg: SinkConfig, station: str, model: str) -> None:
        self.cfg, self.name = cfg, cfg.name
        self.where = f"opc.tcp://{cfg.host}:{cfg.port}/station/"
        self.station, self.model = station, model
        self._server: Any = None
        self._nodes: dict[str, Any] = {}
        self._counts = {"pass": 0, "fail": 0}
        self.security = UaServerSecurity.parse(cfg.options.get("security"), cfg.name)

    def connect(self) -> None:
        if self._server is not None:
            return
        from asyncua import ua
        from asyncua.sync import Server

        quiet_asyncua()
        server = Server()
        try:
            server.set_endpoint(self.where)
            server.set_server_name(f"Inspection station {self.station}")
            if self.security is not None:
                _secure(server, self.security)
            idx = server.register_namespace(NAMESPACE)
            obj = server.nodes.objects.add_object(ua.NodeId(ua.String("Station"), idx), ua.QualifiedName("Station", idx))
            nodes = {}
            for key, (vtype, initial) in NODES.items():
                nodes[key] = obj.add_variable(ua.NodeId(ua.String(f"Station.{key}"), idx), ua.QualifiedName(key, idx),
                                              ua.Variant(initial, getattr(ua.VariantType, vtype)))
            server.start()
        except Exception:
            try:
                server.stop()
            except Exception:  # noqa: BLE001 (a server that never started may not stop cleanly)
                pass
            raise
        self._server, self._nodes = server, nodes
        self._set("Name", self.station)
        self._set("Model", self.model)

    def _set(self, key: str, value: Any) -> None:
        from asyncua import ua

        vtype = getattr(ua.VariantType, NODES[key][0])
        self._nodes[key].write_value(ua.DataValue(ua.Variant(value, vtype)))

    def send(self, m: VerdictMessage) -> None:
        self._counts["pass" if m.ok else "fail"] += 1
        for key, value in (("LastVerdict", m.verdict), ("LastLabel", m.label or ""), ("LastPDefect", m.p_defect or 0.0),
                           ("LastDefectCode", m.defect_code), ("Model", m.model), ("LastTime", m.time),
                           ("Passed", self._counts["pass"]), ("Failed", self._counts["fail"]), ("Sequence", m.sequence)):
            self._set(key, value)

    def tick(self) -> None:
        pass

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            try:
                self._set("Status", "stopped")
            except Exception:  # noqa: BLE001 (stopping anyway)
                pass
            server.stop()


def _read_cert(path: str, what: str) -> Any:
    from cryptography import x509

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SinkRefused(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    try:
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError:
        raise SinkRefused(f"{what} {path} is not a certificate (PEM or DER)") from None


def _secure(server: Any, sec: UaServerSecurity) -> None:
    """One endpoint, `sec.policy` and `sec.mode`; the station's certificate and key; a client is
    let in only with one of the pinned certificates (the same bytes, not merely the same name)."""
    from asyncua import ua
    from asyncua.common.utils import ServiceError
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    own = _read_cert(sec.cert_file, "the station's certificate")
    pinned = {_read_cert(c, "client certificate").public_bytes(Encoding.DER) for c in sec.client_certs}
    try:  # a client checks that the server's application URI is the one its certificate names
        uris = own.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    if uris:
        server.set_application_uri(uris[0])
    server.set_security_policy([getattr(ua.SecurityPolicyType, f"{sec.policy}_{sec.mode}")])
    server.load_certificate(sec.cert_file)
    try:
        server.load_private_key(sec.key_file)
    except (OSError, ValueError) as exc:
        raise SinkRefused(f"the station's key {sec.key_file} cannot be used: {exc}") from None

    async def only_pinned(cert: Any, _app: Any) -> None:
        if cert.public_bytes(Encoding.DER) not in pinned:
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

    server.aio_obj.set_certificate_validator(only_pinned)
