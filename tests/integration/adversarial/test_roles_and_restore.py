"""The red team's role, restore and PIN cases (0.9.0 failed each): every command that changes
settings, retention or the data checks the role; a database edit cannot switch roles off;
failed PINs slow down and then lock; restore refuses links, unknown files and a backup that
would drop the users, before the live data is touched."""

from __future__ import annotations

import json

from common.one_line import one_line
from common.redteam_roles_and_restore import ENGINEER, OPERATOR, actions, pin, sql
from conftest import run_cli, run_json


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
        from station.core.fileutil import runs_holding

        assert runs_holding(station) == 1 and len(list((station / "runs").glob("*.lock"))) == 1
        drop(2)
        drop(3)
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0 and json.loads(out)["processed"] == 4, err
    assert not list((station / "runs").glob("*.lock")), "an ended run leaves no lock file"
    run_cli("restore", str(tmp_path / "bk"), "--user", "eve", data=station, env=pin(ENGINEER))
