"""Sign-in for a station with users (station.line.users): a name and a PIN, checked against the role
an action needs. A refusal stays in the dialog as one line (and in the audit trail); a station
without users never shows it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from station.ui.context import SignedIn, StationContext
from station.ui.host import WindowHost
from station.ui.keypad import Keypad, NameButtons
from station.ui.theme import touch_px

SIGN_IN_MINUTES = 5  # how long a PIN sign-in lets its user act, idle, without asking again


def authorize(window: WindowHost, role: str, action: str, ask_name: bool = True) -> str | None:
    """Who may do `action` in `window` (the MainWindow): with no users on this station, the
    reviewer's name (asked once per session; "" when `ask_name` is False); with users, someone
    signed in with at least `role` (a PIN, asked again for a higher role or after
    SIGN_IN_MINUTES). None when refused or cancelled; a refusal is in the audit trail."""
    from station.line.users import ROLES

    if not window.who.roles_on():
        return reviewer_name(window, action) if ask_name else ""
    # A shared PC: an engineer who signed in to promote walks away, and the next person must not
    # inherit the role.
    held = window.presence.signed_in
    if held is not None and time.monotonic() - held.since < SIGN_IN_MINUTES * 60 and ROLES.index(held.role) >= ROLES.index(role):
        # Minutes of inactivity, not of work: a review session is not cut off mid-queue.
        window.presence.signed_in = held._replace(since=time.monotonic())
        return held.name
    dialog = SignInDialog(window, role, action, name=held.name if held else "", parent=window.as_parent())
    if not dialog.exec() or not dialog.user:
        return None
    window.presence.signed_in = SignedIn(dialog.user, dialog.user_role, time.monotonic())
    window.set_reviewer(dialog.user)
    window.who.show_who()
    return dialog.user


def reviewer_name(window: WindowHost, action: str = "reviewing") -> str | None:
    """On a station without users: the reviewer's name, asked once per session."""
    from station.ui.dialogs import NameDialog

    if window.presence.reviewer:
        return window.presence.reviewer
    dialog = NameDialog(window.as_parent(), action)
    if dialog.exec() and dialog.name:
        window.set_reviewer(dialog.name)
        window.who.show_who()
    return window.presence.reviewer


class SignInDialog(QDialog):
    """Name and PIN, by keyboard or by touch: a button per user who may do the action, and a
    keypad for the PIN (a panel PC at the line has no keyboard). The names and the PIN are
    checked on the window's tasks thread: a slow or restarting line database never freezes it."""

    def __init__(self, window: StationContext, role: str, action: str, name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in")
        self.window_, self.role, self.action = window, role, action
        self.user: str | None = None
        self.user_role = ""
        self.name = QLineEdit(name)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        for w in (self.name, self.pin):
            w.setMinimumHeight(touch_px(self.screen()))  # gloves
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        form = QFormLayout()
        self.names = NameButtons([], self.name, self.pin)  # filled when the tasks thread has read them
        form.addRow("", self.names)
        self.names.setVisible(False)
        form.addRow("Name", self.name)
        form.addRow("PIN", self.pin)
        self.keypad = Keypad(self.pin)
        form.addRow("", self.keypad)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._check)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{action[:1].upper()}{action[1:]} needs an {role}." if role[0] in "aeiou"
                             else f"{action[:1].upper()}{action[1:]} needs a {role}."))
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        (self.pin if name else self.name).setFocus()
        window.db(lambda s: _who_may(s, role), self._named)

    def _named(self, names: list[str]) -> None:
        self.names.set_names(names)
        self.names.setVisible(bool(self.names.buttons))

    def _check(self) -> None:
        """The PIN checked on the tasks thread (a refusal is audited there); OK waits meanwhile."""
        if not self.buttons.isEnabled():
            return
        name, pin, window, role, action = self.name.text().strip(), self.pin.text(), self.window_, self.role, self.action
        self.buttons.setEnabled(False)
        self.error.setText("checking…")
        window.tasks.submit(lambda: _sign_in(window.store(), name, pin, role, action), self._signed, self._refused)

    def _signed(self, who: tuple[str, str]) -> None:
        self.user, self.user_role = who
        self.buttons.setEnabled(True)
        self.accept()

    def _refused(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(message)
        self.pin.clear()
        self.pin.setFocus()


def _sign_in(store: Any, name: str, pin: str, role: str, action: str) -> tuple[str, str]:
    """(who, their role), or StationError with one line; runs on the tasks thread."""
    from station.line.users import check_role, list_users

    who = check_role(store, name, pin, role, action)
    with store.session() as s:
        held = next((u.role for u in list_users(s) if u.name == who), role)
    return str(who), held


def _who_may(s: Any, role: str) -> list[str]:
    """Active users whose role reaches `role`: the names worth a button."""
    from station.line.users import ROLES, list_users

    return [u.name for u in list_users(s) if u.active and ROLES.index(u.role) >= ROLES.index(role)]


class WhoBar(QWidget):
    """Who is signed in (or reviewing, on a station without users), and Sign out: always in the
    status bar, so the next person at a shared PC sees whose name their reviews would carry."""

    def __init__(self, window: WindowHost) -> None:
        super().__init__(window.as_parent())
        self.window_ = window
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.sign_out = QPushButton("Sign out")
        self.sign_out.setAutoDefault(False)
        self.sign_out.clicked.connect(self.out)
        row.addWidget(self.label)
        row.addWidget(self.sign_out)
        window.statusBar().addPermanentWidget(self)
        self.timer = QTimer(self, interval=2_000)  # a name set elsewhere, or an idle sign-in lapsing, shows soon
        self.timer.timeout.connect(self.show_who)
        self.timer.timeout.connect(self._ask_roles)
        self.timer.start()
        self.show_who()
        # Whether this station checks roles, asked on the tasks thread: every review key asks it,
        # and a query per key on the GUI thread froze the window for the database's round trip.
        self._roles: bool | None = None
        self._asking = False
        self._ask_roles()

    def roles_on(self) -> bool:
        """Once on, roles stay on (station.line.users.has_users); off is re-asked every 2 s, and the
        marker file a station with users keeps (a local file, not the database) counts at once."""
        from station.line.users import ROLES_MARKER, roles_on

        if not self._roles and (Path(self.window_.data) / ROLES_MARKER).exists():
            self._roles = True
        if self._roles is None:  # the first instant after start, before the tasks thread answered
            store = self.window_.store()
            with store.session() as s:
                self._roles = roles_on(s, store.data)
        return self._roles

    def _ask_roles(self) -> None:
        if self._roles or self._asking:
            return
        from station.line.users import roles_on

        self._asking, data = True, Path(self.window_.data)

        def answered(on: bool) -> None:
            self._roles = bool(on) or bool(self._roles)
            self._asking = False

        def failed(_message: str) -> None:  # the database is away: the last answer stands
            self._asking = False

        self.window_.db(lambda s: roles_on(s, data), answered, failed)

    def show_who(self) -> None:
        presence = self.window_.presence
        held = presence.signed_in
        if held is not None and time.monotonic() - held.since >= SIGN_IN_MINUTES * 60:
            presence.signed_in = held = None
            presence.reviewer = None
        if held is not None:
            text = f"signed in: {held.name} ({held.role})"
        elif presence.reviewer:
            text = f"reviewing: {presence.reviewer}"
        else:
            text = ""
        self.label.setText(text)
        self.setVisible(bool(text))

    def out(self) -> None:
        self.window_.presence.signed_in = None
        self.window_.presence.reviewer = None
        self.show_who()
        self.window_.show_message("signed out: the next review or change asks who you are")
