"""The sheet of grabbed camera frames an operator confirms before a new line is taught from them.

Every frame starts ticked; the operator unticks anything that is not a good part (a hand in the
view, a defect, an empty fixture). Space toggles the current frame, so a glove on the keyboard or
a finger on a touch screen is enough. Unticked frames are moved aside, not deleted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListView, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

THUMB = 144
MIN_KEEP = 5  # teach's held-out folds need at least this many good parts


class GoodFramesDialog(QDialog):
    def __init__(self, frames: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Which frames show good parts?")
        self.setModal(True)
        self.resize(900, 640)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Untick every frame that is <b>not</b> a good part. Space or a click toggles a frame."))
        self.sheet = QListWidget()
        self.sheet.setViewMode(QListView.ViewMode.IconMode)
        self.sheet.setIconSize(QSize(THUMB, THUMB))
        self.sheet.setGridSize(QSize(THUMB + 24, THUMB + 36))
        self.sheet.setResizeMode(QListView.ResizeMode.Adjust)
        self.sheet.setMovement(QListView.Movement.Static)
        for path in frames:
            item = QListWidgetItem(QIcon(QPixmap(path).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio)),
                                   Path(path).stem)
            item.setData(Qt.ItemDataRole.UserRole, path)
            # Not ItemIsUserCheckable: a click anywhere on the frame toggles it (below), and the
            # small box itself must not toggle it a second time.
            item.setCheckState(Qt.CheckState.Checked)
            self.sheet.addItem(item)
        self.sheet.itemClicked.connect(self._toggle)
        self.sheet.itemChanged.connect(lambda _item: self._count())
        lay.addWidget(self.sheet, 1)
        self.counter = QLabel()
        lay.addWidget(self.counter)
        box = QDialogButtonBox()
        self.teach = QPushButton("Teach")
        self.teach.setObjectName("primary")
        self.teach.setAutoDefault(False)  # Enter must not start a teach nobody looked at
        box.addButton(self.teach, QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAutoDefault(False)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        lay.addWidget(box)
        self.sheet.setCurrentRow(0)
        self.sheet.setFocus()
        self._count()

    def _toggle(self, item: QListWidgetItem) -> None:
        checked = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Delete) and self.sheet.currentItem() is not None:
            self._toggle(self.sheet.currentItem())
            return
        super().keyPressEvent(event)

    def _items(self) -> list[QListWidgetItem]:
        return [self.sheet.item(i) for i in range(self.sheet.count())]

    def kept(self) -> list[str]:
        return [i.data(Qt.ItemDataRole.UserRole) for i in self._items() if i.checkState() == Qt.CheckState.Checked]

    def _count(self) -> None:
        n = len(self.kept())
        self.teach.setText(f"Teach from {n} good frames")
        self.teach.setEnabled(n >= MIN_KEEP)
        self.counter.setText(f"{n} of {self.sheet.count()} ticked" + ("" if n >= MIN_KEEP else f"; teaching needs at least {MIN_KEEP}"))


def set_aside(frames: list[str], kept: list[str], folder: Path) -> int:
    """Move the frames the operator unticked into FOLDER (kept for the record, never taught from)."""
    keep = set(kept)
    moved = 0
    for path in frames:
        if path not in keep and Path(path).exists():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.move(path, folder / Path(path).name)
            moved += 1
    return moved
