"""Products frequently bought together: the serving half of the co-occurrence model.

The model is a JSON file (`training/recommend.py` builds it from orders and publishes it to
the registry beside the ONNX models): for each product, the products most often bought in
the same order, with a lift-style score. Verified by sha256 like every other model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from microtarget.scoring import ModelRejected
from microtarget.validation import sha256_mismatch

RECOMMENDER = "recommendations"
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
