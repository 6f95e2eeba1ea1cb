"""Throughput of a line: one station alone (SQLite + data dir, then PostgreSQL + S3) against three
stations inspecting at once into one PostgreSQL and one S3 store, side by side in one run.

    .venv/bin/python scripts/line_throughput.py [--parts 200] [--reps 2]

Starts its own PostgreSQL (the pgserver wheel's binaries) and SeaweedFS on loopback, like the
tests. Each station is a real `station run` process on its own folder of generated parts; the
figure is parts stored per second of wall time, from the first start to the last exit. On a
2-core PC three stations share two cores, so the line figure says what the shared servers cost,
not what three PCs would do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from line_servers import PG_PASSWORD, Postgres, SeaweedS3  # noqa: E402


def _station(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "station", *args, "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=ROOT)


def _timed(runs: list[list[str]]) -> float:
    t = time.perf_counter()
    procs = [_station(*r) for r in runs]
    stored = 0
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a station failed: {p.args}")
        stored += json.loads(out)["processed"]
    return stored / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", type=int, default=200)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="line-throughput-"))
    pg = Postgres(tmp / "pg").start()
    s3 = SeaweedS3(tmp / "s3").start()
    os.environ.update(s3.env())
    os.environ["PGPASSWORD"] = PG_PASSWORD
    try:
        folders = []
        for n in range(3 * args.reps + 2 * args.reps):
            f = tmp / f"parts{n}"
            subprocess.run([sys.executable, "-m", "station", "demo-data", str(f), "--count", str(args.parts), "--seed", str(1000 + n)],
                           check=True, capture_output=True, cwd=ROOT)
            folders.append(f)
        it = iter(folders)
        figures: dict[str, list[float]] = {"alone, SQLite + data dir": [], "alone, PostgreSQL + S3": [], "3 stations, PostgreSQL + S3": []}
        for rep in range(args.reps):  # interleaved, so a busy moment does not favour one setup
            figures["alone, SQLite + data dir"].append(_timed([["run", str(next(it)), "--data", str(tmp / f"solo{rep}")]]))
            db = f"line{rep}"
            pg.create_db(db)
            line = ["--db", pg.url(db), "--store", f"s3://line/r{rep}"]
            figures["alone, PostgreSQL + S3"].append(_timed([["run", str(next(it)), *line, "--station", "solo", "--data", str(tmp / f"ps{rep}")]]))
            figures["3 stations, PostgreSQL + S3"].append(_timed(
                [["run", str(next(it)), *line, "--station", name, "--data", str(tmp / f"{name}{rep}")] for name in "ABC"]))
        for name, values in figures.items():
            print(f"{name:<30} " + "  ".join(f"{v:6.1f}" for v in values) + "  parts/s")
        solo = max(figures["alone, PostgreSQL + S3"])
        print(f"3 stations into one line vs one alone on the line: {max(figures['3 stations, PostgreSQL + S3']) / solo:.2f}x")
    finally:
        s3.stop()
        pg.stop("immediate")


if __name__ == "__main__":
    main()
