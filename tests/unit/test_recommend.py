"""The co-occurrence recommender finds the planted "bought together" pairs and beats popularity."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from microtarget.events import EVENT_ADAPTER
from microtarget.recommendations import load_recommender
from microtarget.scoring import ModelRejected

from training.dataset import plan_timeline
from training.recommend import orders_of, train_recommender
from training.recommend_signals import together
from training.synthetic import generate

END = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    traffic = generate(1500, 70, seed=5, end=END)
    orders = orders_of(EVENT_ADAPTER.validate_python(e) for e in traffic.events)
    out = tmp_path_factory.mktemp("recommender")
    result = train_recommender(orders, plan_timeline(END - timedelta(days=70), END), out)
    return result, traffic.complements, out


def test_recommendations_recover_the_planted_complements(trained: tuple) -> None:
    result, complements, _out = trained
    neighbours = result["model"]["signals"]["together"]
    related = {
        p: set(pairs) | {q for q, theirs in complements.items() if p in theirs} for p, pairs in complements.items()
    }
    found = [p for p in neighbours if related[p] & {other for other, _score in neighbours[p][:3]}]
    assert len(found) / len(neighbours) > 0.9  # nearly every product's top 3 holds a planted pair


def test_hit_rate_beats_recommending_the_most_popular(trained: tuple) -> None:
    manifest = trained[0]["manifest"]
    assert manifest["metrics"]["test"]["trials"] > 100
    assert manifest["metrics"]["test"]["hit_rate"] > 2 * manifest["baseline_metrics"]["test"]["hit_rate"]


def test_served_model_is_verified_and_never_recommends_the_basket(trained: tuple) -> None:
    _result, complements, out = trained
    manifest = json.loads((out / "recommendations/manifest.json").read_text())
    body = (out / "recommendations/model.json").read_bytes()
    recommender = load_recommender(manifest, body)
    basket = ["P00001", *complements["P00001"]]
    recs = recommender.recommend(basket, 3)
    assert len(recs) == 3 and not set(recs) & set(basket)
    with pytest.raises(ModelRejected, match="sha256"):
        load_recommender(manifest, body + b" ")


def test_pairs_bought_together_once_are_noise() -> None:
    assert together([["A", "B"], ["A", "C"], ["A", "C"], ["B", "D"]]) == {
        "A": [("C", pytest.approx(2 / 6**0.5))],
        "C": [("A", pytest.approx(2 / 6**0.5))],
    }
