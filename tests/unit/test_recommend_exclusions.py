"""What recommendations leave out (the moment's products, what is unavailable, what the customer
bought lately) and what fills them when the signals run dry (their segment's best sellers, then
the shop's): the profile's bounded memory of products bought, the campaigns file's window, and the
segment best sellers training learns, checks and publishes."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from microtarget.aggregation import apply_events
from microtarget.campaigns import parse_campaigns
from microtarget.clock import DAY_MS, to_ms
from microtarget.errors import PermanentError
from microtarget.merge import merge_into
from microtarget.privacy_export import _profile as exported
from microtarget.profile import MAX_BOUGHT, Profile
from microtarget.recommendations import POPULAR, SEGMENT, Recommender, load_recommender, recommend_for

from tests.helpers.events import T0, event
from training.dataset import plan_timeline
from training.recommend import Order, train_recommender


def _purchase(products: list[str], minutes: float, order: str) -> object:
    items = [{"product_id": p, "price": 10.0, "quantity": 1} for p in products]
    return event("purchase", minutes=minutes, order_id=order, items=items, revenue=10.0 * len(items))


def test_the_profile_remembers_each_product_bought_at_its_latest_purchase_whatever_the_order() -> None:
    # Given 80 orders of overlapping products (more distinct products than the profile keeps)
    orders = [_purchase([f"P{i % 60}", f"P{(i * 7) % 60}"], minutes=i * 10, order=f"O{i}") for i in range(80)]
    profile = Profile("c_1")
    apply_events(profile, orders)
    # Then each product appears once, at its latest purchase, the newest MAX_BOUGHT kept in time order
    latest: dict[str, int] = {}
    for o in orders:
        for line in o.properties.items:
            latest[line.product_id] = max(latest.get(line.product_id, 0), to_ms(o.occurred_at))
    newest = sorted([ts, p] for p, ts in latest.items())[-MAX_BOUGHT:]
    assert profile.bought == newest
    # and shuffled, replayed or merged from two halves, the memory is the same
    for seed in range(5):
        shuffled = orders[:]
        random.Random(seed).shuffle(shuffled)
        again = Profile("c_1")
        apply_events(again, shuffled)
        apply_events(again, shuffled[:30])  # a replay
        assert again.bought == newest
    known, anonymous = Profile("c_1"), Profile("c_anon")
    apply_events(known, orders[::2])
    apply_events(anonymous, orders[1::2])
    merge_into(known, anonymous)
    assert known.bought == newest
    # and a data-subject access export shows them
    assert exported(profile)["products_bought"][-1]["product_id"] == newest[-1][1]


def test_a_product_bought_within_the_window_is_not_recommended_and_one_bought_before_it_may_be() -> None:
    model = Recommender({}, {"together": {"P1": [("P2", 0.9), ("P3", 0.8), ("P4", 0.7)]}}, ["P5", "P6"])
    profile = Profile("c_1")
    apply_events(
        profile, [_purchase(["P2"], minutes=0, order="O1"), _purchase(["P3"], minutes=-40 * 24 * 60, order="O2")]
    )
    now_ms = to_ms(T0) + DAY_MS
    window = parse_campaigns(_campaigns(30)).recommendations
    picks = recommend_for(model, ["P1"], profile, None, bought_since=window.bought_since(now_ms))
    assert [p for p, _why in picks] == ["P3", "P4", "P5"]  # P2 bought yesterday; P3 40 days ago
    everything = parse_campaigns(_campaigns(0)).recommendations
    assert everything.bought_since(now_ms) is None
    assert [p for p, _ in recommend_for(model, ["P1"], profile, None, bought_since=None)] == ["P2", "P3", "P4"]
    # and the exclusion composes with what may not be shown, down to nothing at all
    assert (
        recommend_for(model, ["P1"], profile, lambda p: p not in ("P4", "P5", "P6"), bought_since=now_ms - 60 * DAY_MS)
        == []
    )
    with pytest.raises(PermanentError, match="exclude_bought_days"):
        parse_campaigns(_campaigns(-1))


def _campaigns(days: int) -> str:
    return json.dumps({"version": "v1", "offers": [{"id": "o", "name": "O", "channels": ["email"], "template": "t", "value": 5}],
                       "recommendations": {"exclude_bought_days": days}})  # fmt: skip


def test_the_segments_best_sellers_fill_before_the_shops_and_an_unknown_segment_gets_the_shops() -> None:
    model = Recommender(
        {}, {"together": {"P1": [("P2", 0.9)]}}, ["P9", "P8", "P7"], by_segment={"loyal": ["P1", "P6", "P9"]}
    )
    assert recommend_for(model, ["P1"], None, None, segment="loyal") == [
        ("P2", "bought together with the product on the page"), ("P6", SEGMENT), ("P9", SEGMENT)]  # fmt: skip
    assert recommend_for(model, [], None, lambda p: p != "P6", k=4, segment="loyal") == [
        ("P1", SEGMENT), ("P9", SEGMENT), ("P8", POPULAR), ("P7", POPULAR)]  # fmt: skip
    assert recommend_for(model, [], None, None, segment="never heard of") == [
        ("P9", POPULAR),
        ("P8", POPULAR),
        ("P7", POPULAR),
    ]
    assert model.recommend([], 2, segment=None) == ["P9", "P8"]


def test_training_learns_each_segments_best_sellers_and_they_beat_the_shops_where_segments_differ(
    tmp_path: Path,
) -> None:
    # Given two segments that buy from different shelves, and orders with pairs to learn from
    start, end = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC)
    timeline, rng, orders = plan_timeline(start, end), random.Random(7), []
    shelves = {"thrifty": [f"T{i}" for i in range(6)], "lavish": [f"L{i}" for i in range(6)]}
    members = {f"c{i}": ("thrifty" if i % 3 else "lavish") for i in range(90)}
    for day in range(70):
        for _ in range(15):
            customer = rng.choice(sorted(members))
            shelf = shelves[members[customer]]
            bought = sorted(rng.sample(shelf, 2)) if rng.random() < 0.5 else [rng.choice(shelf)]
            viewed = [rng.choice(shelf)] if len(bought) == 1 else []
            orders.append(
                Order(customer, start + timedelta(days=day, hours=12), bought, [v for v in viewed if v not in bought])
            )
    result = train_recommender(orders, timeline, tmp_path, members={"validation": members, "test": members})
    manifest, comparison = result["manifest"], result["manifest"]["comparison"]
    # Then each segment has its own best sellers from its own shelf, published in the model file
    assert manifest["segments"] == ["lavish", "thrifty"]
    assert set(result["model"]["by_segment"]["lavish"]) == set(shelves["lavish"])
    for window in ("validation", "test"):
        segments, shop = comparison[window]["segment popularity"], comparison[window]["popularity"]
        assert segments["hit_rate_3"] > shop["hit_rate_3"] + 0.1 and segments["ndcg_10"] > shop["ndcg_10"] + 0.05
    served = load_recommender(manifest, (tmp_path / "recommendations" / "model.json").read_bytes())
    assert served.by_segment == result["model"]["by_segment"]
    assert all(p.startswith("L") for p in served.recommend([], 4, segment="lavish"))
    # and without segments the comparison has no segment row
    plain = train_recommender(orders, timeline, tmp_path / "plain")
    assert "segment popularity" not in plain["manifest"]["comparison"]["test"] and not plain["model"]["by_segment"]
