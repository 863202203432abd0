"""The hybrid recommender's three signals, each a table product -> [(other, score)] best first:
products bought in the same order, products bought after viewing one, and products alike in the
catalog. Scores are cosines in [0, 1], so the weights that blend them are comparable."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from microtarget.catalog import Catalog, Product

    from training.recommend import Order

NEIGHBOURS = 10
MIN_PAIRS = 2  # a pair seen once is noise
POPULAR = 20
MIN_SEGMENT_ORDERS = 20  # a segment with fewer orders has no best sellers of its own: the shop's serve it
CHUNK = 1000  # catalog rows compared at once: CHUNK x products scores in memory
Table = dict[str, list[tuple[str, float]]]


def _top(pairs: dict[str, list[tuple[str, float]]]) -> Table:
    return {p: sorted(n, key=lambda x: (-x[1], x[0]))[:NEIGHBOURS] for p, n in sorted(pairs.items())}


def together(baskets: Iterable[Sequence[str]]) -> Table:
    """Cosine-scored co-occurrence: orders(a and b) / sqrt(orders(a) x orders(b))."""
    single: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for basket in baskets:
        single.update(basket)
        pairs.update(combinations(sorted(basket), 2))
    found: dict[str, list[tuple[str, float]]] = {}
    for (a, b), count in pairs.items():
        if count >= MIN_PAIRS:
            score = round(count / math.sqrt(single[a] * single[b]), 6)
            found.setdefault(a, []).append((b, score))
            found.setdefault(b, []).append((a, score))
    return _top(found)


def after_viewing(orders: Iterable[Order]) -> Table:
    """Viewed a, then bought b (within a day, a not bought with it): orders(a -> b) /
    sqrt(orders after viewing a x orders of b). Directed: what a look at a leads to."""
    viewed: Counter[str] = Counter()
    bought: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for order in orders:
        bought.update(order.products)
        viewed.update(order.viewed)
        pairs.update((a, b) for a in order.viewed for b in order.products)
    found: dict[str, list[tuple[str, float]]] = {}
    for (a, b), count in pairs.items():
        if count >= MIN_PAIRS:
            found.setdefault(a, []).append((b, round(count / math.sqrt(viewed[a] * bought[b]), 6)))
    return _top(found)


def popular(baskets: Iterable[Sequence[str]]) -> list[str]:
    counts = Counter(p for basket in baskets for p in basket)
    return [p for p, _n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:POPULAR]]


def by_segment(orders: Iterable[Order], members: Mapping[str, str]) -> dict[str, list[str]]:
    """The best sellers of each segment, from the orders of its `members` (customer -> segment)."""
    baskets: dict[str, list[list[str]]] = {}
    for order in orders:
        if (segment := members.get(order.customer)) is not None:
            baskets.setdefault(segment, []).append(order.products)
    return {s: popular(b) for s, b in sorted(baskets.items()) if len(b) >= MIN_SEGMENT_ORDERS}


def _terms(product: Product) -> dict[str, float]:
    """A product's content: each level of its category path (deeper weighs more), its brand,
    its price band (a factor of 1.5 wide, with half weight on the bands beside) and name words."""
    terms: dict[str, float] = {}
    for depth in range(1, len(product.category) + 1):
        terms["c:" + " > ".join(product.category[:depth]).lower()] = float(depth)
    if product.brand:
        terms["b:" + product.brand.lower()] = 1.0
    band = int(math.log(max(product.price, 0.01), 1.5))
    terms |= {f"p:{band - 1}": 0.5, f"p:{band}": 1.0, f"p:{band + 1}": 0.5}
    for word in set(re.findall(r"[^\W\d_]{3,}", product.name.lower())):
        terms["n:" + word] = 0.5
    return terms


def similar(catalog: Catalog) -> Table:
    """Each product's most alike in the catalog (cosine of the terms), whether or not anyone has
    bought them: how a new product is recommended beside the one on the page."""
    ids = sorted(catalog.products)
    vocabulary: dict[str, int] = {}
    rows, cols, values = [], [], []
    for row, product_id in enumerate(ids):
        for term, weight in _terms(catalog.products[product_id]).items():
            rows.append(row)
            cols.append(vocabulary.setdefault(term, len(vocabulary)))
            values.append(weight)
    if not ids:
        return {}
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=(len(ids), len(vocabulary)), dtype=np.float64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    matrix = sparse.diags(1 / np.maximum(norms, 1e-12)) @ matrix
    found: Table = {}
    for start in range(0, len(ids), CHUNK):
        scores = (matrix[start : start + CHUNK] @ matrix.T).toarray()
        for offset, row in enumerate(scores):
            row[start + offset] = -1.0  # never itself
            best = np.argpartition(-row, min(NEIGHBOURS, len(ids) - 1))[: NEIGHBOURS + 1]
            picked = sorted(
                ((ids[j], round(float(row[j]), 6)) for j in best if row[j] > 0), key=lambda x: (-x[1], x[0])
            )
            found[ids[start + offset]] = picked[:NEIGHBOURS]
    return found
