"""A USB camera's settings: `camera:N?width=1280&height=720&exposure=-6&gain=4&fps=30`.

OpenCV hands them to the driver (V4L2 on Linux, Media Foundation or DirectShow on Windows),
which takes what the camera can do and snaps the rest: a 1000x1000 request may run at 1280x720.
So each setting is read back after it is set, and what the camera did not take is said in one
line (the log and the source's status), never silently. A run goes on: the golden check is what
proves the picture is right for the product. The settings are set again after every reconnect,
as a replugged camera comes back at its defaults."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from station.core.errors import SourceError

KEYS = ("width", "height", "fps", "exposure", "gain")
EXACT = ("width", "height")  # read back as set, or the camera runs another mode (exposure units vary by driver)


@dataclass(frozen=True)
class UsbCamera:
    index: int
    values: dict[str, float] = field(default_factory=dict)  # in the order given

    def describe(self) -> str:
        return f"camera:{self.index}" + ("?" + "&".join(f"{k}={v:g}" for k, v in self.values.items()) if self.values else "")


def parse_usb(target: str) -> UsbCamera:
    """`N?key=value&…`; a wrong key or value is one line naming it."""
    index, _, query = target.partition("?")
    if not index.isdigit():
        raise SourceError(f"bad camera spec 'camera:{target}': use camera:N, e.g. camera:0")
    values: dict[str, float] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in KEYS:
            raise SourceError(f"camera:{target}: unknown option {key!r} ({', '.join(KEYS)})")
        try:
            number = float(value)
        except ValueError:
            raise SourceError(f"camera:{target}: {key}={value!r} is not a number") from None
        if number != number or abs(number) > 1e6 or (key in ("width", "height", "fps") and number <= 0):
            raise SourceError(f"camera:{target}: {key}={value!r} is out of range")
        values[key] = number
    return UsbCamera(int(index), values)


def apply(cap: Any, values: dict[str, float]) -> list[str]:
    """Set `values` on an open cv2.VideoCapture; returns what the camera did not take, each as
    `key=wanted (reads got)`."""
    import cv2

    props = {"width": cv2.CAP_PROP_FRAME_WIDTH, "height": cv2.CAP_PROP_FRAME_HEIGHT, "fps": cv2.CAP_PROP_FPS,
             "exposure": cv2.CAP_PROP_EXPOSURE, "gain": cv2.CAP_PROP_GAIN}
    refused = []
    if "exposure" in values:
        # A fixed exposure needs the camera's automatic exposure off first: V4L2 calls manual 1,
        # DirectShow and Media Foundation 0.25.
        cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 1 if sys.platform.startswith("linux") else 0.25)
    # All set first, then read back: a width alone may select a mode the height then changes.
    taken = {key: bool(cap.set(props[key], wanted)) for key, wanted in values.items()}
    for key, wanted in values.items():
        got = float(cap.get(props[key]))
        if not taken[key] or (key in EXACT and round(got) != round(wanted)):
            refused.append(f"{key}={wanted:g} (reads {got:g})")
    return refused
