"""The station window: Live, Review, Statistics and Models tabs around one inspection worker."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QThread, QTimer
from PySide6.QtWidgets import QLabel, QMainWindow, QPushButton, QTabWidget

from station.core import config, logs
from station.core.domain import ReviewRecord
from station.core.labels import GOOD
from station.run.inspection_run import DEFAULT_BATCH, ModelInfo, RunSummary, run_options
from station.run.run_report import inspected
from station.ui import livereview, shopfloor, signin
from station.ui.alarmbell import AlarmBell
from station.ui.banner import Banner, plain
from station.ui.context import Options, Presence
from station.ui.linestatus import LineStatus, leftovers
from station.ui.products import ProductPicker
from station.ui.shiftcounter import ShiftCounter
from station.ui.shortcuts import ViewKeys, shortcut
from station.ui.tasks import Tasks, join_worker, start_worker
from station.ui.views.live import LiveView
from station.ui.views.models import ModelsView
from station.ui.views.review import ReviewView
from station.ui.views.stats import StatsView
from station.ui.workers import InspectionWorker, LiveResult

DEMO_PACE_S = 0.5  # the demo plays two parts a second, so a new user can watch the verdicts


class MainWindow(QMainWindow):
    def __init__(self, options: Options) -> None:
        super().__init__()
        self.options = options
        self.setWindowTitle("Inspection station")
        self.data = config.data_dir(options.data)
        self.settings = QSettings(str(self.data / "station.ini"), QSettings.Format.IniFormat)
        self.tasks = Tasks(self)
        self._store = None
        self._store_lock = threading.Lock()
        self.presence = Presence()  # who reviews, who is signed in (station.ui.signin)
        self.classes: list[str] = [GOOD]
        self.label_keys: dict[str, int | None] = {}  # defect type -> its fixed review digit
        self.model_info: ModelInfo | None = None
        self.worker: InspectionWorker | None = None
        self.worker_thread: QThread | None = None
        self.latencies: list[float] = []
        self._closing = False
        self._last_error = ""
        self._leftovers: dict[str, tuple[int, int]] = {}  # per sink after a run: (kept in its outbox, let go)

        self.tabs = QTabWidget()
        self.live = LiveView()
        self.review = ReviewView(self)
        self.stats = StatsView(self)
        self.models = ModelsView(self)
        self.tabs.addTab(self.live, "Live  [Ctrl+1]")
        self.tabs.addTab(self.review, "Review  [Ctrl+2]")
        self.tabs.addTab(self.stats, "Statistics  [Ctrl+3]")
        self.tabs.addTab(self.models, "Models  [Ctrl+4]")
        self.banner = Banner()
        self.setCentralWidget(self.tabs)
        self.banner.float_over(self.tabs)
        self.tabs.currentChanged.connect(self._tab_changed)

        self.state_label, self.rate_label, self.latency_label, self.message = QLabel(), QLabel(), QLabel(), QLabel()
        for w in (self.state_label, self.rate_label, self.latency_label):
            self.statusBar().addWidget(w)
        self.statusBar().addPermanentWidget(self.message, 1)
        self.line_status, self.who = LineStatus(self), signin.WhoBar(self)  # lights per output and camera; who is signed in
        # Shown only when space is low: what the station stops storing, and why; a click opens the settings.
        self.disk_label = QPushButton()
        self.disk_label.setObjectName("diskWarning")
        self.disk_label.setFlat(True)
        self.disk_label.clicked.connect(self.open_settings)
        self.disk_label.hide()
        self.statusBar().addPermanentWidget(self.disk_label)
        self.disk_guard = self._disk_guard()
        self.message.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        bar = self.live.source_bar
        bar.start.connect(self.start_source)
        bar.refused.connect(self.show_error)
        bar.pause.connect(self.toggle_pause)
        bar.stop.connect(self.stop_source)
        bar.kind_changed.connect(self._kind_changed)
        livereview.connect(self)
        self.live.latency.connect(self._latency)
        for i in range(4):
            shortcut(f"Ctrl+{i + 1}", self, partial(self.tabs.setCurrentIndex, i))
        for key, button in (("F5", bar.start_btn), ("F6", bar.pause_btn), ("F7", bar.stop_btn)):
            shortcut(key, self, button.click)
        self.view_keys = ViewKeys(self, self.tabs.currentWidget)
        self.view_keys.add(self.live, {"Space": self.live.confirm_btn.click, "W": self.live.wrong_btn.click,
                                       "H": self.live.heat_box.toggle})
        self.view_keys.add(self.review, self.review.key_slots)
        shopfloor.install(self)
        self.products = ProductPicker(self)
        self.products.refresh()
        self.shift = ShiftCounter(self)
        self.bell = AlarmBell(self)
        self._poll = QTimer(self)
        self._poll.timeout.connect(self._update_status)
        self._poll.start(500)
        self._restore()
        self.models.refresh()
        self._offer_resume()
        if options.autostart:
            from station.sources.spec import starts_by_itself

            spec = options.source if options.source is not None else self._last_source()
            if options.source is not None or not spec or starts_by_itself(spec):  # after a restart or a power cut
                QTimer.singleShot(0, lambda: self.start_source(spec))

    # -- store access, always on the tasks thread -------------------------------------------------
    def store(self):
        with self._store_lock:  # the tasks thread and the image loader both reach for it
            if self._store is None:
                from station.store.db import open_store

                self._store = open_store(self.options.data, self.options.db, self.options.store)
            return self._store

    def db(self, fn: Callable[[Any], Any], on_done: Callable[[Any], None] | None = None,
           on_error: Callable[[str], None] | None = None, write: bool = False) -> Future | None:
        """Run fn(session) on the tasks thread (in a transaction when `write`)."""
        def job():
            from station.store.db import unreachable

            store = self.store()
            with unreachable():  # a line's server restarting: one line, not a traceback
                if write:
                    with store.session.begin() as s:
                        return fn(s)
                with store.session() as s:
                    return fn(s)
        return self.tasks.submit(job, on_done, on_error or self.show_error)

    # -- reviewer ------------------------------------------------------------------------------------
    def reviewer(self) -> str | None:
        """Who reviews: a signed-in inspector or engineer, else a name asked once; None if cancelled."""
        return self.authorize("inspector", "reviewing")

    def authorize(self, role: str, action: str, ask_name: bool = True) -> str | None:
        """Who may do `action` (station.ui.signin.authorize); None when refused or cancelled."""
        return signin.authorize(self, role, action, ask_name)

    def audit(self, user: str, action: str, detail: dict[str, Any]) -> None:
        """Record a change made in the window (promote, rollback, threshold) with who made it."""
        from station.line.users import audit

        self.db(lambda s: audit(s, user, action, detail), write=True)

    def camera_in_use(self) -> bool:
        return self.worker is not None

    def live_source(self) -> str:
        return self.live.source_bar.spec()

    def as_parent(self) -> QMainWindow:
        return self

    def set_reviewer(self, name: str) -> None:
        self.presence.reviewer = name.strip()[:128]  # for this session only: never offered to the next person

    # -- inspection worker ---------------------------------------------------------------------------------
    def start_source(self, spec: str = "") -> None:
        """Start inspecting SRC ("" = the demo). Parts this model already judged are skipped, as
        `station run` skips them, unless "Inspect again" is ticked; the demo always shows all."""
        if self.worker is not None:
            return
        self.banner.clear()  # a new start: an old error no longer describes the line
        self.bell.reset()
        demo = not spec
        source = str(config.demo_dir()) if demo else spec
        if not demo:
            self.settings.setValue("last_source", spec)
        self.live.source_bar.set_source(spec)
        run = run_options(source, self.options, pace_s=DEMO_PACE_S if demo else 0.0, batch_size=1 if demo else DEFAULT_BATCH,
                          skip_inspected=not demo and not self.live.source_bar.again.isChecked())
        self.worker = InspectionWorker(run, self.options.model_factory)
        self.worker.result.connect(self._result)
        self.worker.failed.connect(self.show_error)
        self.worker.skipped.connect(self.show_message)  # a hot folder's repeat is said, not silent
        self.worker.model_ready.connect(self._model_ready)
        self.worker.finished.connect(self._finished)
        self.worker_thread = start_worker(self, self.worker, self.worker.run)
        self.live.show_state("WAITING", "for the first part")
        self.live.source_bar.set_running(True)
        self._last_error, self._leftovers = "", {}
        self.show_message(f"inspecting {'the demo images' if demo else spec}")

    def _offer_resume(self) -> None:
        """After a crash, a kill or a power cut mid-run: offer to inspect the rest of that source
        (a live source restarts by itself; the demo needs no resuming)."""
        from station.sources.spec import starts_by_itself
        from station.store import stats

        def offer(run: stats.Interrupted | None) -> None:
            if run is None or self.worker is not None or starts_by_itself(run.source) or run.source == str(config.demo_dir()):
                return
            self.banner.offer(f"The last run on {run.source} was interrupted after {run.processed} parts "
                              f"(started {run.started_at:%Y-%m-%d %H:%M} UTC). Inspect the rest?",
                              "Resume", lambda: self.start_source(run.source))
        self.db(stats.interrupted_run, offer)

    def change_product(self, name: str, by: str, again: bool = False) -> None:
        """A changeover picked in the window: between two parts of the run, else for the next Start.
        `again`: the product's recipe changed (its areas): a run loads its newest version."""
        if self.worker is not None:
            self.worker.request_recipe(name, by, again)
        elif not again:  # idle: recorded; the next Start reads a changed recipe's newest version anyway
            from station.line.recipes import change_to
            from station.line.settings import station_name

            station = station_name(self.options.station, self.options.data)
            self.db(lambda s: change_to(s, name, station, by, "operator"), write=True)

    def toggle_pause(self) -> None:
        if self.worker is not None:
            self.worker.pause(not self.worker.paused)
            self.live.source_bar.set_running(True, self.worker.paused)

    def stop_source(self) -> None:
        """Ask the worker to stop; it finishes the batch in hand and `_finished` joins it."""
        if self.worker is not None:
            self.worker.stop()

    def _finished(self, summary: RunSummary) -> None:
        if self._closing:
            return
        thread, self.worker_thread, self.worker = self.worker_thread, None, None
        join_worker(thread)
        self.live.source_bar.set_running(False)
        state = summary.state
        self.rate_label.setText(f"last run: {inspected(summary.processed, summary.whole_parts)} inspected · {summary.failed} could not be read")
        if state == "error":
            self.live.show_state("NOT INSPECTED", self.message.text() or "the source or the model failed")
        elif state == "lost":
            self.live.show_state("SOURCE LOST", self.message.text())
        elif state == "stopped" or self.live.state == "WAITING":
            seen = f"; {summary.skipped} already inspected (Inspect again shows them)" if summary.skipped else ""
            self.live.show_state("READY", f"{state}: {summary.processed} inspected{seen}")
        # finished: what the panel shows is about the last part, and still true
        if state in ("finished", "stopped"):
            text = f"{state}: {summary.processed} inspected, {summary.failed} could not be read" + (
                f", {summary.skipped} already inspected and skipped" if summary.skipped else "")
            if summary.failed and self._last_error:
                self.show_error(f"{text}; last: {self._last_error}")
            else:
                self.show_message(text)
        self._leftovers = leftovers(summary.line_io)
        if self._leftovers:  # never silent (0.9.0 dropped 300 verdicts and told only the log)
            self.show_error(self.line_status.show_leftovers(self._leftovers))
        self.stats.refresh()
        self.review.refresh()

    def _result(self, r: LiveResult) -> None:
        self.live.show_result(r)
        if r.error is not None:
            self._last_error = f"{Path(r.origin).name}: {r.error}"
            self.show_error(self._last_error)
        self.stats.add_live(r)
        self.shift.poke()
        self.bell.result(r)

    def _model_ready(self, info: ModelInfo) -> None:
        self.model_info = info
        self.classes = list(info.classes)
        self.live.set_model(info.threshold, (info.card or {}).get("uncertain_band"))
        self.models.set_running(info)
        self.refresh_label_keys()

    def refresh_label_keys(self) -> None:
        from station.store import repo

        def got(keys: dict) -> None:
            self.label_keys = keys
        self.db(repo.label_keys, got)

    def _latency(self, ms: float) -> None:
        self.latencies = (self.latencies + [ms])[-200:]
        ordered = sorted(self.latencies)
        self.latency_label.setText(f"latency {ordered[len(ordered) // 2]:.0f} ms (median)")

    def open_settings(self) -> None:
        from station.ui.settings_dialog import SettingsDialog

        if (who := self.authorize("engineer", "changing the station settings", ask_name=False)) is None:
            return
        if SettingsDialog(self.options.data, self, who).exec():
            self.disk_guard = self._disk_guard()
            self.shift.refresh()  # the shift starts may have changed
            self.show_message("settings saved; a running inspection uses them from its next start")

    def _disk_guard(self):
        from station.core.errors import StationError
        from station.line import settings
        from station.line.diskguard import DiskGuard

        try:
            disk = settings.load(self.data).disk
        except StationError as exc:
            self.show_message(str(exc))
            disk = settings.Disk()
        return DiskGuard([self.data.resolve()], disk, every_s=10.0)

    def _update_status(self) -> None:
        state = self.disk_guard.check()
        self.disk_label.setVisible(state.level != "ok")
        if state.level != "ok":
            self.disk_label.setText(state.message())
        if self.worker is None:
            self.state_label.setText("stopped")  # the rate label keeps the last run's totals
            if not self._leftovers:
                self.line_status.lights.hide()  # no run, no outputs: a green light would say otherwise
            return
        s = self.worker.snapshot()
        self.line_status.show_status(s)
        if s.state == "lost" and self.live.state != "SOURCE LOST":
            self.live.show_state("SOURCE LOST", s.detail or "reconnecting")
        self.state_label.setText(s.state + (f" ({s.detail})" if s.detail else ""))
        self.rate_label.setText(f"{s.fps:.1f} fps · {inspected(s.processed, s.parts)} inspected · {s.dropped} dropped · {s.failed} could not be read")

    def report_review(self, out: ReviewRecord) -> None:
        self.shift.poke()  # a review changes the yield
        if out.label is not None and out.label != GOOD and out.label not in self.label_keys:
            self.refresh_label_keys()
        msg = f"#{out.id}: {out.previous} → {out.label}"
        if out.contested:
            msg += f" (already reviewed by {out.already_reviewed_by}; both kept)"
        if out.conflict:  # kept, never resolved silently: the inspector sees it now
            self.show_error(f"{msg}. Conflict: the same image is labelled {out.conflict}")
            return
        self.show_message(msg)

    # -- messages --------------------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)

    def show_error(self, text: str) -> None:
        self.message.setStyleSheet("color: #ff7b72; font-weight: bold;")
        self.message.setText(plain(text))
        self.banner.show_error(text, str(logs.log_path() or logs.file_for(self.options.data)))

    # -- settings, tabs, close ----------------------------------------------------------------------------------
    def _last_source(self) -> str:
        return str(self.settings.value("last_source", "") or "")

    def _restore(self) -> None:
        shopfloor.restore_geometry(self, self.settings.value("geometry"))
        self.tabs.setCurrentIndex(int(str(self.settings.value("tab", 0) or 0)))
        shopfloor.keep_on_live(self)
        self.live.opacity.setValue(int(str(self.settings.value("opacity", 45) or 45)))
        self.live.source_bar.set_source(self._last_source())

    def _tab_changed(self, index: int) -> None:
        if shopfloor.keep_on_live(self):
            return
        widget = self.tabs.widget(index)
        if widget is self.review:
            self.review.refresh()  # its keys work at once, whatever has focus (ViewKeys)
        elif widget is self.stats:
            self.stats.refresh()

    def _kind_changed(self, kind: str) -> None:
        if kind == "camera":
            from station.sources.cameras import probe_cameras

            self.tasks.submit(probe_cameras, self.live.source_bar.set_cameras)

    def closeEvent(self, event) -> None:
        """Stop the worker and wait for it: every verdict it produced is committed before the
        window goes, and no background job outlives it."""
        if not shopfloor.may_quit(self):
            event.ignore()
            return
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("tab", self.tabs.currentIndex())
        self.settings.setValue("opacity", self.live.opacity.value())
        self._closing = True
        self._poll.stop()
        self.shift.stop()
        if self.worker is not None:
            self.worker.stop()
        join_worker(self.worker_thread)  # waits for the batch in flight to be committed
        self.worker_thread = self.worker = None
        self.review.close_view()
        self.models.close_view()
        self.tasks.close()
        self.settings.sync()
        super().closeEvent(event)
