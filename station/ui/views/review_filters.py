"""The review queue's filter bar: order, product, verdict, prediction, run, station, age and origin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtWidgets import QComboBox, QLineEdit

SINCE = [("any time", None), ("last hour", timedelta(hours=1)), ("last 24 hours", timedelta(days=1)),
         ("last 7 days", timedelta(days=7))]
ORDERS = (("uncertainty", "Least certain first"), ("recent", "Most recent first"), ("defects", "Predicted defects first"),
          ("types", "Unnamed defects (teach types)"), ("groups", "Unnamed defects, alike together (grid)"))
QUEUE_ORDER = {"groups": "types"}  # the groups order is the types queue, grouped after it is read


class ReviewFilters:
    """The filter widgets, and the queue's filters read from them; any change calls `changed`."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self.order, self.verdict, self.predicted = QComboBox(), QComboBox(), QComboBox()
        for key, text in ORDERS:
            self.order.addItem(text, key)
        for verdict, text in ((None, "any verdict"), ("fail", "FAIL only"), ("pass", "PASS only")):
            self.verdict.addItem(text, verdict)
        self.predicted.addItem("any prediction", None)
        self.run, self.station = QComboBox(), QComboBox()  # station: a line's stations (hidden on a PC alone)
        # The product (station.line.recipes): the station's active one until the inspector picks
        # another or "all products"; hidden on a station without recipes.
        self.recipe = QComboBox()
        self.recipe.hide()
        self._recipes_seen = False
        self.run.addItem("all runs", None)
        self.station.hide()
        self.since = QComboBox()
        for text, delta in SINCE:
            self.since.addItem(text, delta)
        self.origin = QLineEdit()
        self.origin.setPlaceholderText("origin contains…")
        self.combos = (self.order, self.recipe, self.verdict, self.predicted, self.run, self.station, self.since)
        for combo in self.combos:
            combo.currentIndexChanged.connect(lambda _: changed())
        self.origin.returnPressed.connect(changed)  # Enter here filters, and labels nothing

    def values(self) -> dict[str, Any]:
        delta = self.since.currentData()
        return {"verdict": self.verdict.currentData(), "predicted": self.predicted.currentData(), "run_id": self.run.currentData(),
                "station": self.station.currentData(), "origin_like": self.origin.text().strip() or None,
                "recipe": self.recipe.currentData() if self._recipes_seen else ACTIVE,
                "since": datetime.now(UTC) - delta if delta else None}


ACTIVE = object()  # before the recipes are read: the station's active one (resolved on the tasks thread)


def recipe_scope(s: Any, wanted: Any, station: str) -> tuple[str | None, list[str], str | None]:
    """On the tasks thread: the recipe the queue keeps to (`wanted`, or the active one for
    ACTIVE), every recipe's name, and the active one."""
    from station.line import recipes

    active = recipes.active(s, station)
    names = [r.name for r in recipes.list_recipes(s)]
    scope = (active.name if active is not None else None) if wanted is ACTIVE else wanted
    return scope, names, active.name if active is not None else None


def fill_recipes(bar: "ReviewFilters", names: list[str], scope: str | None) -> None:
    fill_products(bar.recipe, names, scope)
    bar._recipes_seen = True


def fill_products(combo: QComboBox, names: list[str], scope: str | None) -> None:
    """A product box (the Review and Statistics tabs): "all products" and every recipe, `scope`
    chosen, without firing a refresh; hidden on a station without recipes."""
    refill(combo, "all products", [(n, n) for n in names])
    combo.blockSignals(True)
    combo.setCurrentIndex(max(0, combo.findData(scope)))
    combo.blockSignals(False)
    combo.setVisible(bool(names))


def refill(combo: QComboBox, any_text: str, entries: list[tuple[str, Any]]) -> None:
    """New entries under "any", keeping what was chosen when it is still there."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    combo.addItem(any_text, None)
    for text, value in entries:
        combo.addItem(text, value)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    combo.blockSignals(False)
