"""Station settings (retention, disk levels, backups, upkeep): one form built from the typed
settings in `station.line.settings`, so the window and `station settings` can never disagree on a key,
a type or a range. Saved only when every value is valid."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from station.core.errors import StationError
from station.line import settings
from station.model.backends import BACKENDS
from station.ui.context import StationContext
from station.ui.dialogs import fit_to_screen

TITLES = {"retention": "Retention: which stored images may go (rows are always kept)",
          "disk": "Disk space: levels in GB or percent free, whichever comes first",
          "backup": "Backups of the database and the models", "upkeep": "Upkeep while inspecting",
          "floor": "Shop floor", "alarm": "Alarms at the station", "inference": "Inference engine"}
CHOICES = {"inference.backend": BACKENDS}
HINTS = {
    "retention.pass_days": "days a passed part's image is kept whole",
    "retention.keep_one_in": "after that, keep one in … (0: none)",
    "disk.critical_gb": "below: passed parts' images are not stored",
    "disk.reserve_gb": "below: no images are stored, rows still are",
    "backup.folder": "empty: the data dir's backups/ (another drive is safer)",
    "floor.shifts": "shift start times, HH:MM, comma separated (station time)",
    "alarm.fails_in_a_row": "a sound and a banner after this many FAILs in a row (0: never)",
    "alarm.on_lost": "a sound and a banner when the camera or an output has been unreachable for 3 s",
    "inference.backend": "auto: onnxruntime where installed (same verdicts, 2-3x faster on a CPU); torch: the training engine",
}


class SettingsDialog(QDialog):
    def __init__(self, data: str | None, window: StationContext | None = None, who: str = "") -> None:
        super().__init__(window.as_parent() if window is not None else None)
        self.window_ = window  # None: opened on its own (a test); nothing to audit with, no people to manage
        self.setWindowTitle("Station settings")
        self.data, self.who = data, who
        self.fields: dict[str, QWidget] = {}
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        lay = QVBoxLayout(self)
        # The sections scroll; the outputs button, the error line and Save/Cancel stay on screen
        # below them (the whole form was 1,835 px tall, Save out of reach on a 768-line panel).
        body = QWidget()
        sections = QVBoxLayout(body)
        current = settings.load(data)
        for section, values in current.to_json().items():
            box = QGroupBox(TITLES.get(section, section))
            form = QFormLayout(box)
            for name, value in values.items():
                key = f"{section}.{name}"
                widget = self._widget(key, value)
                self.fields[key] = widget
                label = name.replace("_", " ")
                form.addRow(label, widget)
                if key in HINTS:
                    widget.setToolTip(HINTS[key])
                    hint = QLabel(HINTS[key])
                    hint.setObjectName("muted")
                    form.addRow("", hint)
            sections.addWidget(box)
        self.sections = QScrollArea()
        self.sections.setWidgetResizable(True)
        self.sections.setWidget(body)
        self.sections.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        lay.addWidget(self.sections, 1)
        # The window's --outputs file, else DATA/outputs.json: the file the next Start reads.
        self.outputs_path = window.options.outputs if window is not None else None
        self.outputs_button = QPushButton("Line outputs: MQTT, OPC UA, Modbus, webhook, PLC handshake…")
        self.outputs_button.setMinimumHeight(36)
        self.outputs_button.clicked.connect(self.open_outputs)
        lay.addWidget(self.outputs_button)
        self.people_button = QPushButton("Users and audit trail…")
        self.people_button.setMinimumHeight(36)
        self.people_button.clicked.connect(self.open_people)
        self.people_button.setEnabled(window is not None)  # the window's database; not for a bare dialog
        lay.addWidget(self.people_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self.buttons = buttons
        fit_to_screen(self, body.sizeHint().width() + 40, body.sizeHint().height() + 160)

    @staticmethod
    def _widget(key: str, value: Any) -> QWidget:
        lo, hi = settings.LIMITS.get(key, (0, 1e9))
        w: QWidget
        if key in CHOICES:
            w = QComboBox()
            w.addItems(list(CHOICES[key]))
            w.setCurrentText(str(value))
        elif isinstance(value, bool):
            w = QCheckBox()
            w.setChecked(value)
        elif isinstance(value, int):
            w = QSpinBox()
            w.setRange(int(lo), int(min(hi, 2**31 - 1)))
            w.setValue(value)
        elif isinstance(value, float):
            w = QDoubleSpinBox()
            w.setDecimals(2)
            w.setRange(lo, hi)
            w.setValue(value)
        else:
            w = QLineEdit(str(value))
        w.setMinimumHeight(36)  # gloves
        return w

    def open_outputs(self) -> None:
        from station.ui.outputs_dialog import OutputsDialog

        try:
            station = self.window_.options.station if self.window_ is not None else None  # the window's --station
            dialog = OutputsDialog(self.data, self.outputs_path, self, who=self.who or "", station=station)
        except StationError as exc:  # a hand-edited file that does not load: said, not lost
            self.error.setText(str(exc))
            return
        self.outputs_dialog = dialog  # tests drive the open dialog
        dialog.exec()

    def open_people(self) -> None:
        from station.ui.people import PeopleDialog

        if self.window_ is None:
            return
        self.people_dialog = dialog = PeopleDialog(self.window_, self.who, self)  # tests drive the open dialog
        dialog.exec()

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, w in self.fields.items():
            if isinstance(w, QCheckBox):
                out[key] = w.isChecked()
            elif isinstance(w, QSpinBox | QDoubleSpinBox):
                out[key] = w.value()
            elif isinstance(w, QComboBox):
                out[key] = w.currentText()
            elif isinstance(w, QLineEdit):
                out[key] = w.text().strip()
        return out

    def _save(self) -> None:
        before = settings.load(self.data).flat()
        try:
            settings.apply(self.values(), self.data)
        except StationError as exc:
            self.error.setText(str(exc))
            return
        after = settings.load(self.data).flat()
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if changes and self.window_ is not None:  # who changed what, as the CLI records it
            self.window_.audit(self.who or "(no users)", "setting_changed", {"changes": changes})
        self.accept()
