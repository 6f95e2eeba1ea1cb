"""A part's history in the window: the serial typed on the Statistics tab opens every inspection
of the part, its image, and its reviews, read off the GUI thread."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import run_cli, run_json
from gui_helpers import start_on, station_window
from PySide6.QtCore import Qt

from station.ui.views.part_history import PartDialog

pytestmark = pytest.mark.gui


def test_a_serial_typed_on_the_statistics_tab_shows_the_parts_inspections_and_reviews(qtbot, demo_images, data_dir):
    run_cli("run", str(demo_images), data=data_dir)
    first, second = (q["id"] for q in run_json("queue", "--limit", "2", data=data_dir))
    with sqlite3.connect(data_dir / "station.db") as db:  # two views of one part, as the PLC would have named them
        db.execute("UPDATE inspections SET serial = '4711' WHERE id IN (?, ?)", (first, second))
    run_cli("label", str(second), "scratch", "--by", "ann", "--note", "edge", data=data_dir)
    w = station_window(qtbot, data_dir)
    try:
        w.tabs.setCurrentWidget(w.stats)
        qtbot.keyClicks(w.stats.part, "4711")
        qtbot.keyClick(w.stats.part, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: isinstance(w.stats.part_dialog, PartDialog) and w.stats.part_dialog.list.count() == 2, timeout=10_000)
        dialog = w.stats.part_dialog
        assert dialog.heading.text() == "Part 4711: 2 inspections"
        qtbot.waitUntil(dialog.image.has_image, timeout=10_000)
        dialog.list.setCurrentRow(1)
        assert "by ann" in dialog.details.text() and "scratch" in dialog.details.text() and "(edge)" in dialog.details.text()
        qtbot.waitUntil(dialog.image.has_image, timeout=10_000)
        dialog.reject()

        w.stats.part.setText("no-such")
        qtbot.keyClick(w.stats.part, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: w.stats.part_dialog is not dialog and "No part with serial no-such" in w.stats.part_dialog.heading.text(),
                        timeout=10_000)
        w.stats.part_dialog.reject()
    finally:
        w.close()
    with sqlite3.connect(data_dir / "station.db") as db:
        assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1, "Enter in the serial field labelled nothing"


def test_the_live_tab_names_the_part_by_the_code_printed_on_it(qtbot, tmp_path, data_dir):
    parts = tmp_path / "parts"
    run_cli("demo-data", str(parts), "--count", "3", "--seed", "21", "--codes", "qr")
    serials = {line.split(",")[1] for line in (parts / "codes.csv").read_text().splitlines()[1:]}
    run_cli("recipes", "add", "tagged", "--model", "default", data=data_dir)
    run_cli("recipes", "set", "tagged", "code", "qr", data=data_dir)
    run_cli("recipes", "use", "tagged", data=data_dir)
    w = station_window(qtbot, data_dir)
    try:
        start_on(w, str(parts), "olga")
        qtbot.waitUntil(lambda: w.live.history.count() == 3 and w.worker is None, timeout=60_000)
        shown = w.live.origin.text()
        assert shown.startswith("part ") and shown.split("  ·  ")[0].removeprefix("part ") in serials
    finally:
        w.close()
