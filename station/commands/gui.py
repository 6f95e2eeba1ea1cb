"""`station gui`: the operator window lives in station.ui (the only package that imports Qt)."""

from __future__ import annotations

import argparse

from station.core.errors import StationError


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from station.ui.app import run_app
    except ImportError:  # a bundle built without the window (the line bundle has no Qt)
        raise StationError("this build has no window; use `station run SRC` for headless inspection") from None
    return run_app(args)
