"""Recommendations as served, in process: 10 products that go with a product and five viewed
lately, from a 10,000-product catalog (one in forty out of stock) and a hybrid model with three
signals of 10 neighbours each; the catalog's stored size, the time to read it, the model's size, and the time
training takes to find every product's look-alikes in it."""

from __future__ import annotations

import json
import random
import time
from typing import Any

from microtarget.catalog import Product, catalog_body, parse_catalog
from microtarget.recommendations import REASONS, RECENT, SIGNALS, Recommender

from training.recommend_signals import similar
from training.synthetic_catalog import STYLES

PRODUCTS, NEIGHBOURS, REQUESTS, K = 10_000, 10, 20_000, 10
GOAL_P99_MS = 1.0


def run() -> dict[str, Any]:
    rng = random.Random(5)
    ids = [f"P{i:05d}" for i in range(PRODUCTS)]
    kinds = ("shoes", "tops", "denim", "bags", "sport", "home", "kids", "beauty", "coats", "hats")
    products = [Product(product_id=p, name=f"{rng.choice(STYLES)} {kinds[i % 10]}", category=["fashion", kinds[i % 10]],
                        brand=f"brand {i % 37}", price=rng.uniform(5, 200),
                        image_url=f"https://shop.example.com/img/{p}.jpg", product_url=f"https://shop.example.com/p/{p}",
                        available=i % 40 != 39) for i, p in enumerate(ids)]  # fmt: skip
    body = catalog_body(products)
    started = time.perf_counter()
    catalog = parse_catalog(body)
    read_s = time.perf_counter() - started
    signals = {signal: {p: sorted(((o, round(rng.random(), 6)) for o in rng.sample(ids, NEIGHBOURS)),
                                  key=lambda x: -x[1]) for p in ids} for signal in SIGNALS}  # fmt: skip
    popular = ids[:20]
    weights = dict.fromkeys(SIGNALS, 1.0)
    model = Recommender({}, signals, popular, weights)
    model_bytes = len(json.dumps({"signals": signals, "popular": popular, "weights": weights},
                                 separators=(",", ":")).encode())  # fmt: skip
    asked = [(rng.choice(ids), rng.sample(ids, RECENT)) for _ in range(REQUESTS)]
    timings = []
    for product, viewed in asked:  # the page's product and five viewed lately, three signals each
        started = time.perf_counter()
        picks = model.picks([product], K, catalog.available, viewed)
        shown = catalog.shown((p, REASONS[signal]) for p, signal, _viewed in picks if signal in REASONS)
        timings.append(time.perf_counter() - started)
        assert len(shown) == K
    timings.sort()
    started = time.perf_counter()
    similar(catalog)  # what training adds to the model from this catalog
    similar_s = time.perf_counter() - started
    return {
        "p50_ms": timings[len(timings) // 2] * 1000, "p99_ms": timings[int(len(timings) * 0.99)] * 1000,
        "catalog_mb": len(body) / 2**20, "read_ms": read_s * 1000, "model_mb": model_bytes / 2**20,
        "similar_s": similar_s,
    }  # fmt: skip
