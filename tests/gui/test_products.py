"""The product on the Live tab: shown in large letters beside the verdict, and picked by the
operator mid-run (a changeover between two parts), with a real worker and a real hot folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from common.spots import spot_parts
from conftest import run_cli, run_json
from gui_helpers import rows, start_on, station_window
from PySide6.QtCore import Qt

from station.ui.areas import AreasDialog

pytestmark = pytest.mark.gui


def test_the_operator_picks_the_product_and_the_next_parts_are_judged_as_it(qtbot, demo_images, data_dir, tmp_path):
    run_cli("recipes", "add", "alpha", "--model", "default", data=data_dir)
    run_cli("recipes", "add", "beta", "--model", "default", data=data_dir)
    run_cli("recipes", "set", "beta", "threshold", "0.9", data=data_dir)
    run_cli("recipes", "set", "beta", "band", "0.2", data=data_dir)
    run_cli("recipes", "use", "alpha", data=data_dir)
    drop = tmp_path / "drop"
    drop.mkdir()
    w = station_window(qtbot, data_dir)
    try:
        box = w.live.source_bar.product
        qtbot.waitUntil(lambda: box.isVisible() and box.count() == 2, timeout=10_000)
        assert box.currentText() == "alpha"
        start_on(w, f"watch:{drop}", "olga")
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
        # The part is shown against its own product's cut, not the one the run started with.
        cut = w.live.current
        assert (cut.recipe, cut.threshold, cut.band) == ("beta", 0.9, 0.2)
        near = abs(cut.p_defect - 0.9) < 0.2
        assert w.live.state == ("UNCERTAIN – CHECK" if near else "PASS" if cut.verdict == "pass" else "FAIL")
        w.stop_source()
        qtbot.waitUntil(lambda: w.worker is None, timeout=60_000)

        # The Review tab keeps to the product on the line; "all products" shows every one.
        w.tabs.setCurrentWidget(w.review)
        products = w.review.filter_bar.recipe
        qtbot.waitUntil(lambda: products.isVisible() and products.currentText() == "beta", timeout=10_000)
        assert sorted(Path(i["origin"]).name[:2] for i in w.review.items) == ["b-", "b-"]
        products.setCurrentIndex(products.findText("all products"))
        qtbot.waitUntil(lambda: len(w.review.items) == 4, timeout=10_000)

        # So do the statistics: the product on the line first, every product when asked.
        w.tabs.setCurrentWidget(w.stats)
        w.stats.refresh()
        product = w.stats.product
        qtbot.waitUntil(lambda: product.isVisible() and product.currentText() == "beta" and w.stats.total.text() == "2", timeout=10_000)
        product.setCurrentIndex(product.findText("all products"))
        qtbot.waitUntil(lambda: w.stats.total.text() == "4", timeout=10_000)
        product.setCurrentIndex(product.findText("alpha"))
        qtbot.waitUntil(lambda: w.stats.total.text() == "2" and product.currentText() == "alpha", timeout=10_000)
    finally:
        w.close()
    judged = [r for (r,) in rows(data_dir, "SELECT recipe FROM inspections ORDER BY id")]
    assert judged == ["alpha", "alpha", "beta", "beta"]
    assert tuple(rows(data_dir, "SELECT how, by FROM recipe_changes ORDER BY id DESC LIMIT 1")[0]) == ("operator", "olga")


def test_an_engineer_draws_a_mask_over_the_live_part_and_the_next_parts_are_judged_with_it(qtbot, tmp_path):
    """The areas dialog over the part on the Live tab: a drag makes a mask, Save makes the
    recipe's next version, and the run judges with it from the next part on, without a restart."""
    root = tmp_path / "line"
    run_cli("line-data", str(root), "--line", "brick", "--good", "30", "--stream", "0", "--test", "4", "--seed", "3")
    run_cli("teach", str(root / "good" / "good"), "--out", str(tmp_path / "m_brick"))
    data = tmp_path / "data"
    run_cli("recipes", "add", "brick", "--model", str(tmp_path / "m_brick"), data=data)
    run_cli("recipes", "use", "brick", data=data)
    plain, top_left, bottom_right = spot_parts(root, tmp_path / "parts")
    drop = tmp_path / "drop"
    drop.mkdir()
    w = station_window(qtbot, data)
    try:
        areas = w.live.source_bar.areas
        qtbot.waitUntil(lambda: areas.isVisible(), timeout=10_000)
        start_on(w, f"watch:{drop}", "erin")
        shutil.copy(plain, drop / "1-plain.png")
        qtbot.waitUntil(lambda: w.live.history.count() == 1, timeout=60_000)

        areas.click()
        qtbot.waitUntil(lambda: isinstance(w.findChild(AreasDialog), AreasDialog) and w.findChild(AreasDialog).isVisible(), timeout=10_000)
        dialog = w.findChild(AreasDialog)
        canvas = dialog.canvas
        assert canvas.has_image(), "the part on the Live tab is what the areas are drawn over"
        qtbot.waitUntil(lambda: canvas.width() > 100, timeout=5_000)
        start, end = canvas.to_widget(0.1, 0.1).toPoint(), canvas.to_widget(0.4, 0.4).toPoint()
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(canvas, pos=end)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
        assert len(canvas.masks) == 1 and all(abs(a - b) < 0.02 for a, b in zip(canvas.masks[0], (0.1, 0.1, 0.3, 0.3)))
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=end)  # a tap is no area
        assert len(canvas.masks) == 1 and "1 mask" in dialog.summary.text()
        dialog.save.click()
        qtbot.waitUntil(lambda: "areas of brick saved (version 2)" in w.message.text(), timeout=10_000)

        for n, part in enumerate((top_left, bottom_right), start=2):
            shutil.copy(part, drop / f"{n}-{part.name}")
            qtbot.waitUntil(lambda n=n: w.live.history.count() == n, timeout=60_000)
        w.stop_source()
        qtbot.waitUntil(lambda: w.worker is None, timeout=60_000)
    finally:
        w.close()
    judged = {Path(o).name: (v, rv) for o, v, rv in rows(data, "SELECT origin, verdict, recipe_version FROM inspections")}
    # Without a mask the spot fails wherever it is (tests/integration/test_recipes.py shows it on this line).
    assert judged["1-plain.png"] == ("pass", 1)
    assert judged["2-top-left.png"] == ("pass", 2), "the spot under the drawn mask never raises an alarm"
    assert judged["3-bottom-right.png"] == ("fail", 2), "the spot outside the mask still fails"
    shown = run_json("recipes", "show", "brick", data=data)
    assert shown["version"] == 2 and shown["by"] == "erin" and len(shown["masks"]) == 1
