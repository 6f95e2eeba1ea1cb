"""Where things live: the data directory, bundled resources, the shipped default model.

Frozen-bundle aware: inside a PyInstaller app, read-only resources sit under sys._MEIPASS,
while everything writable goes to the per-user data directory, never into the bundle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from station.core.errors import StationError

APP_NAME = "station"


def bundle_root() -> Path:
    """The directory holding `resources/` and `models/`: the repo checkout, or the frozen bundle."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parents[2]  # station/core/config.py


def resources_dir() -> Path:
    return bundle_root() / "resources"


def demo_dir() -> Path:
    return resources_dir() / "demo"


def default_model_dir() -> Path:
    return bundle_root() / "models" / "default"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--data DIR`, else $STATION_DATA, else the per-user default; created on demand."""
    if explicit:
        path = Path(explicit)
    elif os.environ.get("STATION_DATA"):
        path = Path(os.environ["STATION_DATA"])
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir(APP_NAME, appauthor=False))
    if path.exists() and not path.is_dir():
        raise StationError(f"data directory {path} is a file, not a folder")
    if not path.is_dir():
        try:
            # Private: the database holds every reviewer's name and the audit trail.
            path.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            pass  # another process made it a moment ago
        except OSError as exc:
            raise StationError(f"cannot create data directory {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        # Every command writes there (the database's journal, the registry, the log): say so once,
        # up front, instead of an OSError from whichever write comes first.
        raise StationError(f"the data directory {path} is read-only; the station needs to write there")
    return path


def station_name() -> str:
    """Identifies this PC in a database shared by a line of stations."""
    import socket

    return os.environ.get("STATION_NAME") or socket.gethostname()
