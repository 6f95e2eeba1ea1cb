"""Shared fixtures: real images from the generator, the shipped model, the real CLI."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Fixtures that tests of more than one tier (unit, integration, gui) use.
pytest_plugins = ["common.genicam", "common.learning", "common.line", "common.redteam_export_safety",
                  "common.redteam_roles_and_restore"]

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Two workers (-n 2) on a 2-core machine: each station, in-process or a child, gets one core's
# thread pools. Wider pools than the cores they get spin and wait on each other.
os.environ.setdefault("STATION_THREADS", "1")


@pytest.fixture(autouse=True)
def no_cyclic_gc_while_qt_dispatches(request):
    """Windows of earlier tests live on in reference cycles (slots that capture their owner) and
    go only when the cyclic collector runs. Run inside a later test's event dispatch, that
    deletes widgets under Qt: a segfault, seen here once on a loaded machine ('Garbage-collecting'
    inside qtbot.waitUntil). So a Qt test runs with the collector off, and the cycles are
    collected between tests, where no event is being dispatched (as equinor/ert does)."""
    if not {"qtbot", "qapp"} & set(request.fixturenames):
        yield
        return
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


MIN_WAIT_MS = 180_000  # no Qt wait gives up sooner: a CI machine can be 3x slower, and loaded


@pytest.fixture(autouse=True, scope="session")
def patient_qt_waits():
    """A wait returns the moment its condition holds, so a generous limit costs nothing when the
    code works; a tight one (5 or 10 s, written on a quiet machine) only fails a loaded machine.
    Every qtbot.waitUntil in the suite gets at least MIN_WAIT_MS: no test depends on a wall-clock margin."""
    try:
        from pytestqt.qtbot import QtBot
    except ImportError:  # the line build's tests run without Qt
        yield
        return
    originals = {"waitUntil": QtBot.waitUntil}

    def patient(original):
        def wait(self, *args, timeout: int = 5000, **kwargs):
            return original(self, *args, timeout=max(int(timeout), MIN_WAIT_MS), **kwargs)
        return wait

    for name, original in originals.items():
        setattr(QtBot, name, patient(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(QtBot, name, original)


@pytest.fixture(autouse=True, scope="session")
def isolated_data_dir(tmp_path_factory):
    """No test touches the real per-user data dir: commands without --data land here."""
    os.environ["STATION_DATA"] = str(tmp_path_factory.mktemp("station-data"))


# Variables that take effect only when an interpreter starts: a command given one runs in a child.
_AT_START = ("PYTHONPATH", "PYTHONHOME", "QT_", "OMP_", "MKL_", "CUDA_", "LD_")


def run_cli(*args: str, data: Path | None = None, check: bool = True, timeout: float = 600, env: dict | None = None,
            fresh: bool = False) -> subprocess.CompletedProcess:
    """`station ARGS` as a script on the line would call it, through `station.cli.main`.

    It runs in this process (an interpreter that imports torch costs 2-5 s, and the suite makes
    hundreds of calls), as a child would see it: its own stdout, stderr, empty stdin, environment
    and logging, and an uncaught exception reported the way the interpreter reports it, exit 1.
    `fresh=True`, the window, and start-up variables run it in a new interpreter instead; only
    there does `timeout` apply (in this process, pytest-timeout's limit does)."""
    cmd = [*args] + (["--data", str(data)] if data is not None else [])
    if fresh or (cmd and cmd[0] == "gui") or any(k.startswith(_AT_START) for k in (env or {})):
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "station", *cmd], capture_output=True, text=True, timeout=timeout,
                              env=full_env, cwd=ROOT)
    else:
        proc = _in_process(cmd, env or {})
    if check and proc.returncode != 0:
        raise AssertionError(f"station {' '.join(args)} exited {proc.returncode}\nstderr:\n{proc.stderr}")
    return proc


def _in_process(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    import io
    import logging
    import threading

    from station.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env, cwd = dict(os.environ), os.getcwd()
    saved_streams = (sys.stdout, sys.stderr, sys.stdin, sys.excepthook, threading.excepthook)
    logger = logging.getLogger("station")
    saved_log = (list(logger.handlers), logger.level, logger.propagate)
    os.environ.update(env)
    os.chdir(ROOT)
    sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO()
    try:
        try:
            code = main(cmd)
        except SystemExit as exc:  # argparse's usage errors, --help, --version
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # noqa: BLE001 (a bug: reported as the interpreter would report it, exit 1)
            sys.excepthook(*sys.exc_info())
            code = 1
    finally:
        sys.stdout, sys.stderr, sys.stdin, sys.excepthook, threading.excepthook = saved_streams
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for h in list(logger.handlers):
            logger.removeHandler(h)
            h.close()
        for h in saved_log[0]:
            logger.addHandler(h)
        logger.setLevel(saved_log[1])
        logger.propagate = saved_log[2]
    return subprocess.CompletedProcess(["station", *cmd], code, out.getvalue(), err.getvalue())


def label_in_process(data: Path, item: int, label: str, by: str) -> None:
    """`station label ITEM LABEL --by BY`."""
    run_cli("label", str(item), label, "--by", by, data=data)


def kill_run_mid_way(source: Path, data: Path, at_least: int, batch_size: int) -> int:
    """`station run SOURCE` killed with SIGKILL (no chance to record its end) once `at_least`
    rows are committed; returns the rows it had committed when the kill was sent."""
    import signal
    import sqlite3
    import time

    cmd = [sys.executable, "-m", "station", "run", str(source), "--data", str(data), "--batch-size", str(batch_size)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db, committed, deadline = data / "station.db", 0, time.monotonic() + 240
    while time.monotonic() < deadline and committed < at_least:
        time.sleep(0.1)
        if db.exists():
            try:
                committed = sqlite3.connect(db, timeout=5).execute("SELECT count(*) FROM inspections").fetchone()[0]
            except sqlite3.Error:
                committed = 0
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return committed


def run_json(*args: str, data: Path | None = None):
    proc = run_cli(*args, "--json", data=data)
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def demo_images(tmp_path_factory) -> Path:
    """A small generated set, OUT/<class>/*.png, shared read-only by tests."""
    from station.train import synth

    out = tmp_path_factory.mktemp("demo")
    synth.generate(out, count=24, seed=4242)
    return out


@pytest.fixture(scope="session")
def model():
    from station.core.config import default_model_dir
    from station.model.directory import load_model_dir

    return load_model_dir(default_model_dir())


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


def pytest_collection_modifyitems(config, items):
    """The bundle build is the longest single step; it goes first, so that with two workers
    (`-n 2`) the rest of the suite runs beside it instead of after it."""
    items.sort(key=lambda item: 0 if item.nodeid.startswith("tests/integration/test_package.py") else 1)


@pytest.fixture()
def themed(qapp):
    """The station's own style (15 mm targets, large type), as `station gui` applies it."""
    from station.ui import theme

    theme.apply(qapp)
    yield theme
    qapp.setStyleSheet("")
