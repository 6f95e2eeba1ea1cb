"""The product on the Live tab: shown in large letters beside the verdict, and picked by the
operator mid-run (a changeover between two parts), with a real worker and a real hot folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run_cli
from gui_helpers import rows

from station.ui.main_window import MainWindow, Options

pytestmark = pytest.mark.gui


def test_the_operator_picks_the_product_and_the_next_parts_are_judged_as_it(qtbot, demo_images, data_dir, tmp_path):
    run_cli("recipes", "add", "alpha", "--model", "default", data=data_dir)
    run_cli("recipes", "add", "beta", "--model", "default", data=data_dir)
    run_cli("recipes", "set", "beta", "threshold", "0.9", data=data_dir)
    run_cli("recipes", "use", "alpha", data=data_dir)
    drop = tmp_path / "drop"
    drop.mkdir()
    w = MainWindow(Options(autostart=False, device="cpu", data=str(data_dir)))
    qtbot.addWidget(w)
    w.show()
    try:
        box = w.live.source_bar.product
        qtbot.waitUntil(lambda: box.isVisible() and box.count() == 2, timeout=10_000)
        assert box.currentText() == "alpha"
        w.set_reviewer("olga")
        w.live.source_bar.set_source(f"watch:{drop}")
        w.live.source_bar.start_btn.click()
        images = sorted(demo_images.rglob("*.png"))
        for p in images[:2]:
            shutil.copy(p, drop / f"a-{p.name}")
        qtbot.waitUntil(lambda: w.live.history.count() == 2, timeout=60_000)
        assert w.live.product.isVisible() and w.live.product.text() == "ALPHA"

        box.setCurrentIndex(1)
        box.activated.emit(1)  # what a touch on the list's second entry sends
        qtbot.waitUntil(lambda: "product beta" in w.message.text(), timeout=10_000)
        for p in images[2:4]:
            shutil.copy(p, drop / f"b-{p.name}")
        qtbot.waitUntil(lambda: w.live.history.count() == 4, timeout=60_000)
        assert w.live.product.text() == "BETA" and box.currentText() == "beta"
        w.stop_source()
        qtbot.waitUntil(lambda: w.worker is None, timeout=60_000)

        # The Review tab keeps to the product on the line; "all products" shows every one.
        w.tabs.setCurrentWidget(w.review)
        products = w.review.filter_bar.recipe
        qtbot.waitUntil(lambda: products.isVisible() and products.currentText() == "beta", timeout=10_000)
        assert sorted(Path(i["origin"]).name[:2] for i in w.review.items) == ["b-", "b-"]
        products.setCurrentIndex(products.findText("all products"))
        qtbot.waitUntil(lambda: len(w.review.items) == 4, timeout=10_000)
    finally:
        w.close()
    judged = [r for (r,) in rows(data_dir, "SELECT recipe FROM inspections ORDER BY id")]
    assert judged == ["alpha", "alpha", "beta", "beta"]
    assert tuple(rows(data_dir, "SELECT how, by FROM recipe_changes ORDER BY id DESC LIMIT 1")[0]) == ("operator", "olga")
