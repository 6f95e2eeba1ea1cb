"""Small dialogs: pick the right label (a known class or a new defect type), name a new type, the
reviewer's name."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from station.core.errors import StationError
from station.core.labels import GOOD, validate_label


def ask(parent: QWidget, title: str, text: str) -> bool:
    """Yes or No, No by default: a stray Enter or tap never confirms a bulk, a rollback or a
    replaced review."""
    yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
    answer = QMessageBox.question(parent, title, text, yes | no, no)
    parent.window().activateWindow()  # the window's keys work at once again, whatever the window manager does
    return answer == yes


def fit_to_screen(dialog: QWidget, width: int, height: int) -> None:
    """Size a dialog to fit the screen it opens on (less a margin for the task bar and title), so
    its buttons are never below the panel's edge; what does not fit scrolls inside it."""
    screen = (dialog.parentWidget() or dialog).screen() or QGuiApplication.primaryScreen()
    room = screen.availableGeometry()
    dialog.resize(min(width, room.width() - 20), min(height, room.height() - 60))
    dialog.setMaximumHeight(room.height() - 40)


def type_name(text: str) -> str:
    """A typed defect type as stored (lower case), or a StationError that says what a name may
    hold: one rule and one wording for every place a new type is typed."""
    name = text.strip().lower()
    try:
        return validate_label(name)
    except StationError:
        raise StationError(f"{text.strip()!r} is not a defect type name: use 1-64 characters from a-z, 0-9, _ and -") from None


class _TypesAName(QDialog):
    """A field for a new defect type: Enter takes a valid name or says why not, in place, and
    the dialog stays open (Live and Review once refused a bad name two different ways)."""

    label: str | None = None

    def _name_field(self, lay: QVBoxLayout) -> None:
        self.new = QLineEdit()
        self.new.setPlaceholderText("e.g. dent")
        self.new.returnPressed.connect(lambda: self._choose(self.new.text()))
        lay.addWidget(self.new)
        self.error = QLabel()
        self.error.setObjectName("muted")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)

    def _choose(self, name: str) -> None:
        try:
            self.label = type_name(name)
        except StationError as exc:
            self.label = None
            self.error.setText(str(exc))
            self.error.setStyleSheet("color: #ff7b72; font-weight: bold;")
            self.new.setFocus()
            return
        self.accept()


class TypeNameDialog(_TypesAName):
    """Review's N: the name of a defect type no model knows yet."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New defect type")
        self.setModal(True)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Name (a-z, 0-9, _ and -):"))
        self._name_field(lay)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        for b in box.buttons():
            if isinstance(b, QPushButton):
                b.setAutoDefault(False)  # Enter is the field's: it checks the name first
        box.accepted.connect(lambda: self._choose(self.new.text()))
        box.rejected.connect(self.reject)
        lay.addWidget(box)
        self.new.setFocus()


class LabelDialog(_TypesAName):
    """Big buttons for the known labels (G, and each defect type's fixed digit) and a field for a
    new defect type. Enter in the field either takes a valid name or says why not: no button is
    a default, so Enter can never press one behind the operator's back (it used to press
    `good`)."""

    def __init__(self, keys: dict[str, int | None], predicted: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("The right label")
        self.setModal(True)
        self.label: str | None = None
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"The model said <b>{predicted or '?'}</b>. What is it?"))
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, (name, digit) in enumerate([(GOOD, None)] + [(k, d) for k, d in keys.items() if k != GOOD]):
            key = "G" if name == GOOD else (str(digit) if digit is not None else "")
            b = QPushButton(f"{name}   [{key}]" if key else name)
            b.setAutoDefault(False)
            b.setDefault(False)
            b.clicked.connect(lambda _=False, n=name: self._choose(n))
            if key:
                b.setShortcut(key)
            grid.addWidget(b, i // 3, i % 3)
            self.buttons[name] = b
        lay.addLayout(grid)
        lay.addWidget(QLabel("Or a new defect type (a-z, 0-9, _ and -):"))
        self._name_field(lay)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        box.rejected.connect(self.reject)
        for cancel in box.buttons():
            if isinstance(cancel, QPushButton):
                cancel.setAutoDefault(False)
        lay.addWidget(box)


class NameDialog(QDialog):
    """Asked once per session: every review carries who made it."""

    def __init__(self, parent: QWidget | None = None, action: str = "reviewing") -> None:
        super().__init__(parent)
        # Said as what is being done: "Who is reviewing?" before a promotion puzzled engineers.
        self.setWindowTitle(f"Who is {action}?")
        self.setModal(True)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Your name, recorded with what you do in this session:"))
        # Empty on purpose: a name left from the last shift, or the PC's shared login, would be
        # accepted with one Enter and put someone else's name on every review.
        self.edit = QLineEdit()
        lay.addWidget(self.edit)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self._ok)
        box.rejected.connect(self.reject)
        lay.addWidget(box)
        self.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _ok(self) -> None:
        if self.edit.text().strip():
            self.accept()

    @property
    def name(self) -> str:
        return self.edit.text().strip()
