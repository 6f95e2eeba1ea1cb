"""Parts of several views, in-process: how views are declared and paired, and the one rule that
makes their verdicts the part's (station.core.parts)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from station.core.domain import Frame, Prediction, Result
from station.core.errors import SourceError, StationError
from station.core.parts import Assembler, decide
from station.sources import open_source
from station.sources.base import Source
from station.sources.kinds import SourceKind, register_source
from station.sources.views import ViewsSource, parse_views


class Armed(Source):
    """A triggered camera: one frame after each arm(); "never" sends none (a camera gone quiet)."""

    live = True

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name, self.armed, self.closed = name, threading.Event(), threading.Event()

    def arm(self) -> None:
        self.armed.set()

    def __iter__(self) -> Iterator[Frame]:
        n = 0
        while not self.closed.is_set():
            if not self.armed.wait(0.01) or self.name == "never":
                continue
            self.armed.clear()
            n += 1
            yield Frame(origin=f"{self.name}#{n}", captured_at=datetime.now(UTC), index=n, image=np.zeros((8, 8, 3), np.uint8), live=True)

    def close(self) -> None:
        self.closed.set()


class Fired(Source):
    """A software-triggered camera: every frame asked for is a new exposure."""

    live = True

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name, self.fired = name, 0

    def __iter__(self) -> Iterator[Frame]:
        while True:
            self.fired += 1
            yield Frame(origin=f"{self.name}#{self.fired}", captured_at=datetime.now(UTC), image=np.zeros((8, 8, 3), np.uint8), live=True)


register_source(SourceKind("armed", ("armed:",), lambda target, options: Armed(target)))
register_source(SourceKind("fired", ("fired:",), lambda target, options: Fired(target)))


@pytest.mark.parametrize("target, says", [
    ("top=a", "at least two views"),
    ("top=a,top=b", "named twice"),
    ("Top=a,side=b", "not a view name"),
    ("top=a,side=", "not NAME=SRC"),
    ("top=a,side=b,wait=0", "more than 0"),
    ("top=a,side=b,wait=soon", "not a number"),
    ("top=views:x=a,side=b", "cannot itself be views"),
])
def test_a_views_declaration_that_is_wrong_is_one_line(target, says):
    with pytest.raises(SourceError, match=says):
        parse_views(target)


def test_a_camera_query_stays_with_its_view():
    spec = parse_views("top=camera:0?width=640&height=480,side=genicam:cam2?exposure=800,wait=1.5")
    assert spec.views == (("top", "camera:0?width=640&height=480"), ("side", "genicam:cam2?exposure=800")) and spec.wait_s == 1.5


def test_folders_are_paired_by_name_and_a_missing_view_is_refused_with_the_reason(tmp_path):
    top, side = tmp_path / "top", tmp_path / "side"
    for folder, names in ((top, ("a", "b", "c")), (side, ("a", "c", "d"))):
        folder.mkdir()
        for n in names:
            (folder / f"{n}.png").write_bytes(b"x")
    source = open_source(f"views:top={top},side={side}")
    assert isinstance(source, ViewsSource) and not source.live
    parts = list(source.parts())
    assert [[f.origin.rsplit("/", 1)[-1] if f.refused is None else None for f in p] for p in parts] == [
        ["a.png", "a.png"], ["b.png", None], ["c.png", "c.png"], [None, "d.png"]]
    assert parts[1][1].refused == f"no side view: b is not in {side}" and parts[3][0].refused.startswith("no top view: d")
    assert all(len({f.part for f in p}) == 1 and [f.view for f in p] == ["top", "side"] for p in parts)
    assert len({p[0].part for p in parts}) == 4


def test_a_folder_and_a_camera_are_not_paired(tmp_path):
    (tmp_path / "top").mkdir()
    with pytest.raises(SourceError, match="pair folders with folders"):
        open_source(f"views:top={tmp_path / 'top'},side=armed:x")


def test_each_trigger_takes_one_frame_of_every_view_and_a_silent_one_is_missing():
    source = open_source("views:top=armed:a,side=armed:never,wait=0.2")
    parts = source.parts()
    try:
        source.arm()  # (before the first part the views are not read yet: arm reaches the cameras)
        first = next(parts)
        source.arm()
        second = next(parts)
    finally:
        source.close()
    for n, part in enumerate((first, second), start=1):
        assert part[0].origin == f"a#{n}" and part[0].refused is None
        assert part[1].refused is not None and part[1].refused.startswith("no side view within 0.2 s")


def test_one_camera_named_by_two_views_is_opened_once_and_fired_once_a_view():
    source = open_source("views:top=fired:c,side=fired:c")
    assert isinstance(source, ViewsSource) and len(source.devices) == 1
    parts = source.parts()
    try:
        source.arm()
        first = next(parts)
        source.arm()
        second = next(parts)
    finally:
        source.close()
    assert [[f.origin for f in p] for p in (first, second)] == [["c#1", "c#2"], ["c#3", "c#4"]]
    assert [f.view for f in first] == ["top", "side"] and first[0].part == first[1].part != second[0].part


def test_the_same_folder_is_not_two_views(tmp_path):
    (tmp_path / "top").mkdir()
    with pytest.raises(SourceError, match="its own"):
        open_source(f"views:top={tmp_path / 'top'},side={tmp_path / 'top'}")


def _view(view: str | None, verdict: str | None, p: float = 0.5, part: str | None = "P", error: str | None = None) -> Result:
    frame = Frame(origin=f"{view}.png", captured_at=datetime.now(UTC), part=part, view=view, views=("top", "side") if part else ())
    if verdict is None:
        return Result(frame, error=error or "unreadable")
    label = "good" if verdict == "pass" else "scratch"
    return Result(frame, prediction=Prediction(label, p, {"good": 1 - p, "scratch": p}))


def test_the_worst_view_decides_the_part():
    failed = decide((_view("top", "pass", 0.1), _view("side", "fail", 0.9)))
    assert (failed.verdict, failed.view, failed.deciding.frame.view, failed.uid) == ("fail", "side", "side", "P")
    both = decide((_view("top", "fail", 0.7), _view("side", "fail", 0.95)))
    assert both.view == "side", "the failing view most sure of its defect gives the type and heatmap"
    missing = decide((_view("top", "fail", 0.99), _view("side", None, error="no side view within 2 s (lost)")))
    assert (missing.verdict, missing.view, missing.reason) == ("error", "side", "no side view within 2 s (lost)")
    unreadable = decide((_view("top", None, error="cannot decode"), _view("side", "pass")))
    assert unreadable.verdict == "error" and unreadable.reason == "top: cannot decode"
    assert decide((_view("top", "pass", 0.2), _view("side", "pass", 0.3))).verdict == "pass"
    one = decide((_view(None, "fail", 0.8, part=None),))
    assert one.verdict == "fail" and one.view is None and one.uid == one.deciding.uid


def test_the_assembler_gives_a_part_once_its_last_view_is_judged_and_a_half_part_as_not_inspected():
    a = Assembler()
    assert a.add(_view("top", "pass")) is None
    whole = a.add(_view("side", "fail", 0.8))
    assert whole is not None and whole.verdict == "fail" and [r.frame.view for r in whole.views] == ["top", "side"]
    assert a.add(_view("top", "pass", part="Q")) is None
    [left] = a.flush()
    assert left.verdict == "error" and left.reason == "no side view: the run stopped" and a.flush() == []


def _two_views(demo_images, tmp_path, parts: int) -> str:
    """`parts` parts of two views, top and side from different demo images: their SRC."""
    import shutil

    images = sorted(demo_images.rglob("*.png"))
    for view, offset in (("top", 0), ("side", 10)):
        (tmp_path / view).mkdir()
        for n in range(parts):
            shutil.copy(images[offset + n], tmp_path / view / f"{n}.png")
    return f"views:top={tmp_path / 'top'},side={tmp_path / 'side'}"


def test_limit_counts_parts_and_never_cuts_one_between_its_views(demo_images, tmp_path, data_dir):
    import sqlite3

    from conftest import run_json

    out = run_json("run", _two_views(demo_images, tmp_path, 5), "--limit", "3", "--batch-size", "2", data=data_dir)
    assert sum(out["parts"].values()) == 3 and out["parts"]["error"] == 0
    with sqlite3.connect(data_dir / "station.db") as db:
        assert db.execute("SELECT count(*) FROM inspections").fetchone()[0] == 6
        assert db.execute("SELECT count(*), count(DISTINCT uid) FROM parts").fetchone() == (3, 3)
    counted = run_json("stats", "--recipe", "all", data=data_dir)
    assert (counted["inspected"], counted["parts"]) == (6, 3) and counted["failed_parts"] <= counted["failed"]
    queued = run_json("queue", "--limit", "10", data=data_dir)
    assert sorted(q["view"] for q in queued) == ["side"] * 3 + ["top"] * 3 and len({q["part"] for q in queued}) == 3


def test_retrain_on_reviews_of_several_views_says_how_to_train_each_view(demo_images, tmp_path, data_dir):
    from conftest import run_cli, run_json

    from station.learn.retrain import retrain

    run_cli("run", _two_views(demo_images, tmp_path, 2), data=data_dir)
    for item in run_json("queue", data=data_dir):
        run_cli("label", str(item["id"]), "good", "--by", "ann", data=data_dir)
    with pytest.raises(StationError, match=r"several views \(side, top\): Retrain trains one model.*pick the view"):
        retrain(str(data_dir), epochs=1)
    # A view judged by the product's own model, with the other view, is not retrained alone.
    with pytest.raises(StationError, match=r"the side view is judged by the active model itself.*views side=RECIPE"):
        retrain(str(data_dir), epochs=1, view="side")
