"""The SRC grammar, in one place: parsing a spec into its kind and target, and writing one back.

    DIR            a folder, every image in it once        kind "folder"
    IMAGE          one image file                          kind "folder"
    watch:DIR      a hot folder                             kind "watch"
    VIDEO          a video file                             kind "video"
    camera:N       USB camera N                             kind "camera"
    rtsp://…, http(s)://…  a stream                         kind "stream"
    genicam:ID[?opts]  a GigE Vision / USB3 Vision camera   kind "genicam"
    views:top=SRC,side=SRC  a part seen from several sides  kind "views"
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from station.core.errors import SourceError
from station.core.imageio import IMAGE_SUFFIXES


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # folder | watch | video | camera | stream | genicam
    target: str  # the path, the camera index or the URL

    def __str__(self) -> str:
        return format_spec(self.kind, self.target)

    @property
    def live(self) -> bool:
        """Frames that exist only now (a camera, a stream, a hot folder), not a finite set."""
        from station.sources.kinds import source_kind

        kind = source_kind(self.kind)
        return kind is not None and kind.live


def parse_spec(spec: str) -> SourceSpec:
    """What SRC names: a registered kind by its prefix (station.sources.kinds), else a path. A
    kind may check its target here (a `camera:` index); whether a path exists is the opener's
    to say (a hot folder may be created later)."""
    from station.sources.kinds import match

    spec = str(spec).strip()
    found = match(spec)
    if found is not None:
        return SourceSpec(found[0].name, found[1])
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
    if kind == "views":
        return target if target.startswith("views:") else f"views:{target}"
    return target


def starts_by_itself(spec: str) -> bool:
    """A live source (camera, stream, hot folder) resumes by itself when the station restarts; a
    folder or a video file already inspected waits for Start. A malformed spec waits too."""
    try:
        return parse_spec(spec).live
    except SourceError:
        return False
