"""The hybrid recommender: bought together, bought after viewing, and alike in the catalog.

Each signal is learned from the orders (and the catalog) before the validation cutoff; the
weights that blend them are the ones with the best NDCG at 10 on the validation window's orders,
and the blend is kept only if it beats co-occurrence alone there (else the model is co-occurrence
alone, and the manifest says so). The served model is refitted on every order before the test
cutoff and reported on the test window beside popularity, co-occurrence alone and content alone
(training/recommend_eval.py). Written as model.json + manifest.json, published to the registry
like the ONNX models and served by microtarget.recommendations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import product as grid
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from microtarget.events import Event
from microtarget.recommendations import ARTIFACT, RECENT, RECOMMENDER, Recommender

from training import recommend_signals as signals
from training.dataset import Timeline
from training.recommend_eval import Trial, evaluate, trials
from training.transactions import UNKNOWN_PRODUCT

if TYPE_CHECKING:
    from microtarget.catalog import Catalog

MIN_BASKETS = 20  # orders with two or more products to learn pairs from
VIEWED_BEFORE = timedelta(days=1)
WEIGHTS = {"after_viewing": (0.0, 0.25, 0.5, 1.0, 2.0), "similar": (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)}
ALONE = {"popularity": {}, "co-occurrence": {"together": 1.0}, "content": {"similar": 1.0}}


class Order(NamedTuple):
    customer: str
    at: datetime
    products: list[str]  # the distinct known products bought
    viewed: list[str]  # the latest distinct products viewed the day before and not bought in it


def orders_of(events: Iterable[Event], customer: str | None = None) -> list[Order]:
    """Every purchase with a known product (an imported order history without products has none:
    its items are `unknown`, never recommended), with what its customer viewed before it.
    `customer`: the events are all that customer's (a visit under an anonymous id included)."""
    views: dict[str, list[tuple[datetime, str]]] = {}
    found = []
    for e in sorted(events, key=lambda e: e.occurred_at):
        who = customer or e.customer_id
        if e.event_type == "product_view":
            views.setdefault(who, []).append((e.occurred_at, e.properties.product_id))
        elif e.event_type == "purchase":
            products = sorted({line.product_id for line in e.properties.items} - {UNKNOWN_PRODUCT})
            if products:
                recent = [p for at, p in reversed(views.get(who, [])) if at >= e.occurred_at - VIEWED_BEFORE]
                viewed = [p for p in dict.fromkeys(recent) if p not in products][:RECENT]
                found.append(Order(who, e.occurred_at, products, viewed))
    return found


def unsupported(orders: list[Order], timeline: Timeline) -> str | None:
    """Why these orders cannot train and check a recommender (None when they can)."""
    before = sum(len(o.products) >= 2 for o in orders if o.at < timeline.valid_cutoff)
    checked = sum(len(o.products) >= 2 for o in orders if timeline.valid_cutoff <= o.at < timeline.test_cutoff)
    if before < MIN_BASKETS or not checked:
        return (f"{before} orders with two or more known products before the validation cutoff and {checked} in the "
                f"validation window (needs {MIN_BASKETS} and 1): no product ids in the history?")  # fmt: skip
    return None


def fit(orders: list[Order], similar: signals.Table | None, members: Mapping[str, str]) -> dict[str, Any]:
    """The signals from these orders, beside the catalog's look-alikes (the same for every window),
    and the best sellers of each segment its `members` (customer -> segment) are in."""
    baskets = [o.products for o in orders]
    tables = {"together": signals.together(baskets), "after_viewing": signals.after_viewing(orders)}
    if similar is not None:
        tables["similar"] = similar
    return {"signals": tables, "popular": signals.popular(baskets), "by_segment": signals.by_segment(orders, members)}


def _served(model: dict[str, Any], weights: dict[str, float], segments: bool = True) -> Recommender:
    return Recommender({}, model["signals"], model["popular"], weights, model["by_segment"] if segments else {})


def _bought(orders: list[Order]) -> set[str]:
    return {p for o in orders for p in o.products}


def _compare(
    model: dict[str, Any], checked: list[Trial], warm: set[str], blend: dict[str, float], catalog: Catalog | None
) -> dict[str, dict[str, Any]]:
    """Each recommender's figures on these trials: the shop's best sellers, its segments' best
    sellers (when segments were given), the signals alone and the blend, each filled as served."""
    allowed = catalog.available if catalog else None
    products = sum(map(catalog.available, catalog.products)) if catalog else len(warm)
    compared = {name: w for name, w in ALONE.items() if name != "content" or catalog is not None} | {"hybrid": blend}
    if model["by_segment"]:
        compared = {"popularity": {}, "segment popularity": {}} | compared
    return {name: evaluate(_served(model, w, name != "popularity"), checked, warm, products, allowed)
            for name, w in compared.items()}  # fmt: skip


def choose_weights(model: dict[str, Any], checked: list[Trial], warm: set[str], catalog: Catalog | None) -> dict:
    """The blend with the best NDCG at 10 on the validation trials; served only if it beats
    co-occurrence alone there."""
    allowed = catalog.available if catalog else None
    searched = []
    for viewing, alike in grid(WEIGHTS["after_viewing"], WEIGHTS["similar"] if catalog else (0.0,)):
        weights = {"together": 1.0, "after_viewing": viewing, "similar": alike}
        figures = evaluate(_served(model, weights), checked, warm, len(warm), allowed)
        searched.append((figures["ndcg_10"], viewing, alike, weights))
    alone = next(s for s in searched if s[1] == s[2] == 0.0)
    best = max(searched, key=lambda s: (s[0], -s[1], -s[2]))  # ties: the simpler blend
    kept = best[0] > alone[0]
    return {
        "weights": best[3],
        "served": "hybrid" if kept else "co-occurrence",
        "validation_ndcg_10": {"hybrid": round(best[0], 6), "co-occurrence": round(alone[0], 6)},
        "searched": [{"after_viewing": v, "similar": a, "ndcg_10": round(n, 6)} for n, v, a, _w in searched],
    }


def train_recommender(
    orders: list[Order], timeline: Timeline, out: Path, catalog: Catalog | None = None,
    members: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """`members`: each window's customer -> segment as of its start ("validation", "test"), for
    the segments' best sellers; the orders before a window learn them, its trials are filled by them."""
    cutoff, test = timeline.valid_cutoff, timeline.test_cutoff
    before, valid, held_out = ([o for o in orders if o.at < cutoff], [o for o in orders if cutoff <= o.at < test],
                               [o for o in orders if o.at >= test])  # fmt: skip
    at_valid, at_test = (members or {}).get("validation", {}), (members or {}).get("test", {})
    similar = signals.similar(catalog) if catalog is not None else None  # once: it reads no orders
    learned = fit(before, similar, at_valid)
    checked = trials(valid, at_valid)
    blend = choose_weights(learned, checked, _bought(before), catalog)
    served = blend["weights"] if blend["served"] == "hybrid" else ALONE["co-occurrence"]
    final = fit([o for o in orders if o.at < test], similar, at_test)  # serve what the latest orders say
    comparison = {"validation": _compare(learned, checked, _bought(before), blend["weights"], catalog),
                  "test": _compare(final, trials(held_out, at_test), _bought(before + valid), blend["weights"],
                                   catalog)}  # fmt: skip
    body = json.dumps(final | {"weights": served}, sort_keys=True, separators=(",", ":")).encode()
    created, sha = datetime.now(UTC), hashlib.sha256(body).hexdigest()
    manifest = {
        "model": RECOMMENDER,
        "kind": "recommender",
        "artifact": ARTIFACT,
        "version": f"{created:%Y%m%dT%H%M%SZ}-{sha[:8]}",
        "created": created.isoformat(timespec="seconds"),
        "sha256": sha,
        "products": len(set(final["signals"]["together"]) | set(final["signals"].get("similar", {}))),
        "catalog_version": catalog.version if catalog else None,
        "segments": sorted(final["by_segment"]),  # those with best sellers of their own
        "training_window": {"start": timeline.start.isoformat(), "end": test.isoformat()},
        "blend": blend,
        "metrics": {window: figures[blend["served"]] for window, figures in comparison.items()},
        "baseline_metrics": {window: figures["popularity"] for window, figures in comparison.items()},
        "comparison": comparison,
    }
    folder = out / RECOMMENDER
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ARTIFACT).write_bytes(body)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return {"manifest": manifest, "model": final}
