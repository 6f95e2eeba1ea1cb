"""A line of stations against a real PostgreSQL and a real S3-compatible store (SeaweedFS), both
started here on loopback: concurrent stations, a reviewer elsewhere, a line-wide promotion,
ten cold starts at once, and outages of both servers mid-run."""

from __future__ import annotations

import pytest
from common.line import line_db, line_images, line_rows
from conftest import run_cli
from line_servers import Postgres

pytestmark = pytest.mark.slow


@pytest.mark.gui
def test_window_on_a_line_reviews_other_stations_and_shows_an_outage(line, tmp_path, qtbot):
    """The window of a station on the line: the Review tab shows parts another station took
    (images from the store) with a station filter; a database outage turns the status light
    orange while judging goes on, and clears once every spooled result is forwarded."""
    import shutil

    from PySide6.QtCore import Qt

    from station.ui.main_window import MainWindow, Options

    pg, _ = line
    db, store = line_db(pg, "desk"), "s3://line/desk"
    for name, seed in (("A", 21), ("B", 22)):
        run_cli("run", str(line_images(tmp_path, f"p{name}", 8, seed)), "--db", db, "--store", store, "--station", name,
                data=tmp_path / name)
    w = MainWindow(Options(autostart=False, device="cpu", data=str(tmp_path / "D"), db=db, store=store, station="D"))
    qtbot.addWidget(w)
    w.show()
    try:
        w.tabs.setCurrentWidget(w.review)
        w.review.refresh()
        qtbot.waitUntil(lambda: len(w.review.items) == 16 and w.review.current()["id"] in w.review.cache, timeout=30000)
        loaded = w.review.cache[w.review.current()["id"]]
        assert loaded["error"] is None and loaded["preview"] is not None, loaded["error"]
        assert w.review.station.isVisibleTo(w) and [w.review.station.itemText(i) for i in range(w.review.station.count())] == \
            ["all stations", "A", "B"]
        w.review.station.setCurrentIndex(2)
        qtbot.waitUntil(lambda: len(w.review.items) == 8 and {i["station"] for i in w.review.items} == {"B"}, timeout=30000)

        w.tabs.setCurrentWidget(w.live)
        hot = tmp_path / "hot"
        hot.mkdir()
        w.live.source_bar.set_source(f"watch:{hot}")
        qtbot.mouseClick(w.live.source_bar.start_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.worker is not None and w.worker.snapshot().state == "connected", timeout=60000)
        pg.stop("fast")
        parts = sorted(line_images(tmp_path, "pD", 6, 23).rglob("*.png"))
        for p in parts:
            shutil.copy(p, hot / p.name)
        qtbot.waitUntil(lambda: "kept on this PC" in w.line_status.text(), timeout=60000)
        pg.start()
        # The sixth part can be judged, and the spool empty, while its row is still on its way
        # to the database: what the test waits for is the row.
        qtbot.waitUntil(lambda: w.worker.snapshot().processed == 6 and "kept on this PC" not in w.line_status.text()
                        and line_rows(db, "SELECT count(*) FROM inspections WHERE station = 'D'") == [(6,)], timeout=60000)
        w.tabs.setCurrentWidget(w.stats)  # each station's own counts
        w.stats.refresh()
        table = w.stats.stations
        qtbot.waitUntil(lambda: table.rowCount() == 3, timeout=30000)
        assert table.isVisibleTo(w)
        assert {table.item(r, 0).text(): table.item(r, 1).text() for r in range(3)} == {"A": "8", "B": "8", "D": "6"}
    finally:
        if pg.port and not _up(pg):
            pg.start()
        w.close()
    assert w.worker is None


def _up(pg: Postgres) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", pg.port), timeout=1).close()
        return True
    except OSError:
        return False
