"""Each trigger fires exactly when it should, once, with an id a replay reproduces."""

from __future__ import annotations

from pathlib import Path

import pytest
from microtarget.aggregation import apply_events
from microtarget.campaigns import Trigger, parse_campaigns
from microtarget.clock import MINUTE_MS, to_ms
from microtarget.profile import Profile
from microtarget.triggers import evaluate, still_holds

from tests.helpers.events import T0, event

RULES = {
    t.kind: t for t in parse_campaigns((Path(__file__).parents[2] / "campaigns/catalog.yaml").read_text()).triggers
}
NOW = to_ms(T0)


def fire(kind: str, *batches: list, churn: tuple = (None, None), now_ms: int = NOW) -> tuple[Profile, list]:
    """Apply the batches in turn; return the profile and what the last batch fired."""
    profile, fired = Profile("c_test"), []
    for batch in batches:
        outcome = apply_events(profile, batch)
        fired = evaluate([RULES[kind]], profile, outcome.applied, now_ms, churn).fired
    return profile, fired


def views(*minutes: float, product: str = "P1") -> list:
    return [event("product_view", minutes=m, product_id=product) for m in minutes]


@pytest.mark.parametrize(
    ("minutes", "fires"),
    [((0, 3, 6), 1), ((0, 3), 0), ((0, 6, 12), 0), ((0, 1, 2, 3, 4), 1), ((0, 2, 4, 30, 32, 34), 2)],
)
def test_repeat_views_fire_on_the_nth_view_inside_the_window(minutes: tuple, fires: int) -> None:
    _profile, fired = fire("repeat_views", views(*minutes))
    assert len(fired) == fires
    if fires:
        assert fired[0].products == ["P1"] and fired[0].channel == "push"
        assert fired[0].moment_ms == to_ms(T0) + minutes[2] * MINUTE_MS  # the third view in the window
        assert fired[0].due_ms == fired[0].moment_ms + 2 * MINUTE_MS


def test_repeat_views_of_different_products_do_not_add_up() -> None:
    _profile, fired = fire("repeat_views", views(0, product="A") + views(1, product="B") + views(2, product="C"))
    assert fired == []


def test_views_split_over_batches_fire_once_when_the_third_arrives() -> None:
    profile = Profile("c_test")
    counts = []
    for batch in (views(0), views(3), views(6), views(7)):
        counts.append(len(evaluate([RULES["repeat_views"]], profile, apply_events(profile, batch).applied, NOW).fired))
    assert counts == [0, 0, 1, 0]


def test_cart_abandonment_starts_its_timer_at_the_last_cart_change() -> None:
    _profile, fired = fire("cart_abandonment", [event("add_to_cart", minutes=0), event("add_to_cart", minutes=4)])
    assert len(fired) == 1
    assert fired[0].moment_ms == to_ms(T0) + 4 * MINUTE_MS
    assert fired[0].due_ms == fired[0].moment_ms + 15 * MINUTE_MS


@pytest.mark.parametrize(
    "batch",
    [
        [event("add_to_cart", minutes=0), event("remove_from_cart", minutes=1)],  # emptied
        [event("add_to_cart", minutes=0), event("checkout_started", minutes=1)],  # checking out
        [event("add_to_cart", minutes=0), event("purchase", minutes=2)],  # bought
        [event("page_view", minutes=0)],  # no cart activity
    ],
)
def test_cart_abandonment_does_not_fire_without_a_left_cart(batch: list) -> None:
    assert fire("cart_abandonment", batch)[1] == []


def test_cart_timer_is_cancelled_by_a_purchase_and_superseded_by_a_newer_change() -> None:
    profile, fired = fire("cart_abandonment", [event("add_to_cart", minutes=0)])
    assert still_holds(fired[0], profile) is None
    apply_events(profile, [event("add_to_cart", product_id="P2", minutes=5)])
    assert "newer timer" in str(still_holds(fired[0], profile))
    apply_events(profile, [event("purchase", minutes=10)])
    assert still_holds(fired[0], profile) == "purchased since the cart was left"


def test_post_purchase_carries_the_order_and_waits_three_days() -> None:
    items = [{"product_id": "A", "price": 10.0}, {"product_id": "B", "price": 5.0}]
    _profile, fired = fire("post_purchase", [event("purchase", items=items, revenue=15.0)])
    assert [(m.products, m.due_ms - m.moment_ms) for m in fired] == [(["A", "B"], 3 * 24 * 60 * MINUTE_MS)]


@pytest.mark.parametrize(("before", "after", "fires"), [(0.4, 0.7, 1), (0.65, 0.8, 0), (0.3, 0.5, 0), (None, 0.9, 0)])
def test_churn_fires_only_when_the_score_crosses_the_threshold_upwards(before, after, fires: int) -> None:
    _profile, fired = fire("churn_risk", [event("email_open")], churn=(before, after))
    assert len(fired) == fires


def test_the_same_events_fire_the_same_ids_however_they_are_batched() -> None:
    batch = [event("add_to_cart", minutes=1), *views(0, 2, 3), event("purchase", minutes=30)]
    rules = [RULES["repeat_views"], RULES["post_purchase"]]
    whole = Profile("c_test")
    ids_whole = {m.trigger_id for m in evaluate(rules, whole, apply_events(whole, batch).applied, NOW).fired}
    split = Profile("c_test")
    ids_split = set()
    for part in (batch[3:], batch[:3]):  # out of order, in two batches
        ids_split |= {m.trigger_id for m in evaluate(rules, split, apply_events(split, part).applied, NOW).fired}
    assert ids_whole == ids_split and len(ids_whole) == 2
    again = evaluate(rules, split, apply_events(split, batch).applied, NOW).fired  # a replay: all duplicates
    assert again == []


def test_moments_whose_message_would_have_expired_are_counted_not_sent() -> None:
    profile = Profile("c_test")
    outcome = apply_events(profile, [event("add_to_cart")])
    later = NOW + 2 * 24 * 60 * MINUTE_MS
    result = evaluate([RULES["cart_abandonment"]], profile, outcome.applied, later)
    assert (result.fired, result.stale) == ([], 1)


def test_trigger_rules_need_their_kind_fields() -> None:
    with pytest.raises(ValueError, match="min_views"):
        Trigger(id="x", kind="repeat_views", channel="push", offers=["a"])
