"""The live view: the current frame with its heatmap, a big PASS/FAIL banner, the source controls
and a strip of the last verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from station.core.domain import UNCERTAIN_BAND, is_uncertain
from station.core.errors import SourceError
from station.core.labels import GOOD
from station.sources.spec import format_spec, parse_spec
from station.ui import theme
from station.ui.imageview import ImageView
from station.ui.qimage import to_pixmap
from station.ui.verdict import VerdictLabel
from station.ui.views.part_views import PartViews
from station.ui.workers import LiveResult

KINDS = [("demo", "Demo images"), ("folder", "Folder"), ("watch", "Hot folder"), ("video", "Video file or stream URL"),
         ("camera", "USB camera"), ("genicam", "GigE / USB3 Vision camera"), ("views", "Several views of a part")]
HISTORY = 40


def split_spec(spec: str) -> tuple[str, str]:
    """The source bar's kind and target for a SRC (a stream shares the video kind's field)."""
    try:
        src = parse_spec(spec)
    except SourceError:  # a malformed camera:… stays editable as typed
        return "camera", spec.partition(":")[2]
    return ("video" if src.kind == "stream" else src.kind), src.target


class SourceBar(QWidget):
    start = Signal(str)  # SRC, or "" for the demo
    pause = Signal()
    stop = Signal()
    kind_changed = Signal(str)
    refused = Signal(str)  # Start pressed with nothing to start: why, in plain words

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = self.row = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.kind = QComboBox()
        for key, text in KINDS:
            self.kind.addItem(text, key)
        self.target = QLineEdit()
        self.target.setPlaceholderText("path, URL or camera index")
        self.cameras = QComboBox()
        self.cameras.setVisible(False)
        self.browse = QPushButton("Browse…")
        self.start_btn = QPushButton("Start  [F5]")
        self.start_btn.setObjectName("primary")
        self.pause_btn = QPushButton("Pause  [F6]")
        self.stop_btn = QPushButton("Stop  [F7]")
        # The kiosk: the source an engineer set, shown but not editable; changing it takes an
        # engineer's sign-in, and no file dialog is ever opened (one renamed and deleted folders).
        self.locked = False
        self.kiosk = False  # no file dialog, ever
        self.change_btn = QPushButton("Change source…")
        self.change_btn.setVisible(False)
        self.again = QCheckBox("Inspect again")
        self.again.setToolTip("Also judge and show parts this model already judged (their rows are not duplicated)")
        # The product (station.line.recipes): hidden until the station has recipes (station.ui.products).
        self.product = QComboBox()
        self.product.setToolTip("The product on the line: its model, threshold and masks judge from the next part on")
        self.product.setVisible(False)
        self.areas = QPushButton("Areas…")
        self.areas.setToolTip("Draw the product's region judged and the masks that never raise an alarm (an engineer's sign-in)")
        self.areas.setVisible(False)
        for w in (self.kind, self.target, self.cameras, self.browse, self.change_btn, self.again, self.product, self.areas, self.start_btn,
                  self.pause_btn, self.stop_btn):
            lay.addWidget(w)
        lay.setStretch(1, 1)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.browse.clicked.connect(self._browse)
        self.start_btn.clicked.connect(self._start)
        self.pause_btn.clicked.connect(self.pause)
        self.stop_btn.clicked.connect(self.stop)
        self.set_running(False)
        self._kind_changed()

    def current_kind(self) -> str:
        return str(self.kind.currentData())

    def set_source(self, spec: str) -> None:
        kind, target = ("demo", "") if not spec else split_spec(spec)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        self.target.setText(target)

    def spec(self) -> str:
        kind = self.current_kind()
        if kind == "demo":
            return ""
        if kind == "camera" and self.cameras.count():
            index = self.cameras.currentData()  # None: the "no camera opens" entry
            return f"camera:{index}" if index is not None else "camera:"
        return format_spec(kind, self.target.text())

    def set_cameras(self, indices: list[int]) -> None:
        self.cameras.clear()
        for i in indices:
            self.cameras.addItem(f"camera {i}", i)
        if not indices:
            self.cameras.addItem("no camera opens", None)

    def set_running(self, running: bool, paused: bool = False) -> None:
        self.start_btn.setEnabled(not running)
        self.pause_btn.setEnabled(running)
        self.stop_btn.setEnabled(running)
        self.pause_btn.setText("Resume  [F6]" if paused else "Pause  [F6]")
        self.running = running
        for w in (self.kind, self.target, self.browse, self.cameras, self.again):
            w.setEnabled(not running and not self.locked)
        self.change_btn.setEnabled(not running)

    def lock(self, locked: bool) -> None:
        """The kiosk's lock: the source fields read-only, Browse gone, "Change source…" shown."""
        self.kiosk = True
        self.locked = locked
        self.change_btn.setVisible(True)
        self._kind_changed()
        self.set_running(self.running)

    def _kind_changed(self) -> None:
        kind = self.current_kind()
        self.target.setVisible(kind not in ("demo",))
        self.browse.setVisible(kind in ("folder", "watch", "video") and not self.kiosk)
        self.again.setVisible(kind in ("folder", "watch", "video"))  # a camera's frames are new every time
        self.cameras.setVisible(kind == "camera")
        self.target.setVisible(kind in ("folder", "watch", "video", "genicam", "views"))
        self.target.setPlaceholderText("camera IP, serial or name, then ?trigger=software&exposure=…" if kind == "genicam"
                                       else "top=FOLDER or camera,side=FOLDER or camera (folders are paired by file name)"
                                       if kind == "views" else "path, URL or camera index")
        self.kind_changed.emit(kind)

    def _browse(self) -> None:
        if self.kiosk:
            return
        if self.current_kind() == "video":
            path, _ = QFileDialog.getOpenFileName(self, "Video file", self.target.text())
        else:
            path = QFileDialog.getExistingDirectory(self, "Folder", self.target.text())
        if path:
            self.target.setText(path)

    def _start(self) -> None:
        if self.current_kind() != "demo" and not self.spec().split(":", 1)[-1].strip():
            if self.current_kind() == "camera":
                self.refused.emit("No camera opens on this PC: check its cable and power, or choose another source.")
            else:
                self.target.setFocus()
            return
        self.start.emit(self.spec())


class LiveView(QWidget):
    confirm = Signal(object)  # LiveResult
    wrong = Signal(object)  # LiveResult
    latency = Signal(float)  # ms from frame read to verdict painted
    product_shown = Signal(str)  # the product of the part shown changed (a changeover took effect)
    serial_entered = Signal(str)  # the operator's serial for the next part

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_bar = SourceBar()
        self.image = ImageView()
        self.image.placeholder = "Press Start (F5) to inspect"
        self.last_preview: Any = None  # the newest part shown, to draw a product's areas over
        self.banner = VerdictLabel("READY")
        self.product = QLabel("")  # the product judged, in large letters beside the verdict
        self.product.setObjectName("product")
        self.product.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.product.setVisible(False)
        self.detail = QLabel("")
        self.detail.setObjectName("bannerDetail")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        self.probs = QLabel("")
        self.probs.setTextFormat(Qt.TextFormat.RichText)
        self.origin = QLabel("")
        self.origin.setObjectName("muted")
        self.origin.setWordWrap(True)
        # A hand scanner types the code and presses Enter; so may a person. It names the next part.
        self.serial = QLineEdit()
        self.serial.setPlaceholderText("next part's serial: tap, scan or type, Enter")
        # Tapped into, never tabbed into: a focus that fell here from a disabled Start would eat
        # the operator's Space and W.
        self.serial.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.serial.setMinimumWidth(260)
        self.source_bar.row.addWidget(self.serial)  # in the row of 15 mm controls: the verdict keeps its height
        self.serial.returnPressed.connect(self._serial_entered)
        self.confirm_btn = QPushButton("Confirm  [Space]")
        self.wrong_btn = QPushButton("Wrong…  [W]")
        self.heat_box = QCheckBox("Heatmap  [H]")
        self.heat_box.setChecked(True)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self.history = QListWidget()
        self.history.setViewMode(QListWidget.ViewMode.IconMode)
        self.history.setFlow(QListWidget.Flow.LeftToRight)
        self.history.setWrapping(False)
        self.history.setIconSize(QSize(72, 72))
        self.history.setFixedHeight(108)
        self.history.setMovement(QListWidget.Movement.Static)

        # The verdict column on a 1366x768 screen: everything but the verdict takes one row, so
        # the verdict gets the height to be read from two metres.
        self.opacity.setToolTip("Heatmap opacity")
        heat_row = QHBoxLayout()
        heat_row.addWidget(self.heat_box)
        heat_row.addWidget(self.opacity, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.confirm_btn)
        buttons.addWidget(self.wrong_btn)
        side = QVBoxLayout()
        side.addWidget(self.product)
        side.addWidget(self.banner, 1)
        side.addWidget(self.detail)
        side.addWidget(self.probs)
        side.addWidget(self.origin)
        side.addLayout(heat_row)
        side.addLayout(buttons)
        middle = QHBoxLayout()
        # 1:1, not 3:1: a camera image on a 1366x768 screen is limited by height anyway, and the
        # verdict column needs the width for UNCERTAIN at a size read from two metres.
        self.part_views = PartViews()  # a part of several views: each side by side, with its heatmap
        picture = QVBoxLayout()  # ... under its picture: the verdict column keeps its height
        picture.addWidget(self.image, 1)
        picture.addWidget(self.part_views)
        middle.addLayout(picture, 1)
        middle.addLayout(side, 1)
        self.shift_line = QLabel("")  # this shift's counts (station.ui.shiftcounter)
        self.shift_line.setObjectName("shift")
        lay = QVBoxLayout(self)
        lay.addWidget(self.source_bar)
        lay.addLayout(middle, 1)
        lay.addWidget(self.shift_line)
        lay.addWidget(self.history)

        self.current: LiveResult | None = None
        self.state = "READY"
        self.threshold = 0.5  # the running model's cut; set when the worker reports its model
        self.band = UNCERTAIN_BAND  # p_defect this close to the cut reads UNCERTAIN – CHECK
        self._history: list[LiveResult] = []
        # Labels this window stored for parts it showed: a key that would replace one asks first.
        self.reviewed_labels: dict[int, str] = {}
        self._pending_latency: float | None = None
        self.heat_box.toggled.connect(self.image.set_heat_visible)
        self.opacity.valueChanged.connect(lambda v: self.image.set_opacity(v / 100))
        self.confirm_btn.clicked.connect(lambda: self.current and self.confirm.emit(self.current))
        self.wrong_btn.clicked.connect(lambda: self.current and self.wrong.emit(self.current))
        self.history.itemClicked.connect(self._open_history)
        self.image.painted.connect(self._painted)
        self._set_banner(None)

    def set_product(self, name: str | None) -> None:
        """The product the shown part was judged as; hidden on a station without recipes."""
        self.product.setVisible(bool(name))
        if name and self.product.text() != name.upper():
            self.product_shown.emit(name)
        self.product.setText((name or "").upper())

    def _serial_entered(self) -> None:
        text = self.serial.text().strip()
        if text:
            self.serial_entered.emit(text)
            self.serial.clear()
            self.serial.setPlaceholderText(f"next part: {text[:64]}")
        self.setFocus()  # Space and W work again at once

    def set_model(self, threshold: float, band: float | None) -> None:
        self.threshold = float(threshold)
        self.band = UNCERTAIN_BAND if band is None else float(band)

    def show_state(self, state: str, reason: str = "") -> None:
        """WAITING, READY, NOT INSPECTED or SOURCE LOST: the panel is cleared, so no verdict stays
        on screen for a part that was never judged."""
        self.current = None
        self.state = state
        self.image.set_image(None, None, None)
        self.probs.setText("")
        self.origin.setText("")
        color = {"NOT INSPECTED": theme.FAIL, "SOURCE LOST": theme.FAIL}.get(state, theme.IDLE)
        self.banner.set_verdict(state, color)
        self.detail.setText(reason)
        self.confirm_btn.setEnabled(False)
        self.wrong_btn.setEnabled(False)

    def show_result(self, r: LiveResult) -> None:
        """A new verdict from the worker. A frame that could not be judged clears the panel and
        says why: the previous part's PASS must not stand for this one."""
        self._add_history(r)
        self.set_product(r.recipe)
        self.part_views.show_part(r)
        if r.error is not None:
            self.show_state("NOT INSPECTED", f"{Path(r.origin).name}: {r.error}")
            return
        self._display(r)
        self._pending_latency = r.read_at

    def _display(self, r: LiveResult) -> None:
        self.current = r
        # The good class's CAM marks "what looks normal": noise to an operator looking for defects.
        self.image.set_image(r.preview, r.heat if r.verdict == "fail" else None, r.box, keep_zoom=False)
        self.last_preview = r.preview
        self._set_banner(r)
        top = sorted(r.probabilities.items(), key=lambda kv: -kv[1])[:3]
        self.probs.setText(" · ".join(f"{k} <b>{v:.0%}</b>" for k, v in top))
        where = f"#{r.inspection_id}" if r.inspection_id is not None else "not recorded"
        part = (f"part {r.serial}  ·  " if r.serial else "") + (f"{r.view} view  ·  " if r.view else "")
        self.origin.setText(f"{part}{Path(r.origin).name}  ·  {where}  ·  {r.model}" + (f"  ·  {r.not_kept}" if r.not_kept else ""))

    def _set_banner(self, r: LiveResult | None) -> None:
        # The part's own cut: after a changeover it is the new product's, not the first model's.
        threshold = r.threshold if r is not None and r.threshold is not None else self.threshold
        band = r.band if r is not None and r.band is not None else self.band
        score = "" if r is None else f"score {r.p_defect:.2f}, fails at {threshold:.2f}"
        if r is None:
            color, text, detail = theme.IDLE, "READY", ""
        elif is_uncertain(r.p_defect, threshold, band):
            # Too close to the cut to trust either way: a person looks (the verdict stored and
            # signalled is still the model's).
            color, text, detail = theme.UNCERTAIN, "UNCERTAIN – CHECK", f"{GOOD if r.verdict == 'pass' else r.label} · {score}"
        elif r.verdict == "pass":
            color, text, detail = theme.PASS, "PASS", f"good · {score}"
        else:
            color, text, detail = theme.FAIL, "FAIL", f"{r.label} · {score}"
        self.state = text
        self.banner.set_verdict(text, color)
        self.detail.setText(detail)
        self.confirm_btn.setEnabled(r is not None and r.inspection_id is not None)
        self.wrong_btn.setEnabled(r is not None and r.inspection_id is not None)

    def _add_history(self, r: LiveResult) -> None:
        if r.error is not None:
            item = QListWidgetItem("error")
            item.setToolTip(f"{r.origin}: {r.error}")
            item.setForeground(QColor(theme.FAIL))
        else:
            item = QListWidgetItem(QIcon(to_pixmap(r.preview)), f"{'PASS' if r.verdict == 'pass' else (r.label or '?').upper()}")
            item.setForeground(QColor(theme.PASS if r.verdict == "pass" else theme.FAIL))
            item.setToolTip(f"{r.origin}\n{r.label} p_defect={r.p_defect:.3f}")
        self.history.insertItem(0, item)
        self._history.insert(0, r)
        while self.history.count() > HISTORY:
            self.history.takeItem(self.history.count() - 1)
            self._history.pop()

    def _open_history(self, item: QListWidgetItem) -> None:
        r = self._history[self.history.row(item)]
        self.part_views.show_part(r)
        if r.error is None:
            self._display(r)

    def _painted(self, at: float) -> None:
        if self._pending_latency is not None:
            self.latency.emit((at - self._pending_latency) * 1000)
            self._pending_latency = None

    def mark_reviewed(self, r: LiveResult, label: str) -> None:
        if r.inspection_id is not None:
            self.reviewed_labels[r.inspection_id] = label
        if self.current is r:
            self.detail.setText(self.detail.text() + f"  ·  reviewed: {label}")
