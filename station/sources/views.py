"""A part seen from several sides: `views:top=SRC,side=SRC`, each view a source of its own.

Each part is one frame from every view, given out together and named by one part id:

- **folders** (every view a folder or an image file) are paired by file name: `top/0042.png`
  and `side/0042.png` are one part. A name one folder lacks is that view missing;
- **cameras and streams** give each view's next frame after a trigger (`arm`): every view's
  frame is asked for at once and waited for up to `wait` seconds (`views:wait=2,top=...`), and
  a view that sends none in time is missing;
- **one camera named by several views** (`top=genicam:c1,side=genicam:c1`, two lightings) is
  opened once and fired once a view: its frames are the views, in the order named.

A missing view is a frame marked `refused` with the reason, so the part is NOT INSPECTED and says
why; it is never passed. The views' verdicts become the part's in `station.core.parts`.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from station.core.domain import Frame, new_uid
from station.core.errors import SourceError
from station.sources.base import Source

log = logging.getLogger("station.sources")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_SPLIT = re.compile(r",(?=[A-Za-z][\w-]*=)")  # a comma before "name=": a camera's query has none
WAIT_S = 2.0


@dataclass(frozen=True)
class ViewsSpec:
    views: tuple[tuple[str, str], ...]  # (name, SRC), in the station's order
    wait_s: float = WAIT_S

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.views)


def parse_views(target: str) -> ViewsSpec:
    """`top=SRC,side=SRC[,wait=S]` -> ViewsSpec, or SourceError saying what is wrong."""
    views: list[tuple[str, str]] = []
    wait = WAIT_S
    for item in _SPLIT.split(target):
        name, eq, src = item.partition("=")
        name = name.strip()
        if not eq or not src.strip():
            raise SourceError(f"views: {item!r} is not NAME=SRC (for example views:top=cam/top,side=cam/side)")
        if name == "wait":
            try:
                wait = float(src)
            except ValueError:
                raise SourceError(f"views: wait={src!r} is not a number of seconds") from None
            if not 0 < wait <= 60:
                raise SourceError("views: wait must be more than 0 and at most 60 seconds")
            continue
        if not _NAME.match(name):
            raise SourceError(f"views: {name!r} is not a view name (lower-case letters, digits, - and _)")
        if name in dict(views):
            raise SourceError(f"views: {name!r} is named twice")
        if src.strip().startswith("views:"):
            raise SourceError("views: a view cannot itself be views")
        views.append((name, src.strip()))
    if len(views) < 2:
        raise SourceError("views: name at least two views (top=SRC,side=SRC); one view is a plain SRC")
    return ViewsSpec(tuple(views), wait)


class ViewsSource(Source):
    """The views of each part, together; iterate `parts()` for one list per part."""

    name = "views"

    def __init__(self, spec: ViewsSpec) -> None:
        from station.sources import open_source
        from station.sources.folder import FolderSource

        super().__init__()
        self.spec = spec
        # One camera named by several views is opened once and fired once a view (top lit, then
        # side lit): its frames are the views in the order named.
        self.devices: list[Source] = []
        self.inner: list[Source] = []  # each view's source (shared when views name one camera)
        opened: dict[str, Source] = {}
        try:
            for _, src in spec.views:
                if src not in opened:
                    opened[src] = open_source(src, should_stop=lambda: self.should_stop())
                    self.devices.append(opened[src])
                self.inner.append(opened[src])
            files = [isinstance(s, FolderSource) for s in self.inner]
            if any(files) and not all(files):
                raise SourceError("views: pair folders with folders, or cameras with cameras (a folder's files are paired by name)")
            if all(files) and len(self.devices) < len(self.inner):
                raise SourceError("views: each view's folder is its own (a folder's files are paired by name with another's)")
        except BaseException:
            for d in self.devices:
                d.close()
            raise
        self.paired = all(files)
        self.live = not self.paired
        self._readers: list[_Reader] = []

    def __iter__(self) -> Iterator[Frame]:
        for part in self.parts():
            yield from part

    def parts(self) -> Iterator[list[Frame]]:
        self.status.state = "connected"
        yield from (self._by_name() if self.paired else self._by_trigger())
        if self.status.state == "connected":
            self.status.state = "finished"

    def _part(self, frames: dict[str, Frame | str]) -> list[Frame]:
        """One frame per view, every one naming the part; a view given as a reason is missing."""
        uid, names = new_uid(), self.spec.names
        first = next((f for f in frames.values() if isinstance(f, Frame)), None)
        at = first.captured_at if first is not None else datetime.now(UTC)
        out = []
        for name in names:
            f = frames[name]
            if isinstance(f, Frame):
                out.append(replace(f, part=uid, view=name, views=names))
            else:
                of = first.origin if first is not None else "a part"
                out.append(Frame(origin=f"{name} view of {of}", captured_at=at, refused=f, live=self.live, part=uid, view=name,
                                 views=names, index=first.index if first is not None else 0))
        self.status.frames += 1
        return out

    def _by_name(self) -> Iterator[list[Frame]]:
        from station.sources.folder import FolderSource

        tables: list[dict[str, Frame]] = []
        for source in self.inner:
            assert isinstance(source, FolderSource)
            tables.append({Path(f.origin).stem: f for f in source})
        stems = sorted(set().union(*tables))
        for i, stem in enumerate(stems):
            if self.should_stop():
                return
            frames: dict[str, Frame | str] = {}
            for (name, src), table in zip(self.spec.views, tables):
                f = table.get(stem)
                frames[name] = replace(f, index=i) if f is not None else f"no {name} view: {stem} is not in {src}"
            yield self._part(frames)

    def _by_trigger(self) -> Iterator[list[Frame]]:
        readers = {id(d): _Reader(d) for d in self.devices}
        self._readers = list(readers.values())
        while not self.should_stop():
            # Every view asked at once, so two cameras are fired together; a camera shared by
            # views answers its asks in turn.
            asks = [(name, readers[id(source)]) for (name, _), source in zip(self.spec.views, self.inner)]
            asked = [(name, r, r.ask()) for name, r in asks]
            deadline = time.monotonic() + self.spec.wait_s
            frames: dict[str, Frame | str] = {}
            ended = 0
            for name, r, seq in asked:
                got = r.collect(seq, deadline, self.should_stop)
                if isinstance(got, Frame):
                    frames[name] = got
                elif got is _Reader.END:
                    ended += 1
                    frames[name] = f"no {name} view: its source ended"
                else:
                    st = r.source.status
                    frames[name] = f"no {name} view within {self.spec.wait_s:g} s ({st.state}{': ' + st.detail if st.detail else ''})"
            if ended == len(asked) or self.should_stop():
                return
            yield self._part(frames)

    def arm(self) -> None:
        """A trigger: every camera forgets a frame it took before it."""
        for d in self.devices:
            d.arm()

    def retune(self, target: str) -> bool:
        """Another product's settings for the same views (each view's camera its own exposure and
        gain); other views, or a view on another device, are refused: the run reads what it started on."""
        theirs = parse_views(target)
        if theirs.names != self.spec.names:
            raise SourceError(f"views: this run has the views {', '.join(self.spec.names)}; start again for {', '.join(theirs.names)}")
        changed = False
        for (name, mine), (_, src), inner in zip(self.spec.views, theirs.views, self.inner):
            if src == mine:
                continue
            if mine.partition("?")[0] != src.partition("?")[0]:  # the same device, other settings only
                raise SourceError(f"views: the {name} view is {mine} in this run; start again for {src}")
            changed = inner.retune(src.partition(":")[2] if ":" in src.partition("?")[0] else src) or changed
        return changed

    @property
    def dropped(self) -> int:
        return sum(d.dropped for d in self.devices)

    def close(self) -> None:
        for r in self._readers:
            r.stop()
        for d in self.devices:
            d.close()
        super().close()


class _Reader:
    """One camera read on its own thread, a frame for each ask: the camera is fired (a software
    trigger) or its newest frame taken when a part's view is asked for, never before; a view
    whose frame comes too late is missing, and that frame is not given to the next part."""

    END = object()

    def __init__(self, source: Source) -> None:
        self.source = source
        self._asks: queue.Queue[int | None] = queue.Queue()
        self._got: queue.Queue[tuple[int, object]] = queue.Queue()
        self._seq = 0
        self.thread = threading.Thread(target=self._run, name=f"view {source.name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        frames = iter(self.source)
        ended = False
        while (seq := self._asks.get()) is not None:
            item: object = self.END
            if not ended:
                try:
                    item = next(frames, self.END)
                except Exception:  # a camera library's failure ends this view; the log says which
                    log.exception("view camera %s failed", self.source.name)
                ended = item is self.END
            self._got.put((seq, item))

    def ask(self) -> int:
        self._seq += 1
        self._asks.put(self._seq)
        return self._seq

    def collect(self, seq: int, deadline: float, should_stop: Callable[[], bool]) -> object:
        """The frame asked for as `seq`, END, or None when it did not come by `deadline`."""
        while not should_stop():
            try:
                got, item = self._got.get(timeout=max(0.001, min(0.05, deadline - time.monotonic())))
            except queue.Empty:
                if time.monotonic() >= deadline:
                    return None
                continue
            if got == seq:
                return item
            # an answer to an earlier ask that came too late: that part already has the view missing
        return None

    def stop(self) -> None:
        self._asks.put(None)
