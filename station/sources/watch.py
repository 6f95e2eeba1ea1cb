"""A hot folder: files are inspected as they land, once, and only after the writer is done.

Polling, not inotify: it works the same on network shares and Windows. A file is complete
when its size and mtime hold still for `settle` seconds; temp names (.part, .tmp, ~, dot-files)
are ignored, so writers that rename into place are picked up at the rename.

A file is handed on again whenever its size or mtime changes after that: a writer that paused
longer than `settle` mid-file had its half file judged undecodable, and the finished part must
still be inspected (it used to be marked seen and never looked at again). A file rewritten with
the same bytes is skipped downstream by its content hash, so nothing is stored twice.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from station.core.domain import Frame
from station.core.errors import SourceError
from station.core.imageio import IMAGE_SUFFIXES
from station.sources.base import Source

TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", "~")
EMPTY_GRACE = 2.0


class HotFolderSource(Source):
    name = "watch"
    live = True

    def __init__(self, root: Path, poll: float = 0.25, idle_exit: float | None = None, settle: float = 0.5) -> None:
        super().__init__()
        if not root.is_dir():
            raise SourceError(f"hot folder not found: {root}")
        self.root = root
        self.poll = poll
        self.idle_exit = idle_exit  # stop after this many seconds without a new file (None: never)
        self.settle = settle
        self.seen: dict[Path, tuple[int, float]] = {}  # file -> (size, mtime) when it was handed on
        self.pending: dict[Path, tuple[tuple[int, float], float]] = {}  # file -> (signature, since when)

    def _candidates(self) -> list[Path]:
        out = []
        for p in self.root.rglob("*"):
            name = p.name
            if name.startswith(".") or name.endswith(TEMP_SUFFIXES) or p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            out.append(p)  # whether it is a file is read from the one stat() per poll in __iter__
        return sorted(out)

    def __iter__(self) -> Iterator[Frame]:
        self.status.state = "connected"
        last_new = time.monotonic()
        index = 0
        while not self.should_stop():
            ready = []
            for p in self._candidates():
                try:
                    st = p.stat()
                except OSError:
                    continue  # vanished between listing and stat
                if not stat.S_ISREG(st.st_mode):
                    continue
                sig = (st.st_size, st.st_mtime)
                if self.seen.get(p) == sig:
                    continue  # handed on already, unchanged since
                prev = self.pending.get(p)
                held = time.monotonic() - prev[1] if prev else 0.0
                # An empty file may be a writer that has not started: give it EMPTY_GRACE seconds.
                if prev and prev[0] == sig and held >= self.settle and (st.st_size > 0 or held > EMPTY_GRACE):
                    ready.append((p, sig))
                elif not prev or prev[0] != sig:
                    self.pending[p] = (sig, time.monotonic())
            for p, sig in ready:
                self.pending.pop(p, None)
                self.seen[p] = sig
                self.status.frames += 1
                last_new = time.monotonic()
                yield Frame(origin=str(p), captured_at=datetime.now(UTC), index=index, path=str(p), live=True)
                index += 1
                if self.should_stop():
                    break
            if self.idle_exit is not None and time.monotonic() - last_new > self.idle_exit and not self.pending:
                break
            time.sleep(self.poll)
        self.status.state = "finished"
