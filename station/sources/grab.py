"""Grab N frames from any source into a folder of PNGs: how a new product line is taught from
the camera. The operator then looks at the frames and keeps only good parts (the window shows
them as a sheet to untick), and `teach` reads the folder like any other.

A live camera streams the same part many times a second; `every` keeps one frame in K so the
taught frames span several parts instead of one part fifty times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from station.core.errors import ImageError, SourceError, StationError
from station.core.progress import ProgressFn


@dataclass
class Grabbed:
    out: str
    frames: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)  # {"origin", "error"}: unreadable files are skipped

    def to_json(self) -> dict[str, object]:
        return {"out": self.out, "frames": len(self.frames), "files": self.frames, "failed": self.failed}


def grab_frames(spec: str, out: str | Path, count: int, every: int = 1, should_stop: Callable[[], bool] | None = None,
                progress: ProgressFn | None = None) -> Grabbed:
    """Save `count` frames of source `spec` as OUT/frame-0001.png …; fewer when the source ends."""
    import cv2

    from station.core.fileutil import atomic_write
    from station.core.imageio import decode, read_bytes, to_bgr8
    from station.sources import open_source

    if count < 1:
        raise StationError("--frames must be at least 1")
    if every < 1:
        raise StationError("--every must be at least 1")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StationError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.glob("frame-*.png")):
        raise StationError(f"{out} already holds grabbed frames; choose an empty folder")
    source = open_source(spec)  # before the folder exists: an unplugged camera leaves nothing behind
    out.mkdir(parents=True, exist_ok=True)
    stop = should_stop or (lambda: False)
    result = Grabbed(out=str(out))
    source.should_stop = lambda: stop() or len(result.frames) >= count
    try:
        for seen, frame in enumerate(source):
            if len(result.frames) >= count or stop():
                break
            if seen % every:
                continue
            try:
                image = frame.image if frame.image is not None else decode(read_bytes(frame.path or frame.origin))
            except ImageError as exc:
                result.failed.append({"origin": frame.origin, "error": str(exc)})
                continue
            ok, png = cv2.imencode(".png", to_bgr8(image))
            if not ok:  # a frame OpenCV cannot encode is a bug in the capture path, not the operator's
                raise SourceError(f"could not encode frame {frame.index} of {spec} as PNG")
            path = out / f"frame-{len(result.frames) + 1:04d}.png"
            atomic_write(path, png.tobytes())
            result.frames.append(str(path))
            if progress is not None:
                progress("grab", len(result.frames), count)
    finally:
        source.close()
    if not result.frames:
        raise SourceError(f"{spec} gave no frames to keep")
    return result
