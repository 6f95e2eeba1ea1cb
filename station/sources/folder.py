"""A folder: every image in it, recursively, sorted, once. (A single image file works too.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from station.core.domain import Frame
from station.core.imageio import IMAGE_SUFFIXES
from station.sources.base import Source


def list_images(root: Path) -> list[Path]:
    """Every image file under `root`. A link that leads nowhere (dangling, or a loop) is listed
    too, so the run reports it by name instead of passing over it; linked folders are not
    followed (a loop would never end) and are reported the same way."""
    if root.is_file():
        return [root]
    out = []
    for p in root.rglob("*"):
        if any(part.startswith(".") for part in p.relative_to(root).parts):
            continue
        if p.is_symlink() and not p.is_file():
            out.append(p)  # dangling, a loop, or a linked folder: reading it says which
        elif p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            out.append(p)
    return sorted(out)


class FolderSource(Source):
    name = "folder"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.paths = list_images(root)

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[Frame]:
        self.status.state = "connected"
        for i, path in enumerate(self.paths):
            if self.should_stop():
                break
            try:
                mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except OSError:
                mtime = datetime.now(UTC)
            self.status.frames += 1
            yield Frame(origin=str(path), captured_at=mtime, index=i, path=str(path))
        self.status.state = "finished"
