"""Which USB camera indices open. Opening a camera can take seconds: the window probes off its
GUI thread, `station doctor` as one of its checks."""

from __future__ import annotations


def probe_cameras(limit: int = 6) -> list[int]:
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # a missing index is not news

    found = []
    for i in range(limit):
        cap = cv2.VideoCapture(i)
        try:
            if cap.isOpened():
                found.append(i)
        finally:
            cap.release()
    return found
