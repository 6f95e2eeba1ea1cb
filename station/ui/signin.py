"""Sign-in for a station with users (station.users): a name and a PIN, checked against the role
an action needs. A refusal stays in the dialog as one line (and in the audit trail); a station
without users never shows it."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from station.errors import StationError


class SignInDialog(QDialog):
    def __init__(self, store, role: str, action: str, name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in")
        self.store, self.role, self.action = store, role, action
        self.user: str | None = None
        self.name = QLineEdit(name)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        for w in (self.name, self.pin):
            w.setMinimumHeight(44)  # gloves
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("PIN", self.pin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{action[:1].upper()}{action[1:]} needs an {role}." if role[0] in "aeiou"
                             else f"{action[:1].upper()}{action[1:]} needs a {role}."))
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        (self.pin if name else self.name).setFocus()

    def _check(self) -> None:
        from station.users import check_role

        try:
            self.user = check_role(self.store, self.name.text().strip(), self.pin.text(), self.role, self.action)
        except StationError as exc:
            self.error.setText(str(exc))
            self.pin.clear()
            self.pin.setFocus()
            return
        self.accept()
