"""The one progress protocol: every long job reports `progress(stage, done, total)`.

`total` is None when the job cannot know it (a live source). The CLI's implementation prints a
throttled line on stderr (station.commands.output.Progress); the window's updates a bar.
"""

from __future__ import annotations

from typing import Protocol


class ProgressFn(Protocol):
    def __call__(self, stage: str, done: int, total: int | None, /) -> None: ...
