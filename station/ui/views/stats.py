"""Statistics: pass/fail counts, yield, the defect-type breakdown and a rolling defect-rate chart
(pyqtgraph) per run or per model. Figures come from the store, read on the tasks thread."""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from station.ui import theme
from station.ui.context import StationContext
from station.ui.views.review_filters import ACTIVE, fill_products, recipe_scope

PALETTE = ["#58a6ff", "#f778ba", "#3fb950", "#d29922", "#a371f7", "#ff7b72", "#79c0ff", "#56d364"]


class StatsView(QWidget):
    def __init__(self, window: StationContext) -> None:
        super().__init__()
        self.window_ = window
        self.total, self.passed, self.failed, self.reviewed, self.yield_ = (QLabel("–") for _ in range(5))
        self.yield_.setToolTip("Good parts after reviews: an inspector's label replaces the model's verdict")
        grid = QGridLayout()
        for col, (name, label, color) in enumerate((("Inspected", self.total, None), ("Pass", self.passed, theme.PASS),
                                                   ("Fail", self.failed, theme.FAIL), ("Reviewed (overturned)", self.reviewed, None),
                                                   ("Yield after reviews", self.yield_, None))):
            title = QLabel(name)
            title.setObjectName("muted")
            label.setObjectName("big")
            if color:
                label.setStyleSheet(f"color: {color};")
            grid.addWidget(title, 0, col)
            grid.addWidget(label, 1, col)
        self.scope = QComboBox()
        self.scope.addItem("All runs", None)
        # The product (station.line.recipes): the station's active one until another is picked,
        # hidden on a station without recipes.
        self.product = QComboBox()
        self.product.hide()
        self._products_seen = False
        self.group = QComboBox()
        self.group.addItem("Defect rate per run", "run")
        self.group.addItem("Defect rate per model", "model")
        self.refresh_btn = QPushButton("Refresh  [F9]")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Counts for"))
        bar.addWidget(self.product)
        bar.addWidget(self.scope, 1)
        bar.addWidget(self.group, 1)
        bar.addWidget(self.refresh_btn)
        self.settings_btn = QPushButton("Station settings…")
        self.settings_btn.setToolTip("Retention, disk-space levels, backups")
        self.settings_btn.clicked.connect(window.open_settings)
        self.rejects_btn = QPushButton("Rejects…")
        self.rejects_btn.setToolTip("The last failed parts as pictures; open one to see its heatmap and review")
        self.rejects_btn.clicked.connect(self.open_rejects)
        self.rejects: Any = None  # the open reject gallery
        # A part's whole history by its serial (Enter opens it; it labels nothing).
        self.part = QLineEdit()
        self.part.setPlaceholderText("part serial…")
        self.part.setMaximumWidth(180)
        self.part.returnPressed.connect(self.open_part)
        self.part_dialog: Any = None
        bar.addWidget(self.part)
        bar.addWidget(self.rejects_btn)
        bar.addWidget(self.settings_btn)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Defect type", "Count"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setMaximumWidth(320)
        self.plot: Any = None
        # The legend is a line under the chart: pyqtgraph's own sat over the curves' start.
        self.legend = QLabel("")
        self.legend.setObjectName("chartLegend")
        self.legend.setWordWrap(True)
        # A line of stations: each station's own counts (hidden on a PC alone).
        self.stations = QTableWidget(0, 4)
        self.stations.setObjectName("stationsTable")
        self.stations.setHorizontalHeaderLabels(["Station", "Inspected", "Fail", "Reviewed"])
        self.stations.verticalHeader().setVisible(False)
        self.stations.setMaximumWidth(420)
        self.stations.hide()
        # The chart's place is held from the start (#30: the layout had an empty middle, and the
        # chart once took the stations table's place in the row).
        self.chart = QVBoxLayout()
        self.placeholder = QLabel("The defect-rate chart appears here once parts are inspected.")
        self.placeholder.setObjectName("muted")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.chart.addWidget(self.placeholder, 1)
        self.chart.addWidget(self.legend)
        self.body = body = QHBoxLayout()
        body.addWidget(self.table)
        body.addWidget(self.stations)
        body.addLayout(self.chart, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addLayout(grid)
        lay.addLayout(body, 1)
        self.refresh_btn.clicked.connect(self.refresh)
        self.refresh_btn.setShortcut("F9")
        self.scope.currentIndexChanged.connect(lambda _: self.refresh())
        self.group.currentIndexChanged.connect(lambda _: self.refresh())
        self.product.currentIndexChanged.connect(lambda _: self.refresh())
        self.data: dict[str, Any] = {}
        self._stale = False  # data not yet drawn
        self._busy = False
        self._again = False
        self._last_live = 0.0

    def open_part(self) -> None:
        from station.ui.views.part_history import PartDialog

        serial = self.part.text().strip()
        if serial:
            self.part_dialog = PartDialog(self.window_, serial[:64])
            self.part_dialog.open()

    def open_rejects(self) -> None:
        from station.ui.views.rejects import RejectsDialog

        self.rejects = RejectsDialog(self.window_)
        self.rejects.open()

    def add_live(self, _result) -> None:
        """A new verdict arrived: refresh when the tab is on screen, at most once a second (a
        camera at 30 fps must not turn into 30 aggregate queries a second)."""
        now = time.monotonic()
        if self.isVisible() and now - self._last_live >= 1.0:
            self._last_live = now
            self.refresh()

    def refresh(self) -> None:
        if self._busy:
            self._again = True  # asked while a read was in flight: that read may predate a review
            return
        self._again = False
        from station.line.settings import station_name
        from station.store import stats

        run_id, group = self.scope.currentData(), self.group.currentData()
        wanted = self.product.currentData() if self._products_seen else ACTIVE
        station = station_name(self.window_.options.station, self.window_.options.data)

        def read(s):
            recipe, names, _ = recipe_scope(s, wanted, station)
            return {"summary": stats.summary(s, run_id=run_id, recipe=recipe), "runs": stats.runs(s, 50),
                    "series": stats.defect_rate_series(s, group=group, recipe=recipe),
                    "stations": stats.by_station(s, run_id=run_id, recipe=recipe), "recipes": (recipe, names)}

        self._busy = True
        self.window_.db(read, self._show, self._failed)

    def _failed(self, message: str) -> None:
        self._busy = False
        self.window_.show_error(message)

    def _show(self, data: dict[str, Any]) -> None:
        self._busy = False
        if self._again:
            self.refresh()
        self.data = data
        recipe, names = data["recipes"]
        fill_products(self.product, names, recipe)
        self._products_seen = True
        s = data["summary"]
        self.total.setText(str(s["total"]))
        self.passed.setText(str(s["pass"]))
        self.failed.setText(str(s["fail"]))
        self.reviewed.setText(f"{s['reviewed']} ({s['overturned']})")
        self.yield_.setText("–" if s["yield"] is None else f"{s['yield']:.1%}")
        self.table.setRowCount(len(s["defects"]))
        for row, (label, n) in enumerate(s["defects"].items()):
            self.table.setItem(row, 0, QTableWidgetItem(label))
            item = QTableWidgetItem(str(n))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 1, item)
        per = data.get("stations") or {}
        self.stations.setVisible(len(per) > 1)
        self.stations.setRowCount(len(per))
        for row, (name, c) in enumerate(per.items()):
            for col, value in enumerate((name, c.inspected, c.failed, c.reviewed)):
                self.stations.setItem(row, col, QTableWidgetItem(str(value)))
        current = self.scope.currentData()
        self.scope.blockSignals(True)
        self.scope.clear()
        self.scope.addItem("All runs", None)
        for r in data["runs"]:
            # Named by what it inspected (a run number alone told an engineer nothing).
            name = Path(r["source"]).name or r["source"] or "?"
            self.scope.addItem(f"run {r['id']} · {name} · {r['started_at']:%Y-%m-%d %H:%M} · {r['model']} · {r['processed']} parts", r["id"])
        self.scope.setCurrentIndex(max(0, self.scope.findData(current)))
        self.scope.blockSignals(False)
        self._stale = True
        if self.isVisible():
            self._draw()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.data and self._stale:  # data that arrived while another tab was on screen
            self._draw()

    def _draw(self) -> None:
        """The defect-rate chart. Made the first time the tab is on screen with data: pyqtgraph
        takes a second to import, a second the first verdict would otherwise wait for."""
        self._stale = False
        pg = self._chart()
        self.plot.clear()
        keys = []
        for i, (name, points) in enumerate(list(self.data["series"].items())[-8:]):
            xs, ys = zip(*points)
            color = PALETTE[i % len(PALETTE)]
            self.plot.plot(list(xs), list(ys), pen=pg.mkPen(color, width=2), name=name)
            keys.append(f"<span style='color:{color}; font-size:20px'>&#9644;</span>&nbsp;{html.escape(str(name))}")
        self.legend.setText("&nbsp;&nbsp;&nbsp;".join(keys))

    def _chart(self) -> Any:
        import pyqtgraph as pg

        if self.plot is None:
            pg.setConfigOptions(antialias=True, background="#161b22", foreground="#c9d1d9")
            self.plot = pg.PlotWidget()
            self.plot.setLabel("left", "defect rate (rolling 50 parts)")
            self.plot.setLabel("bottom", "parts inspected")
            self.plot.setYRange(0, 1)
            self.plot.showGrid(x=True, y=True, alpha=0.2)
            self.chart.replaceWidget(self.placeholder, self.plot)
            self.placeholder.hide()
            self.chart.setStretchFactor(self.plot, 1)
        return pg
