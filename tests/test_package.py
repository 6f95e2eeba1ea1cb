"""The shop-PC build: PyInstaller bundles the app from build.spec, and the bundle starts, inspects
and stores results with the network cut and an empty HOME (no Python, no downloads)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def _isolation() -> list[str]:
    """A command prefix that runs a program without any network: a fresh network namespace."""
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        if shutil.which(prefix[0]) and subprocess.run(prefix + ["true"], capture_output=True).returncode == 0:
            return prefix
    pytest.fail("cannot cut the network for the offline smoke test: `unshare -n` is not permitted here")


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("pyinstaller")
    t = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", str(work / "dist"),
         "--workpath", str(work / "build"), str(ROOT / "build.spec")],
        capture_output=True, text=True, cwd=ROOT, timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    app = work / "dist" / "station"
    size = sum(f.stat().st_size for f in app.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"\nbundle built in {time.monotonic() - t:.0f} s, {size / 2**30:.2f} GiB")
    return app


def _offline(bundle: Path, home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8",
           "XDG_RUNTIME_DIR": str(home / "run")}
    (home / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    exe = bundle / ("station.exe" if os.name == "nt" else "station")
    return subprocess.run(_isolation() + [str(exe), *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=home)


def _listing(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_bundle_runs_offline_with_an_empty_home(bundle, tmp_path, demo_images):
    home = tmp_path / "home"
    home.mkdir()
    before = _listing(bundle)

    version = _offline(bundle, home, "--version")
    assert version.returncode == 0, version.stderr
    from station import __version__

    assert version.stdout.strip() == f"station {__version__}"

    data = tmp_path / "data"
    run = _offline(bundle, home, "run", str(demo_images), "--data", str(data), "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    n = len(list(demo_images.rglob("*.png")))
    assert summary["processed"] == n and summary["failed"] == 0

    # No arguments: the window opens on the bundled demo, through the bundled default model.
    gui = _offline(bundle, home, "--exit-after", "20")  # start-up, model load, then a few paced demo parts
    assert gui.returncode == 0, gui.stderr[-3000:]
    assert "Traceback" not in gui.stderr and "QThread: Destroyed" not in gui.stderr, gui.stderr[-3000:]
    user_db = next(home.rglob("station.db"), None)
    assert user_db is not None, "writable data goes to the per-user data dir under HOME"
    import sqlite3

    with sqlite3.connect(user_db) as conn:
        assert conn.execute("SELECT count(*) FROM inspections").fetchone()[0] > 0, "the demo was inspected"

    assert _listing(bundle) == before, "nothing is written into the bundle"
