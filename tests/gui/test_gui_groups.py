"""#28 item 4, the B grid: the review queue's unnamed defects grouped by likeness, one key names a
whole group, the next group is selected, and Ctrl+Z takes the group back. A real taught model on
real photographs (scikit-image's brick), a real window, keys as an inspector presses them."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import run_cli, run_json
from gui_helpers import modal_dialog, rows
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from station.ui.main_window import MainWindow, Options

pytestmark = pytest.mark.gui


def _truth(item: dict) -> str:
    return item["origin"].replace("\\", "/").split("/")[-2]


@pytest.fixture()
def judged(tmp_path):
    parts, data = tmp_path / "brick", tmp_path / "data"
    run_cli("line-data", str(parts), "--line", "brick", "--good", "12", "--stream", "80", "--test", "0", "--size", "128", "--seed", "5")
    run_cli("teach", str(parts / "good"), "--out", str(tmp_path / "taught"), "--bank", "512", "--size", "128", "--name", "brick",
            data=data)
    run_cli("promote", str(tmp_path / "taught"), "--as", "brick", data=data)
    run_cli("run", str(parts / "line"), data=data)
    return data


def test_one_key_names_a_group_of_alike_defects(qtbot, judged):
    unnamed = run_json("queue", "--order", "types", "--limit", "200", data=judged)
    assert len(unnamed) >= 8, "the stream has defects the taught model failed"
    # One was named before (a digit exists for its type); the window groups the rest.
    first = unnamed.pop()
    run_cli("label", str(first["id"]), _truth(first), "--by", "ines", data=judged)
    truth = {it["id"]: _truth(it) for it in unnamed}

    w = MainWindow(Options(autostart=False, data=str(judged)))
    qtbot.addWidget(w)
    w.show()
    w.set_reviewer("ines")
    w.tabs.setCurrentWidget(w.review)
    view = w.review
    qtbot.waitUntil(lambda: view.total > 0, timeout=10_000)  # the first page is read
    view.order.setCurrentIndex(view.order.findData("groups"))
    qtbot.waitUntil(lambda: bool(view.items) and all("group" in it for it in view.items), timeout=60_000)
    assert view.bulk.isChecked(), "groups are shown in the grid"
    assert {it["id"] for it in view.items} == set(truth), "the unnamed defects, and only those"
    assert view.total == len(truth) and view.position.text() == f"1 / {len(truth)}", "the counter counts this queue"
    groups = [it["group"] for it in view.items]
    assert groups == sorted(groups) and groups[0] == 1, "group by group, the largest first"
    sizes = Counter(groups)
    assert sizes[1] == max(sizes.values()) and sizes[1] >= 2 and len(sizes) < len(groups), sizes
    # Alike together: most parts share their group's most common type (chance here is about 1/5).
    agree = sum(Counter(truth[it["id"]] for it in view.items if it["group"] == g).most_common(1)[0][1] for g in sizes)
    assert agree / len(groups) >= 0.6, (agree, len(groups))
    # The first group is selected: the key names all of it.
    selected = set(view.grid.selected_ids())
    group1 = {it["id"] for it in view.items if it["group"] == 1}
    assert selected == group1
    qtbot.waitUntil(lambda: not view.grid._pending, timeout=20_000)

    asked: list[str] = []

    def answer() -> None:
        box = modal_dialog(qtbot)
        asked.append(box.text())
        box.button(QMessageBox.StandardButton.Yes).click()

    named = _truth(first)
    digit = view.keys[named]
    assert digit is not None
    QTimer.singleShot(0, answer)
    qtbot.keyClick(view.grid, Qt.Key(Qt.Key.Key_0.value + digit))
    qtbot.waitUntil(lambda: len(rows(judged, "SELECT id FROM reviews")) == 1 + len(group1), timeout=10_000)
    assert asked == [f"Label {len(group1)} items {named}?"]
    events = rows(judged, "SELECT inspection_id, label, note, by FROM reviews ORDER BY id")[1:]
    assert {e[0] for e in events} == group1 and {(e[1], e[2], e[3]) for e in events} == {(named, "bulk", "ines")}
    # The next group is selected at once, ready for its key; the named one has left the grid.
    qtbot.waitUntil(lambda: view.grid.count() == len(truth) - len(group1), timeout=5_000)
    assert set(view.grid.selected_ids()) == {it["id"] for it in view.items if it["group"] == 2}
    # A selects the group of the item under the cursor; Ctrl+Z takes the whole named group back.
    last = view.grid.item(view.grid.count() - 1)
    view.grid.setCurrentItem(last)
    qtbot.keyClick(view.grid, Qt.Key.Key_A)
    group_of_last = next(it["group"] for it in view.items if it["id"] == last.data(Qt.ItemDataRole.UserRole))
    assert set(view.grid.selected_ids()) == {it["id"] for it in view.items if it["group"] == group_of_last}
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5_000)
    qtbot.keyClick(view.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: rows(judged, "SELECT count(*) FROM inspections WHERE label IS NOT NULL")[0][0] == 1, timeout=10_000)
    w.close()
