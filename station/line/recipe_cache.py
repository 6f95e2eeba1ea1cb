"""This PC's copy of the recipes it ran, so that a station whose line database is down starts as
the product it last ran, not as whatever model happens to be active here.

Written each time a run puts a recipe in force (its start, a changeover), from the database's
row; read only when that database cannot be reached. A recipe is one JSON file under
DATA/recipes/, `active` names the product last in force, and the golden parts' images are kept
beside them (golden/<sha256>), so the golden check still runs on this PC's copies."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from station.core.errors import StationError
from station.core.fileutil import atomic_write
from station.core.labels import validate_label
from station.line import golden
from station.line.recipes import Recipe, parse
from station.store.blobs import BlobStore, LocalBlobs

FOLDER = "recipes"
log = logging.getLogger("station.recipe")


def remember(data: Path, recipe: Recipe, blobs: BlobStore) -> None:
    """Keep `recipe` (and its golden images) as the product in force on this PC. A copy that
    cannot be written is said and does not stop the run: the database holds the recipe."""
    folder = data / FOLDER
    try:
        (folder / "golden").mkdir(parents=True, exist_ok=True)
        atomic_write(folder / f"{recipe.name}.json", json.dumps(recipe.to_json(), indent=1))
        for g in recipe.golden:
            kept = folder / golden.key(g.sha256)
            if not kept.exists():
                atomic_write(kept, blobs.get(golden.key(g.sha256)))
        atomic_write(folder / "active", recipe.name)
    except (OSError, StationError) as exc:
        log.warning("could not keep this PC's copy of recipe %s: %s", recipe.name, exc)


def last_known(data: Path, name: str | None) -> Recipe | None:
    """This PC's copy of recipe `name` (None: the product last in force here); None when it has none."""
    folder = data / FOLDER
    if name is None:
        try:
            name = (folder / "active").read_text(encoding="utf-8").strip()
        except OSError:
            return None
    validate_label(name)
    try:
        kept = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    except OSError:
        return None
    except ValueError:
        raise StationError(f"this PC's copy of recipe {name} is damaged ({folder / (name + '.json')})") from None
    settings = {k: v for k, v in kept.items() if k not in ("name", "version", "by", "at")}
    return parse(name, settings, int(kept.get("version") or 0), str(kept.get("by") or ""))


def golden_images(data: Path) -> BlobStore:
    """Where the golden check reads the kept images when the line's store is not to be had."""
    return LocalBlobs(data / FOLDER)
