"""Each sink's outbox on disk and the verdict sequence (station.outputs.outbox): a FIFO that
outlives the process, and numbers that never name two parts across restarts."""

from __future__ import annotations

from station.outputs.message import VerdictMessage
from station.outputs.outbox import SEQUENCE_BLOCK, Outbox, Sequence


def _message(n: int) -> VerdictMessage:
    return VerdictMessage(sequence=n, station="st", time="2026-12-06T10:00:00.000+00:00", verdict="pass", label="good",
                          p_defect=0.1, defect_code=0, model="m", id=None, image=f"{n:064x}", origin=f"part-{n}", uid=f"u{n}")


def test_the_outbox_is_a_fifo_that_outlives_its_process(tmp_path):
    box = Outbox.for_sink(tmp_path, "mes/line 1")  # a name that is not a safe file name
    for n in range(1, 6):
        box.append(_message(n))
    key, first = box.head()
    assert first == _message(1) and len(box) == 5
    assert box.remove(key) and not box.remove(key), "removing twice is a no-op"
    box.close()
    again = Outbox.for_sink(tmp_path, "mes/line 1")  # the next start
    assert len(again) == 4 and again.head()[1].sequence == 2
    again.drop_oldest()
    assert len(again) == 3 and again.head()[1].sequence == 3
    again.close()
    assert [p.name for p in tmp_path.glob("*.sqlite")] == ["mes_line_1.sqlite"]


def test_sequences_never_repeat_across_restarts_even_mid_block(tmp_path):
    seen: list[int] = []
    for used in (3, SEQUENCE_BLOCK + 5, 1, 0):  # each "process" uses some numbers, then dies
        seq = Sequence(tmp_path)
        seen += [seq.next() for _ in range(used)]
    seq = Sequence(tmp_path)
    seen.append(seq.next())
    assert len(seen) == len(set(seen)) and seen == sorted(seen) and seen[0] == 1


def test_a_station_without_a_folder_counts_in_memory(tmp_path):
    seq = Sequence(None)
    assert [seq.next() for _ in range(3)] == [1, 2, 3]


def test_a_damaged_sequence_file_jumps_ahead_never_back(tmp_path, caplog):
    seq = Sequence(tmp_path)
    sent = [seq.next() for _ in range(5)]
    (tmp_path / "sequence").write_bytes(b"\x00\xff garbage")  # a power cut mid-write on a bad disk
    again = Sequence(tmp_path)
    n = again.next()
    assert n > max(sent) and "sequence file" in caplog.text and "damaged" in caplog.text
    assert Sequence(tmp_path).next() > n, "and the jump is persisted like any block"
