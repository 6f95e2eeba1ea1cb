"""The Models tab's trial of a candidate on live parts (shadow mode, station.trial): from the
next Start the selected model judges every part beside the active one, its verdicts kept apart
and never sent; "Trial results" compares the two on the same parts."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QMessageBox, QPushButton, QWidget

from station.ui.context import StationContext


class TrialBar(QWidget):
    def __init__(self, window: StationContext, selected: Any) -> None:
        super().__init__()
        self.window_, self.selected = window, selected  # selected(): the ModelEntry in the list, or None
        self.try_btn = QPushButton("Try beside the active")
        self.try_btn.setCheckable(True)
        self.try_btn.setToolTip("From the next Start this model judges every part too; its verdicts are stored apart and never sent to the line")
        self.results_btn = QPushButton("Trial results…")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.try_btn)
        row.addWidget(self.results_btn)
        self.try_btn.clicked.connect(self._toggle)
        self.results_btn.clicked.connect(self.show_results)

    def update_for(self, entry: Any) -> None:
        """The buttons for the model selected in the list."""
        trying = self.window_.options.shadow
        self.try_btn.setEnabled(entry is not None and (not entry.active or trying == entry.name))
        self.try_btn.setChecked(entry is not None and trying == entry.name)

    def _toggle(self, on: bool) -> None:
        entry = self.selected()
        if entry is None:
            return
        if not on:
            self.window_.options.shadow = None
            self.window_.show_message(f"{entry.name} is no longer tried beside the active model (from the next Start)")
            return
        who = self.window_.authorize("engineer", "trying a model beside the active one")
        if who is None:
            self.try_btn.setChecked(False)
            return
        self.window_.options.shadow = entry.name
        self.window_.audit(who or "(no users)", "shadow_trial", {"model": entry.name})
        self.window_.show_message(f"from the next Start, {entry.name} judges every part beside the active model; "
                                  "its verdicts are kept apart and never sent to the line")

    def show_results(self) -> None:
        from station.trial.report import shadow_report

        entry = self.selected()
        name = entry.name if entry is not None and not entry.active else self.window_.options.shadow

        def shown(report: Any) -> None:
            self.box = QMessageBox(QMessageBox.Icon.Information, "Trial results", "\n".join(report.lines()),
                                   QMessageBox.StandardButton.Close, self)
            self.box.open()  # not modal: the line goes on

        self.window_.db(lambda s: shadow_report(s, name), shown)
