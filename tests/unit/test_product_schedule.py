"""When a running product's golden parts are judged again (station.run.product.Products.due): at
each shift start, by the station's shift plan or, where the recipe has its own, by that one; and a
changeover asked for in the window takes effect at the next part."""

from __future__ import annotations

from datetime import datetime, timedelta

from station.core.domain import Frame
from station.line.recipes import GoldenPart, Recipe, with_setting
from station.run.product import Products, Wanted

GOLDEN = (GoldenPart("0" * 64, "known.png", "pass"),)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _part() -> Frame:
    return Frame(origin="part.png", captured_at=datetime.now().astimezone())


def _day(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 12, 7, hh, mm).astimezone()


def test_the_golden_check_follows_the_stations_shifts_or_the_recipes_own():
    clock = Clock(_day(7))
    station = Products(Recipe("brick", "m", version=1, golden=GOLDEN), "06:00,14:00,22:00", clock)
    own = Products(with_setting(Recipe("glass", "m", version=1, golden=GOLDEN), "shifts", "06:00,18:00"), "06:00,14:00,22:00", clock)
    assert station.due(_part()) is None and own.due(_part()) is None
    clock.at = _day(14, 1)
    assert station.due(_part()) == Wanted("brick", "shift")
    assert station.due(_part()) is None, "once per shift"
    assert own.due(_part()) is None, "glass runs two shifts: 14:00 is not its start"
    clock.at = _day(18, 1)
    assert own.due(_part()) == Wanted("glass", "shift") and station.due(_part()) is None
    clock.at += timedelta(hours=4)
    assert station.due(_part()) == Wanted("brick", "shift") and own.due(_part()) is None


def test_a_recipe_without_golden_parts_is_never_checked_and_a_pick_waits_for_the_next_part():
    clock = Clock(_day(7))
    products = Products(Recipe("plain", "m", version=1), "06:00,14:00,22:00", clock)
    clock.at = _day(15)
    assert products.due(_part()) is None
    products.request("brick", "operator", "olga")
    assert products.due(_part()) == Wanted("brick", "operator", "olga")
    products.request("plain", "operator", "olga")
    assert products.due(_part()) is None, "the product already in force: nothing to change"
    products.request("plain", "operator", "erin", again=True)
    assert products.due(_part()) == Wanted("plain", "operator", "erin", again=True), "its recipe changed: load it again"
    # With a PLC, its product code decides: a pick in the window waits.
    products.request("brick", "operator", "olga")
    assert products.due(Frame(origin="p", captured_at=clock.at, product="plain")) is None


def test_a_new_version_of_the_product_in_force_is_taken_between_two_parts(tmp_path):
    """`station recipes set` (or a rollback) on any station of the line: the run sees the new
    version at its next look and loads it like a changeover, recorded as an edit."""
    from station.line import recipes
    from station.store.db import open_store

    store = open_store(str(tmp_path / "data"))
    with store.session.begin() as s:
        first = recipes.add(s, "brick", "default", "erin", "pc-1")
    products = Products(first, "06:00,14:00,22:00", Clock(_day(7)), poll_s=0.0)
    assert products.due(_part()) is None, "not watched: nothing looked for"
    products.watch(store)
    assert products.due(_part()) is None, "the version in force is the newest"
    with store.session.begin() as s:
        recipes.save(s, with_setting(recipes.get(s, "brick"), "threshold", "0.8"), "olga", "pc-2")
    assert products.due(_part()) == Wanted("brick", "edit", "olga", again=True)
    assert products.due(_part()) is None, "each version is asked for once (a refused one is not tried every 2 s)"
    with store.session.begin() as s:
        assert recipes.change_to(s, "brick", "pc-1", "olga", "edit").version == 2  # how the run records taking it
    store.engine.dispose()
