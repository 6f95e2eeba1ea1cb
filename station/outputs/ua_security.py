"""OPC UA security as the outputs file gives it: the policy and mode, the station's certificate
and key, and the certificates it pins (the PLC's, as a client; its clients', as a server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from station.core.errors import StationError

__all__ = ["UA_MODES", "UA_POLICIES", "OutputsError", "UaSecurity", "UaServerSecurity"]


class OutputsError(StationError):
    pass


UA_POLICIES = ("Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss")
UA_MODES = ("SignAndEncrypt", "Sign")


def _check_policy(raw: dict[str, Any], where: str) -> None:
    """An OPC UA security object's policy and mode, on the client's side and the server's alike."""
    if raw.get("policy", "Basic256Sha256") not in UA_POLICIES or raw.get("mode", "SignAndEncrypt") not in UA_MODES:
        raise OutputsError(f"{where}: security policy is one of {', '.join(UA_POLICIES)}; mode one of {', '.join(UA_MODES)}")


@dataclass(frozen=True)
class UaSecurity:
    """An OPC UA connection's security, from an entry's "security" object: the policy and mode,
    the station's certificate and key (PEM or DER), and the server's certificate, pinned (an
    engineer exports it from the PLC), so a stranger cannot stand in for the PLC."""

    cert_file: str
    key_file: str
    server_cert: str
    policy: str = "Basic256Sha256"
    mode: str = "SignAndEncrypt"

    @classmethod
    def parse(cls, raw: Any, where: str) -> UaSecurity | None:
        if not raw:
            return None
        if not isinstance(raw, dict) or set(raw) - {"policy", "mode", "cert_file", "key_file", "server_cert"}:
            raise OutputsError(f"{where}: security is an object of policy, mode, cert_file, key_file, server_cert")
        for key in ("cert_file", "key_file", "server_cert"):
            if not isinstance(raw.get(key), str) or not raw[key] or "," in raw[key]:
                raise OutputsError(f"{where}: security needs {key}, the path of a certificate file (no commas)")
        _check_policy(raw, where)
        return cls(**raw)


@dataclass(frozen=True)
class UaServerSecurity:
    """The station's own OPC UA server, secured: its only endpoint is the policy and mode, it
    shows its certificate and key, and it lets in only the clients whose certificates are
    pinned in `client_certs` (an engineer copies SCADA's certificate here), so a laptop on the
    OT network cannot read the line's verdicts."""

    cert_file: str
    key_file: str
    client_certs: tuple[str, ...]
    policy: str = "Basic256Sha256"
    mode: str = "SignAndEncrypt"

    @classmethod
    def parse(cls, raw: Any, where: str) -> UaServerSecurity | None:
        if not raw:
            return None
        if not isinstance(raw, dict) or set(raw) - {"policy", "mode", "cert_file", "key_file", "client_certs"}:
            raise OutputsError(f"{where}: security is an object of policy, mode, cert_file, key_file, client_certs")
        for key in ("cert_file", "key_file"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise OutputsError(f"{where}: security needs {key}, the path of the station's certificate file")
        clients = raw.get("client_certs")
        if not (isinstance(clients, list) and clients and all(isinstance(c, str) and c for c in clients)):
            raise OutputsError(f"{where}: security needs client_certs, a list of the certificate files of the clients let in")
        _check_policy(raw, where)
        return cls(**{**raw, "client_certs": tuple(clients)})
