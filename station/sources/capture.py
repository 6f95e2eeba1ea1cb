"""OpenCV capture: video files, USB cameras (camera:N) and rtsp/http streams, one code path.

Live sources are latest-frame-wins: a reader thread keeps only the newest frame, so a slow model
never builds a backlog, and every overwritten frame is counted as dropped. When a live device
fails mid-run it is reopened with capped exponential backoff; status says so; nothing hangs.
The thread is private to this module and ends with close().
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from station.core.domain import Frame
from station.core.errors import SourceError
from station.sources.base import Source, reopen

OPEN_TIMEOUT_MS = 5000
log = logging.getLogger("station.sources")


def default_opener(target: int | str) -> Any:
    import cv2

    # OpenCV's backend probing prints WARN lines for every backend it tries; the station says
    # itself, in one line, when a device does not answer.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    if isinstance(target, str) and "://" in target:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, OPEN_TIMEOUT_MS]
        return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
    return cv2.VideoCapture(target)


class CaptureSource(Source):
    name = "capture"

    def __init__(
        self,
        target: int | str,
        origin: str,
        live: bool = False,
        opener: Callable[[int | str], Any] = default_opener,
        max_retries: int | None = None,
        backoff: tuple[float, float] = (0.25, 8.0),
        settings: dict[str, float] | None = None,
    ) -> None:
        super().__init__()
        self.target = target
        self.settings = dict(settings or {})  # a USB camera's (station.sources.usb_settings), set at every open
        self._io = threading.Lock()  # a setting changed between two parts never meets a read half-way
        self.origin = origin
        self.live = live
        self.opener = opener
        self.max_retries = max_retries  # consecutive failed reopens before giving up; None: keep trying
        self.backoff = backoff
        self.reconnects = 0
        self._cap = self._open()
        self._cond = threading.Condition()
        self._latest: tuple[int, Any, datetime] | None = None
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self) -> Any:
        cap = self.opener(self.target)
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise SourceError(f"cannot open {self.origin}: no device or stream answered")
        self.status.state = "connected"
        self._set(cap, self.settings)
        return cap

    def _set(self, cap: Any, values: dict[str, float]) -> None:
        from station.sources.usb_settings import apply

        refused = apply(cap, values) if values else []
        if refused:  # said once per open: the run goes on, and its golden check proves the picture
            self.status.detail = f"{self.origin} did not take {', '.join(refused)}"
            log.warning("%s", self.status.detail)

    def retune(self, target: str) -> bool:
        """A recipe's settings for the same USB camera, set on the open device between two parts;
        what the camera does not take is said, as at open."""
        from station.sources.usb_settings import parse_usb

        if not isinstance(self.target, int):
            return super().retune(target)
        wanted = parse_usb(target)
        if wanted.index != self.target:
            raise SourceError(f"camera:{target}: another camera than the run's {self.origin}; start again with it")
        if wanted.values == self.settings:
            return False
        with self._io:
            self._set(self._cap, wanted.values)
        with self._cond:
            self._latest = None  # taken as it was set before
        self.settings = dict(wanted.values)  # a reconnect sets the camera up as this recipe says
        return True

    # -- file mode: every frame, in order -------------------------------------------------
    def _iter_file(self) -> Iterator[Frame]:
        i = 0
        while not self.should_stop():
            ok, image = self._cap.read()
            if not ok or image is None:
                break
            self.status.frames += 1
            yield Frame(origin=f"{self.origin}#{i}", captured_at=datetime.now(UTC), index=i, image=image)
            i += 1
        self.status.state = "finished"

    # -- live mode: a reader thread, newest frame wins ---------------------------------------
    def _reader(self) -> None:
        index = 0
        while not self._closed.is_set():
            ok, image = (False, None)
            try:
                with self._io:
                    ok, image = self._cap.read()
            except Exception as exc:  # noqa: BLE001 (a driver error is a lost device, never a dead thread)
                self.status.detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            if ok and image is not None:
                with self._cond:
                    if self._latest is not None:
                        self.status.dropped += 1
                    self._latest = (index, image, datetime.now(UTC))
                    self.status.frames += 1
                    self._cond.notify_all()
                index += 1
                continue
            if not self._reconnect():
                break
        with self._cond:
            self._cond.notify_all()

    def _reconnect(self) -> bool:
        self.status.state = "reconnecting"
        try:
            self._cap.release()
        except Exception:  # noqa: BLE001 (releasing a device that already failed may fail too)
            pass
        def open_once() -> None:
            self._cap = self._open()

        if not reopen(self, open_once, self._closed, self.backoff, self.max_retries):
            return False
        self.reconnects += 1
        return True

    def _iter_live(self) -> Iterator[Frame]:
        self._thread = threading.Thread(target=self._reader, name=f"capture {self.origin}", daemon=True)
        self._thread.start()
        try:
            while not self.should_stop():
                with self._cond:
                    if self._latest is None:
                        if self.status.state == "lost" or not self._thread.is_alive():
                            break
                        self._cond.wait(timeout=0.2)  # short: stop requests are honoured promptly
                        continue
                    index, image, at = self._latest
                    self._latest = None
                yield Frame(origin=f"{self.origin}#{index}", captured_at=at, index=index, image=image, live=True)
        finally:
            self.close()

    def arm(self) -> None:
        with self._cond:
            self._latest = None  # taken before the trigger: not the part the PLC means

    def __iter__(self) -> Iterator[Frame]:
        return self._iter_live() if self.live else self._iter_file()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=OPEN_TIMEOUT_MS / 1000 + 1)
        try:
            self._cap.release()
        except Exception:  # noqa: BLE001 (releasing a device that already failed may fail too)
            pass
        if self.status.state != "lost":
            self.status.state = "finished"
