"""The command line's argument types and the options several commands share (station.cli
builds the parser from them): checked here, so a bad value is argparse's one line, not a traceback."""

from __future__ import annotations

import argparse

from station.model.backends import BACKENDS


def _int(lo: int, hi: int):
    """An argparse type: a whole number in [lo, hi]; anything else is argparse's one-line error
    (a 20-digit id used to reach SQLite and come back as a traceback)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is outside {lo}..{hi}")
        return value
    return parse


ID = _int(1, 2**63 - 1)
COUNT = _int(0, 10_000_000)
SEED = _int(0, 2**32 - 1)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.0 <= value <= 86400.0:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 86400 seconds")
    return value


def _station(text: str) -> str:
    name = text.strip()
    if not name or len(name) > 128 or not name.isprintable():
        raise argparse.ArgumentTypeError("--station needs a name: 1 to 128 printable characters")
    return name


def _threshold(text: str) -> float | None:
    if text == "calibrated":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (or: calibrated)") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{value} is outside (0, 1): it would pass or fail every part")
    return value


def _user(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", metavar="NAME", help="who does this, on a station with users (PIN from $STATION_PIN or a prompt)")


def _from_station(p: argparse.ArgumentParser, recipe: bool = True) -> None:
    p.add_argument("--from-station", metavar="NAME", help="only parts judged by this station of the line")
    if recipe:
        _recipe(p, "only parts of this product (default: the station's active recipe; all: every product)")


def _recipe(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("--recipe", metavar="NAME", help=text)


def _common(p: argparse.ArgumentParser, db: bool = True, model: bool = False, json_out: bool = True) -> None:
    p.add_argument("--data", metavar="DIR", help="data directory (default: $STATION_DATA, else the per-user data dir)")
    if db:
        p.add_argument("--db", metavar="URL", default=None,
                       help="database URL, e.g. postgresql://host/station; the password from $PGPASSWORD or ~/.pgpass, not here "
                            "(default: $STATION_DB, else SQLite in the data dir)")
        p.add_argument("--store", metavar="URL", default=None,
                       help="image store: a folder or s3://bucket/prefix, keys from $AWS_* or ~/.aws (default: $STATION_STORE, else the data dir)")
        p.add_argument("--station", metavar="NAME", default=None, type=_station,
                       help="this station's name on the line (default: $STATION_NAME, else the saved setting station.name, else the host name)")
    if model:
        p.add_argument("--model", metavar="M", help="model directory or registered name (default: the active model)")
        p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
        p.add_argument("--backend", choices=BACKENDS, default=None,
                       help="inference engine (default: the setting inference.backend, auto: onnxruntime where installed)")
    if json_out:
        p.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")


def _outputs_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--outputs", metavar="FILE",
                   help="the sinks (MQTT, OPC UA, Modbus TCP, webhook) and the PLC handshake (default: DATA/outputs.json when it exists)")
