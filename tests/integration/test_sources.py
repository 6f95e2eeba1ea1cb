"""Sources: folder, hot folder, video file, and a capture that fails mid-stream and reconnects.

The video file is generated here and read through the same CaptureSource a USB camera uses.
"""

from __future__ import annotations

import shutil
import threading
import time

from station.sources import open_source


def test_hot_folder_picks_up_files_once_complete(tmp_path, demo_images):
    hot = tmp_path / "hot"
    hot.mkdir()
    files = sorted(demo_images.rglob("*.png"))[:3]
    src = open_source(f"watch:{hot}", poll=0.05, idle_exit=1.5)

    def writer():
        time.sleep(0.2)
        # a slow writer: half the file, a pause, the rest
        data = files[0].read_bytes()
        with open(hot / "slow.png", "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(0.4)
            f.write(data[len(data) // 2 :])
        shutil.copy(files[1], hot / "b.png.part")  # temp name, then rename into place
        (hot / "b.png.part").rename(hot / "b.png")
        shutil.copy(files[2], hot / "c.png")

    t = threading.Thread(target=writer)
    t.start()
    frames = list(src)
    t.join()
    names = sorted(f.path.split("/")[-1] for f in frames)
    assert names == ["b.png", "c.png", "slow.png"]
    slow = next(f for f in frames if f.path.endswith("slow.png"))
    assert open(slow.path, "rb").read() == files[0].read_bytes()
