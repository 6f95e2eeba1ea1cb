"""libaravis through ctypes: the few calls a GigE Vision / USB3 Vision camera needs, and nothing
more. The `aravis-python` wheel ships libaravis itself; its own Python binding needs PyGObject
(a compiler and GTK headers on the shop PC), so the station calls the C API directly.

Every call that can fail takes a GError and raises CameraError with Aravis's own message.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import sys
import threading
from pathlib import Path

from station.core.errors import SourceError

P = ctypes.c_void_p
ACQUISITION_CONTINUOUS = 1
BUFFER_SUCCESS = 0

# GenICam pixel format codes (PFNC); other formats are refused in one line.
MONO8, MONO10, MONO12, MONO16 = 0x01080001, 0x01100003, 0x01100005, 0x01100007
RGB8, BGR8 = 0x02180014, 0x02180015
BAYER8 = {0x01080008: "GR", 0x01080009: "RG", 0x0108000A: "GB", 0x0108000B: "BG"}


class CameraError(SourceError):
    """The camera or libaravis said no (one line, Aravis's own words)."""


class _GError(ctypes.Structure):
    _fields_ = [("domain", ctypes.c_uint32), ("code", ctypes.c_int), ("message", ctypes.c_char_p)]


_ErrPtr = ctypes.POINTER(ctypes.POINTER(_GError))
_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_glib: tuple[ctypes.CDLL, ctypes.CDLL] | None = None


def _library_path() -> str:
    """$STATION_ARAVIS_LIB, else the aravis-python wheel's copy, else the system's."""
    if env := os.environ.get("STATION_ARAVIS_LIB"):
        return env
    frozen = getattr(sys, "_MEIPASS", None)  # the shop-PC bundle keeps the wheel's copy here (build.spec)
    if frozen and (Path(frozen) / "aravis" / "lib" / "libaravis-0.8.so.0").exists():
        return str(Path(frozen) / "aravis" / "lib" / "libaravis-0.8.so.0")
    spec = importlib.util.find_spec("aravis")  # the wheel's package; importing it would need PyGObject
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "lib" / "libaravis-0.8.so.0"
        if candidate.exists():
            return str(candidate)
    found = ctypes.util.find_library("aravis-0.8")
    if not found:
        raise CameraError("GenICam cameras need libaravis: install the aravis-python package (pip install aravis-python)")
    return found


_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "arv_camera_new": (P, [ctypes.c_char_p, _ErrPtr]),
    "arv_camera_get_vendor_name": (ctypes.c_char_p, [P, _ErrPtr]),
    "arv_camera_get_model_name": (ctypes.c_char_p, [P, _ErrPtr]),
    "arv_camera_get_device_serial_number": (ctypes.c_char_p, [P, _ErrPtr]),
    "arv_camera_get_pixel_format_as_string": (ctypes.c_char_p, [P, _ErrPtr]),
    "arv_camera_set_pixel_format_from_string": (None, [P, ctypes.c_char_p, _ErrPtr]),
    "arv_camera_set_exposure_time": (None, [P, ctypes.c_double, _ErrPtr]),
    "arv_camera_get_exposure_time": (ctypes.c_double, [P, _ErrPtr]),
    "arv_camera_set_gain": (None, [P, ctypes.c_double, _ErrPtr]),
    "arv_camera_get_gain": (ctypes.c_double, [P, _ErrPtr]),
    "arv_camera_get_string": (ctypes.c_char_p, [P, ctypes.c_char_p, _ErrPtr]),
    "arv_camera_set_acquisition_mode": (None, [P, ctypes.c_int, _ErrPtr]),
    "arv_camera_set_trigger": (None, [P, ctypes.c_char_p, _ErrPtr]),
    "arv_camera_clear_triggers": (None, [P, _ErrPtr]),
    "arv_camera_software_trigger": (None, [P, _ErrPtr]),
    "arv_camera_get_payload": (ctypes.c_uint, [P, _ErrPtr]),
    "arv_camera_create_stream": (P, [P, P, P, _ErrPtr]),
    "arv_camera_start_acquisition": (None, [P, _ErrPtr]),
    "arv_camera_stop_acquisition": (None, [P, _ErrPtr]),
    "arv_camera_get_device": (P, [P]),
    "arv_device_read_register": (ctypes.c_bool, [P, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint32), _ErrPtr]),
    "arv_buffer_new": (P, [ctypes.c_size_t, P]),
    "arv_stream_push_buffer": (None, [P, P]),
    "arv_stream_timeout_pop_buffer": (P, [P, ctypes.c_uint64]),
    "arv_buffer_get_status": (ctypes.c_int, [P]),
    "arv_buffer_get_image_width": (ctypes.c_int, [P]),
    "arv_buffer_get_image_height": (ctypes.c_int, [P]),
    "arv_buffer_get_image_pixel_format": (ctypes.c_uint32, [P]),
    "arv_buffer_get_image_data": (P, [P, ctypes.POINTER(ctypes.c_size_t)]),
    "arv_buffer_get_frame_id": (ctypes.c_uint64, [P]),
}


def lib() -> ctypes.CDLL:
    global _lib, _glib
    with _lock:
        if _lib is None:
            try:
                loaded = ctypes.CDLL(_library_path())
                gobject = ctypes.CDLL(ctypes.util.find_library("gobject-2.0") or "libgobject-2.0.so.0")
                glib = ctypes.CDLL(ctypes.util.find_library("glib-2.0") or "libglib-2.0.so.0")
            except OSError as exc:
                raise CameraError(f"cannot load libaravis: {exc}") from exc
            for name, (restype, argtypes) in _SIGNATURES.items():
                fn = getattr(loaded, name)
                fn.restype, fn.argtypes = restype, argtypes
            gobject.g_object_unref.argtypes = [P]
            glib.g_error_free.argtypes = [ctypes.POINTER(_GError)]
            _lib, _glib = loaded, (gobject, glib)
        return _lib


def call(name: str, *args: object) -> object:
    """lib().name(*args, &error), raising CameraError when Aravis sets the error."""
    err = ctypes.POINTER(_GError)()
    out = getattr(lib(), name)(*args, ctypes.byref(err))
    if err:
        message = (err.contents.message or b"").decode(errors="replace")
        assert _glib is not None
        _glib[1].g_error_free(err)
        raise CameraError(message or f"{name} failed")
    return out


def text(name: str, *args: object) -> str:
    out = call(name, *args)
    return out.decode(errors="replace") if isinstance(out, bytes) else ""


def unref(obj: int | None) -> None:
    if obj:
        lib()
        assert _glib is not None
        _glib[0].g_object_unref(obj)
