"""The red team's role, restore and PIN cases (0.9.0 failed each): every command that changes
settings, retention or the data checks the role; a database edit cannot switch roles off;
failed PINs slow down and then lock; restore refuses links, unknown files and a backup that
would drop the users, before the live data is touched."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from conftest import run_cli, run_json
from test_one_line_errors import one_line

ENGINEER, OPERATOR = "246810", "5555"


def pin(value: str, new: str | None = None) -> dict[str, str]:
    return {"STATION_PIN": value, **({"STATION_NEW_PIN": new} if new else {})}


@pytest.fixture(scope="module")
def made(tmp_path_factory, demo_images):
    """A station with inspections, an engineer (eve), a second engineer (ed) and an operator (otto),
    made once; each test gets its own copy."""
    data = tmp_path_factory.mktemp("made") / "data"
    run_cli("run", str(demo_images), data=data)
    run_cli("users", "add", "eve", "--role", "engineer", data=data, env=pin(ENGINEER))
    run_cli("users", "add", "ed", "--role", "engineer", "--user", "eve", data=data, env=pin(ENGINEER, "135790"))
    run_cli("users", "add", "otto", "--role", "operator", "--user", "eve", data=data, env=pin(ENGINEER, OPERATOR))
    return data


@pytest.fixture()
def station(made, tmp_path):
    import shutil

    data = tmp_path / "station"
    shutil.copytree(made, data, symlinks=True)
    return data


def sql(data, statement: str) -> list[tuple]:
    con = sqlite3.connect(data / "station.db")
    try:
        out = con.execute(statement).fetchall()
        con.commit()
        return out
    finally:
        con.close()


def actions(data) -> list[tuple[str, str]]:
    return [(e["user"], e["action"]) for e in reversed(run_json("audit", "--limit", "1000", data=data))]


def test_an_engineer_pin_is_six_digits_or_more(station):
    one_line(run_cli("users", "add", "edna", "--role", "engineer", "--user", "eve", check=False, data=station,
                     env=pin(ENGINEER, "1234")), "engineer's PIN needs at least 6")


def test_settings_and_purge_need_an_engineer_and_are_audited(station):
    one_line(run_cli("settings", "retention.pass_days", "1", check=False, data=station), "--user NAME")
    one_line(run_cli("settings", "retention.pass_days", "1", "--user", "otto", check=False, data=station, env=pin(OPERATOR)),
             "otto is an operator")
    assert run_json("settings", "retention.pass_days", data=station) != {"retention.pass_days": 1}, "reading needs nobody"
    run_cli("settings", "retention.pass_days", "9", "--user", "eve", data=station, env=pin(ENGINEER))
    change = [e for e in run_json("audit", data=station) if e["action"] == "setting_changed"]
    assert change[0]["user"] == "eve" and change[0]["detail"]["key"] == "retention.pass_days" and change[0]["detail"]["to"] == 9
    one_line(run_cli("purge", check=False, data=station), "--user NAME")
    run_cli("purge", "--dry-run", data=station)  # says what would go: changes nothing, needs nobody
    run_cli("purge", "--user", "ed", data=station, env=pin("135790"))
    assert ("ed", "purged") in actions(station)


def test_inactive_or_deleted_users_never_switch_the_roles_off(station):
    sql(station, "UPDATE users SET active = 0")
    one_line(run_cli("promote", "default", check=False, data=station), "--user NAME")
    one_line(run_cli("promote", "default", "--user", "eve", check=False, data=station, env=pin(ENGINEER)), "no active user")
    # Users and their audit rows deleted outright: the data dir remembers that roles are on.
    sql(station, "DELETE FROM users")
    sql(station, "DELETE FROM audit")
    one_line(run_cli("promote", "default", check=False, data=station), "--user NAME")
    one_line(run_cli("users", "add", "mallory", "--role", "engineer", check=False, data=station, env=pin("999999", "999999")),
             "--user NAME")


def test_wrong_pins_slow_down_then_lock_until_an_engineer_unlocks(station):
    for _ in range(10):  # a guesser who does not wait: from the fourth try on, each is refused unchecked
        proc = run_cli("threshold", "default", "0.6", "--user", "eve", check=False, data=station, env=pin("000000"))
        one_line(proc)
        assert "wrong PIN" in proc.stderr or "wait" in proc.stderr, proc.stderr
    one_line(run_cli("threshold", "default", "0.6", "--user", "eve", check=False, data=station, env=pin(ENGINEER)),
             "locked after 10 wrong PINs")
    assert ("eve", "sign_in_locked") in actions(station)
    one_line(run_cli("users", "unlock", "eve", "--user", "otto", check=False, data=station, env=pin(OPERATOR)), "needs an engineer")
    run_cli("users", "unlock", "eve", "--user", "ed", data=station, env=pin("135790"))
    run_cli("threshold", "default", "0.6", "--user", "eve", data=station, env=pin(ENGINEER))
    assert [m["threshold"] for m in run_json("models", data=station) if m["name"] == "default"] == [0.6]


def test_restore_needs_an_engineer_and_never_drops_the_users(station, tmp_path, demo_images):
    early = tmp_path / "early"
    run_cli("run", str(demo_images), data=early)
    run_cli("backup", str(tmp_path / "before-users"), data=early)
    before = sql(station, "SELECT count(*) FROM inspections")
    one_line(run_cli("restore", str(tmp_path / "before-users"), check=False, data=station), "--user NAME")
    one_line(run_cli("restore", str(tmp_path / "before-users"), "--user", "otto", check=False, data=station, env=pin(OPERATOR)),
             "otto is an operator")
    one_line(run_cli("restore", str(tmp_path / "before-users"), "--user", "eve", check=False, data=station, env=pin(ENGINEER)),
             "from before this station had users")
    assert sql(station, "SELECT count(*) FROM users") == [(3,)] and sql(station, "SELECT count(*) FROM inspections") == before
    # A backup of this station, restored by an engineer: the restore is in the trail.
    run_cli("backup", str(tmp_path / "bk"), data=station)
    run_cli("restore", str(tmp_path / "bk"), "--user", "eve", data=station, env=pin(ENGINEER))
    assert ("eve", "restored") in actions(station)


@pytest.mark.parametrize("plant", ["link-to-etc", "linked-folder", "unlisted-file", "active-escapes"])
def test_restore_refuses_a_crafted_backup_before_touching_the_live_data(station, tmp_path, plant):
    bk = tmp_path / "bk"
    run_cli("backup", str(bk), data=station)
    (bk / "models").mkdir(exist_ok=True)
    if plant == "link-to-etc":
        os.symlink("/etc/hostname", bk / "models" / "hostname")
    elif plant == "linked-folder":
        os.symlink("/etc", bk / "models" / "etc")
    elif plant == "unlisted-file":
        (bk / "models" / "extra.bin").write_bytes(b"\0" * 16)
    else:
        (bk / "models" / "ACTIVE").write_text("../../..")
    sql(station, "INSERT INTO audit (at, user, action, detail) VALUES ('2026-01-01', 'probe', 'probe', '{}')")
    proc = run_cli("restore", str(bk), "--user", "eve", check=False, data=station, env=pin(ENGINEER))
    one_line(proc, "not restored")
    assert ("probe", "probe") in actions(station), "the live database was not replaced"
    assert not (station / "models" / "hostname").exists() and not (station / "models" / "etc").exists()
    assert json.loads((bk / "backup.json").read_text())["format"] == 2


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "truncate", "rebuild"])
def test_audit_tampering_is_found_and_named(station, tamper):
    """#29: editing, deleting or reordering audit rows went unnoticed by audit and doctor."""
    assert run_json("audit", "--verify", data=station)["ok"] is True  # also records the head it saw
    ids = [r[0] for r in sql(station, "SELECT id FROM audit ORDER BY id")]
    victim = ids[1]
    if tamper == "edit":
        sql(station, f"UPDATE audit SET detail = '{{\"user\": \"ed\", \"role\": \"operator\"}}' WHERE id = {victim}")
    elif tamper == "delete":
        sql(station, f"DELETE FROM audit WHERE id = {victim}")
    elif tamper == "reorder":
        a, b = sql(station, f"SELECT user, action, detail FROM audit WHERE id IN ({ids[0]}, {ids[1]}) ORDER BY id")
        sql(station, f"UPDATE audit SET user = '{b[0]}', action = '{b[1]}', detail = '{b[2]}' WHERE id = {ids[0]}")
        sql(station, f"UPDATE audit SET user = '{a[0]}', action = '{a[1]}', detail = '{a[2]}' WHERE id = {ids[1]}")
    elif tamper == "truncate":
        sql(station, f"DELETE FROM audit WHERE id = {ids[-1]}")
    else:  # rows edited and the whole chain recomputed with the published formula
        from datetime import datetime

        from station.store.audit_chain import _link

        sql(station, f"UPDATE audit SET user = 'mallory' WHERE id = {victim}")
        prev = None
        for i, at, user, action, detail in sql(station, "SELECT id, at, user, action, detail FROM audit ORDER BY id"):
            prev = _link(prev, i, datetime.fromisoformat(at), user, action, json.loads(detail))
            sql(station, f"UPDATE audit SET chain = '{prev}' WHERE id = {i}")
    # The first link that does not hold: the edited row, the row after a deleted one, the first of
    # two swapped; after a truncation or a rebuilt chain, the head this station saw before.
    broken = {"edit": victim, "delete": ids[2], "reorder": ids[0]}.get(tamper, ids[-1])
    one_line(run_cli("audit", "--verify", check=False, data=station), f"audit row {broken}")
    doctor = run_json("doctor", "--cameras", "0", data=station)
    assert doctor["audit"]["ok"] is False and doctor["audit"]["broken_at"] == broken, doctor["audit"]


def test_a_role_raised_with_sql_is_refused_and_reported(station):
    sql(station, "UPDATE users SET role = 'engineer' WHERE name = 'otto'")
    one_line(run_cli("promote", "default", "--user", "otto", check=False, data=station, env=pin(OPERATOR)),
             "changed outside the station")
    doctor = run_json("doctor", "--cameras", "0", data=station)
    assert doctor["audit"]["roles_changed_outside"] == ["otto"] and doctor["audit"]["ok"] is False
    assert run_json("audit", "--verify", data=station)["ok"] is True, "the trail itself was not touched"


def test_restore_waits_for_no_run_and_a_run_loses_nothing(station, tmp_path, demo_images):
    """#29: a restore during a run crashed the run (388 of 500 parts never inspected). A hot
    folder's run lasts until its fourth part: the restore is tried while it surely runs."""
    import subprocess
    import sys
    import time

    from conftest import ROOT

    run_cli("backup", str(tmp_path / "bk"), data=station)
    hot = tmp_path / "hot"
    hot.mkdir()
    images = sorted(demo_images.rglob("*.png"))

    def drop(i: int) -> None:  # new content (a different tail), the same pixels
        (hot / f"again-{i}.png").write_bytes(images[i].read_bytes() + b"\0" * (i + 1))

    proc = subprocess.Popen([sys.executable, "-m", "station", "run", f"watch:{hot}", "--limit", "4", "--json",
                             "--data", str(station)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        before = sql(station, "SELECT count(*) FROM inspections")[0][0]
        drop(0)
        drop(1)
        deadline = time.monotonic() + 120
        while sql(station, "SELECT count(*) FROM inspections")[0][0] < before + 2:
            assert time.monotonic() < deadline and proc.poll() is None, "the run never judged a part"
            time.sleep(0.1)
        one_line(run_cli("restore", str(tmp_path / "bk"), "--user", "eve", check=False, data=station, env=pin(ENGINEER)),
                 "a run is using this data dir")
        # The run's own lock file, which is what restore finds on Windows (no shared locks there).
        from station.fileutil import runs_holding

        assert runs_holding(station) == 1 and len(list((station / "runs").glob("*.lock"))) == 1
        drop(2)
        drop(3)
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0 and json.loads(out)["processed"] == 4, err
    assert not list((station / "runs").glob("*.lock")), "an ended run leaves no lock file"
    run_cli("restore", str(tmp_path / "bk"), "--user", "eve", data=station, env=pin(ENGINEER))


def test_purge_never_deletes_through_a_linked_folder(station, tmp_path):
    """#29: purge deleted a file outside the data dir through a symlinked folder under images/."""
    import shutil

    sql(station, "UPDATE inspections SET captured_at = datetime('now', '-400 days')")
    paths = [r[0] for r in sql(station, "SELECT image_path FROM inspections WHERE verdict = 'pass' AND image_path IS NOT NULL")]
    folder = (station / paths[0]).parent
    outside = tmp_path / "outside" / folder.name
    shutil.move(str(folder), str(outside))
    folder.symlink_to(outside, target_is_directory=True)
    victims = sorted(outside.iterdir())
    assert victims
    run_cli("purge", "--pass-days", "1", "--keep-one-in", "0", "--user", "eve", data=station, env=pin(ENGINEER))
    assert all(v.exists() for v in victims), "a file outside the data dir was deleted"
    assert any(not (station / p).exists() for p in paths[1:] if (station / p).parent != folder), "purge did purge"
