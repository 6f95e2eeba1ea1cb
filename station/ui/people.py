"""Users and the audit trail in the window (Settings → Users and audit trail…): what engineers
did with `station users` and `station audit` on a terminal, where a shop PC has none.

- Users: who may sign in, their role, and how many wrong PINs since their last good one; add a
  user (name, role, PIN), unlock one. Every change goes through station.line.users and is audited
  with the signed-in engineer's name.
- Audit trail: the newest rows, and whether the hash chain holds (the first broken link named).
Database work runs on the window's task thread: a line's server that is slow never freezes it.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from station.ui.context import StationContext
from station.ui.dialogs import fit_to_screen

AUDIT_ROWS = 500


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(value))
    table.resizeColumnsToContents()


class PeopleDialog(QDialog):
    def __init__(self, window: StationContext, who: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_, self.who = window, who
        self.setWindowTitle("Users and audit trail")
        self.users = _table(["name", "role", "active", "wrong PINs since last sign-in"])
        self.name, self.pin = QLineEdit(), QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.role = QComboBox()
        self.role.addItems(["operator", "inspector", "engineer"])
        self.add_btn, self.unlock_btn = QPushButton("Add user"), QPushButton("Unlock the selected user")
        for b in (self.add_btn, self.unlock_btn):
            b.setAutoDefault(False)  # Enter in the PIN field adds nobody by itself
        self.add_btn.clicked.connect(self.add)
        self.unlock_btn.clicked.connect(self.unlock)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        users = QWidget()
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Role", self.role)
        form.addRow("PIN (engineers: 6 or more)", self.pin)
        col = QVBoxLayout(users)
        col.addWidget(self.users, 1)
        col.addLayout(form)
        col.addWidget(self.add_btn)
        col.addWidget(self.unlock_btn)
        self.audit, self.chain = _table(["time (UTC)", "user", "action", "detail"]), QLabel("")
        trail = QWidget()
        col = QVBoxLayout(trail)
        col.addWidget(self.chain)
        col.addWidget(self.audit, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(users, "Users")
        self.tabs.addTab(trail, "Audit trail")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.status)
        lay.addWidget(close)
        fit_to_screen(self, 900, 640)
        self.refresh()

    def refresh(self) -> None:
        from station.line.users import audit_trail, list_users, wrong_pins
        from station.store.audit_chain import verify

        data = self.window_.store().data

        def read(s) -> tuple[list[list[str]], list[list[str]], str]:
            users = [[u.name, u.role, "yes" if u.active else "no", str(wrong_pins(s, u.name))] for u in list_users(s)]
            trail = [[e["at"][:19].replace("T", " "), e["user"], e["action"], json.dumps(e["detail"], sort_keys=True)] for e in audit_trail(s, AUDIT_ROWS)]
            report = verify(s, data)
            chain = (f"The chain holds: {report.rows} linked rows." if report.ok
                     else f"The chain is broken at row {report.broken_at}: {report.reason}")
            return users, trail, chain

        def show(got: tuple[list[list[str]], list[list[str]], str]) -> None:
            _fill(self.users, got[0])
            _fill(self.audit, got[1])
            self.chain.setText(got[2])

        self.window_.db(read, show, self.status.setText)

    def _change(self, fn: Any, said: str) -> None:
        def done(_: object) -> None:
            self.status.setText(said)
            self.refresh()

        self.window_.db(fn, done, self.status.setText, write=True)

    def add(self) -> None:
        from station.line.users import add_user

        name, role, pin = self.name.text(), self.role.currentText(), self.pin.text()
        self.pin.clear()  # never left on screen
        self._change(lambda s: add_user(s, name, role, pin, self.who or None), f"added {name.strip().lower()} as {role}")

    def unlock(self) -> None:
        from station.line.users import unlock_user

        cell = self.users.item(self.users.currentRow(), 0)
        if cell is None:
            self.status.setText("select a user to unlock")
            return
        name = cell.text()
        self._change(lambda s: unlock_user(s, name, self.who or None), f"unlocked {name}")
