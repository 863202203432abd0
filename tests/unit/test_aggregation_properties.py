"""Property: duplicates, shuffles and batch splits inside the tolerance give the clean profile."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from microtarget.aggregation import apply_events
from microtarget.events import EVENT_ADAPTER, EVENT_TYPES, Event
from microtarget.profile import Profile

from tests.helpers.events import T0, event_dict

PRODUCTS = ("A", "B", "C")


@st.composite
def streams(draw: Any) -> list[Event]:
    count = draw(st.integers(min_value=1, max_value=40))
    events = []
    for index in range(count):
        kind = draw(st.sampled_from(EVENT_TYPES))
        minutes = draw(st.integers(min_value=0, max_value=60 * 48))  # inside the 72 h tolerance
        extra: dict[str, Any] = {}
        if kind in ("product_view", "add_to_cart", "remove_from_cart"):
            extra["product_id"] = draw(st.sampled_from(PRODUCTS))
        if kind in ("add_to_cart", "remove_from_cart"):
            extra["quantity"] = draw(st.integers(min_value=1, max_value=3))
        if kind == "consent_updated":
            extra["consents"] = {"email": draw(st.booleans())}
        session = draw(st.sampled_from(["s1", "s2", None]))
        raw = event_dict(kind, minutes=minutes, event_id=f"ev-{index}", session=session, **extra)
        events.append(EVENT_ADAPTER.validate_python(raw))
    return events


def clean_profile(events: list[Event]) -> dict[str, Any]:
    profile = Profile("p")
    apply_events(profile, sorted(events, key=lambda e: (e.occurred_at, e.event_id)))
    return profile.to_item()


@given(events=streams(), seed=st.integers(min_value=0, max_value=2**32))
@settings(max_examples=150, deadline=None)
def test_duplicated_shuffled_split_stream_gives_the_clean_profile(events: list[Event], seed: int) -> None:
    rng = random.Random(seed)
    noisy = events + [rng.choice(events) for _ in range(rng.randint(0, len(events)))]
    rng.shuffle(noisy)
    profile = Profile("p")
    start = 0
    while start < len(noisy):  # arbitrary batch boundaries, like Kinesis retries and bisects
        size = rng.randint(1, 8)
        apply_events(profile, noisy[start : start + size])
        start += size
    assert profile.to_item() == clean_profile(events)


@given(events=streams())
@settings(max_examples=50, deadline=None)
def test_replaying_everything_changes_nothing(events: list[Event]) -> None:
    profile = Profile("p")
    apply_events(profile, events)
    once = profile.to_item()
    for _ in range(3):
        outcome = apply_events(profile, events)
        assert outcome.applied == []
    assert profile.to_item() == once


def test_wide_stream_in_one_batch_is_sorted_before_applying() -> None:
    # events 10 days apart in reverse order: one batch sorts them, so none is late
    events = [EVENT_ADAPTER.validate_python(event_dict("page_view", at=T0 - timedelta(days=d))) for d in range(10)]
    profile = Profile("p")
    assert len(apply_events(profile, events).applied) == 10
