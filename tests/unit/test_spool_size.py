"""The spool's size on this disk (station.record.spool): what the `disk.spool_gb` cap is about,
measured once and then kept as batches come and go, also across processes on one data dir."""

from __future__ import annotations

from station.record.spool import Spool, SpooledBatch


def _batch(n: int, blob: int) -> SpooledBatch:
    rows = [{"sha256": f"{n:064x}", "captured_at": "2026-12-06T10:00:00"}]
    return SpooledBatch(run_id=1, rows=rows, failures=[], blobs={f"images/{n}.png": b"x" * blob})


def test_size_counts_what_is_added_and_removed_and_matches_a_fresh_look(tmp_path):
    spool = Spool(tmp_path / "spool")
    assert spool.size() == 0
    for n in range(3):
        spool.add(_batch(n, 10_000 * (n + 1)))
    assert 60_000 < spool.size() < 61_000 and spool.count() == 3
    assert Spool(tmp_path / "spool").size() == spool.size(), "another process measures the same"
    first = spool.load(spool.pending()[0])
    assert first is not None and first.blobs == {"images/0.png": b"x" * 10_000}
    spool.remove(first)
    assert 50_000 < spool.size() < 51_000 and spool.count() == 2
    assert Spool(tmp_path / "spool").size() == spool.size()


def test_a_damaged_batch_is_moved_aside_never_deleted(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.add(_batch(1, 100))
    folder = spool.pending()[0]
    (folder / "batch.json").write_text("{not json")
    assert spool.load(folder) is None
    assert spool.pending() == [] and spool.count() == 0
    assert [p.name.startswith(".damaged-") for p in (tmp_path / "spool").iterdir()] == [True]
