"""Products frequently bought together: the serving half of the co-occurrence model.

The model is a JSON file (`training/recommend.py` builds it from orders and publishes it to
the registry beside the ONNX models): for each product, the products most often bought in
the same order, with a lift-style score. Verified by sha256 like every other model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from microtarget.scoring import ModelRejected
from microtarget.validation import sha256_mismatch

if TYPE_CHECKING:
    from microtarget.profile import Profile

RECOMMENDER = "recommendations"
RECENT = 5  # the latest distinct products viewed, for a moment that shows none
ARTIFACT = "model.json"


@dataclass(frozen=True)
class Recommender:
    manifest: dict[str, Any]
    neighbours: dict[str, list[tuple[str, float]]]
    popular: list[str]  # for products nobody bought together yet

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    def recommend(self, products: Iterable[str], k: int = 3, allowed: Callable[[str], bool] | None = None) -> list[str]:
        """Top k products that go with these (never one of them, nor one `allowed` refuses: an
        unavailable product), best first; the popular ones fill the rest."""
        basket = set(products)
        ok = allowed or (lambda _product: True)
        scores: dict[str, float] = {}
        for product in basket:
            for other, score in self.neighbours.get(product, ()):
                if other not in basket and ok(other):
                    scores[other] = scores.get(other, 0.0) + score
        ranked = sorted(scores, key=lambda p: (-scores[p], p))[:k]
        fill = [p for p in self.popular if p not in basket and p not in ranked and ok(p)]
        return ranked + fill[: k - len(ranked)]


def recommend_for(
    recommender: Recommender, products: list[str], profile: Profile | None, allowed: Callable[[str], bool] | None,
    k: int = 3, what: str = "the product on the page",
) -> tuple[list[str], str]:  # fmt: skip
    """What goes with a moment: the products it shows (`what` they are), else the customer's cart,
    else what they viewed lately, else what sells most; with the reason, for every product given."""
    if products:
        return recommender.recommend(products, k, allowed), f"bought together with {what}"
    cart = list(profile.cart()) if profile else []
    if cart:
        return recommender.recommend(cart, k, allowed), "bought together with what is in the cart"
    viewed = list(dict.fromkeys(view[2] for view in reversed(profile.recent_views)))[:RECENT] if profile else []
    if viewed:
        return recommender.recommend(viewed, k, allowed), "bought together with what was viewed lately"
    return recommender.recommend([], k, allowed), "among the shop's best sellers"


def load_recommender(manifest: dict[str, Any], body: bytes) -> Recommender:
    mismatch = sha256_mismatch(body, manifest)
    if mismatch:
        raise ModelRejected(f"{RECOMMENDER}: {mismatch}")
    try:
        data = json.loads(body)
        neighbours = {p: [(o, float(s)) for o, s in pairs] for p, pairs in data["neighbours"].items()}
        return Recommender(manifest, neighbours, list(data.get("popular", [])))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelRejected(f"{RECOMMENDER}: unreadable model file: {exc}") from exc
