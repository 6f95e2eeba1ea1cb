"""What the test_users tests of more than one tier share."""

from __future__ import annotations


def as_user(pin: str, new_pin: str | None = None) -> dict[str, str]:
    env = {"STATION_PIN": pin}
    if new_pin:
        env["STATION_NEW_PIN"] = new_pin
    return env
