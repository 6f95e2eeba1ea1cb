"""Source kinds, one registration each: the SRC prefix that names it, how it opens, and whether
its frames exist only now (a live source). `station.sources.spec` parses by this table and
`station.sources.open_source` opens by it, so a new kind is one module and one line:

    register_source(SourceKind("tick", ("tick:",), open_tick))

A folder, an image or a video file (a path with no prefix) is the fallback, not a kind here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.sources.base import Source

Opener = Callable[[str, dict[str, Any]], "Source"]  # (target, the caller's options) -> the source


@dataclass(frozen=True)
class SourceKind:
    name: str
    prefixes: tuple[str, ...]  # what a SRC starts with: "watch:", or a URL's schemes
    open: Opener
    live: bool = True  # frames that exist only now (a camera, a stream, a hot folder), not a finite set
    keep_prefix: bool = False  # the target is the whole SRC (a URL), not what follows the prefix
    check: Callable[[str], None] | None = None  # raises SourceError for a malformed target, at parse time


_KINDS: dict[str, SourceKind] = {}


def register_source(kind: SourceKind) -> None:
    """Add (or replace, by name) a source kind."""
    _KINDS[kind.name] = kind


def source_kind(name: str) -> SourceKind | None:
    return _KINDS.get(name)


def match(spec: str) -> tuple[SourceKind, str] | None:
    """The kind a SRC names by its prefix, and its target; None for a path."""
    for kind in sorted(_KINDS.values(), key=lambda k: -max(len(p) for p in k.prefixes)):
        for prefix in kind.prefixes:
            if spec.startswith(prefix):
                target = spec if kind.keep_prefix else spec[len(prefix):]
                if kind.check is not None:
                    kind.check(target)
                return kind, target
    return None


# -- the built-in kinds --------------------------------------------------------------------------
def _watch(target: str, options: dict[str, Any]) -> Source:
    from station.sources.watch import HotFolderSource

    return HotFolderSource(Path(target), **options)


def _genicam(target: str, options: dict[str, Any]) -> Source:
    from station.sources.genicam import GenicamSource, parse_genicam

    camera = parse_genicam(target)
    return GenicamSource(camera, origin=f"genicam:{camera.device}")


def _capture(camera: bool) -> Opener:
    def open_(target: str, options: dict[str, Any]) -> Source:
        from station.core.redact import mask
        from station.sources.capture import CaptureSource

        if camera:
            from station.sources.usb_settings import parse_usb

            usb = parse_usb(target)
            return CaptureSource(usb.index, origin=f"camera:{usb.index}", live=True, settings=usb.values, **options)
        # The origin goes into rows, sinks, banners and the log: never a camera's password.
        return CaptureSource(target, origin=mask(target), live=True, **options)
    return open_


def _camera_index(target: str) -> None:
    from station.sources.usb_settings import parse_usb

    parse_usb(target)


def _views(target: str, options: dict[str, Any]) -> Source:
    from station.sources.views import ViewsSource, parse_views

    return ViewsSource(parse_views(target))


def _check_views(target: str) -> None:
    from station.sources.views import parse_views

    parse_views(target)


register_source(SourceKind("watch", ("watch:",), _watch))
register_source(SourceKind("camera", ("camera:",), _capture(camera=True), check=_camera_index))
register_source(SourceKind("genicam", ("genicam:",), _genicam))
register_source(SourceKind("stream", ("rtsp://", "http://", "https://"), _capture(camera=False), keep_prefix=True))
# Folders paired by name are a finite set; cameras' views are restarted by hand for now.
register_source(SourceKind("views", ("views:",), _views, live=False, check=_check_views))
