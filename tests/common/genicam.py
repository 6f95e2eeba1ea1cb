"""What the test_genicam tests of more than one tier share."""

from __future__ import annotations

import pytest
from plc_servers import FakeCamera

CAMERA = "genicam:127.0.0.1"


@pytest.fixture(scope="module")
def camera():
    cam = FakeCamera()
    cam.start()
    yield cam
    cam.kill()
