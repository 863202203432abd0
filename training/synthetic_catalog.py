"""The synthetic shop's product feed: every product its traffic views and buys, at the prices the
traffic uses, with a name, a brand, an image and a page; one in forty is out of stock."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

from training.synthetic import SyntheticTraffic

BRANDS = ("Northwind", "Alder & Co", "Lumen", "Fjord", "Marlow", "Cobalt", "Saffron", "Kite")
STYLES = ("Classic", "Everyday", "Urban", "Trail", "Soft", "Studio", "Weekend", "Essential", "Bold", "Light")
NOUNS = {"shoes": "sneakers", "outerwear": "jacket", "tops": "shirt", "denim": "jeans", "accessories": "scarf",
         "bags": "tote", "sport": "running tights", "home": "throw", "beauty": "face cream", "kids": "hoodie"}  # fmt: skip
SITE = "https://shop.example.com"
OUT_OF_STOCK_EVERY = 40


def feed(traffic: SyntheticTraffic) -> list[dict[str, Any]]:
    rng = random.Random(len(traffic.products))  # the same feed for the same catalog, whatever the traffic seed
    rows = []
    for index, (product_id, category, price) in enumerate(sorted(traffic.products)):
        rows.append({
            "product_id": product_id, "name": f"{rng.choice(STYLES)} {NOUNS[category]}",
            "category": f"{'home' if category == 'home' else 'fashion'} > {category}", "brand": rng.choice(BRANDS),
            "price": f"{price:.2f}", "currency": "EUR", "image_url": f"{SITE}/img/{product_id}.jpg",
            "product_url": f"{SITE}/p/{product_id}",
            "availability": "out of stock" if index % OUT_OF_STOCK_EVERY == OUT_OF_STOCK_EVERY - 1 else "in stock",
        })  # fmt: skip
    return rows


def feed_csv(traffic: SyntheticTraffic) -> str:
    rows = feed(traffic)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()
