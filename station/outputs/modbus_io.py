"""Modbus TCP, the station as the client of a PLC: the verdict sink (coils OK/NG, registers for
the defect code, the part sequence and a heartbeat) and the handshake's link (station.outputs.handshake).

Addresses are zero-based protocol addresses (coil 0 is what many PLC manuals call 00001)."""

from __future__ import annotations

from typing import Any

from station.outputs.config import HandshakeConfig, SinkConfig
from station.outputs.message import VerdictMessage

# A PLC answers in milliseconds; a busy station PC may not read the answer for a while, and a
# timed-out write is resent (a second write of the same value): generous, not tight.
TIMEOUT_S = 3.0


class ModbusError(ConnectionError):
    pass


class _Client:
    def __init__(self, host: str, port: int, unit: int) -> None:
        self.host, self.port, self.unit = host, port, unit
        self.where = f"{host}:{port}"
        self._c: Any = None

    def connect(self) -> None:
        from pymodbus.client import ModbusTcpClient

        self.close()
        client = ModbusTcpClient(self.host, port=self.port, timeout=TIMEOUT_S, retries=0, reconnect_delay=0)
        if not client.connect():
            client.close()
            raise ModbusError(f"no Modbus TCP server answers at {self.where}")
        self._c = client

    def _ok(self, response: Any, what: str) -> Any:
        if response is None or response.isError():
            raise ModbusError(f"{what} at {self.where} was refused: {response}")
        return response

    def coils(self, values: dict[int, bool]) -> None:
        for address, value in values.items():
            self._ok(self._c.write_coil(address, value, device_id=self.unit), f"writing coil {address}")

    def registers(self, values: dict[int, int]) -> None:
        for address, value in values.items():
            self._ok(self._c.write_register(address, value & 0xFFFF, device_id=self.unit), f"writing register {address}")

    def read_coils(self, addresses: list[int]) -> list[bool]:
        lo, hi = min(addresses), max(addresses)
        bits = self._ok(self._c.read_coils(lo, count=hi - lo + 1, device_id=self.unit), f"reading coils {lo}-{hi}").bits
        return [bool(bits[a - lo]) for a in addresses]

    def read_register(self, address: int) -> int:
        return int(self._ok(self._c.read_holding_registers(address, count=1, device_id=self.unit), f"reading register {address}").registers[0])

    def close(self) -> None:
        client, self._c = self._c, None
        if client is not None:
            client.close()


class ModbusSink:
    """Per verdict: the OK and NG coils and the defect code first, the sequence register last, so
    a PLC that watches the sequence change reads a complete result."""

    kind = "modbus"

    def __init__(self, cfg: SinkConfig, station: str = "", model: str = "") -> None:
        self.cfg, self.name = cfg, cfg.name
        self.client = _Client(cfg.host, cfg.port, cfg.unit)
        self.where = self.client.where
        self.tick_s = cfg.heartbeat_s if "heartbeat" in cfg.registers else 0.0
        self._beat = 0

    def connect(self) -> None:
        self.client.connect()

    def send(self, message: VerdictMessage) -> None:
        coils, regs = self.cfg.coils, self.cfg.registers
        self.client.coils({coils[k]: v for k, v in (("ok", message.ok), ("ng", not message.ok)) if k in coils})
        if "defect_code" in regs:
            self.client.registers({regs["defect_code"]: message.defect_code})
        if "sequence" in regs:
            self.client.registers({regs["sequence"]: message.sequence})

    def tick(self) -> None:
        self._beat = (self._beat + 1) & 0xFFFF
        self.client.registers({self.cfg.registers["heartbeat"]: self._beat})

    def close(self) -> None:
        self.client.close()


class ModbusLink:
    """The handshake's signals as coils and registers (station.outputs.config.MODBUS_COILS)."""

    def __init__(self, cfg: HandshakeConfig) -> None:
        self.cfg = cfg
        self.client = _Client(cfg.host, cfg.port, cfg.unit)
        self.where = f"modbus {self.client.where}"

    def connect(self) -> None:
        self.client.connect()

    def read_inputs(self) -> tuple[bool, bool]:
        trigger, ack = self.client.read_coils([self.cfg.coils["trigger"], self.cfg.coils["ack"]])
        return trigger, ack

    def read_product(self) -> int:
        return self.client.read_register(self.cfg.registers["product"])

    def read_serial(self) -> str | None:
        """Two holding registers, high word first: a serial up to 4,294,967,295; 0 is none."""
        hi = self.client.read_register(self.cfg.registers["serial_hi"])
        lo = self.client.read_register(self.cfg.registers["serial_lo"])
        value = (hi << 16) | lo
        return str(value) if value else None

    def write(self, signals: dict[str, bool | int]) -> None:
        coils = {self.cfg.coils[k]: bool(v) for k, v in signals.items() if k in self.cfg.coils}
        regs = {self.cfg.registers[k]: int(v) for k, v in signals.items() if k in self.cfg.registers}
        self.client.registers(regs)  # values before the flags that announce them
        self.client.coils(coils)

    def close(self) -> None:
        self.client.close()
