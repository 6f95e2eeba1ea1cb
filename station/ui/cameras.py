"""Which USB camera indices open: probed off the GUI thread (opening a camera can take seconds)."""

from __future__ import annotations


def probe_cameras(limit: int = 6) -> list[int]:
    import cv2

    found = []
    for i in range(limit):
        cap = cv2.VideoCapture(i)
        try:
            if cap.isOpened():
                found.append(i)
        finally:
            cap.release()
    return found
