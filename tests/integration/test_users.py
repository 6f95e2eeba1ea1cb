"""Users and roles through the real CLI: a fresh station checks nothing; once the first engineer
exists, model and threshold changes need an engineer, reviews an inspector, each refusal is one
line, and every change and refusal is in the audit trail with the user's name."""

from __future__ import annotations

import json

from common.users import as_user
from conftest import run_cli, run_json
from gui_helpers import rows


def refused(proc, *words) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr


def test_roles_guard_models_thresholds_and_reviews(data_dir, demo_images):
    run_cli("run", str(demo_images), data=data_dir)
    run_cli("promote", "default", data=data_dir)  # no users yet: nothing is checked
    refused(run_cli("users", "add", "otto", "--role", "operator", check=False, data=data_dir, env=as_user("5555")),
            "first user must be an engineer")
    out = json.loads(run_cli("users", "add", "Eve", "--role", "engineer", "--json", data=data_dir, env=as_user("246810")).stdout)
    assert out == {"name": "eve", "role": "engineer", "active": True}
    refused(run_cli("users", "add", "otto", "--role", "operator", check=False, data=data_dir, env=as_user("", "5555")),
            "--user NAME")
    run_cli("users", "add", "otto", "--role", "operator", "--user", "eve", data=data_dir, env=as_user("246810", "5555"))
    run_cli("users", "add", "ina", "--role", "inspector", "--user", "eve", data=data_dir, env=as_user("246810", "7777"))
    assert run_json("users", "list", data=data_dir) == [
        {"name": "eve", "role": "engineer", "active": True}, {"name": "ina", "role": "inspector", "active": True},
        {"name": "otto", "role": "operator", "active": True}]
    assert all(h.startswith("scrypt$") and "246810" not in h for (h,) in rows(data_dir, "SELECT pin_hash FROM users"))

    # Promote, rollback and thresholds: engineers only; a wrong PIN or no name is one line too.
    refused(run_cli("promote", "default", "--user", "otto", check=False, data=data_dir, env=as_user("5555")),
            "otto is an operator; promote needs an engineer")
    refused(run_cli("promote", "default", "--user", "eve", check=False, data=data_dir, env=as_user("9999")), "wrong PIN")
    refused(run_cli("promote", "default", check=False, data=data_dir, env=as_user("246810")), "--user NAME")
    refused(run_cli("threshold", "default", "0.7", "--user", "ina", check=False, data=data_dir, env=as_user("7777")),
            "needs an engineer")
    run_cli("threshold", "default", "0.7", "--user", "eve", data=data_dir, env=as_user("246810"))
    assert [m["threshold"] for m in run_json("models", data=data_dir) if m["name"] == "default"] == [0.7]
    run_cli("promote", "default", "--user", "eve", "--reason", "back to the shipped model", data=data_dir, env=as_user("246810"))
    last = json.loads((data_dir / "models" / "promotions.jsonl").read_text().splitlines()[-1])
    assert (last["by"], last["reason"]) == ("eve", "back to the shipped model")

    # Reviews: an inspector with their PIN; an operator cannot relabel.
    item = run_json("queue", "--limit", "1", data=data_dir)[0]["id"]
    refused(run_cli("label", str(item), "good", "--by", "otto", check=False, data=data_dir, env=as_user("5555")),
            "labelling needs an inspector")
    run_cli("label", str(item), "good", "--by", "ina", data=data_dir, env=as_user("7777"))
    assert rows(data_dir, 'SELECT "by" FROM reviews') == [("ina",)]

    trail = run_json("audit", data=data_dir)
    actions = [(e["user"], e["action"]) for e in reversed(trail)]
    for expected in [("eve", "user_added"), ("eve", "user_added"), ("otto", "refused"), ("eve", "sign_in_refused"),
                     ("eve", "threshold"), ("eve", "promote"), ("otto", "refused")]:
        assert expected in actions, (expected, actions)
    assert actions.index(("eve", "threshold")) < actions.index(("eve", "promote"))
