"""The core stays headless and the light commands stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

QT = ("PySide6", "shiboken6", "superqt", "pyqtgraph")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_import_contracts_hold():
    """The contracts live in pyproject.toml ([tool.importlinter]): Qt only in station.ui, the core
    never imports the command line, no cycles between sibling modules."""
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "3 kept, 0 broken" in proc.stdout


def _root_units() -> set[str]:
    """station's children: its modules and its packages, by name."""
    return {p.stem for p in (ROOT / "station").glob("*.py") if p.stem != "__init__"} | {
        p.parent.name for p in (ROOT / "station").glob("*/__init__.py")}


def test_a_module_nobody_placed_in_a_layer_fails_the_contracts(tmp_path):
    """The layers contract is exhaustive: a new module of station/ must be given its layer (at
    0.9.0 the contracts listed modules by hand and missed 15 of 37)."""
    import shutil

    shutil.copytree(ROOT / "station", tmp_path / "station", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "station" / "planted.py").write_text('"""A module with no layer."""\n')
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=tmp_path,
                          env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    assert proc.returncode != 0 and "station.planted" in proc.stdout, proc.stdout[-3000:]


def test_every_root_module_is_in_the_qt_contract_and_the_readme_layout():
    """The hand-made lists cannot fall behind: the Qt contract names every unit but ui (and the
    launcher), and the README's layout mentions every unit."""
    import re
    import tomllib

    units = _root_units()
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    qt = next(c for c in contracts if c["name"].startswith("Qt only"))
    listed = {m.split(".")[1] for m in qt["source_modules"]}
    assert units - listed == {"ui", "__main__"}, sorted(units - listed)
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    missing = sorted(u for u in units - {"__main__"} if not re.search(rf"\b{u}\b", layout))
    assert not missing, f"not in the README's layout: {missing}"


def test_modules_stay_small():
    big = {str(p.relative_to(ROOT)): n for p in (ROOT / "station").rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert big == {}


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


def test_no_unpickling_loads():
    for p in (ROOT / "station").rglob("*.py"):
        for line in p.read_text().splitlines():
            if "torch.load(" in line:
                assert "weights_only=True" in line, f"{p}: {line.strip()}"
            assert "pickle.load" not in line, f"{p}: {line.strip()}"


def test_train_defaults_are_the_shipped_recipe():
    """`station train` with no options trains what models/default was trained with."""
    import json

    from station.train.config import TrainConfig

    card = json.loads((ROOT / "models" / "default" / "card.json").read_text())
    cfg = TrainConfig()
    assert (cfg.arch, cfg.epochs, cfg.views, cfg.finetune_epochs, cfg.seed) == (
        card["arch"], card["training"]["epochs"], card["training"]["views"], card["training"]["finetune_epochs"], card["training"]["seed"])
    from station.model.backbone import DEFAULT_INPUT

    assert (cfg.input_size or DEFAULT_INPUT[cfg.arch]) == card["input_size"]


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


def test_a_station_option_reaches_the_command_line_and_the_window_alike():
    """#31: run options were copied three times (args -> Options -> WorkerConfig -> RunOptions), and
    --outputs reached the window a commit after the command line. Now one function makes them,
    from names both sides share."""
    from dataclasses import fields

    from station.cli import build_parser
    from station.inspection_run import STATION_OPTIONS, RunOptions, run_options
    from station.ui.main_window import Options

    assert set(STATION_OPTIONS) <= {f.name for f in fields(RunOptions)}
    assert set(STATION_OPTIONS) <= {f.name for f in fields(Options)}
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    for command in ("run", "gui"):
        dests = {a.dest for a in sub[command]._actions}
        missing = set(STATION_OPTIONS) - dests - ({"shadow"} if command == "gui" else set())  # the window tries a candidate from its Models tab
        assert not missing, (command, missing)
    args = build_parser().parse_args(["run", "x", "--outputs", "o.json", "--station", "p-3", "--db", "sqlite:///l.db"])
    made = run_options(args.source, args, pace_s=args.pace)
    window = run_options("x", Options(outputs="o.json", station="p-3", db="sqlite:///l.db"), pace_s=0.0)
    assert made == window, (made, window)
