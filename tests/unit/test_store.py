"""The store: migrations from empty and from the previous revision, schema = models, pragmas,
content-addressed files, append-only reviews with two concurrent reviewers."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC

import pytest
from sqlalchemy import text

from station.core.errors import StationError
from station.store import files, repo
from station.store.db import HEAD, make_engine, migrate, open_store


def test_head_constant_matches_alembic():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from station.store.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


def test_migrated_schema_matches_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from station.store.schema import Base

    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_in_place_from_previous_revision_keeps_data(tmp_path):
    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO models (id, name, version, arch, classes, threshold, card, registered_at) VALUES (1,'m','v1','a','[]',0.5,'{}','2026-01-01')"))
        conn.execute(text("INSERT INTO runs (id, source, model_id, station, started_at, processed, failed) VALUES (1,'s',1,'pc','2026-01-01',0,0)"))
        conn.execute(text(
            "INSERT INTO inspections (run_id, model_id, origin, captured_at, sha256, image_path, width, height, predicted, probabilities,"
            " p_defect, uncertainty, verdict, timings) VALUES (1,1,'o','2026-01-01','ab','images/x.png',1,1,'good','{}',0.1,0.2,'pass','{}')"))
    engine.dispose()
    store = open_store(str(tmp_path / "data"), db=f"sqlite:///{path}")
    with store.session() as s:
        assert [r.origin for r in repo.queue(s)] == ["o"]
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        names = {r[0] for r in s.execute(text("SELECT name FROM sqlite_master WHERE type='index'"))}
        # The old inspection is a part of one view (named after its row: it had no uid then).
        part = s.execute(text("SELECT uid, verdict, label, views FROM parts")).all()
        linked = s.execute(text("SELECT part_uid, view FROM inspections")).all()
    assert {"ix_queue_uncertainty", "ix_queue_recent", "ix_queue_defects"} <= names
    assert part == [("row-1", "pass", "good", "[]")] and linked == [("row-1", None)]


def test_sqlite_pragmas(tmp_path):
    store = open_store(str(tmp_path))
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_bad_database_url_is_one_line():
    with pytest.raises(StationError, match="cannot"):
        open_store(db="postgresql+nosuchdriver://x/y")


def test_content_addressed_images_dedupe(tmp_path):
    from station.store.blobs import open_blobs

    blobs = open_blobs(None, tmp_path)  # the data dir: the default store
    a = files.put_image(blobs, b"same bytes", ".png")
    b = files.put_image(blobs, b"same bytes", ".png")
    c = files.put_image(blobs, b"other bytes", ".png")
    assert a.rel == b.rel != c.rel
    assert (a.written, b.written, c.written) == (10, 0, 11)  # the second copy added nothing
    assert len(list((tmp_path / "images").rglob("*.png"))) == 2
    assert not list(tmp_path.rglob("*.tmp"))


def _seed_inspection(store) -> int:
    from datetime import datetime

    from station.store.schema import Inspection

    with store.session.begin() as s:
        mid = repo.model_id(s, "m", "v1", {"arch": "a", "classes": ["good", "spot"], "threshold": 0.5})
        run = repo.start_run(s, "src", mid, "pc")
        row = Inspection(run_id=run, model_id=mid, origin="o", captured_at=datetime.now(UTC), sha256="ab",
                         image_path="images/x.png", width=1, height=1, predicted="spot", probabilities={"good": 0.4, "spot": 0.6},
                         p_defect=0.6, uncertainty=0.8, verdict="fail", heatmap_path=None, box=None, timings={})
        s.add(row)
        s.flush()
        return row.id


def test_reviews_append_only_and_current_label(tmp_path):
    store = open_store(str(tmp_path))
    iid = _seed_inspection(store)
    with store.session.begin() as s:
        first = repo.add_review(s, iid, "good", "ann")
    with store.session.begin() as s:
        second = repo.add_review(s, iid, "spot", "ann", note="undo")
    assert first.previous == "spot" and second.previous == "good"
    with store.session() as s:
        events = repo.reviews(s, iid)
        assert [(e.label, e.previous, e.by) for e in events] == [("good", "spot", "ann"), ("spot", "good", "ann")]
        assert repo.get_inspection(s, iid).label == "spot"
        assert repo.queue(s) == []
    with store.session.begin() as s, pytest.raises(StationError, match="invalid label"):
        repo.add_review(s, iid, "Bad Label", "ann")


def test_two_concurrent_reviewers_both_kept_second_told(tmp_path):
    """Two stations (two engines, one SQLite file) review the same item at the same moment."""
    store_a = open_store(str(tmp_path))
    iid = _seed_inspection(store_a)
    store_b = open_store(str(tmp_path))
    barrier = threading.Barrier(2)
    out = {}

    def review(store, who, label):
        barrier.wait()
        with store.session.begin() as s:
            out[who] = repo.add_review(s, iid, label, who)

    threads = [threading.Thread(target=review, args=(store_a, "ann", "good")), threading.Thread(target=review, args=(store_b, "bob", "crack"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store_a.session() as s:
        events = repo.reviews(s, iid)
        current = repo.get_inspection(s, iid).label
    assert len(events) == 2
    first, second = events
    assert out[first.by].already_reviewed_by is None and not out[first.by].contested
    assert out[second.by].already_reviewed_by == first.by and out[second.by].contested
    assert second.previous == first.label
    assert current == second.label
    con = sqlite3.connect(tmp_path / "station.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_spooled_view_keeps_the_model_that_judged_it_and_is_written_once(tmp_path):
    """A view judged by its own recipe's model, kept in the spool while the line was away: when
    forwarded, its row is under that model (registered from the card the batch carries), its part
    row comes with it, and forwarding the same batch again adds nothing."""
    from datetime import datetime

    from station.record import rows as db_rows
    from station.record.spool import Spool, SpooledBatch, from_row, to_row

    store = open_store(str(tmp_path / "data"))
    with store.session.begin() as s:
        mid = repo.model_id(s, "top-model", "v-top", {"arch": "a", "classes": ["good", "dent"], "threshold": 0.5})
        run = repo.start_run(s, "views:top=a,side=b", mid, "pc")
    at = datetime.now(UTC)
    view = dict(run_id=run, model_id=mid, origin="b/1.png", captured_at=at, sha256="cd" * 32, image_path="images/cd.png", width=1,
                height=1, predicted="dent", probabilities={"good": 0.1, "dent": 0.9}, p_defect=0.9, uncertainty=0.2, verdict="fail",
                timings={}, uid="u-side", part_uid="P1", view="side", _model="v-side")
    part = dict(uid="P1", serial="77", serial_read="plc", station="pc", captured_at=at, verdict="fail", label="dent", p_defect=0.9,
                view="side", views=["top", "side"], reason=None, recipe=None, recipe_version=None)
    spool = Spool(tmp_path / "data" / "spool")
    spool.add(SpooledBatch(run, [from_row(view)], [], {}, parts=[from_row(part)],
                           models={"v-side": {"name": "side-model", "card": {"arch": "a", "classes": ["good", "dent"], "threshold": 0.4}}}))
    batch = spool.load(spool.pending()[0])
    assert batch is not None
    for _ in range(2):  # the second time: a forward whose commit had landed before the connection broke
        with store.session.begin() as s:
            db_rows.write(s, batch.run_id, [db_rows.make(to_row(v)) for v in batch.rows], batch.failures,
                          [to_row(p) for p in batch.parts], batch.models)
    with store.session() as s:
        got = s.execute(text("SELECT models.name, inspections.view, inspections.part_uid FROM inspections"
                             " JOIN models ON models.id = inspections.model_id")).all()
        parts = s.execute(text("SELECT uid, serial, verdict, view FROM parts")).all()
    assert got == [("side-model", "side", "P1")] and parts == [("P1", "77", "fail", "side")]
