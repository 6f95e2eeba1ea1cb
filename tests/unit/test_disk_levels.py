"""The disk guard's levels (station.line.diskguard): "below N GB or P percent, whichever comes first"."""

from __future__ import annotations

from station.line.diskguard import GB, DiskState, is_no_space, level_for
from station.line.settings import Disk


def test_levels_follow_the_larger_floor_of_gb_and_percent():
    disk = Disk(warn_gb=5, warn_percent=10, critical_gb=1, critical_percent=2, reserve_gb=0.25)
    total = 100 * GB  # 10% = 10 GB beats 5 GB; 2% = 2 GB beats 1 GB
    assert level_for(int(11 * GB), total, disk) == "ok"
    assert level_for(int(9 * GB), total, disk) == "low"
    assert level_for(int(1.5 * GB), total, disk) == "critical"
    assert level_for(int(0.2 * GB), total, disk) == "full"
    small = 20 * GB  # 10% = 2 GB: here the 5 GB floor is the larger
    assert level_for(int(4 * GB), small, disk) == "low"


def test_what_each_level_keeps():
    assert DiskState("low", 1, 2, "/d").stores_passed and DiskState("low", 1, 2, "/d").stores_images
    assert not DiskState("critical", 1, 2, "/d").stores_passed and DiskState("critical", 1, 2, "/d").stores_images
    assert not DiskState("full", 1, 2, "/d").stores_images
    assert "passed parts' images are not stored" in DiskState("critical", GB, 100 * GB, "/d").message()


def test_no_space_is_recognised_in_its_several_spellings():
    import errno

    assert is_no_space(OSError(errno.ENOSPC, "No space left on device"))
    assert is_no_space(Exception("(sqlite3.OperationalError) database or disk is full"))
    assert not is_no_space(OSError(errno.EACCES, "Permission denied"))
