"""The co-occurrence recommender: products frequently bought in the same order.

Trained on orders before the validation cutoff, checked on the orders after it: for each
held-out order with two or more products, hide one product and ask for three recommendations
from the rest; the hit rate is how often the hidden product is among them, beside the
hit rate of recommending the most popular products. Written as model.json + manifest.json,
published to the registry like the ONNX models and served by microtarget.recommendations.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

from microtarget.events import Event
from microtarget.recommendations import ARTIFACT, RECOMMENDER, Recommender

from training.dataset import Timeline
from training.transactions import UNKNOWN_PRODUCT

NEIGHBOURS = 10
MIN_PAIR_ORDERS = 2  # a pair bought together once is noise
K = 3
MIN_BASKETS = 20  # orders with two or more products to learn pairs from


def orders_of(events: Iterable[Event]) -> list[tuple[datetime, list[str]]]:
    """(when, distinct known products) for every purchase with one (an imported order history
    without products has none: its items are `unknown`, never recommended)."""
    found = []
    for e in events:
        if e.event_type == "purchase":
            products = sorted({line.product_id for line in e.properties.items} - {UNKNOWN_PRODUCT})
            if products:
                found.append((e.occurred_at, products))
    return found


def unsupported(orders: list[tuple[datetime, list[str]]], timeline: Timeline) -> str | None:
    """Why these orders cannot train and check a recommender (None when they can)."""
    before = sum(len(b) >= 2 for at, b in orders if at < timeline.valid_cutoff)
    checked = sum(len(b) >= 2 for at, b in orders if timeline.valid_cutoff <= at < timeline.test_cutoff)
    if before < MIN_BASKETS or not checked:
        return (f"{before} orders with two or more known products before the validation cutoff and {checked} in the "
                f"validation window (needs {MIN_BASKETS} and 1): no product ids in the history?")  # fmt: skip
    return None


def fit(baskets: Iterable[list[str]]) -> dict[str, Any]:
    """Cosine-scored co-occurrence: pairs(a, b) / sqrt(orders(a) x orders(b))."""
    single: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for basket in baskets:
        single.update(basket)
        pairs.update(combinations(basket, 2))  # baskets are sorted: (a, b) with a < b
    neighbours: dict[str, list[tuple[str, float]]] = {}
    for (a, b), together in pairs.items():
        if together < MIN_PAIR_ORDERS:
            continue
        score = round(together / math.sqrt(single[a] * single[b]), 6)
        neighbours.setdefault(a, []).append((b, score))
        neighbours.setdefault(b, []).append((a, score))
    return {
        "neighbours": {p: sorted(n, key=lambda x: (-x[1], x[0]))[:NEIGHBOURS] for p, n in sorted(neighbours.items())},
        "popular": [p for p, _n in sorted(single.items(), key=lambda x: (-x[1], x[0]))[:20]],
    }


def hit_rate(model: dict[str, Any], baskets: Iterable[list[str]], popular_only: bool = False) -> dict[str, float]:
    recommender = Recommender({}, {} if popular_only else _pairs(model), list(model["popular"]))
    trials = hits = 0
    for basket in baskets:
        if len(basket) < 2:
            continue
        for hidden in basket:
            trials += 1
            hits += hidden in recommender.recommend([p for p in basket if p != hidden], K)
    return {"hit_rate": hits / trials if trials else 0.0, "trials": trials}


def train_recommender(orders: list[tuple[datetime, list[str]]], timeline: Timeline, out: Path) -> dict[str, Any]:
    cutoff, test = timeline.valid_cutoff, timeline.test_cutoff
    model = fit(b for at, b in orders if at < cutoff)
    valid = [b for at, b in orders if cutoff <= at < test]
    held_out = [b for at, b in orders if at >= test]
    final = fit(b for at, b in orders if at < test)  # serve what the latest orders say, checked on the test window
    body = json.dumps(final, sort_keys=True, separators=(",", ":")).encode()
    created, sha = datetime.now(UTC), hashlib.sha256(body).hexdigest()
    manifest = {
        "model": RECOMMENDER,
        "kind": "recommender",
        "artifact": ARTIFACT,
        "version": f"{created:%Y%m%dT%H%M%SZ}-{sha[:8]}",
        "created": created.isoformat(timespec="seconds"),
        "sha256": sha,
        "products": len(final["neighbours"]),
        "training_window": {"start": timeline.start.isoformat(), "end": test.isoformat()},
        "metrics": {"validation": hit_rate(model, valid), "test": hit_rate(final, held_out)},
        "baseline_metrics": {
            "validation": hit_rate(model, valid, popular_only=True),
            "test": hit_rate(final, held_out, popular_only=True),
        },
    }
    folder = out / RECOMMENDER
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ARTIFACT).write_bytes(body)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return {"manifest": manifest, "model": final}


def _pairs(model: dict[str, Any]) -> dict[str, list[tuple[str, float]]]:
    return {p: [(o, float(s)) for o, s in n] for p, n in model["neighbours"].items()}
