"""`station gui`: the operator window lives in station.ui (the only package that imports Qt)."""

from __future__ import annotations

import argparse

from station.errors import StationError


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from station.ui.app import run_app
    except ImportError:
        raise StationError(
            "the station window is not part of this build yet; use `station run SRC` for headless inspection"
        ) from None
    return run_app(args)
