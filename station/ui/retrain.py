"""The Retrain dialog: export the reviews, train from the active model on a worker thread (with
progress and cancel), show the new model next to the active one on the same validation split,
and offer to promote it."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from station.core.errors import StationError
from station.ui.dialogs import fit_to_screen
from station.ui.tasks import join_worker, start_worker

if TYPE_CHECKING:
    from station.learn.promotion import PromotionCheck
    from station.learn.retrain import RetrainResult

log = logging.getLogger("station.ui.retrain")
METRICS = ("n", "accuracy", "precision", "recall", "f1", "auroc")


class RetrainWorker(QObject):
    progress = Signal(str, int, int)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, data: str | None, db: str | None, epochs: int, include_unreviewed: bool, store: str | None = None,
                 view: str | None = None) -> None:
        super().__init__()
        self.args = (data, db, epochs, include_unreviewed, store, view)
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from station.learn.retrain import retrain

        data, db, epochs, include, store, view = self.args
        try:
            result = retrain(data, db, epochs=epochs, include_unreviewed=include, store_url=store, view=view,
                             progress=lambda stage, k, n: self.progress.emit(stage, k, n), should_stop=self._stop.is_set)
        except StationError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: traceback to the log, one line to the engineer
            log.error("retrain failed", exc_info=True)
            self.failed.emit(f"internal error: {type(exc).__name__}: {exc}")
        else:
            self.done.emit(result)


class RetrainDialog(QDialog):
    def __init__(self, window) -> None:
        # A window of its own, not the main window's child: a child dialog stays above its parent,
        # and this one covered the verdict for the minutes a retrain takes. The main window
        # closes it (ModelsView.close_view).
        super().__init__(None)
        self.window_ = window
        self.setWindowTitle("Retrain from reviews")
        self.outcome: RetrainResult | None = None
        self.check: PromotionCheck | None = None
        self.worker: RetrainWorker | None = None
        self.worker_thread: QThread | None = None
        intro = QLabel("Exports the reviewed parts this product's models judged (train/val split kept across exports), "
                       "trains from the active model, "
                       "then scores the new and the active model on the same validation split.")
        intro.setWordWrap(True)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 200)
        self.epochs.setValue(40)  # `station train`'s default, so the CLI reproduces the app
        self.unreviewed = QCheckBox("Also use unreviewed items, under their predicted label")
        # Parts seen from several sides: each view has its own model, so a retrain is of one view.
        # Shown once the reviews turn out to hold more than one.
        self.view, self.view_label = QComboBox(), QLabel("View")
        self.view.setToolTip("the view whose reviews retrain its own recipe's model")
        self.view.hide()
        self.view_label.hide()
        self.start_btn = QPushButton("Start")
        self.start_btn.setObjectName("primary")
        self.cancel_btn = QPushButton("Cancel")
        self.promote_btn = QPushButton("Promote the new model")
        self.promote_btn.setEnabled(False)
        # The name the lineage shows in Models and on every station: a date stamp until the
        # engineer gives one that says what changed ("bracket-after-scratch-reviews").
        self.model_name = QLineEdit()
        self.model_name.setPlaceholderText("name for the new model")
        self.model_name.setEnabled(False)
        self.stage = QLabel("")
        self.bar = QProgressBar()
        self.table = QTableWidget(len(METRICS), 3)
        self.table.setVerticalHeaderLabels(list(METRICS))
        self.table.setHorizontalHeaderLabels(["active model", "new model", "new − active"])
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.conf_active, self.conf_new = QTableWidget(), QTableWidget()
        row = QHBoxLayout()
        row.addWidget(QLabel("Epochs"))
        row.addWidget(self.epochs)
        row.addWidget(self.view_label)
        row.addWidget(self.view)
        row.addWidget(self.unreviewed, 1)
        row.addWidget(self.start_btn)
        row.addWidget(self.cancel_btn)
        grid = QGridLayout()
        grid.addWidget(QLabel("Metrics on the validation split"), 0, 0)
        grid.addWidget(QLabel("Confusion, active (rows: truth)"), 0, 1)
        grid.addWidget(QLabel("Confusion, new (rows: truth)"), 0, 2)
        grid.addWidget(self.table, 1, 0)
        grid.addWidget(self.conf_active, 1, 1)
        grid.addWidget(self.conf_new, 1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(row)
        lay.addWidget(self.stage)
        lay.addWidget(self.bar)
        lay.addLayout(grid, 1)
        lay.addWidget(self.verdict)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(QLabel("Promote as"))
        bottom.addWidget(self.model_name, 1)
        bottom.addWidget(self.promote_btn)
        lay.addLayout(bottom)
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        self.promote_btn.clicked.connect(self.promote)
        fit_to_screen(self, 980, 640)  # a window of its own, sized to the screen it opens on
        self._find_views()

    def _find_views(self) -> None:
        """Which views the product's reviews are of, asked on the tasks thread."""
        from station.learn.retrain import views_to_retrain

        data = self.window_.options.data

        def show(found: list[str]) -> None:
            if len(found) > 1:
                self.view.clear()
                self.view.addItems(found)
                self.view.show()
                self.view_label.show()
        self.window_.db(lambda s: views_to_retrain(s, data), show)

    def start(self) -> None:
        if self.worker is not None:
            return
        o = self.window_.options
        view = self.view.currentText() if self.view.count() > 1 else None
        self.worker = RetrainWorker(o.data, o.db, self.epochs.value(), self.unreviewed.isChecked(), o.store, view)
        self.worker.progress.connect(self._progress)
        self.worker.done.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.start_btn.setEnabled(False)
        self.promote_btn.setEnabled(False)
        self.stage.setText("exporting the reviews…")
        self.worker_thread = start_worker(self, self.worker, self.worker.run)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.stage.setText("cancelling…")
        else:
            self.reject()

    def _progress(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage.text():  # the window is not modal: whoever is on Live sees it too
            self.window_.show_message(f"Retraining: {stage}")
        self.stage.setText(stage)
        self.bar.setMaximum(max(1, total))
        self.bar.setValue(done)

    def _join(self) -> None:
        thread, self.worker_thread, self.worker = self.worker_thread, None, None
        join_worker(thread)
        self.start_btn.setEnabled(True)

    def _failed(self, message: str) -> None:
        self._join()
        self.stage.setText(message)
        self.stage.setStyleSheet("color: #ff7b72;")

    def _done(self, result: RetrainResult) -> None:
        self._join()
        self.outcome = result
        self.window_.show_message(f"Retraining done: {result.name} is ready to compare and promote in the Retrain window")
        ex = result.export
        self.stage.setStyleSheet("")
        self.stage.setText(f"{result.name}: {ex.train} train + {ex.val} val images" + (f" of {result.recipe}" if result.recipe else "")
                           + f", classes {', '.join(result.classes)}, trained in {result.seconds:.0f} s from {result.base}")
        for col, scores in enumerate((result.active, result.new)):
            for row, metric in enumerate(METRICS):
                v = scores.get(metric)
                text = "–" if v is None else (str(v) if isinstance(v, int) else f"{v:.3f}")
                self.table.setItem(row, col, QTableWidgetItem(text))
        _fill_confusion(self.conf_active, result.active["confusion"])
        _fill_confusion(self.conf_new, result.new["confusion"])
        self.show_check()
        self.promote_btn.setEnabled(not result.worse)
        self.model_name.setText(result.name)
        self.model_name.setEnabled(not result.worse)

    def show_check(self) -> None:
        """The difference per metric, and whether promoting is advised, in words."""
        from station.learn.promotion import check

        assert self.outcome is not None  # shown once a retrain is done
        self.check = result = check(self.outcome.new, self.outcome.active)
        for row, metric in enumerate(METRICS):
            d = result.diff.get(metric)
            item = QTableWidgetItem("" if d is None else f"{d:+.3f}")
            if d is not None and d < 0:
                item.setForeground(Qt.GlobalColor.red)
            self.table.setItem(row, 2, item)
        if self.outcome.worse:
            assert self.outcome.comparison is not None  # worse is only ever said by a comparison
            self.verdict.setText(f"Not offered for promotion: {self.outcome.comparison['reason']}. "
                                 "The active model stays; review more parts and retrain.")
            self.verdict.setStyleSheet("color: #ff7b72; font-weight: bold;")
        elif result.ok:
            self.verdict.setText("The new model is at least as good on this validation split.")
            self.verdict.setStyleSheet("")
        else:
            self.verdict.setText("Not advised: " + "; ".join(result.reasons) + ". Promoting needs a reason.")
            self.verdict.setStyleSheet("color: #ff7b72; font-weight: bold;")

    def promote(self) -> None:
        """Refused when worse, unless the engineer gives a reason; confirmed either way."""
        from PySide6.QtWidgets import QInputDialog, QMessageBox

        from station.line.line_registry import promote_model
        from station.line.settings import station_name

        if self.outcome is None or self.check is None or self.outcome.worse:
            return
        name = self._checked_name()
        if name is None:
            return
        by = self.window_.authorize("engineer", "promoting a model")
        if not by:
            return
        reason = ""
        if not self.check.ok:
            reason, ok = QInputDialog.getText(self, "Promote anyway?", "Not advised:\n- " + "\n- ".join(self.check.reasons)
                                              + "\n\nWhy promote it anyway? (recorded with your name)")
            if not ok or not reason.strip():
                self.stage.setText("not promoted: the active model is unchanged")
                return
        else:
            what = f"the model recipe {self.outcome.recipe} judges with" if self.outcome.recipe else "the active model"
            answer = QMessageBox.question(self, "Promote", f"Make {name} {what} from the next Start?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        path, data, product = self.outcome.path, self.window_.options.data, self.outcome.recipe
        self.window_.options.model = None
        station = station_name(self.window_.options.station, data)

        def work() -> tuple:
            out = promote_model(str(path), data, self.window_.store(), as_name=name, by=by, reason=reason.strip(), station=station)
            if product:  # the product retrained judges with it; the line loads a recipe's model, not the active one
                from station.line import recipes

                with self.window_.store().session.begin() as s:
                    recipes.point(s, product, out[0], by, station)
            return out

        def done(out: tuple) -> None:
            registered = out[0]
            self.window_.audit(by, "promote", {"model": registered, "reason": reason.strip(), "recipe": product})
            what = f"the model recipe {product} judges with" if product else "the active model"
            self.window_.show_message(f"{registered} is now {what}; it inspects from the next Start")
            self.window_.models.refresh()
            self.promote_btn.setEnabled(False)
            self.model_name.setEnabled(False)
            self.stage.setText(f"promoted {registered}")

        self.window_.tasks.submit(work, done, self._failed)

    def _checked_name(self) -> str | None:
        """The typed name, as the registry will store it; None (said in the dialog) when it is
        not a valid name or another model has it: asked before the sign-in, not after."""
        from station.core.labels import validate_label
        from station.model.registry import registry_dir

        typed = self.model_name.text().strip()
        try:
            name = validate_label(typed.lower())
        except StationError:
            self._failed_name(f"{typed!r} is not a model name: use 1-64 characters from a-z, 0-9, '_' and '-'")
            return None
        if (registry_dir(self.window_.options.data) / name).exists():
            self._failed_name(f"a model named {name!r} already exists; choose another name")
            return None
        return name

    def _failed_name(self, message: str) -> None:
        self.stage.setText(message)
        self.stage.setStyleSheet("color: #ff7b72;")
        self.model_name.setFocus()
        self.model_name.selectAll()

    def reject(self) -> None:
        if self.worker is not None:  # closing mid-training cancels and waits: no orphan thread
            self.worker.cancel()
        self._join()
        super().reject()


def _fill_confusion(table: QTableWidget, confusion: dict[str, Any]) -> None:
    labels, matrix = confusion["labels"], confusion["matrix"]
    table.setRowCount(len(labels))
    table.setColumnCount(len(labels))
    table.setHorizontalHeaderLabels(labels)
    table.setVerticalHeaderLabels(labels)
    for i, row in enumerate(matrix):
        for j, n in enumerate(row):
            item = QTableWidgetItem(str(n))
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            if i == j and n:
                item.setForeground(Qt.GlobalColor.green)
            elif n:
                item.setForeground(Qt.GlobalColor.red)
            table.setItem(i, j, item)
