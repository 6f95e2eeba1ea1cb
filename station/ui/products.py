"""The product on the Live tab: which recipe the station runs, picked by the operator.

The list comes from the database on the tasks thread (never on the GUI thread). Picking one asks
for the role the setting `floor.changeover_role` names (an operator by default; an engineer on a
line that wants it so). While a run goes on, the changeover happens between two parts; while
none does, the pick is recorded and the next Start judges as that product."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.ui.host import WindowHost


class ProductPicker:
    def __init__(self, host: "WindowHost") -> None:
        self.host = host
        self.box = host.live.source_bar.product
        self._names: list[str] = []
        self._active: str | None = None
        self.box.activated.connect(self._picked)
        self.areas = host.live.source_bar.areas
        self.areas.clicked.connect(self.edit_areas)
        host.live.product_shown.connect(self._in_force)

    def _in_force(self, name: str) -> None:
        """A part was judged as `name` (a changeover from the PLC, MQTT or this box took effect)."""
        if name not in self._names:
            self.refresh()  # a recipe added since the list was read
            return
        self._fill((self._names, name))

    def refresh(self) -> None:
        """Reload the recipes and the station's active one (after a start, a change, a new recipe)."""
        from station.line import recipes
        from station.line.settings import station_name

        station = station_name(self.host.options.station, self.host.options.data)

        def read(s: Any) -> tuple[list[str], str | None]:
            active = recipes.active(s, station)
            return [r.name for r in recipes.list_recipes(s)], active.name if active is not None else None

        self.host.db(read, self._fill)

    def _fill(self, found: tuple[list[str], str | None]) -> None:
        self._names, self._active = found
        self.box.blockSignals(True)
        self.box.clear()
        self.box.addItems(self._names)
        if self._active in self._names:
            self.box.setCurrentIndex(self._names.index(self._active))
        else:
            self.box.setCurrentIndex(-1)
        self.box.blockSignals(False)
        self.box.setVisible(bool(self._names))
        self.areas.setVisible(self.box.currentIndex() >= 0)

    def edit_areas(self) -> None:
        """The areas of the product in the box, drawn over the Live tab's last part."""
        from station.ui.areas import open_areas

        name = self.box.currentText()
        if name:
            open_areas(self.host, name, self.host.live.last_preview)

    def _picked(self, index: int) -> None:
        from station.line import settings

        name = self.box.itemText(index)
        if not name or name == self._active:
            return
        role = settings.load(self.host.options.data).floor.changeover_role
        who = self.host.authorize(role, f"changing the product to {name}")
        if who is None:  # refused or cancelled: the box shows the product still in force
            self._fill((self._names, self._active))
            return
        self.host.change_product(name, who)
        self._active = name
        self.host.show_message(f"product {name}: judged from the next part on")
