"""The red team's role, restore and PIN cases (0.9.0 failed each): every command that changes
settings, retention or the data checks the role; a database edit cannot switch roles off;
failed PINs slow down and then lock; restore refuses links, unknown files and a backup that
would drop the users, before the live data is touched."""

from __future__ import annotations

import json
import os

import pytest
from common.one_line import one_line
from common.redteam_roles_and_restore import ENGINEER, OPERATOR, actions, pin, sql
from conftest import run_cli, run_json


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
