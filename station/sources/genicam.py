"""`genicam:ID`: a GigE Vision or USB3 Vision camera through libaravis (station.sources.aravis_lib).

    genicam:192.168.10.20                          free-run, newest frame wins (like camera:N)
    genicam:BASLER-22931044?trigger=software       one frame per frame asked for (or per PLC trigger)
    genicam:cam7?trigger=hardware&line=Line1       the camera fires on its input line; no frame is dropped
    genicam:cam7?exposure=800&gain=3&pixel_format=BayerRG8

ID is whatever Aravis opens by: an IP address, a serial number, a user-defined name, or
"Vendor-Serial". In a trigger mode every frame carries the trigger it answers (`Frame.trigger`).
A camera that stops answering (a cable pulled) is reopened with backoff, as camera:N is.
"""

from __future__ import annotations

import collections
import ctypes
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from station.core.domain import Frame
from station.core.errors import SourceError
from station.sources import aravis_lib as arv
from station.sources.base import Source, reopen

BUFFERS = 8
HARDWARE_BACKLOG = 64  # frames kept when triggered parts come faster than they are judged
ALIVE_S = 2.0  # a quiet camera is asked this often whether it is still there
# A free-running camera silent this long is reopened even if it answers: a camera that rebooted
# (power, a cable) answers its registers but streams to no one until it is set up again.
QUIET_S = 8.0
MISSES = 3  # software triggers in a row with no frame: the camera is reopened


@dataclass(frozen=True)
class GenicamOptions:
    device: str
    trigger: str = "free"  # free | software | hardware
    line: str = "Line1"
    exposure_us: float | None = None
    gain: float | None = None
    pixel_format: str | None = None
    timeout_s: float = 3.0  # a software trigger's frame must come within this


def parse_genicam(target: str) -> GenicamOptions:
    """`ID?key=value&…` into options; a wrong key or value is one line naming it."""
    device, _, query = target.partition("?")
    if not device:
        raise SourceError("genicam: needs a camera: genicam:ID (IP address, serial or user name)")
    kw: dict[str, Any] = {"device": device}
    for key, value in parse_qsl(query, keep_blank_values=True):
        try:
            if key == "trigger":
                if value not in ("free", "software", "hardware"):
                    raise ValueError("free, software or hardware")
                kw["trigger"] = value
            elif key == "line":
                kw["line"] = value or "Line1"
            elif key in ("exposure", "gain", "timeout"):
                number = float(value)
                if not (number == number and 0 <= number < 1e9):
                    raise ValueError("a number of at least 0")
                kw[{"exposure": "exposure_us", "timeout": "timeout_s"}.get(key, key)] = number
            elif key == "pixel_format":
                kw["pixel_format"] = value
            else:
                raise ValueError("unknown option (trigger, line, exposure, gain, pixel_format, timeout)")
        except ValueError as exc:
            raise SourceError(f"genicam:{target}: {key}={value!r}: {exc}") from None
    return GenicamOptions(**kw)


class GenicamSource(Source):
    name = "genicam"

    def __init__(self, options: GenicamOptions, origin: str, backoff: tuple[float, float] = (0.25, 8.0)) -> None:
        super().__init__()
        self.opts = options
        self.origin = origin
        self.live = True
        self.backoff = backoff
        self.reconnects = 0
        self.triggers = 0
        self.camera_name = ""
        self._cam: int | None = None
        self._stream: int | None = None
        self._io = threading.Lock()  # libaravis objects are used by one thread at a time
        self._cond = threading.Condition()
        self._frames: collections.deque[Frame] = collections.deque(maxlen=1 if options.trigger == "free" else HARDWARE_BACKLOG)
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._connect()
        # What the camera had before any recipe set it: a recipe that names no exposure (or gain)
        # gets it back at a changeover, not the product before's.
        with self._io:
            self._defaults = (float(arv.call("arv_camera_get_exposure_time", self._cam)),  # type: ignore[arg-type]
                              float(arv.call("arv_camera_get_gain", self._cam)))  # type: ignore[arg-type]

    # -- the device -----------------------------------------------------------------------
    def _connect(self) -> None:
        o = self.opts
        try:
            cam = arv.call("arv_camera_new", o.device.encode())
        except arv.CameraError as exc:
            raise SourceError(f"cannot open {self.origin}: {exc}") from None
        try:
            self.camera_name = " ".join(arv.text("arv_camera_get_" + what, cam) for what in
                                        ("vendor_name", "model_name", "device_serial_number")).strip()
            if o.pixel_format:
                arv.call("arv_camera_set_pixel_format_from_string", cam, o.pixel_format.encode())
            if o.exposure_us is not None:
                arv.call("arv_camera_set_exposure_time", cam, o.exposure_us)
            if o.gain is not None:
                arv.call("arv_camera_set_gain", cam, o.gain)
            arv.call("arv_camera_set_acquisition_mode", cam, arv.ACQUISITION_CONTINUOUS)
            if o.trigger == "free":
                arv.call("arv_camera_clear_triggers", cam)
            else:
                arv.call("arv_camera_set_trigger", cam, b"Software" if o.trigger == "software" else o.line.encode())
            payload = int(arv.call("arv_camera_get_payload", cam))  # type: ignore[call-overload]
            stream = arv.call("arv_camera_create_stream", cam, None, None)
            for _ in range(BUFFERS):
                arv.lib().arv_stream_push_buffer(stream, arv.lib().arv_buffer_new(payload, None))
            arv.call("arv_camera_start_acquisition", cam)
        except arv.CameraError as exc:
            arv.unref(cam)  # type: ignore[arg-type]
            raise SourceError(f"cannot set up {self.origin}: {exc}") from None
        self._cam, self._stream = cam, stream  # type: ignore[assignment]
        self.status.state, self.status.detail = "connected", self.camera_name

    def _release(self) -> None:
        cam, stream, self._cam, self._stream = self._cam, self._stream, None, None
        if cam:
            try:
                arv.call("arv_camera_stop_acquisition", cam)
            except arv.CameraError:
                pass  # a camera that is gone cannot stop; its objects are freed all the same
        arv.unref(stream)
        arv.unref(cam)

    def _alive(self) -> bool:
        """Read bootstrap register 0 (GigE Vision's version; USB3 Vision's GenCP version): a feature
        such as ExposureTime may be answered from Aravis's cache by a camera that is gone."""
        value = ctypes.c_uint32()
        try:
            with self._io:
                device = arv.lib().arv_camera_get_device(self._cam)
                arv.call("arv_device_read_register", device, 0, ctypes.byref(value))
            return True
        except (arv.CameraError, ctypes.ArgumentError):
            return False

    def _pop(self, timeout_s: float) -> Frame | None:
        """The next complete frame from the stream, or None after timeout_s."""
        with self._io:
            buf = arv.lib().arv_stream_timeout_pop_buffer(self._stream, int(timeout_s * 1e6))
            if not buf:
                return None
            try:
                if arv.lib().arv_buffer_get_status(buf) != arv.BUFFER_SUCCESS:
                    self.status.dropped += 1
                    return None
                image = _image(buf)
                frame_id = int(arv.lib().arv_buffer_get_frame_id(buf))
            finally:
                arv.lib().arv_stream_push_buffer(self._stream, buf)
        self.status.frames += 1
        trigger = self.triggers if self.opts.trigger == "software" else frame_id if self.opts.trigger == "hardware" else None
        return Frame(origin=f"{self.origin}#{frame_id}", captured_at=datetime.now(UTC), index=frame_id, image=image,
                     live=True, trigger=trigger)

    def _reconnect(self) -> bool:
        self.status.state = "reconnecting"
        with self._io:
            self._release()

        def open_once() -> None:
            with self._io:
                self._connect()

        if not reopen(self, open_once, self._closed, self.backoff, name=self.camera_name or "camera not answering"):
            return False
        self.reconnects += 1
        return True

    def retune(self, target: str) -> bool:
        """A recipe's exposure and gain on the open camera, between two parts. Another camera,
        trigger mode or pixel format needs a new start: the stream is set up for them."""
        o = parse_genicam(target)
        if (o.device, o.trigger, o.line, o.pixel_format) != (self.opts.device, self.opts.trigger, self.opts.line, self.opts.pixel_format):
            raise SourceError(f"genicam:{target}: another camera, trigger mode or pixel format than the run's {self.origin}; "
                              "start again with it")
        exposure, gain = self._wanted(o)
        if (exposure, gain) == self._wanted(self.opts):
            return False
        try:
            with self._io:
                arv.call("arv_camera_set_exposure_time", self._cam, exposure)
                arv.call("arv_camera_set_gain", self._cam, gain)
        except (arv.CameraError, ctypes.ArgumentError) as exc:
            raise SourceError(f"cannot set {self.camera_name or self.origin} to exposure {exposure:g} us, gain {gain:g}: {exc}") from None
        self.opts = o  # a reconnect sets the camera up as this recipe says
        return True

    def _wanted(self, o: GenicamOptions) -> tuple[float, float]:
        return (o.exposure_us if o.exposure_us is not None else self._defaults[0], o.gain if o.gain is not None else self._defaults[1])

    def settings(self) -> dict[str, Any]:
        """What the camera says it is set to (doctor and the tests read it back)."""
        with self._io:
            return {"camera": self.camera_name, "trigger": self.opts.trigger,
                    "exposure_us": float(arv.call("arv_camera_get_exposure_time", self._cam)),  # type: ignore[arg-type]
                    "gain": float(arv.call("arv_camera_get_gain", self._cam)),  # type: ignore[arg-type]
                    "pixel_format": arv.text("arv_camera_get_pixel_format_as_string", self._cam),
                    "trigger_mode": arv.text("arv_camera_get_string", self._cam, b"TriggerMode"),
                    "trigger_source": arv.text("arv_camera_get_string", self._cam, b"TriggerSource")}

    # -- frames -----------------------------------------------------------------------------
    def arm(self) -> None:
        """A PLC trigger came: a free-running frame taken before it is not this part's."""
        with self._cond:
            if self.opts.trigger == "free":
                self._frames.clear()

    def _reader(self) -> None:
        quiet = asked = time.monotonic()
        while not self._closed.is_set():
            frame = self._pop(0.2)
            if frame is not None:
                quiet = asked = time.monotonic()
                with self._cond:
                    if len(self._frames) == self._frames.maxlen:
                        self.status.dropped += 1
                    self._frames.append(frame)
                    self._cond.notify_all()
                continue
            # Triggered cameras are quiet between parts; whether it is still there is asked every ALIVE_S.
            now = time.monotonic()
            silent = self.opts.trigger == "free" and now - quiet > QUIET_S
            if silent or now - asked > ALIVE_S:
                asked = now
                if silent or not self._alive():
                    if silent:
                        self.status.detail = f"no frame for {QUIET_S:.0f} s"
                    if not self._reconnect():
                        break
                    quiet = asked = time.monotonic()
        with self._cond:
            self._cond.notify_all()

    def _iter_streamed(self) -> Iterator[Frame]:
        self._thread = threading.Thread(target=self._reader, name=f"genicam {self.origin}", daemon=True)
        self._thread.start()
        while not self.should_stop():
            with self._cond:
                if not self._frames:
                    if not self._thread.is_alive():
                        return
                    self._cond.wait(timeout=0.2)
                    continue
                frame = self._frames.popleft()
            yield frame

    def _iter_software(self) -> Iterator[Frame]:
        """Each frame asked for is one software trigger and the frame that answers it."""
        misses = 0
        while not self.should_stop() and not self._closed.is_set():
            try:
                with self._io:
                    arv.call("arv_camera_software_trigger", self._cam)
                self.triggers += 1
                frame = self._pop(self.opts.timeout_s)
            except (arv.CameraError, ctypes.ArgumentError):
                frame = None
            if frame is not None:
                misses = 0
                yield frame
                continue
            misses += 1
            self.status.dropped += 1
            if misses >= MISSES or not self._alive():
                if not self._reconnect():
                    return
                misses = 0

    def __iter__(self) -> Iterator[Frame]:
        try:
            yield from (self._iter_software() if self.opts.trigger == "software" else self._iter_streamed())
        finally:
            self.close()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._io:
            self._release()
        self.status.state = "finished"


def _image(buf: int) -> Any:
    """The buffer's pixels as a BGR or grey ndarray (a copy: the buffer goes back to the stream)."""
    import numpy as np

    lib = arv.lib()
    w, h, fmt = lib.arv_buffer_get_image_width(buf), lib.arv_buffer_get_image_height(buf), lib.arv_buffer_get_image_pixel_format(buf)
    size = ctypes.c_size_t()
    ptr = lib.arv_buffer_get_image_data(buf, ctypes.byref(size))
    raw = np.frombuffer(ctypes.string_at(ptr, size.value), dtype=np.uint8)
    if fmt == arv.MONO8:
        return raw[: w * h].reshape(h, w).copy()
    if fmt in (arv.MONO10, arv.MONO12, arv.MONO16):
        return raw[: w * h * 2].view("<u2").reshape(h, w).copy()
    if fmt in (arv.RGB8, arv.BGR8):
        img = raw[: w * h * 3].reshape(h, w, 3)
        return img[..., ::-1].copy() if fmt == arv.RGB8 else img.copy()
    if fmt in arv.BAYER8:
        import cv2

        # OpenCV names a Bayer pattern by its second row: GenICam's RG is OpenCV's BG.
        code = getattr(cv2, "COLOR_Bayer{}2BGR".format({"RG": "BG", "BG": "RG", "GR": "GB", "GB": "GR"}[arv.BAYER8[fmt]]))
        return cv2.cvtColor(raw[: w * h].reshape(h, w), code)
    raise SourceError(f"pixel format 0x{fmt:08x} is not supported: set pixel_format=Mono8, RGB8 or a Bayer 8-bit format")
