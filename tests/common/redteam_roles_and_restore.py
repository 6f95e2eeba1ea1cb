"""What the test_roles_and_restore tests of more than one tier share."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import run_cli, run_json

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
