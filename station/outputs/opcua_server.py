"""The station's own OPC UA server, for SCADA to read: `Station` with its status, the last
verdict and the counters, as string node ids in the namespace urn:inspection-station
(e.g. ns=2;s=Station.LastVerdict). Read-only for clients; no security policy (an OT network's
firewall decides who reaches it; docs/outputs.md)."""

from __future__ import annotations

from typing import Any

from station.outputs.config import SinkConfig
from station.outputs.message import VerdictMessage
from station.outputs.opcua_io import quiet_asyncua

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
