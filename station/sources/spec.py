"""The SRC grammar, in one place: parsing a spec into its kind and target, and writing one back.

    DIR            a folder, every image in it once        kind "folder"
    IMAGE          one image file                          kind "folder"
    watch:DIR      a hot folder                             kind "watch"
    VIDEO          a video file                             kind "video"
    camera:N       USB camera N                             kind "camera"
    rtsp://…, http(s)://…  a stream                         kind "stream"
    genicam:ID[?opts]  a GigE Vision / USB3 Vision camera   kind "genicam"
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from station.errors import SourceError
from station.imageio import IMAGE_SUFFIXES

STREAM_SCHEMES = ("rtsp://", "http://", "https://")


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # folder | watch | video | camera | stream | genicam
    target: str  # the path, the camera index or the URL

    def __str__(self) -> str:
        return format_spec(self.kind, self.target)

    @property
    def live(self) -> bool:
        """Frames that exist only now (a camera, a stream, a hot folder), not a finite set."""
        return self.kind in ("camera", "stream", "watch", "genicam")


def parse_spec(spec: str) -> SourceSpec:
    """What SRC names. Only a `camera:` index is checked here; whether a path exists is the
    opener's to say (a hot folder may be created later)."""
    spec = str(spec).strip()
    if spec.startswith("watch:"):
        return SourceSpec("watch", spec[len("watch:"):])
    if spec.startswith("camera:"):
        index = spec[len("camera:"):]
        if not index.isdigit():
            raise SourceError(f"bad camera spec {spec!r}: use camera:N, e.g. camera:0")
        return SourceSpec("camera", index)
    if spec.startswith("genicam:"):
        return SourceSpec("genicam", spec[len("genicam:"):])
    if spec.startswith(STREAM_SCHEMES):
        return SourceSpec("stream", spec)
    path = Path(spec)
    if path.is_file() and path.suffix.lower() not in IMAGE_SUFFIXES:
        return SourceSpec("video", spec)
    return SourceSpec("folder", spec)


def format_spec(kind: str, target: str) -> str:
    """The SRC string for a kind and a target (the window's source bar has one field each)."""
    target = target.strip()
    if kind == "watch":
        return target if target.startswith("watch:") else f"watch:{target}"
    if kind == "camera":
        return target if target.startswith("camera:") else f"camera:{target or 0}"
    if kind == "genicam":
        return target if target.startswith("genicam:") else f"genicam:{target}"
    return target


def starts_by_itself(spec: str) -> bool:
    """A live source (camera, stream, hot folder) resumes by itself when the station restarts; a
    folder or a video file already inspected waits for Start. A malformed spec waits too."""
    try:
        return parse_spec(spec).live
    except SourceError:
        return False
