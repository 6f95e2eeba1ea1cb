"""Frame sources. `open_source(spec)` understands every SRC form of the CLI contract."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from station.core.errors import SourceError
from station.sources.base import Source
from station.sources.spec import parse_spec


def open_source(spec: str, should_stop: Callable[[], bool] | None = None, **options) -> Source:
    """A folder, watch:PATH, a video file, camera:N, genicam:ID, or an rtsp:// / http(s):// stream. A source
    that waits (for files, for a camera) asks `should_stop` and ends its stream when it says so."""
    source = _open(spec, **options)
    if should_stop is not None:
        source.should_stop = should_stop
    return source


def _open(spec: str, **options) -> Source:
    from station.sources.kinds import source_kind

    src = parse_spec(spec)
    kind = source_kind(src.kind)
    if kind is not None:
        return kind.open(src.target, options)
    path = Path(src.target)
    if src.kind == "video":
        from station.sources.capture import CaptureSource

        return CaptureSource(str(path), origin=str(path), live=options.pop("live", False), **options)
    if path.is_dir() or path.is_file():
        from station.sources.folder import FolderSource

        return FolderSource(path)
    raise SourceError(f"cannot open source {spec!r}: no such folder or file (forms: DIR, watch:DIR, VIDEO, camera:N, genicam:ID, rtsp://...)")
