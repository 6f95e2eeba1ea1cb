"""What the test_secrets tests of more than one tier share."""

from __future__ import annotations

SECRET = "s3cr3t-cam-pw"
