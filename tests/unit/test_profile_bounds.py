"""A profile is bounded whatever one customer id does: a crowd behind a "guest" id, a bot."""

from __future__ import annotations

from microtarget.aggregation import apply_events
from microtarget.events import EVENT_ADAPTER
from microtarget.profile import MAX_BOUGHT, MAX_ITEM_BYTES, MAX_SEEN, MAX_SESSIONS, Profile, item_bytes

from bench.profile_size import flood
from tests.helpers.events import T0, event_dict


def test_the_worst_customer_stays_under_64_kb_after_90_days_of_floods() -> None:
    # Given 90 days of a busy guest id, then a day with 12,000 events in as many sessions
    profile, compacted = Profile("c_guest"), False
    for day in range(90):
        compacted |= apply_events(profile, flood(day, 200, f"d{day:03d}", T0)).compacted
    last = apply_events(profile, flood(90, 12_000, "z", T0))
    # Then every collection is within its count, the item well under 64 KB, and the overflow reported
    assert len(last.applied) == 12_000 and last.compacted and compacted
    assert len(profile.seen) < MAX_SEEN and len(profile.sessions) <= MAX_SESSIONS and len(profile.bought) == MAX_BOUGHT
    assert item_bytes(profile.to_item()) <= MAX_ITEM_BYTES
    # and the day's counts are still exact: bounding forgets detail, never counted events
    assert profile.days[max(profile.days)]["pv"] == 12_000 // 6


def test_a_replay_of_a_compacted_flood_counts_nothing_twice() -> None:
    profile = Profile("c_guest")
    events = flood(0, 3_000, "r", T0)
    apply_events(profile, events)
    views = profile.days[max(profile.days)]["pv"]
    again = apply_events(profile, events)
    assert again.applied == [] and again.duplicates + len(again.late) == 3_000
    assert profile.days[max(profile.days)]["pv"] == views


def test_a_cart_past_its_log_bound_is_folded_to_the_same_open_lines() -> None:
    profile = Profile("c_cart")
    adds = [event_dict("add_to_cart", minutes=i, product_id=f"P{i % 7}", quantity=1) for i in range(120)]
    removes = [event_dict("remove_from_cart", minutes=200 + i, product_id=f"P{i}", quantity=1) for i in range(3)]
    outcome = apply_events(profile, [EVENT_ADAPTER.validate_python(e) for e in adds + removes])
    assert outcome.compacted
    cart = profile.cart()
    expected = {f"P{k}": sum(1 for i in range(120) if i % 7 == k) - (1 if k < 3 else 0) for k in range(7)}
    assert {p: line.quantity for p, line in cart.items()} == expected


def test_the_cart_change_that_overflows_the_log_still_fires_the_cart_trigger() -> None:
    from microtarget.triggers import _cart_left

    # Given a cart log at its bound, then one more add
    profile = Profile("c_cart")
    adds = [event_dict("add_to_cart", minutes=i, product_id=f"P{i % 9}", quantity=1) for i in range(51)]
    apply_events(profile, [EVENT_ADAPTER.validate_python(e) for e in adds[:-1]])
    last = EVENT_ADAPTER.validate_python(adds[-1])
    outcome = apply_events(profile, [last])
    # Then the log was folded, the newest change is still there as it came, and the trigger fires on it
    assert outcome.compacted and len(profile.cart_log) <= 50
    assert profile.cart_log[-1][2] == last.properties.product_id and profile.cart_log[-1][1] != ""
    assert len(_cart_left(profile, [last])) == 1
