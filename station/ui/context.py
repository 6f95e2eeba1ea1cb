"""What the window offers the views, dialogs and helpers around it: a typed seam, so a view says
what it needs and the type checker holds the window to it, instead of every view taking the
whole window as `Any` and reaching into it.

The store is reached only through `db` (the tasks thread): a view never queries the database on
the GUI thread (tests/gui/test_gui_walk.py hooks SQLAlchemy's events to keep it so)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from PySide6.QtWidgets import QWidget

from station.core.domain import ReviewRecord
from station.ui.tasks import Tasks


@dataclass
class Options:
    """How the window was started (`station gui` / `station` arguments)."""

    source: str | None = None
    model: str | None = None
    data: str | None = None
    db: str | None = None
    store: str | None = None  # the image store (--store)
    station: str | None = None  # this station's name (--station)
    device: str = "auto"
    backend: str | None = None
    autostart: bool = True
    kiosk: bool = False  # shop-floor kiosk: full screen, Live only, quitting confirmed (station.ui.shopfloor)
    outputs: str | None = None  # the outputs file (--outputs); None: DATA/outputs.json when there is one
    shadow: str | None = None  # a candidate model tried beside the active one (Models → Try beside the active)
    recipe: str | None = None  # the product (--recipe); None: the station's active recipe, if it has one
    model_factory: Callable[[], Any] | None = None  # tests: a deliberately slow model


class SignedIn(NamedTuple):
    name: str
    role: str
    since: float  # time.monotonic() of the last act: a sign-in lapses after minutes idle


@dataclass
class Presence:
    """Who acts at this PC: the reviewer's name (a station without users) and who is signed in (a
    station with users). Kept for this window's session only, never offered to the next person."""

    reviewer: str | None = None
    signed_in: SignedIn | None = None


class StationContext(Protocol):
    """The window as a view sees it (station.ui.main_window.MainWindow is the one implementation)."""

    options: Options
    data: Path  # the data dir
    tasks: Tasks  # work off the GUI thread; results come back on it

    def store(self) -> Any:
        """The station's store (station.protocols.StationStore); only on the tasks thread."""

    def db(self, fn: Callable[[Any], Any], on_done: Callable[[Any], None] | None = None,
           on_error: Callable[[str], None] | None = None, write: bool = False) -> Future | None:
        """Run fn(session) on the tasks thread (in a transaction when `write`)."""

    def reviewer(self) -> str | None:
        """Who reviews (signed in, or a name asked once); None if cancelled."""

    def authorize(self, role: str, action: str, ask_name: bool = True) -> str | None:
        """Who may do `action`; None when refused or cancelled (the refusal is audited)."""

    def audit(self, user: str, action: str, detail: dict[str, Any]) -> None:
        """Record a change made in the window with who made it."""

    def report_review(self, out: ReviewRecord) -> None:
        """A review was written: counters and label keys follow, conflicts are shown."""

    def show_message(self, text: str) -> None: ...

    def show_error(self, text: str) -> None: ...

    def open_settings(self) -> None: ...

    def camera_in_use(self) -> bool:
        """A live inspection holds the source."""

    def live_source(self) -> str:
        """The source chosen on the Live tab (SRC as typed)."""

    def as_parent(self) -> QWidget:
        """The window, as a dialog's parent (it stays on top of it, centred, closed with it)."""
