"""Settings (station.line.settings): typed, in range, and a bad value changes nothing."""

from __future__ import annotations

import pytest

from station.core.errors import StationError
from station.line import settings


def test_a_value_is_checked_saved_and_read_back(tmp_path):
    settings.set_value("disk.spool_gb", "0.5", tmp_path)
    settings.set_value("alarm.line_down_minutes", "2", tmp_path)  # an int where a float is wanted is fine
    s = settings.load(tmp_path)
    assert s.disk.spool_gb == 0.5 and s.alarm.line_down_minutes == 2.0
    assert settings.pick(s, "disk.spool_gb") == {"disk.spool_gb": 0.5}


@pytest.mark.parametrize("key, text, said", [
    ("disk.spool_gb", "-1", "must be within 0..1e+06"),
    ("alarm.line_down_minutes", "0", "must be within 0.1..10080"),
    ("alarm.fails_in_a_row", "2.5", "must be a int"),
    ("alarm.sound", "1", "must be a bool"),
    ("inference.backend", '"cuda"', "must be auto, torch or onnxruntime"),
    ("disk.spool", "1", "unknown setting 'disk.spool'"),
])
def test_a_bad_value_is_one_line_and_changes_nothing(tmp_path, key, text, said):
    settings.set_value("disk.spool_gb", "3", tmp_path)
    before = settings.path(tmp_path).read_bytes()
    with pytest.raises(StationError) as caught:
        settings.set_value(key, text, tmp_path)
    assert said in str(caught.value) and "\n" not in str(caught.value)
    assert settings.path(tmp_path).read_bytes() == before
