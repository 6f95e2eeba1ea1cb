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
import sys
import tempfile
from pathlib import Path


def make_folder(path: str | os.PathLike[str], what: str = "folder") -> Path:
    """Create `path` and its parents; a path under a file, or a folder this user may not make, is
    one line (StationError) rather than a crash."""
    from station.core.errors import StationError

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise StationError(f"cannot make the {what} {path}: a file stands where a folder must be") from None
    except OSError as exc:
        raise StationError(f"cannot make the {what} {path}: {exc.strerror or exc}") from None
    return path


def file_sha256(path: str | os.PathLike[str]) -> str:
    """A file's SHA-256, read in 1 MB blocks (model weights, database backups)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


RUN_LOCK = "run.lock"  # in the data dir: runs hold it shared, `station restore` exclusively
RUNS_DIR = "runs"  # in the data dir: each run also locks a file of its own, which Windows needs
_run_numbers = iter(range(1, 1 << 62))


class FileLock:
    """An exclusive lock on a small file, held until exit; it covers other processes and other
    threads alike (flock on POSIX, msvcrt.locking on Windows). Blocking waits for the holder;
    non-blocking raises BlockingIOError at once. The lock file is never followed as a link."""

    def __init__(self, path: str | os.PathLike[str], blocking: bool = True, shared: bool = False) -> None:
        """`shared`: many holders at once, none while an exclusive holder has it (POSIX; on
        Windows, where msvcrt has no shared lock, a shared lock is not taken)."""
        self.path = Path(path)
        self.blocking = blocking
        self.shared = shared
        self.fd: int | None = None

    def __enter__(self) -> "FileLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            if sys.platform == "win32":
                import msvcrt

                if self.shared:
                    self.fd = fd
                    return self

                msvcrt.locking(fd, msvcrt.LK_LOCK if self.blocking else msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | (0 if self.blocking else fcntl.LOCK_NB))
        except OSError as exc:
            os.close(fd)
            raise BlockingIOError(str(exc)) from None
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None


class RunLock:
    """What a run holds while it lasts, so `station restore` never swaps the database under it:
    the data dir's run lock, shared (POSIX), and an exclusive lock on a file of its own under
    DATA/runs/. Windows has no shared lock, so there the own file is what restore finds (at
    0.9.1 a run on Windows held nothing)."""

    def __init__(self, data: Path) -> None:
        self.shared = FileLock(data / RUN_LOCK, shared=True)
        folder = data / RUNS_DIR
        folder.mkdir(exist_ok=True)
        self.own = FileLock(folder / f"{os.getpid()}-{next(_run_numbers)}.lock")

    def __enter__(self) -> "RunLock":
        self.shared.__enter__()
        self.own.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.own.__exit__()
        self.own.path.unlink(missing_ok=True)
        self.shared.__exit__()


def runs_holding(data: Path) -> int:
    """How many runs hold DATA/runs/ files now; the files of runs that ended (or were killed, which
    releases their lock) are removed."""
    held = 0
    for path in sorted((data / RUNS_DIR).glob("*.lock")) if (data / RUNS_DIR).is_dir() else []:
        try:
            with FileLock(path, blocking=False):
                pass
        except BlockingIOError:
            held += 1
            continue
        path.unlink(missing_ok=True)
    return held


def tree_bytes(folder: "os.PathLike[str] | str", since: float = 0.0) -> tuple[int, int]:
    """(all bytes, bytes modified since `since`) of the files under a folder; a file that goes
    away meanwhile counts as none."""
    total = recent = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                st = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            total += st.st_size
            if st.st_mtime >= since:
                recent += st.st_size
    return total, recent
