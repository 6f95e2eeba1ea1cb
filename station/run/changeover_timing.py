"""How long a changeover takes, for `station bench`: from a part announced as another product
to that part's verdict, against the same part judged with no changeover, interleaved.

It goes through what a run does between two parts: `Products.due` sees the product code,
`Products.load` reads the recipe's row, applies its threshold (and masks) to its model (loaded
once, as on a line that alternates products), judges its golden parts and records the
changeover; then the part is judged. Two recipes, each with two golden parts, on a real SQLite store.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from station.core.domain import Frame
from station.line import golden, recipes
from station.run.product import Products


def changeover_ms(store: Any, models: dict[str, Any], images: list[Path], decoded: list[Any],
                  switches: int = 10) -> dict[str, Any]:
    """`models`: two loaded models by recipe name (they may share weights, not objects);
    `images`/`decoded`: parts to judge and to take golden parts from (their verdicts, as judged)."""
    names = list(models)
    with store.session.begin() as s:
        for name in names:
            verdicts = [p.verdict for p in models[name].predict(decoded[:2])]
            recipe = recipes.Recipe(name, model=name)
            for path, verdict in zip(images[:2], verdicts):
                recipe = golden.with_parts(recipe, store.blobs, [path], verdict)
            recipes.save(s, recipe, "bench", "bench")
    products = Products(None)
    load = models.__getitem__
    part = decoded[2 % len(decoded)]
    products.load(products.due(_frame(names[0])) or _never(), store, "bench", load)  # warm-up: each model's first use
    products.load(products.due(_frame(names[1])) or _never(), store, "bench", load)
    change, steady = [], []
    for i in range(switches):
        name = names[i % 2]
        t = time.perf_counter()
        wanted = products.due(_frame(name)) or _never()
        _, model, _ = products.load(wanted, store, "bench", load)
        model.predict([part])
        change.append(time.perf_counter() - t)
        t = time.perf_counter()
        if products.due(_frame(name)) is not None:
            raise RuntimeError("the same product again made a changeover")
        model.predict([part])
        steady.append(time.perf_counter() - t)
    med_change, med_steady = statistics.median(change), statistics.median(steady)
    return {"changeover_ms": round(med_change * 1000, 1), "changeover_max_ms": round(max(change) * 1000, 1),
            "part_ms": round(med_steady * 1000, 1), "changeover_vs_part": round(med_change / med_steady, 2)}


def _frame(product: str) -> Frame:
    return Frame(origin="bench#changeover", captured_at=datetime.now(UTC), product=product)


def _never() -> Any:
    raise RuntimeError("a product code of another product made no changeover")
