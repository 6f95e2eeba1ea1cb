"""The window as its own helpers see it: `WindowHost`. A module of its own, above the views
and below the helpers, so that naming the Live tab's type makes no import cycle (the helpers
are made by the window; the sign-in bar and the bell are named by what is asked of them)."""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtWidgets import QStatusBar, QTabWidget

from station.line.alarms import Health
from station.ui.banner import Banner
from station.ui.context import Presence, StationContext
from station.ui.views.live import LiveView
from station.ui.workers import InspectionWorker


class SignInBar(Protocol):
    """The status bar's who-is-signed-in (station.ui.signin.WhoBar)."""

    def show_who(self) -> None: ...

    def roles_on(self) -> bool: ...


class Bell(Protocol):
    """The alarm bell (station.ui.alarmbell.AlarmBell), as the line's lights report to it."""

    def health(self, parts: list[Health]) -> None: ...


class WindowHost(StationContext, Protocol):
    """The window as its own helpers see it (sign-in, the Live tab's reviews, the kiosk, the
    status bar's lights, the shift line, the alarm bell): the parts of it each one touches,
    named, so a helper cannot reach further without the type checker seeing it."""

    presence: Presence
    live: LiveView
    worker: "InspectionWorker | None"  # the running inspection, if any
    tabs: QTabWidget
    banner: Banner
    classes: list[str]
    label_keys: dict[str, int | None]

    @property
    def who(self) -> SignInBar: ...  # read-only here: the window's own WhoBar serves

    @property
    def bell(self) -> Bell: ...

    def set_reviewer(self, name: str) -> None: ...

    def change_product(self, name: str, by: str, again: bool = False) -> None: ...

    def statusBar(self) -> QStatusBar: ...

    def activateWindow(self) -> None: ...

    def isFullScreen(self) -> bool: ...

    def showFullScreen(self) -> None: ...

    def showNormal(self) -> None: ...

    def setWindowTitle(self, title: str) -> None: ...

    def property(self, name: str) -> Any: ...
