"""The core stays headless and the light commands stay light."""

from __future__ import annotations

from conftest import ROOT


def _root_units() -> set[str]:
    """station's children: its modules and its packages, by name."""
    return {p.stem for p in (ROOT / "station").glob("*.py") if p.stem != "__init__"} | {
        p.parent.name for p in (ROOT / "station").glob("*/__init__.py")}


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


def test_a_station_option_reaches_the_command_line_and_the_window_alike():
    """#31: run options were copied three times (args -> Options -> WorkerConfig -> RunOptions), and
    --outputs reached the window a commit after the command line. Now one function makes them,
    from names both sides share."""
    from dataclasses import fields

    from station.cli import build_parser
    from station.run.inspection_run import STATION_OPTIONS, RunOptions, run_options
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
