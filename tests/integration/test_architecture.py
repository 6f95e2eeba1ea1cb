"""The core stays headless and the light commands stay light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


def test_import_contracts_hold():
    """The contracts live in pyproject.toml ([tool.importlinter]): Qt only in station.ui, the core
    never imports the command line, no cycles between sibling modules."""
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "4 kept, 0 broken" in proc.stdout


@pytest.mark.parametrize("where", ["station", "station/core"])
def test_a_module_nobody_placed_in_a_layer_fails_the_contracts(tmp_path, where):
    """The layers contracts are exhaustive: a new module of station/ or of its core must be given
    its layer (at 0.9.0 the contracts listed modules by hand and missed 15 of 37)."""
    import shutil

    shutil.copytree(ROOT / "station", tmp_path / "station", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / where / "planted.py").write_text('"""A module with no layer."""\n')
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=tmp_path,
                          env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    assert proc.returncode != 0 and f"{where.replace('/', '.')}.planted" in proc.stdout, proc.stdout[-3000:]


def test_light_commands_import_neither_torch_nor_qt(tmp_path):
    code = (
        "import sys; from station.cli import main\n"
        f"main(['queue', '--data', {str(tmp_path)!r}, '--json'])\n"
        f"main(['export', {str(tmp_path / 'out')!r}, '--data', {str(tmp_path)!r}, '--json'])\n"
        f"main(['label', '1', 'good', '--by', 'x', '--data', {str(tmp_path)!r}])\n"
        "heavy = sorted(m for m in ('torch', 'cv2', 'PySide6', 'timm') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "HEAVY []" in out


def test_inspecting_on_onnxruntime_never_imports_torch(tmp_path):
    """What the line build relies on: a run and an inspect on the default backend, the anomaly
    rules included, without torch in the process."""
    demo = ROOT / "resources" / "demo"
    image = next((demo / "crack").glob("*.png"))
    code = (
        "import sys; from station.cli import main\n"
        f"assert main(['run', {str(demo)!r}, '--limit', '4', '--data', {str(tmp_path)!r}, '--json']) == 0\n"
        f"assert main(['inspect', {str(image)!r}, '--data', {str(tmp_path)!r}, '--json']) == 0\n"
        "import station.model.anomaly_rules, station.model.backends.ort\n"
        "print('TORCH', sorted(m for m in ('torch', 'timm', 'torchvision') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "TORCH []" in out, out[-2000:]
