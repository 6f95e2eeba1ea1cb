"""The model panel: registered models with their cards, the active one, its threshold."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from station.core.errors import StationError
from station.model.backends import installed
from station.ui.context import StationContext
from station.ui.dialogs import ask
from station.ui.views.model_card import card_html, headline_f1
from station.ui.views.trial import TrialBar

if TYPE_CHECKING:
    from station.model.registry import ModelEntry
    from station.run.inspection_run import ModelInfo
    from station.ui.goodframes import GoodFramesDialog
    from station.ui.retrain import RetrainDialog
    from station.ui.tasks import Tasks


TRAINS_ELSEWHERE = ("Retraining runs on the engineering PC (the full build): export the reviews (Review tab), train "
                    "there, then copy the model folder here and use it for inspection. This line build inspects, reviews and exports.")


class ModelsView(QWidget):
    def __init__(self, window: StationContext) -> None:
        super().__init__()
        self.window_ = window
        self.list = QListWidget()
        self.list.setMaximumWidth(360)
        self.card = QTextEdit()
        self.card.setReadOnly(True)
        self.running = QLabel("")
        self.running.setObjectName("muted")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.01, 0.99)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(3)  # two would show a calibrated 0.678 as 0.68
        self.save_threshold = QPushButton("Save threshold")
        self.reset_threshold = QPushButton("Calibrated value")
        self.activate = QPushButton("Use for inspection")
        self.activate.setObjectName("primary")
        self.retrain = QPushButton("Retrain from reviews…")
        self.rollback = QPushButton("Roll back")
        self.rollback.setToolTip("Make the model that was active before the last promotion active again")
        self.new_line = QPushButton("New product line…")
        self.new_line.setToolTip("Teach a good-parts model from a folder of good parts: no defect images needed")
        self.new_line_camera = QPushButton("New line from camera…")
        self.new_line_camera.setToolTip("Grab frames from the Live tab's source, untick any that are not good parts, teach")
        self.confirm: GoodFramesDialog | None = None  # the good-frames sheet while it is open
        self.retraining: RetrainDialog | None = None  # the open Retrain window, if any
        self._closed_retrain: RetrainDialog | None = None  # the last one closed (see _retrain_closed)
        self.teaching: Tasks | None = None  # its own thread: a teach takes tens of seconds, reviews must not wait behind it
        # Two rows, not one: in one row the buttons alone were 1,190 px wide, more than a
        # 1366x768 panel PC leaves beside the model list.
        row = QHBoxLayout()
        row.addWidget(QLabel("Fail when p_defect ≥"))
        row.addWidget(self.threshold)
        row.addWidget(self.save_threshold)
        row.addWidget(self.reset_threshold)
        row.addStretch(1)
        row.addWidget(self.activate)
        row.addWidget(self.rollback)
        lines = QHBoxLayout()
        # The line build has no training engine: say where training happens instead of failing.
        self.can_train = installed("torch")
        self.trains_elsewhere = QLabel(TRAINS_ELSEWHERE)
        self.trains_elsewhere.setObjectName("muted")
        self.trains_elsewhere.setWordWrap(True)
        self.trains_elsewhere.setVisible(not self.can_train)
        for b in (self.retrain, self.new_line, self.new_line_camera):
            b.setEnabled(self.can_train)
            if not self.can_train:
                b.setToolTip(TRAINS_ELSEWHERE)
        lines.addWidget(self.trains_elsewhere, 1)
        lines.addStretch(1)
        self.trial = TrialBar(window, self.selected_entry)
        lines.addWidget(self.trial)
        lines.addWidget(self.retrain)
        lines.addWidget(self.new_line)
        lines.addWidget(self.new_line_camera)
        right = QVBoxLayout()
        right.addWidget(self.running)
        right.addWidget(self.card, 1)
        right.addLayout(row)
        right.addLayout(lines)
        lay = QHBoxLayout(self)
        lay.addWidget(self.list)
        lay.addLayout(right, 1)
        self.models: list[ModelEntry] = []
        self.list.currentRowChanged.connect(self._selected)
        self.save_threshold.clicked.connect(self._save_clicked)
        self.reset_threshold.clicked.connect(lambda: self._set_threshold(None))
        self.activate.clicked.connect(self._activate)
        self.retrain.clicked.connect(self._retrain)
        self.new_line.clicked.connect(self._new_line)
        self.new_line_camera.clicked.connect(self._new_line_from_camera)
        self.rollback.clicked.connect(self._rollback)

    def refresh(self) -> None:
        from station.model.registry import list_models

        data = self.window_.options.data
        self.window_.tasks.submit(lambda: list_models(data), self._show, self.window_.show_error)

    def _show(self, models: list[ModelEntry]) -> None:
        selected = self.selected_name()
        self.models = models
        self.list.clear()
        for m in models:
            text = f"{m.name}{'  (active)' if m.active else ''}\n{len(m.classes)} classes" + headline_f1(m)
            self.list.addItem(QListWidgetItem(text))
        names = [m.name for m in models]
        active = next((i for i, m in enumerate(models) if m.active), 0)
        self.list.setCurrentRow(names.index(selected) if selected in names else active)

    def selected_entry(self) -> ModelEntry | None:
        row = self.list.currentRow()
        return self.models[row] if 0 <= row < len(self.models) else None

    def selected_name(self) -> str | None:
        row = self.list.currentRow()
        return self.models[row].name if 0 <= row < len(self.models) else None

    def _selected(self, row: int) -> None:
        if not 0 <= row < len(self.models):
            return
        m = self.models[row]
        self.threshold.setValue(float(m.threshold or 0.5))
        self.card.setHtml(card_html(m))
        self.activate.setEnabled(not m.active)
        self.trial.update_for(m)

    def set_running(self, info: "ModelInfo") -> None:
        self.running.setText(f"Inspecting with {info.name} {info.version} on {info.device} ({info.backend}), "
                             f"threshold {info.threshold:.3f}, classes: {', '.join(info.classes)}")

    def _save_clicked(self) -> None:
        value: float | None = self.threshold.value()
        row = self.list.currentRow()
        calibrated = self.models[row].calibrated_threshold if 0 <= row < len(self.models) else None
        if calibrated is not None and value is not None and abs(value - round(float(calibrated), self.threshold.decimals())) < 1e-9:
            value = None  # the calibrated value as shown: keep the card's own, not a rounded copy
        self._set_threshold(value)

    def _set_threshold(self, value: float | None) -> None:
        from station.line.line_registry import set_line_threshold
        from station.line.settings import station_name

        name, data = self.selected_name(), self.window_.options.data
        if name is None:
            return
        by = self.window_.authorize("engineer", "changing a threshold", ask_name=False)  # no name prompt without users, as before
        if by is None:
            return

        def save() -> bool:  # on the tasks thread; on a line, every station running the model follows it
            store = self.window_.store()
            set_line_threshold(name, value, data, store, by=by or "", station=station_name(self.window_.options.station, data))
            return store.shared

        def saved(line: bool) -> None:
            self.window_.audit(by or "(no users)", "threshold", {"model": name, "threshold": value, "line": line})
            self.window_.show_message(f"{name}: threshold saved; " + ("every station of the line uses it from its next part"
                                                                     if line else "applies from the next Start"))
            self.refresh()

        self.window_.tasks.submit(save, saved, self.window_.show_error)

    def _activate(self) -> None:
        from station.line.line_registry import promote_model
        from station.line.settings import station_name

        name, data = self.selected_name(), self.window_.options.data
        if name is None:
            return
        by = self.window_.authorize("engineer", "promoting a model")
        if not by:
            return
        self.window_.options.model = None  # from now on the active model, not a --model given at start

        def done(out) -> None:
            self.window_.audit(by, "promote", {"model": name, "reason": "Use for inspection, Models tab"})
            self.window_.show_message(f"{name} is now the active model " + ("of the whole line: every station switches between parts"
                                                                           if out[1] else "; it inspects from the next Start"))
            self.refresh()

        self.window_.tasks.submit(lambda: promote_model(name, data, self.window_.store(), by=by, reason="Use for inspection, Models tab",
                                                        station=station_name(self.window_.options.station, data)), done, self.window_.show_error)

    def _retrain(self) -> None:
        from station.ui.retrain import RetrainDialog

        if self.retraining is not None:  # one retrain at a time: bring the running one forward
            self.retraining.raise_()
            self.retraining.activateWindow()
            return
        if self.window_.authorize("engineer", "retraining", ask_name=False) is None:
            return
        # Not modal: training takes minutes, and the operator keeps the Live tab and its verdicts.
        self.retraining = dialog = RetrainDialog(self.window_)
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.finished.connect(self._retrain_closed)
        dialog.show()

    def _retrain_closed(self) -> None:
        # Kept until the next one opens: dropping the last reference here, inside the dialog's
        # own `finished`, would delete it while Qt is still in its done().
        self._closed_retrain, self.retraining = self.retraining, None
        self.refresh()

    def _rollback(self) -> None:
        from station.line.line_registry import rollback_model
        from station.line.settings import station_name

        by, data = self.window_.authorize("engineer", "rolling back"), self.window_.options.data
        if not by or not ask(self, "Roll back?", "Make the model that was active before the last promotion active "
                                                 "again? It judges the parts from the next Start."):
            return
        self.window_.options.model = None

        def done(name: str) -> None:
            self.window_.audit(by, "rollback", {"model": name})
            self.window_.show_message(f"rolled back: {name} is the active model again; it inspects from the next Start")
            self.refresh()

        self.window_.tasks.submit(lambda: rollback_model(data, self.window_.store(), by=by, reason="rollback from the Models tab",
                                                         station=station_name(self.window_.options.station, data)), done, self.window_.show_error)

    def _new_line(self) -> None:
        from PySide6.QtWidgets import QFileDialog, QInputDialog

        folder = QFileDialog.getExistingDirectory(self, "Folder of good parts for the new product line")
        if not folder:
            return
        name, ok = QInputDialog.getText(self, "New product line", "Model name (a-z, 0-9, _ and -):", text=_suggested_name(Path(folder)))
        if ok and name:
            self.teach_folder(folder, name)

    def _new_line_from_camera(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        if self.window_.camera_in_use():
            self.window_.show_error("stop the live inspection first: the camera is in use")
            return
        spec = self.window_.live_source()
        if not spec.strip() or spec.strip().endswith(":"):  # "grab from :" once read the working directory
            self.window_.show_error("choose the camera on the Live tab first, then New line from camera")
            return
        name, ok = QInputDialog.getText(self, "New product line", "Model name (a-z, 0-9, _ and -):")
        if not (ok and name):
            return
        count, ok = QInputDialog.getInt(self, "New product line", f"Good parts to grab from {spec}:", 50, 5, 1000)
        if ok:
            self.grab_and_confirm(spec, name, count)

    def grab_and_confirm(self, spec: str, name: str, count: int, every: int = 1) -> None:
        """Grab `count` frames of `spec` off the GUI thread, show them to the operator to untick
        any that are not good parts, then teach `name` from the rest."""
        from station.core import config
        from station.core.labels import validate_label
        from station.ui.tasks import Tasks

        try:
            validate_label(name)
        except StationError as exc:  # the one-line label rule
            self.window_.show_error(str(exc))
            return
        folder = config.data_dir(self.window_.options.data) / "lines" / name / "frames"
        if self.teaching is None:
            self.teaching = Tasks(self, name="station-teach")
        self._busy(True)
        self.window_.show_message(f"grabbing {count} frames of {spec} for {name}…")

        def job():
            from station.sources.grab import grab_frames

            return grab_frames(spec, folder, count, every=every)

        def grabbed(result) -> None:
            from station.ui.goodframes import GoodFramesDialog, set_aside

            self._busy(False)
            self.confirm = dialog = GoodFramesDialog(result.frames, self)

            def confirmed() -> None:
                set_aside(result.frames, dialog.kept(), Path(folder).parent / "not-good")
                self.teach_folder(str(folder), name)

            dialog.accepted.connect(confirmed)
            dialog.rejected.connect(lambda: self.window_.show_message(f"{name}: not taught; the grabbed frames stay in {folder}"))
            dialog.open()  # window-modal without a nested event loop: the Live tab keeps painting

        def failed(message: str) -> None:
            self._busy(False)
            self.window_.show_error(message)

        self.teaching.submit(job, grabbed, failed)

    def _busy(self, busy: bool) -> None:
        self.new_line.setEnabled(not busy and self.can_train)
        self.new_line_camera.setEnabled(not busy and self.can_train)

    def teach_folder(self, folder: str, name: str) -> None:
        """Teach from `folder` off the GUI thread, then register the model as `name` (not active:
        the engineer looks at it, then presses Use for inspection)."""
        from station.core.labels import validate_label
        from station.ui.tasks import Tasks

        try:
            validate_label(name)
        except StationError as exc:  # the one-line label rule
            self.window_.show_error(str(exc))
            return
        data = self.window_.options.data
        if self.teaching is None:
            self.teaching = Tasks(self, name="station-teach")
        self._busy(True)
        self.window_.show_message(f"teaching {name} from the good parts in {folder}…")
        from station.ui.teachprogress import TeachProgress

        self.teach_progress = bar = TeachProgress(self, name)

        def job() -> dict[str, Any]:
            import tempfile

            from station.core import config
            from station.model.registry import register
            from station.train.teach import teach

            with tempfile.TemporaryDirectory(prefix=f".teach-{name}-", dir=config.data_dir(data)) as tmp:
                result = teach(folder, f"{tmp}/{name}", name=name, progress=bar.report)
                register(Path(result.model), name, data)
            return {"name": name, "images": result.images, "seconds": result.seconds, "template": result.template,
                    "texture": result.texture}

        def done(r: dict[str, Any]) -> None:
            bar.close()
            self._busy(False)
            # Whether the parts repeat one product in one place decides how faint a defect it finds.
            how = ("with a registered template" if r["template"] else
                   "patch and texture memory (the parts did not register)" if r["texture"] else "patch memory only")
            self.window_.show_message(f"{r['name']}: taught from {r['images']} good parts in {r['seconds']:.0f} s, {how}; "
                                      "select it and press Use for inspection")
            self.refresh()

        def failed(message: str) -> None:
            bar.close()
            self._busy(False)
            (self.window_.show_message if bar.cancelled else self.window_.show_error)(message)

        self.teaching.submit(job, done, failed)

    def close_view(self) -> None:
        if self.teaching is not None:
            self.teaching.close()
        if self.retraining is not None:
            self.retraining.reject()  # cancels a training in flight and waits for its thread


def _suggested_name(folder: Path) -> str:
    """A product's name from its folder: `line7/good` suggests `line7`, not `good` (a label)."""
    from station.core.labels import GOOD

    for part in (folder.name, folder.parent.name):
        name = part.lower().replace(" ", "-")
        if name and name != GOOD:
            return name
    return ""
