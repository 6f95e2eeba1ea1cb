"""A recipe as one folder, to move a product between lines or PCs: `station recipes export|import`.

    OUT/recipe.json        name, settings, and the sha256 of every other file
    OUT/model/...          the recipe's model directory (card, weights, ONNX export)
    OUT/golden/<sha256>    the golden parts' images

Import checks every file against its hash before anything is kept, registers the model (or
finds the same one already registered), puts the golden images in this line's image store and
stores the recipe as its name's next version. A folder changed after export is refused, naming
the file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from station.core.errors import StationError
from station.core.fileutil import atomic_write
from station.line import golden, recipes
from station.line.recipes import Recipe
from station.store.blobs import BlobStore

FORMAT = 1


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export(recipe: Recipe, blobs: BlobStore, data: str | None, out: Path) -> dict[str, Any]:
    """Write the folder; returns what `--json` prints: {out, recipe, version, files, sha256}."""
    from station.model.registry import resolve_model

    if out.exists() and any(out.iterdir()):
        raise StationError(f"{out} is not empty; export into a new folder")
    model_dir = resolve_model(recipe.model, data)
    tmp = Path(tempfile.mkdtemp(prefix=".recipe-", dir=out.parent if out.parent.exists() else None))
    try:
        shutil.copytree(model_dir, tmp / "model", ignore=shutil.ignore_patterns(".*"))
        (tmp / "golden").mkdir()
        for g in recipe.golden:
            (tmp / "golden" / g.sha256).write_bytes(blobs.get(golden.key(g.sha256)))
        files = {p.relative_to(tmp).as_posix(): _sha(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        doc = {"format": FORMAT, "name": recipe.name, "version": recipe.version, "settings": recipe.settings(),
               "model_name": model_dir.name, "files": files}
        atomic_write(tmp / "recipe.json", json.dumps(doc, indent=2, sort_keys=True).encode())
        if out.exists():
            out.rmdir()
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"out": str(out), "recipe": recipe.name, "version": recipe.version, "files": len(files),
            "sha256": _sha(out / "recipe.json")}


def read(folder: Path) -> dict[str, Any]:
    """recipe.json, with every file it lists checked against its hash (one line naming the first that differs)."""
    try:
        doc = json.loads((folder / "recipe.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StationError(f"{folder} is not an exported recipe (no recipe.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StationError(f"{folder / 'recipe.json'} cannot be read: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("files"), dict):
        raise StationError(f"{folder / 'recipe.json'} is not a recipe this station can import (format {FORMAT})")
    for rel, sha in doc["files"].items():
        path = folder / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise StationError(f"{folder / 'recipe.json'} lists {rel!r}, outside the folder; refused")
        if not path.is_file():
            raise StationError(f"{path} is missing; the folder is not the one exported")
        if _sha(path) != sha:
            raise StationError(f"{path} differs from the exported file (sha256); the folder was changed after export")
    listed = set(doc["files"])
    extra = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
    if unlisted := sorted(set(extra) - listed - {"recipe.json"}):
        raise StationError(f"{folder / unlisted[0]} was not exported with the recipe; refused")
    return doc


def registered(model: Path, name: str, data: str | None) -> str:
    """`model` (a model directory) in this PC's registry under `name`: registered now, or found
    there already (the same version). A different model under that name is refused."""
    from station.model.directory import read_card
    from station.model.registry import register, registry_dir
    from station.model.rules import version_of

    incoming = version_of(read_card(model))
    here = registry_dir(data) / name
    if here.is_dir():
        if version_of(read_card(here)) != incoming:
            raise StationError(f"a different model named {name!r} is registered here; rename one of them")
        return name
    return register(model, name, data)


def model_for(spec: str, data: str | None) -> str:
    """A recipe's model from `--model`: a registered name as is, a model directory registered
    under its folder's name (not made active: the recipe decides when it judges)."""
    path = Path(spec)
    if path.is_dir() and (path / "card.json").is_file() and ("/" in spec or path.is_absolute() or spec.startswith(".")):
        return registered(path, path.name, data)
    from station.model.registry import resolve_model

    return resolve_model(spec, data).name


def import_(folder: Path, s: Session, blobs: BlobStore, data: str | None, by: str, station: str) -> Recipe:
    """Keep the recipe of an exported folder here (its model registered, its golden parts in the store)."""
    doc = read(folder)
    name = str(doc.get("name"))
    recipe = recipes.parse(name, doc.get("settings"))
    model_name = registered(folder / "model", str(doc.get("model_name") or recipe.model), data)
    for g in recipe.golden:
        blobs.put(golden.key(g.sha256), (folder / "golden" / g.sha256).read_bytes())
    return recipes.save(s, replace(recipe, model=model_name), by, station, action="recipe_imported")
