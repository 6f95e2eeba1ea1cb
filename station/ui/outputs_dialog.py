"""The outputs file as a form (Settings → Line outputs): one row per sink, the PLC handshake below.

Each row has the fields everyone sets (kind, name, address) and, for the rest (an MQTT topic,
OPC UA node ids, Modbus addresses, webhook headers), the same JSON keys the file takes
(docs/outputs.md). Saved only when the whole file loads again, so the form and `station run
--outputs` can never disagree; a mistake is one line under the table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from station.core.errors import StationError
from station.outputs import config as outputs_config
from station.outputs.config import KINDS, OutputsConfig
from station.ui.dialogs import fit_to_screen

COLUMNS = ("kind", "name", "address", "more (JSON)")
URL_KINDS = ("opcua", "webhook")
EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "mqtt": ("127.0.0.1:1883", {"topic": "station/{station}", "qos": 1}),
    "opcua": ("opc.tcp://127.0.0.1:4840/", {"nodes": {"verdict": "ns=2;s=Line.Verdict", "sequence": "ns=2;s=Line.Sequence"}}),
    "opcua-server": ("0.0.0.0:4841", {}),
    "modbus": ("127.0.0.1:502", {"coils": {"ok": 5, "ng": 6}, "registers": {"defect_code": 0, "sequence": 1, "heartbeat": 2}}),
    "webhook": ("http://127.0.0.1:8080/verdicts", {}),
}
ADDRESS_KEYS = ("kind", "name", "host", "port", "url")


class OutputsDialog(QDialog):
    def __init__(self, data: str | None, path: str | None = None, parent: QWidget | None = None, who: str = "",
                 station: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Line outputs")
        self.path = Path(path) if path else outputs_config.default_path(data)
        current = outputs_config.load(self.path) if self.path.exists() else OutputsConfig()
        # The form scrolls inside the dialog, Save and the error stay in view: on a 1366x768
        # panel PC the whole form is taller than the screen.
        outer = QVBoxLayout(self)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addWidget(QLabel(f"Every verdict goes to each of these, and the PLC handshake paces the parts.\n{self.path}"))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(36)  # gloves
        self.table.setMinimumHeight(36 * 5 + 30)
        for col, width in ((0, 110), (1, 120), (2, 260)):
            self.table.setColumnWidth(col, width)
        lay.addWidget(self.table)
        adds = QHBoxLayout()
        self.add_buttons: dict[str, QPushButton] = {}
        for kind in KINDS:
            b = QPushButton(f"Add {kind}")
            b.setMinimumHeight(36)
            b.clicked.connect(lambda _=False, k=kind: self.add_row(k))
            adds.addWidget(b)
            self.add_buttons[kind] = b
        remove = QPushButton("Remove")
        remove.setMinimumHeight(36)
        remove.clicked.connect(lambda: self.table.removeRow(self.table.currentRow()))
        adds.addWidget(remove)
        lay.addLayout(adds)
        for sink in current.to_json()["sinks"]:
            self._row(sink)

        box = QGroupBox("PLC handshake (Trigger → Busy → Result → Ack)")
        form = QFormLayout(box)
        self.protocol = QComboBox()
        self.protocol.addItems(["none", "modbus", "opcua"])
        self.hs_address = QLineEdit()
        self.hs_address.setPlaceholderText("modbus: host:port · opcua: opc.tcp://host:port/")
        self.ack_timeout = QDoubleSpinBox()
        self.ack_timeout.setRange(0.1, 3600)
        self.ack_timeout.setValue(5.0)
        self.hs_more = QLineEdit()
        self.hs_more.setPlaceholderText('{"coils": {...}, "registers": {...}} or {"nodes": {"trigger": "ns=2;s=…", …}}')
        for label, w in (("protocol", self.protocol), ("address", self.hs_address), ("ack timeout (s)", self.ack_timeout),
                         ("more (JSON)", self.hs_more)):
            w.setMinimumHeight(36)
            form.addRow(label, w)
        if current.handshake is not None:
            hs = current.to_json()["handshake"]
            self.protocol.setCurrentText(hs.pop("protocol"))
            self.hs_address.setText(_address(hs))
            self.ack_timeout.setValue(float(hs.pop("ack_timeout_s", 5.0)))
            self.hs_more.setText(json.dumps(hs) if hs else "")
        lay.addWidget(box)
        self.codes = QLineEdit(json.dumps(current.defect_codes) if current.defect_codes else "")
        self.codes.setPlaceholderText('defect codes for the PLC, e.g. {"scratch": 1, "crack": 2} (default: the model\'s class order)')
        lay.addWidget(self.codes)
        from station.ui.iotest import IoTestPanel

        self.io_test = IoTestPanel(lambda: outputs_config.parse(self.raw(), self.path.name), data, who, station, self)
        lay.addWidget(self.io_test)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        outer.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        fit_to_screen(self, 980, 900)

    def add_row(self, kind: str) -> int:
        address, more = EXAMPLES[kind]
        taken = {self._cell(r, 1) for r in range(self.table.rowCount())}
        name = kind if kind not in taken else next(f"{kind}-{i}" for i in range(2, 99) if f"{kind}-{i}" not in taken)
        return self._row({"kind": kind, "name": name, "url" if kind in URL_KINDS else "address": address, **more})

    def _row(self, sink: dict[str, Any]) -> int:
        r = self.table.rowCount()
        self.table.insertRow(r)
        kind = QTableWidgetItem(sink["kind"])
        kind.setFlags(kind.flags() & ~kind.flags().ItemIsEditable)
        self.table.setItem(r, 0, kind)
        self.table.setItem(r, 1, QTableWidgetItem(sink.get("name", sink["kind"])))
        self.table.setItem(r, 2, QTableWidgetItem(sink.get("address") or _address(dict(sink))))
        more = {k: v for k, v in sink.items() if k not in ADDRESS_KEYS + ("address",)}
        self.table.setItem(r, 3, QTableWidgetItem(json.dumps(more) if more else ""))
        return r

    def _cell(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return item.text().strip() if item is not None else ""

    def set_cell(self, row: int, col: int, text: str) -> None:
        self.table.setItem(row, col, QTableWidgetItem(text))

    def raw(self) -> dict[str, Any]:
        """The form as the outputs file's JSON (may be invalid: _save checks it)."""
        sinks = []
        for r in range(self.table.rowCount()):
            kind, where = self._cell(r, 0), f"sink {self._cell(r, 1) or r + 1}"
            sink = {"kind": kind, "name": self._cell(r, 1) or kind, **_split(self._cell(r, 2), kind in URL_KINDS)}
            sinks.append({**sink, **_json(self._cell(r, 3), where)})
        out: dict[str, Any] = {"sinks": sinks}
        if self.protocol.currentText() != "none":
            protocol = self.protocol.currentText()
            out["handshake"] = {"protocol": protocol, **_split(self.hs_address.text().strip(), protocol == "opcua"),
                                "ack_timeout_s": self.ack_timeout.value(), **_json(self.hs_more.text(), "handshake")}
        if self.codes.text().strip():
            out["defect_codes"] = _json(self.codes.text(), "defect codes")
        return out

    def done(self, result: int) -> None:
        self.io_test.close_panel()  # no handshake read outlives the dialog
        super().done(result)

    def _save(self) -> None:
        try:
            outputs_config.save(outputs_config.parse(self.raw(), self.path.name), self.path)
        except StationError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


def _address(entry: dict[str, Any]) -> str:
    url = entry.pop("url", "")
    host, port = entry.pop("host", ""), entry.pop("port", "")
    return url or (f"{host or '127.0.0.1'}:{port}" if port else host)


def _split(address: str, is_url: bool) -> dict[str, Any]:
    if is_url:
        return {"url": address}
    host, _, port = address.rpartition(":")
    if not host:
        return {"host": address} if address else {}
    if not port.isdigit():
        raise_line(f"address {address!r}: use host:port, e.g. 127.0.0.1:1883")
    return {"host": host, "port": int(port)}


def _json(text: str, where: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise_line(f"{where}: 'more' is not JSON: {exc.msg}")
    if not isinstance(value, dict):
        raise_line(f"{where}: 'more' must be a JSON object")
    return value


def raise_line(message: str) -> Any:
    raise outputs_config.OutputsError(message)
