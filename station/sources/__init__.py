"""Frame sources. `open_source(spec)` understands every SRC form of the CLI contract."""

from __future__ import annotations

from pathlib import Path

from station.errors import SourceError
from station.imageio import IMAGE_SUFFIXES
from station.sources.base import Source

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm"}


def open_source(spec: str, **options) -> Source:
    """A folder, watch:PATH, a video file, camera:N, or an rtsp:// / http(s):// stream."""
    spec = str(spec)
    if spec.startswith("watch:"):
        from station.sources.watch import HotFolderSource

        return HotFolderSource(Path(spec[len("watch:") :]), **options)
    if spec.startswith("camera:"):
        from station.sources.capture import CaptureSource

        index = spec[len("camera:") :]
        if not index.isdigit():
            raise SourceError(f"bad camera spec {spec!r}: use camera:N, e.g. camera:0")
        return CaptureSource(int(index), origin=spec, live=True, **options)
    if spec.startswith(("rtsp://", "http://", "https://")):
        from station.sources.capture import CaptureSource

        return CaptureSource(spec, origin=spec, live=True, **options)
    path = Path(spec)
    if path.is_dir():
        from station.sources.folder import FolderSource

        return FolderSource(path)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            from station.sources.folder import FolderSource

            return FolderSource(path)
        from station.sources.capture import CaptureSource

        return CaptureSource(str(path), origin=str(path), live=options.pop("live", False), **options)
    raise SourceError(f"cannot open source {spec!r}: no such folder or file (forms: DIR, watch:DIR, VIDEO, camera:N, rtsp://...)")
