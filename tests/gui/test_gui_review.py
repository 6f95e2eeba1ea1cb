"""The inspector's review tab, driven by keyboard offscreen; the store shows the events in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from gui_helpers import modal_dialog, rows, store_jobs_done
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from station.ui.main_window import MainWindow, Options

pytestmark = pytest.mark.gui


@pytest.fixture()
def inspected(demo_images, data_dir):
    run_cli("run", str(demo_images), data=data_dir)
    return data_dir


@pytest.fixture()
def review_window(qtbot, inspected):
    w = MainWindow(Options(autostart=False, data=str(inspected)))
    qtbot.addWidget(w)
    w.show()
    w.set_reviewer("ines")
    w.tabs.setCurrentWidget(w.review)
    qtbot.waitUntil(lambda: len(w.review.items) == 24, timeout=10_000)
    yield w
    w.close()


def reviews(data):
    return [tuple(r) for r in rows(data, "SELECT id, inspection_id, label, previous, by, undoes FROM reviews ORDER BY id")]


def test_keyboard_review_confirm_relabel_new_type_undo(qtbot, review_window, inspected):
    w, view = review_window, review_window.review
    items = list(view.items)
    assert [i["uncertainty"] for i in items] == sorted((i["uncertainty"] for i in items), reverse=True)
    qtbot.waitUntil(lambda: items[1]["id"] in view.cache and items[2]["id"] in view.cache, timeout=10_000)  # prefetched

    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Return)  # confirm: label = prediction
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 1, timeout=10_000)
    assert view.current()["id"] == items[1]["id"], "the next item is shown at once"

    qtbot.keyClick(view, Qt.Key.Key_1)  # the first defect type
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 2, timeout=10_000)

    said: dict[str, object] = {}

    def name_it():
        dialog = modal_dialog(qtbot)
        dialog.new.setText("Big Dent!")  # refused in place, as on Live (#30: two ways before)
        qtbot.keyClick(dialog.new, Qt.Key.Key_Return)
        said["open"], said["error"] = dialog.isVisible(), dialog.error.text()
        dialog.new.setText("dent")
        qtbot.keyClick(dialog.new, Qt.Key.Key_Return)

    QTimer.singleShot(0, name_it)
    qtbot.keyClick(view, Qt.Key.Key_N)  # a defect type no model knows yet
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 3, timeout=10_000)
    assert said == {"open": True, "error": "'Big Dent!' is not a defect type name: use 1-64 characters from a-z, 0-9, _ and -"}
    qtbot.waitUntil(lambda: "dent" in view.labels, timeout=5_000)  # offered as a key from now on

    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the last decision
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 4, timeout=10_000)

    events = reviews(inspected)
    defects = [c for c in w.review.labels if c != "good"]
    assert [e[1] for e in events] == [items[0]["id"], items[1]["id"], items[2]["id"], items[2]["id"]]
    assert events[0][2:5] == (items[0]["predicted"], items[0]["predicted"], "ines")
    assert events[1][2] == defects[0] == "crack"
    assert events[2][2] == "dent"
    assert events[3][2] is None and events[3][3] == "dent" and events[3][5] == events[2][0], "undo is an event pointing at the one it reverts"
    current = {r[0]: r[1] for r in rows(inspected, "SELECT id, label FROM inspections")}
    assert current[items[0]["id"]] == items[0]["predicted"]
    assert current[items[1]["id"]] == "crack"
    assert current[items[2]["id"]] is None, "undone item is back in the queue"
    qtbot.waitUntil(lambda: view.current() is not None and view.current()["id"] == items[2]["id"], timeout=5_000)
    # Reviewed again after the undo: the log says it was unreviewed, not "None → good".
    qtbot.keyClick(view, Qt.Key.Key_G)
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 5, timeout=10_000)
    # The log line comes back on the GUI thread after the commit.
    qtbot.waitUntil(lambda: view.log.item(0).text() != f"#{items[2]['id']}: undo (dent → unreviewed)")
    assert view.log.item(0).text() == f"#{items[2]['id']}: unreviewed → good", view.log.item(0).text()


def test_bulk_grid_labels_the_selection(qtbot, review_window, inspected):
    view = review_window.review
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_B)
    assert view.bulk.isChecked() and view.grid.count() == 24
    # Laid out whole the first time: thumbnails arriving later land in their own cells.
    qtbot.waitUntil(lambda: not view.grid._pending, timeout=20_000)
    cells = [view.grid.visualItemRect(view.grid.item(i)) for i in range(12)]
    assert all(not a.intersects(b) for i, a in enumerate(cells) for b in cells[i + 1:]), "grid items overlap"
    for i in range(3):
        view.grid.item(i).setSelected(True)
    chosen = [view.grid.item(i).data(Qt.ItemDataRole.UserRole) for i in range(3)]
    asked: list[str] = []

    def answer(yes: bool) -> None:
        box = modal_dialog(qtbot)
        asked.append(box.text())
        box.button(QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No).click()

    QTimer.singleShot(0, lambda: answer(False))  # a bulk label asks first; No (the default) labels nothing
    qtbot.keyClick(view.grid, Qt.Key.Key_G)
    assert asked == ["Label 3 items good?"] and reviews(inspected) == []
    qtbot.waitUntil(lambda: QApplication.activeWindow() is review_window, timeout=5_000)  # the keys' window again
    QTimer.singleShot(0, lambda: answer(True))
    qtbot.keyClick(view.grid, Qt.Key.Key_G)
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 3, timeout=10_000)
    events = rows(inspected, "SELECT inspection_id, label, note FROM reviews ORDER BY id")
    assert sorted(e[0] for e in events) == sorted(chosen)
    assert {(e[1], e[2]) for e in events} == {("good", "bulk")}
    qtbot.waitUntil(lambda: view.grid.count() == 21, timeout=5_000)
    # One more item alone, then two undos: the single review first, then the whole bulk at once.
    view.grid.clearSelection()
    view.grid.item(0).setSelected(True)
    single = view.grid.item(0).data(Qt.ItemDataRole.UserRole)
    qtbot.keyClick(view.grid, Qt.Key.Key_G)
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 4 and view.grid.count() == 20, timeout=10_000)
    qtbot.keyClick(view.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 5, timeout=10_000)
    assert reviews(inspected)[-1][1] == single
    qtbot.keyClick(view.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 8, timeout=10_000)
    undone = reviews(inspected)[5:]
    assert sorted(e[1] for e in undone) == sorted(chosen) and all(e[2] is None and e[5] is not None for e in undone)
    assert rows(inspected, "SELECT count(*) FROM inspections WHERE label IS NOT NULL")[0][0] == 0
    qtbot.waitUntil(lambda: view.grid.count() == 24, timeout=5_000)
    assert "3 items" in review_window.message.text()


def test_filters_narrow_the_queue(qtbot, review_window):
    view = review_window.review
    view.verdict.setCurrentIndex(view.verdict.findData("fail"))
    qtbot.waitUntil(lambda: view.items and all(i["verdict"] == "fail" for i in view.items), timeout=10_000)
    n_fail = len(view.items)
    view.verdict.setCurrentIndex(view.verdict.findData("pass"))
    qtbot.waitUntil(lambda: view.items and all(i["verdict"] == "pass" for i in view.items), timeout=10_000)
    assert n_fail + len(view.items) == 24


def test_enter_in_the_origin_filter_filters_and_labels_nothing(qtbot, review_window, inspected):
    view = review_window.review
    shown = view.current()["id"]
    view.origin.setFocus()
    qtbot.keyClicks(view.origin, "scratch")
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        qtbot.keyClick(view.origin, key)
        qtbot.waitUntil(lambda: view.items and all("scratch" in i["origin"] for i in view.items), timeout=10_000)
    assert view.origin.text() == "scratch", "the keys went into the box"
    assert reviews(inspected) == [], f"Enter in the filter labelled item {shown}"
    assert len(view.items) < 24


def test_retrain_in_the_app_compares_and_promotes(qtbot, review_window, inspected):
    """Every queue item labelled from its true class, then Models → Retrain: export, train from the
    active model on a worker, both models scored on one validation split, promote."""
    from station.cli import main as station
    from station.model.registry import list_models
    from station.ui.retrain import RetrainDialog

    for item in review_window.review.items:
        truth = item["origin"].replace("\\", "/").split("/")[-2]
        assert station(["label", str(item["id"]), truth, "--by", "ines", "--data", str(inspected)]) == 0
    window = review_window
    window.tabs.setCurrentWidget(window.models)
    qtbot.mouseClick(window.models.retrain, Qt.MouseButton.LeftButton)
    dialog = window.models.retraining
    assert isinstance(dialog, RetrainDialog) and dialog.isVisible()
    # A window of its own: as the main window's child it stayed above the verdict (#30).
    assert dialog.parent() is None and dialog.isWindow()
    dialog.epochs.setValue(5)
    qtbot.mouseClick(dialog.start_btn, Qt.MouseButton.LeftButton)
    # Training takes minutes: nothing is modal, and the operator goes back to Live and sees it run.
    from PySide6.QtWidgets import QApplication

    assert QApplication.activeModalWidget() is None
    window.tabs.setCurrentWidget(window.live)
    assert window.live.isVisible() and dialog.isVisible()
    qtbot.waitUntil(lambda: window.message.text().startswith("Retraining"), timeout=60_000)
    qtbot.mouseClick(window.models.retrain, Qt.MouseButton.LeftButton)  # a second click brings the same one forward
    assert window.models.retraining is dialog
    qtbot.waitUntil(lambda: dialog.outcome is not None or "error" in dialog.stage.text() or "only" in dialog.stage.text(), timeout=300_000)
    assert dialog.outcome is not None, dialog.stage.text()
    r = dialog.outcome
    assert r.new["n"] == r.active["n"] == r.export.val > 0, "both models scored on the same split"
    assert dialog.table.item(4, 0).text() == f"{r.active['f1']:.3f}" and dialog.table.item(4, 1).text() == f"{r.new['f1']:.3f}"
    assert dialog.conf_new.rowCount() == len(r.new["confusion"]["labels"])
    assert dialog.promote_btn.isEnabled()
    # 24 parts leave fewer than five validation images per class: promoting needs a reason.
    assert not dialog.check.ok and "fewer than" in dialog.verdict.text()

    # The engineer names it (#30: it could only be promoted as its date stamp); a taken name or
    # a bad one is said in the dialog before anyone is asked to sign in.
    assert dialog.model_name.text() == r.name and dialog.model_name.isEnabled()
    for bad, said in (("default", "already exists"), ("a/b", "not a model name")):
        dialog.model_name.setText(bad)
        qtbot.mouseClick(dialog.promote_btn, Qt.MouseButton.LeftButton)
        assert said in dialog.stage.text() and QApplication.activeModalWidget() is None
    dialog.model_name.setText("Demo-after-reviews")

    def give_reason():
        box = modal_dialog(qtbot)
        box.setTextValue("demo line, checked by hand")
        box.accept()

    QTimer.singleShot(0, give_reason)
    qtbot.mouseClick(dialog.promote_btn, Qt.MouseButton.LeftButton)
    from station.model.registry import promotions

    # Done when the window says so: the promotion's record is written just after ACTIVE.
    qtbot.waitUntil(lambda: "is now the active model" in window.message.text(), timeout=30_000)
    name = "demo-after-reviews"
    assert any(m.active and m.name == name for m in list_models(str(inspected)))

    last = promotions(str(inspected))[-1]
    assert (last["model"], last["by"], last["reason"], last["previous"]) == (name, "ines", "demo line, checked by hand", "default")
    assert {m.name for m in list_models(str(inspected))} >= {"default", name}, "the old model is kept"
    dialog.reject()
    assert window.models.retraining is None


def test_the_queue_counter_counts_past_one_page(qtbot, inspected):
    """A page holds 200 items; the counter shows the whole queue (it once stopped at 200)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{inspected / 'station.db'}")
    with engine.begin() as c:  # 210 more parts, as a long shift leaves them: copies of one row under new hashes
        cols = [r[1] for r in c.execute(text("PRAGMA table_info(inspections)")) if r[1] not in ("id", "sha256", "uid")]
        for i in range(210):
            c.execute(text(f"INSERT INTO inspections ({', '.join(cols)}, sha256) SELECT {', '.join(cols)}, :sha "
                           "FROM inspections ORDER BY id LIMIT 1"), {"sha": f"{i:064x}"})
    engine.dispose()
    w = MainWindow(Options(autostart=False, data=str(inspected)))
    qtbot.addWidget(w)
    w.show()
    w.set_reviewer("ines")
    w.tabs.setCurrentWidget(w.review)
    qtbot.waitUntil(lambda: w.review.position.text() == "1 / 234", timeout=10_000)
    assert len(w.review.items) == 200
    w.review.setFocus()
    qtbot.keyClick(w.review, Qt.Key.Key_G)
    qtbot.waitUntil(lambda: w.review.position.text() == "1 / 233", timeout=10_000)
    w.close()


def test_an_image_that_cannot_be_shown_is_never_confirmed_unseen(qtbot, review_window, inspected):
    """A line's store down or a lost file: the Review tab says so where the image would be, and a
    key press records nothing (it once let 164 of 200 such items be confirmed unseen)."""
    w, view = review_window, review_window.review
    # An item far down the queue, never shown or prefetched yet (the first three are at start).
    lost = view.items[10]
    (inspected / lost["image_path"]).unlink()  # lost, not purged: the row still says it is there
    view.index = 10
    view.show_current()
    qtbot.waitUntil(lambda: lost["id"] in view.cache, timeout=10_000)
    assert "image unavailable" in (view.cache[lost["id"]]["error"] or "")
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Return)
    store_jobs_done(qtbot, w)  # a review, had one been sent, would be stored by now
    assert reviews(inspected) == [] and view.current() is lost
    assert "a review needs the image" in w.message.text()
    qtbot.keyClick(view, Qt.Key.Key_Right)  # the next one shows, and is reviewed as usual
    second = view.current()
    qtbot.waitUntil(lambda: second["id"] in view.cache, timeout=10_000)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 1, timeout=10_000)
    assert reviews(inspected)[0][1] == second["id"]


def _focused(w):
    """Where a real keyboard's keys go: the focus widget, or the window when nothing has focus."""
    from PySide6.QtWidgets import QApplication

    return QApplication.focusWidget() or w


def test_review_keys_work_after_dismissing_the_banner(qtbot, review_window, inspected):
    """#30 item 4: after Dismiss on the red banner every Review key was dead until a list was clicked."""
    w, view = review_window, review_window.review
    w.activateWindow()
    w.show_error("the image store is unreachable")
    qtbot.waitUntil(lambda: w.banner.dismiss_btn.isVisible(), timeout=5_000)
    w.banner.dismiss_btn.setFocus()
    qtbot.mouseClick(w.banner.dismiss_btn, Qt.MouseButton.LeftButton)
    shown = view.current()["id"]
    qtbot.waitUntil(lambda: shown in view.cache, timeout=10_000)
    qtbot.keyClick(_focused(w), Qt.Key.Key_G)
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 1, timeout=10_000)
    assert reviews(inspected)[0][1:3] == (shown, "good")
    # And from the tab bar, where a click on "Review" leaves the focus.
    w.tabs.tabBar().setFocus()
    second = view.current()["id"]
    qtbot.waitUntil(lambda: second in view.cache, timeout=10_000)
    qtbot.keyClick(_focused(w), Qt.Key.Key_G)
    qtbot.waitUntil(lambda: len(reviews(inspected)) == 2, timeout=10_000)
    assert reviews(inspected)[1][1:3] == (second, "good")


def test_a_view_is_reviewed_with_the_whole_part_beside_it(qtbot, demo_images, tmp_path, data_dir):
    import shutil

    top, side = tmp_path / "top", tmp_path / "side"
    top.mkdir()
    side.mkdir()
    images = sorted(demo_images.rglob("*.png"))
    for n in range(3):
        shutil.copy(images[n], top / f"{n}.png")
        shutil.copy(images[10 + n], side / f"{n}.png")
    run_cli("run", f"views:top={top},side={side}", data=data_dir)
    w = MainWindow(Options(autostart=False, data=str(data_dir)))
    qtbot.addWidget(w)
    w.show()
    w.set_reviewer("ines")
    w.tabs.setCurrentWidget(w.review)
    view = w.review
    qtbot.waitUntil(lambda: len(view.items) == 6, timeout=10_000)
    strip = view.part.widget
    qtbot.waitUntil(lambda: strip.isVisible() and len(strip.captions()) == 2, timeout=10_000)
    current = view.current()
    marked = [c for c in strip.captions() if c.startswith("▶ ")]
    assert marked == [next(c for c in strip.captions() if c.startswith(f"▶ {current['view'].upper()} · "))]
    qtbot.waitUntil(lambda: all(p.image.has_image() for p in strip.panels), timeout=10_000)  # both views' pictures
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_G)  # the reviewed view is labelled on its own: each view has its own model
    qtbot.waitUntil(lambda: len(reviews(data_dir)) == 1, timeout=10_000)
    assert reviews(data_dir)[0][1] == current["id"]
    w.close()


def test_retrain_of_one_view_trains_its_own_recipes_model_and_promotes_it_there(qtbot, demo_images, tmp_path, data_dir):
    """Parts seen from two sides, the side judged as a recipe of its own: Retrain offers the
    views, trains the side's model on the side's reviews alone, and promotes it to that recipe."""
    import shutil

    from station.cli import main as station

    top, side = tmp_path / "top", tmp_path / "side"
    top.mkdir()
    side.mkdir()
    images = sorted(demo_images.rglob("*.png"))  # 24: 12 parts, each seen from both sides
    for n in range(12):
        shutil.copy(images[2 * n], top / f"{n:02d}.png")
        shutil.copy(images[2 * n + 1], side / f"{n:02d}.png")
    for args in (("add", "widget", "--model", "default"), ("add", "widget-side", "--model", "default"),
                 ("set", "widget", "views", "side=widget-side")):
        run_cli("recipes", *args, data=data_dir)
    run_cli("run", f"views:top={top},side={side}", "--recipe", "widget", data=data_dir)
    judged = rows(data_dir, "SELECT id, origin, view FROM inspections")
    sources = {f"{n:02d}.png": (images[2 * n], images[2 * n + 1]) for n in range(12)}
    for i, origin, view in judged:
        top_image, side_image = sources[Path(origin).name]
        truth = (side_image if view == "side" else top_image).parent.name
        assert station(["label", str(i), truth, "--by", "ines", "--data", str(data_dir)]) == 0

    w = MainWindow(Options(autostart=False, data=str(data_dir)))
    qtbot.addWidget(w)
    w.show()
    w.set_reviewer("ines")
    w.tabs.setCurrentWidget(w.models)
    qtbot.mouseClick(w.models.retrain, Qt.MouseButton.LeftButton)
    dialog = w.models.retraining
    qtbot.waitUntil(lambda: dialog.view.isVisible(), timeout=30_000)
    assert [dialog.view.itemText(k) for k in range(dialog.view.count())] == ["side", "top"]
    dialog.view.setCurrentText("side")
    dialog.epochs.setValue(2)
    qtbot.mouseClick(dialog.start_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None or dialog.worker is None, timeout=300_000)
    assert dialog.outcome is not None, dialog.stage.text()
    r = dialog.outcome
    assert r.recipe == "widget-side" and r.base == "default" and "of widget-side" in dialog.stage.text()
    assert r.export.train + r.export.val == 12, "the side's 12 reviews, not the top's"
    dialog.model_name.setText("side-after-reviews")

    def answer():  # a reason when promoting is not advised (few reviews), else Yes
        box = modal_dialog(qtbot)
        if isinstance(box, QMessageBox):
            box.button(QMessageBox.StandardButton.Yes).click()
        else:
            box.setTextValue("side view, checked by hand")
            box.accept()

    QTimer.singleShot(0, answer)
    qtbot.mouseClick(dialog.promote_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "the model recipe widget-side judges with" in w.message.text(), timeout=30_000)
    shown = json.loads(run_cli("recipes", "show", "widget-side", "--json", data=data_dir).stdout)
    assert shown["model"] == "side-after-reviews"
    assert json.loads(run_cli("recipes", "show", "widget", "--json", data=data_dir).stdout)["model"] == "default"

    # The top is judged by the product itself, with every other view: it cannot be retrained alone.
    dialog.view.setCurrentText("top")
    qtbot.mouseClick(dialog.start_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "recipe of its own" in dialog.stage.text(), timeout=60_000)
    assert "station recipes set widget views side=widget-side,top=RECIPE" in dialog.stage.text(), "the side keeps its recipe"
    dialog.reject()
    w.close()
