"""The shared aggregation: what each event does to a profile, once."""

from __future__ import annotations

from datetime import timedelta

from microtarget.aggregation import DEFAULT_TOLERANCE_MS, apply_events, day_of
from microtarget.clock import to_ms
from microtarget.profile import BUCKET_DAYS, MAX_RECENT_VIEWS, Profile

from tests.helpers.events import T0, event


def test_purchase_updates_lifetime_counters_and_daily_bucket() -> None:
    profile = Profile("p")
    apply_events(
        profile, [event("purchase", revenue=120.5, items=[{"product_id": "A", "price": 60.25, "quantity": 2}])]
    )
    assert (profile.orders, profile.revenue_cents, profile.items) == (1, 12050, 2)
    assert profile.days[day_of(to_ms(T0))] == {"s": 1, "p": 1, "r": 12050, "i": 2}
    assert profile.last_purchase_at == to_ms(T0) and profile.last_order_id == "O1"


def test_repeated_event_id_counts_once() -> None:
    profile = Profile("p")
    first = apply_events(profile, [event("purchase", event_id="same")])
    again = apply_events(profile, [event("purchase", event_id="same")])
    assert (len(first.applied), len(again.applied), again.duplicates) == (1, 0, 1)
    assert profile.orders == 1


def test_cart_is_folded_in_time_order_and_cleared_by_purchase() -> None:
    profile = Profile("p")
    apply_events(
        profile,
        [
            event("add_to_cart", product_id="A", quantity=2, minutes=1),
            event("remove_from_cart", product_id="A", quantity=1, minutes=2),
            event("add_to_cart", product_id="B", price=10.0, minutes=3),
        ],
    )
    assert {k: v.quantity for k, v in profile.cart().items()} == {"A": 1, "B": 1}
    apply_events(profile, [event("purchase", minutes=4)])
    assert profile.cart() == {}
    # an add that happened before the purchase but arrives after it stays bought
    apply_events(profile, [event("add_to_cart", product_id="C", minutes=3.5)])
    assert profile.cart() == {}


def test_removing_more_than_the_cart_holds_floors_at_zero() -> None:
    profile = Profile("p")
    apply_events(profile, [event("remove_from_cart", quantity=3, minutes=1), event("add_to_cart", minutes=2)])
    assert profile.cart()["P1"].quantity == 1


def test_late_event_within_tolerance_lands_in_its_own_day() -> None:
    profile = Profile("p")
    apply_events(profile, [event("page_view", minutes=0)])
    outcome = apply_events(profile, [event("product_view", at=T0 - timedelta(days=2))])
    assert len(outcome.applied) == 1 and not outcome.late
    assert profile.days[day_of(to_ms(T0 - timedelta(days=2)))]["pv"] == 1
    assert profile.first_seen == to_ms(T0 - timedelta(days=2)) and profile.last_seen == to_ms(T0)


def test_event_older_than_tolerance_is_rejected_as_late() -> None:
    profile = Profile("p")
    apply_events(profile, [event("page_view")])
    before = profile.to_item()
    outcome = apply_events(profile, [event("page_view", at=T0 - timedelta(milliseconds=DEFAULT_TOLERANCE_MS + 1))])
    assert [reason.code for _e, reason in outcome.late] == ["late_event"]
    assert profile.to_item() == before


def test_consent_is_last_writer_wins_by_event_time() -> None:
    profile = Profile("p")
    apply_events(profile, [event("consent_updated", consents={"email": False}, minutes=5)])
    apply_events(profile, [event("consent_updated", consents={"email": True, "push": True}, minutes=1)])
    assert profile.consents() == {"email": False, "push": True}


def test_sessions_are_counted_once_per_day() -> None:
    profile = Profile("p")
    apply_events(profile, [event("page_view", session="a"), event("product_view", session="a", minutes=1)])
    apply_events(profile, [event("page_view", session="b", minutes=2), event("email_open", session=None, minutes=3)])
    assert profile.days[day_of(to_ms(T0))]["s"] == 2


def test_recent_views_keep_the_newest_window() -> None:
    profile = Profile("p")
    apply_events(profile, [event("product_view", product_id=f"P{i}", minutes=i) for i in range(MAX_RECENT_VIEWS + 5)])
    assert len(profile.recent_views) == MAX_RECENT_VIEWS
    assert profile.recent_views[-1][2] == f"P{MAX_RECENT_VIEWS + 4}" and profile.recent_views[0][2] == "P5"


def test_daily_buckets_keep_ninety_days() -> None:
    profile = Profile("p")
    for day in range(0, 120, 2):  # in order, so nothing is late
        apply_events(profile, [event("page_view", at=T0 + timedelta(days=day))])
    assert len(profile.days) <= BUCKET_DAYS
    assert min(profile.days) >= day_of(to_ms(T0 + timedelta(days=118 - BUCKET_DAYS + 1)))


def test_dedup_memory_is_bounded_by_the_tolerance() -> None:
    profile = Profile("p")
    for day in range(10):
        apply_events(profile, [event("page_view", at=T0 + timedelta(days=day))])
    assert len(profile.seen) <= 4  # 72 h of one event a day


def test_profile_survives_its_storage_shape() -> None:
    profile = Profile("p")
    apply_events(profile, [event(kind) for kind in ("add_to_cart", "consent_updated", "product_view", "search")])
    assert Profile.from_item(profile.to_item()) == profile
