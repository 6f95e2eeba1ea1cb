"""Class labels: the one rule every entry point (CLI, GUI, export, training) applies."""

from __future__ import annotations

import re

from station.core.errors import StationError

GOOD = "good"
_LABEL = re.compile(r"[a-z0-9_-]{1,64}")


def validate_label(label: str) -> str:
    """Return `label` unchanged if it is a valid class name, else raise a one-line StationError."""
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        raise StationError(f"invalid label {label!r}: use 1-64 characters from a-z, 0-9, '_' and '-'")
    return label


def is_defect(label: str) -> bool:
    return label != GOOD
