"""How well a recommender would have done on orders it never saw.

Each trial is one product of a held-out order, hidden: the recommender gets the order's other
products, what the customer viewed the day before (the products they did not then buy) and their
segment as of the window's start, as serving gets a cart, recent views and scores, and is right when the hidden product is in its top k.
Hit rate and NDCG at 3 and 10; catalog coverage (the share of the products that could be
recommended which any trial's top 10 holds); and the same at 10 for cold products (never bought
in the window the model learned from), which only the content signal can find."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from microtarget.recommendations import Recommender

    from training.recommend import Order

KS = (3, 10)
# (the order's other products, viewed, hidden product, the customer's segment at the window's start)
Trial = tuple[list[str], list[str], str, str | None]


def trials(orders: Iterable[Order], members: Mapping[str, str] | None = None) -> list[Trial]:
    found = []
    for order in orders:
        segment = (members or {}).get(order.customer)
        for hidden in order.products:
            others = [p for p in order.products if p != hidden]
            if others or order.viewed:  # with no context every recommender gives the best sellers
                found.append((others, list(order.viewed), hidden, segment))
    return found


def evaluate(
    recommender: Recommender, checked: Sequence[Trial], warm: set[str], products: int,
    allowed: Callable[[str], bool] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The figures above for these trials; `warm` are the products bought while it learned,
    `products` how many it could recommend (the catalog's available ones, else the warm ones)."""
    hits = dict.fromkeys(KS, 0)
    gains = dict.fromkeys(KS, 0.0)
    cold = cold_hits = 0
    shown: set[str] = set()
    for others, viewed, hidden, segment in checked:
        top = recommender.recommend(others, max(KS), allowed, viewed, segment)
        shown.update(top)
        rank = top.index(hidden) + 1 if hidden in top else None
        for k in KS:
            if rank is not None and rank <= k:
                hits[k] += 1
                gains[k] += 1 / math.log2(rank + 1)
        if hidden not in warm:
            cold += 1
            cold_hits += rank is not None
    n = len(checked) or 1
    figures: dict[str, Any] = {f"hit_rate_{k}": hits[k] / n for k in KS} | {f"ndcg_{k}": gains[k] / n for k in KS}
    return figures | {
        "hit_rate": hits[3] / n,  # the gate's metric: three products is what a message shows
        "coverage": len(shown) / products if products else 0.0,
        "cold_hit_rate_10": cold_hits / cold if cold else None,
        "trials": len(checked),
        "cold_trials": cold,
    }
