"""What goes with a moment: the serving half of the hybrid recommender.

The model is a JSON file (`training/recommend.py` builds it from orders, views and the product
catalog, and publishes it to the registry beside the ONNX models), verified by sha256 like every
other model. For each product it holds three neighbour lists, one per signal: products bought in
the same order ("together"), products bought after viewing it ("after_viewing"), and products
like it by category, brand, price band and name ("similar", which is how a product nobody has
bought yet gets recommended). A candidate's score is the weighted sum of its neighbour scores
over the moment's context, with the weights chosen on a validation window; every product given
comes with the reason that weighed most for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from microtarget.scoring import ModelRejected
from microtarget.validation import sha256_mismatch

if TYPE_CHECKING:
    from microtarget.profile import Profile

RECOMMENDER = "recommendations"
RECENT = 5  # the latest distinct products viewed: a moment's weaker context
ARTIFACT = "model.json"
SIGNALS = ("together", "after_viewing", "similar")
REASONS = {"together": "bought together with {what}", "after_viewing": "often bought after viewing {what}",
           "similar": "similar to {what}"}  # fmt: skip
POPULAR = "among the shop's best sellers"
SEGMENT = "popular with shoppers like you"  # the best sellers of the customer's segment
FILLS = {"popular": POPULAR, "segment": SEGMENT}  # why a best seller fills a list
VIEWED = "what was viewed lately"
Neighbours = dict[str, list[tuple[str, float]]]


@dataclass(frozen=True)
class Recommender:
    manifest: dict[str, Any]
    signals: dict[str, Neighbours]  # signal -> product -> [(other, score)], best first
    popular: list[str]  # for a moment with no context, and to fill the rest
    weights: dict[str, float] = field(default_factory=lambda: {"together": 1.0})
    by_segment: dict[str, list[str]] = field(default_factory=dict)  # segment name -> its best sellers, first

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    def picks(
        self, products: Iterable[str], k: int = 3, allowed: Callable[[str], bool] | None = None,
        viewed: Iterable[str] = (), segment: str | None = None,
    ) -> list[tuple[str, str, bool]]:  # fmt: skip
        """The top k (product, signal, from the viewed context) for the moment's `products` (the
        page's, the cart's) and the products `viewed` lately: never one of them, nor one `allowed`
        refuses (an unavailable product, one bought lately); the best sellers of the customer's
        `segment`, then of the shop, fill the rest."""
        shown, seen = list(dict.fromkeys(products)), list(dict.fromkeys(viewed))
        context = set(shown) | set(seen)
        ok = allowed or (lambda _product: True)
        scores: dict[str, float] = {}
        weighed: dict[str, float] = {}  # the contribution that weighed most, for the reason
        why: dict[str, tuple[str, bool]] = {}
        for signal in SIGNALS:
            weight, table = self.weights.get(signal, 0.0), self.signals.get(signal)
            if not weight or not table:
                continue
            for from_viewed, sources in ((False, shown), (True, seen)):
                for product in sources:
                    for other, score in table.get(product, ()):
                        if other not in context:
                            part = weight * score
                            scores[other] = scores.get(other, 0.0) + part
                            if part > weighed.get(other, 0.0):
                                weighed[other], why[other] = part, (signal, from_viewed)
        ranked: list[str] = []
        for candidate in sorted(scores, key=lambda p: (-scores[p], p)):
            if len(ranked) == k:
                break
            if ok(candidate):
                ranked.append(candidate)
        found = [(p, *why[p]) for p in ranked]
        taken = context | set(scores)
        for signal, sellers in (("segment", self.by_segment.get(segment or "", ())), ("popular", self.popular)):
            for p in sellers:
                if len(found) == k:
                    return found
                if p not in taken and ok(p):
                    found.append((p, signal, False))
                    taken.add(p)
        return found

    def recommend(self, products: Iterable[str], k: int = 3, allowed: Callable[[str], bool] | None = None,
                  viewed: Iterable[str] = (), segment: str | None = None) -> list[str]:  # fmt: skip
        return [product for product, _signal, _viewed in self.picks(products, k, allowed, viewed, segment)]


def recommend_for(
    recommender: Recommender, products: list[str], profile: Profile | None, allowed: Callable[[str], bool] | None,
    k: int = 3, what: str = "the product on the page", segment: str | None = None, bought_since: int | None = None,
) -> list[tuple[str, str]]:  # fmt: skip
    """(product, why it is there) for a moment: what goes with the products it shows (`what` they
    are), else with the customer's cart, together with what they viewed lately; else what sells
    most in the customer's `segment`, then in the shop. Never a product bought since `bought_since`."""
    if not products and profile and (cart := profile.cart()):
        products, what = list(cart), "what is in the cart"
    viewed = list(dict.fromkeys(view[2] for view in reversed(profile.recent_views)))[:RECENT] if profile else []
    bought = profile.bought_since(bought_since) if profile and bought_since is not None else set()
    ok = allowed
    if bought:
        ok = lambda p: p not in bought and (allowed is None or allowed(p))  # noqa: E731
    found = recommender.picks(products, k, ok, viewed, segment)
    return [(p, FILLS[signal] if signal in FILLS else REASONS[signal].format(what=VIEWED if from_viewed else what))
            for p, signal, from_viewed in found]  # fmt: skip


def load_recommender(manifest: dict[str, Any], body: bytes) -> Recommender:
    mismatch = sha256_mismatch(body, manifest)
    if mismatch:
        raise ModelRejected(f"{RECOMMENDER}: {mismatch}")
    try:
        data = json.loads(body)
        tables = data.get("signals") or {"together": data["neighbours"]}  # a co-occurrence-only model
        signals = {s: {p: [(o, float(v)) for o, v in n] for p, n in tables[s].items()} for s in SIGNALS if s in tables}
        weights = {s: float(w) for s, w in data.get("weights", {"together": 1.0}).items() if s in SIGNALS}
        by_segment = {str(s): [str(p) for p in sellers] for s, sellers in data.get("by_segment", {}).items()}
        return Recommender(manifest, signals, [str(p) for p in data.get("popular", [])], weights, by_segment)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelRejected(f"{RECOMMENDER}: unreadable model file: {exc}") from exc
