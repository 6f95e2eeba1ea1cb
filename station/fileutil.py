"""The one atomic write: a unique temporary file created exclusively beside the target, then
renamed over it.

- Unique and exclusive (mkstemp: O_CREAT | O_EXCL): two writers never share a temporary file,
  and a symbolic link planted under a predictable name cannot redirect the write.
- The rename replaces the target itself: if the target was a link, the link is replaced and
  what it pointed to is left alone.
- A reader sees the old file or the new one, never half of one; a crash leaves at most a
  dot-file that the next write does not trip over.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], data: bytes | str, fsync: bool = False) -> None:
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
