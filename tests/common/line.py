"""What the test_line tests of more than one tier share."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_cli
from line_servers import PG_PASSWORD, Postgres, SeaweedS3


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    root = tmp_path_factory.mktemp("line")
    pg = Postgres(root / "pg").start()
    s3 = SeaweedS3(root / "s3").start()
    saved = dict(os.environ)
    # Credentials the way a plant's PC holds them: the environment (or ~/.pgpass, ~/.aws), never the command line.
    os.environ.update(s3.env())
    os.environ["PGPASSWORD"] = PG_PASSWORD
    try:
        yield pg, s3
    finally:
        os.environ.clear()
        os.environ.update(saved)
        s3.stop()
        pg.stop("immediate")


def line_db(pg: Postgres, name: str) -> str:
    pg.create_db(name)
    return pg.url(name)


def line_images(tmp_path: Path, name: str, count: int, seed: int) -> Path:
    out = tmp_path / name
    run_cli("demo-data", str(out), "--count", str(count), "--seed", str(seed), "--size", "128")
    return out


def line_rows(db: str, sql: str) -> list[tuple]:
    from sqlalchemy import text

    from station.store.db import database_url, make_engine

    engine = make_engine(database_url(db=db))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()
